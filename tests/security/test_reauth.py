"""Re-authentication before a sensitive action (issue 13, case 10; ASVS 3.7.1): the audit log's
CSV export asks a session that has not proved its user in the last 15 minutes for the password
and a current code again; the answer is never a way off the site."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from acuknee.accounts.middleware import SIGNED_IN_AT
from acuknee.accounts.reauth import CONFIRMED_AT, RECENT_SECONDS
from tests.pages.conftest import PASSWORD, login

pytestmark = pytest.mark.django_db

EXPORT = "/audit/export.csv?action=read"


def _age(client: Client, seconds: int) -> None:
    """Make the session's sign-in (and any confirmation) ``seconds`` older."""
    session = client.session
    for key in (SIGNED_IN_AT, CONFIRMED_AT):
        if key in session:
            session[key] = int(session[key]) - seconds
    session.save()


def _code(user: User) -> str:
    device = TOTPDevice.objects.get(user=user, confirmed=True)
    return str(totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits)).zfill(
        device.digits
    )


def _confirm(client: Client, **data: Any) -> Any:
    return client.post(reverse("confirm-identity"), data)


def test_a_recent_sign_in_exports_without_asking_again(erin: User) -> None:
    assert login(erin).get(EXPORT).status_code == 200


def test_an_old_session_is_sent_to_confirm_before_the_export(erin: User) -> None:
    client = login(erin)
    _age(client, RECENT_SECONDS + 1)
    answer = client.get(EXPORT)
    assert answer.status_code == 302
    assert answer["Location"].startswith(reverse("confirm-identity") + "?next=")


def test_a_wrong_password_or_code_confirms_nothing(erin: User) -> None:
    client = login(erin)
    _age(client, RECENT_SECONDS + 1)
    assert _confirm(client, password="not-it", code=_code(erin), next=EXPORT).status_code == 400
    assert _confirm(client, password=PASSWORD, code="000000", next=EXPORT).status_code == 400
    assert client.get(EXPORT).status_code == 302


def test_the_password_and_a_current_code_confirm_and_lead_back_to_the_export(erin: User) -> None:
    client = login(erin)
    _age(client, RECENT_SECONDS + 1)
    answer = _confirm(client, password=PASSWORD, code=_code(erin), next=EXPORT)
    assert answer.status_code == 302
    assert answer["Location"] == EXPORT
    assert client.get(EXPORT).status_code == 200


def test_confirming_never_leads_off_the_site(alice: User) -> None:
    client = login(alice)
    answer = _confirm(client, password=PASSWORD, next="https://evil.example/")
    assert answer.status_code == 302
    assert answer["Location"] == reverse("account")
