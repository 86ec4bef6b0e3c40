"""Sign-in: Argon2, lockout (django-axes), TOTP second factor (django-otp), idle expiry."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.models import User
from django.contrib.sessions.models import Session
from django.core.management import call_command
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from acuknee.accounts.sessions import RENEW_AFTER_S
from acuknee.site import settings as app_settings
from tests.pages.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def _sign_in(client: Client, username: str, password: str = PASSWORD, **extra: Any) -> Any:
    return client.post(reverse("login"), {"username": username, "password": password}, **extra)


def _code(device: TOTPDevice) -> str:
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"


def _after_throttle(device: TOTPDevice) -> None:
    """django-otp makes a device wait after a wrong code (1 s, doubling); skip the wait."""
    device.refresh_from_db()
    assert device.throttling_failure_count == 1, "a wrong code is counted"
    device.throttle_reset()


def test_passwords_are_stored_with_argon2() -> None:
    # The run hashes with MD5 for speed (tests/conftest.py); the app's own list is checked here.
    assert app_settings.PASSWORD_HASHERS[0].endswith("Argon2PasswordHasher")
    with override_settings(PASSWORD_HASHERS=app_settings.PASSWORD_HASHERS):
        user = User.objects.create_user(username="argon", password=PASSWORD)
        assert user.password.startswith("argon2$")
        assert authenticate(username="argon", password=PASSWORD) == user


def test_sign_in_through_the_form_works_with_the_lockout_backend(alice: User) -> None:
    client = Client()
    response = _sign_in(client, "alice")
    assert response.status_code == 302
    assert client.get(reverse("patient-list")).status_code == 200


def test_repeated_failures_lock_the_username_even_with_the_right_password(alice: User) -> None:
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _sign_in(client, "alice", "wrong-password")
    response = _sign_in(client, "alice")
    assert response.status_code == 429
    assert b"Sign-in locked" in response.content
    assert "_auth_user_id" not in client.session


def test_lockout_is_per_username_and_address(alice: User, bob: User) -> None:
    attacker = Client(REMOTE_ADDR="203.0.113.9")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _sign_in(attacker, "alice", "wrong-password")
    assert _sign_in(attacker, "bob").status_code == 302, "another user from that address"
    assert _sign_in(Client(REMOTE_ADDR="198.51.100.7"), "alice").status_code == 302


def test_axes_reset_unlocks_a_locked_user(alice: User) -> None:
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _sign_in(client, "alice", "wrong-password")
    assert _sign_in(client, "alice").status_code == 429
    call_command("axes_reset_username", "alice")
    assert _sign_in(client, "alice").status_code == 302


def test_clinic_admin_must_enrol_before_reaching_any_page(erin: User) -> None:
    client = Client()
    assert _sign_in(client, "erin").status_code == 302
    response = client.get(reverse("patient-list"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("two-factor-setup"))
    assert client.get(reverse("account-tokens")).status_code == 302


def test_enrolment_shows_a_qr_image_and_the_secret_then_a_code_confirms_it(erin: User) -> None:
    client = Client()
    _sign_in(client, "erin")
    page = client.get(reverse("two-factor-setup"), {"next": "/"})
    assert page.status_code == 200
    html = page.content.decode()
    assert re.search(r'<img class="qr" src="data:image/svg\+xml', html)
    device = TOTPDevice.objects.get(user=erin, confirmed=False)
    secret = re.search(r'<code class="secret">([A-Z2-7=]+)</code>', html)
    assert secret is not None
    assert client.post(reverse("two-factor-setup"), {"token": "000000"}).status_code == 400
    _after_throttle(device)
    confirmed = client.post(reverse("two-factor-setup"), {"token": _code(device), "next": "/"})
    assert confirmed.status_code == 302
    assert TOTPDevice.objects.get(user=erin).confirmed
    assert client.get(reverse("patient-list")).status_code == 200


def test_an_enrolled_user_gives_a_code_after_the_password(alice: User) -> None:
    device = TOTPDevice.objects.create(user=alice, name="phone", confirmed=True)
    client = Client()
    _sign_in(client, "alice")
    held = client.get(reverse("patient-list"))
    assert held.status_code == 302
    assert held["Location"].startswith(reverse("two-factor-verify"))
    verify = reverse("two-factor-verify")
    assert client.post(verify, {"token": "123456", "next": "/"}).status_code == 400
    assert client.get(reverse("patient-list")).status_code == 302, "a wrong code opens nothing"
    _after_throttle(device)
    passed = client.post(verify, {"token": _code(device), "next": "/"})
    assert passed.status_code == 302
    assert client.get(reverse("patient-list")).status_code == 200


def test_a_device_enrolled_from_another_session_is_asked_for_at_the_next_page(
    alice: User,
) -> None:
    """Whether the user has enrolled is read with the user on every request (one query with the
    staff profile), never remembered by the session: a session signed in without a second
    factor is held at the code as soon as a device is confirmed elsewhere."""
    client = Client()
    _sign_in(client, "alice")
    assert client.get(reverse("patient-list")).status_code == 200
    TOTPDevice.objects.create(user=alice, name="phone", confirmed=True)
    held = client.get(reverse("patient-list"))
    assert held.status_code == 302
    assert held["Location"].startswith(reverse("two-factor-verify"))


def test_second_factor_is_optional_for_a_practitioner(alice: User) -> None:
    client = Client()
    _sign_in(client, "alice")
    assert client.get(reverse("patient-list")).status_code == 200
    account = client.get(reverse("account"))
    assert b"Turn on two-factor sign-in" in account.content


def test_reset_two_factor_removes_a_lost_device(alice: User) -> None:
    TOTPDevice.objects.create(user=alice, name="phone", confirmed=True)
    call_command("reset_two_factor", "alice")
    assert not TOTPDevice.objects.filter(user=alice).exists()


def test_an_idle_session_expires_and_a_request_renews_it(alice: User) -> None:
    client = Client()
    _sign_in(client, "alice")
    key = client.session.session_key
    Session.objects.filter(pk=key).update(expire_date=timezone.now() + dt.timedelta(seconds=30))
    assert client.get(reverse("patient-list")).status_code == 200
    renewed = Session.objects.get(pk=key).expire_date
    age = dt.timedelta(seconds=settings.SESSION_COOKIE_AGE)
    assert renewed > timezone.now() + age - dt.timedelta(minutes=1), "activity renews the window"
    Session.objects.filter(pk=key).update(expire_date=timezone.now() - dt.timedelta(seconds=1))
    expired = client.get(reverse("patient-list"))
    assert expired.status_code == 302
    assert expired["Location"].startswith(reverse("login"))


def test_a_fresh_window_is_not_rewritten_on_every_request(alice: User) -> None:
    """The session row is written when its expiry lags a fresh window by more than
    ``RENEW_AFTER_S``, not on every page view (one write transaction less per request)."""
    client = Client()
    _sign_in(client, "alice")
    key = client.session.session_key
    age = dt.timedelta(seconds=settings.SESSION_COOKIE_AGE)
    almost_fresh = timezone.now() + age - dt.timedelta(seconds=RENEW_AFTER_S // 2)
    Session.objects.filter(pk=key).update(expire_date=almost_fresh)
    assert client.get(reverse("patient-list")).status_code == 200
    assert Session.objects.get(pk=key).expire_date == almost_fresh, "no write within the slack"
    stale = timezone.now() + age - dt.timedelta(seconds=RENEW_AFTER_S * 2)
    Session.objects.filter(pk=key).update(expire_date=stale)
    assert client.get(reverse("patient-list")).status_code == 200
    assert Session.objects.get(pk=key).expire_date > stale, "a stale window is renewed"


def test_code_that_authenticates_without_a_request_still_checks_the_password(alice: User) -> None:
    assert authenticate(username="alice", password=PASSWORD) == alice
    assert authenticate(username="alice", password="wrong-password") is None


def test_a_signed_in_browser_session_does_not_open_the_api_or_fhir(alice: User) -> None:
    """The API and FHIR are CSRF-exempt because only a Bearer token authenticates them."""
    browser = Client()
    _sign_in(browser, "alice")
    assert browser.get(reverse("patient-list")).status_code == 200
    assert browser.get("/api/v1/patients").status_code == 401
    assert browser.get("/fhir/Patient").status_code == 401


def test_signing_in_issues_a_new_session_key(alice: User) -> None:
    """ASVS 3.2.1: a session fixed before sign-in is not the signed-in session."""
    client = Client()
    client.get(reverse("login"))
    client.session.save()
    before = client.session.session_key
    _sign_in(client, "alice")
    assert client.session.session_key != before
    assert not Session.objects.filter(pk=before).exists()


def test_signing_out_ends_the_session_on_the_server(alice: User) -> None:
    """ASVS 3.3.1: the old session cookie opens nothing after sign-out."""
    client = Client()
    _sign_in(client, "alice")
    key = client.session.session_key
    client.post(reverse("logout"))
    assert not Session.objects.filter(pk=key).exists()
    replay = Client()
    replay.cookies[settings.SESSION_COOKIE_NAME] = key
    assert replay.get(reverse("patient-list")).status_code == 302


def test_a_user_changes_their_own_password_after_giving_the_current_one(alice: User) -> None:
    """Issue 13, case 10 (ASVS 2.1.5, 2.1.6): self-service change, current password first."""
    client = Client()
    _sign_in(client, "alice")
    new = "a-much-longer-new-passphrase-2026"
    wrong = client.post(
        reverse("password-change"),
        {"old_password": "not-it", "new_password1": new, "new_password2": new},
    )
    assert wrong.status_code == 400
    right = client.post(
        reverse("password-change"),
        {"old_password": PASSWORD, "new_password1": new, "new_password2": new},
    )
    assert right.status_code == 302
    assert client.get(reverse("patient-list")).status_code == 200, "this session stays"
    assert authenticate(username="alice", password=new) == alice


def test_a_session_ends_at_its_absolute_lifetime_however_active(alice: User) -> None:
    """Issue 13, case 10 (ASVS 3.3.2): the idle limit alone let an active session live for
    ever."""
    from acuknee.accounts.middleware import SIGNED_IN_AT

    client = Client()
    _sign_in(client, "alice")
    assert client.get(reverse("patient-list")).status_code == 200
    session = client.session
    session[SIGNED_IN_AT] = int(session[SIGNED_IN_AT]) - settings.ACUKNEE_SESSION_MAX_SECONDS - 1
    session.save()
    ended = client.get(reverse("patient-list"))
    assert ended.status_code == 302
    assert ended["Location"].startswith(reverse("login"))


def test_a_new_password_shorter_than_twelve_characters_is_refused(alice: User) -> None:
    """ASVS 2.1.1: at least 12 characters; the old password stays."""
    client = Client()
    _sign_in(client, "alice")
    short = "Kx9-vbq-2mT"  # 11 characters, not a common password
    answer = client.post(
        reverse("password-change"),
        {"old_password": PASSWORD, "new_password1": short, "new_password2": short},
    )
    assert answer.status_code == 400
    assert "at least 12 characters" in answer.content.decode()
    assert authenticate(username="alice", password=PASSWORD) == alice


def test_a_signed_in_page_is_never_stored_by_a_browser_or_proxy(alice: User) -> None:
    """ASVS 8.1.1: a clinic page may show a patient's record."""
    client = Client()
    _sign_in(client, "alice")
    cache = client.get(reverse("patient-list"))["Cache-Control"]
    assert "no-store" in cache
    assert "private" in cache


def test_a_view_reads_the_user_itself_verified_as_the_second_factor_says(alice: User) -> None:
    """``request.user`` reaches a view as the user object, not through the two lazy proxies of
    Django's and django-otp's middleware, with django-otp's verification still on it."""
    from django.contrib.auth.middleware import AuthenticationMiddleware
    from django.contrib.sessions.middleware import SessionMiddleware
    from django.test import RequestFactory
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.middleware import OTPMiddleware

    from acuknee.accounts.middleware import TwoFactorMiddleware

    device = TOTPDevice.objects.create(user=alice, name="phone", confirmed=True)
    seen: dict[str, Any] = {}

    def view(request: Any) -> Any:
        seen["user"] = request.user
        return None

    chain = AuthenticationMiddleware(OTPMiddleware(TwoFactorMiddleware(view)))
    for verified in (False, True):
        request = RequestFactory().get("/")
        SessionMiddleware(lambda r: None).process_request(request)
        request.session["_auth_user_id"] = str(alice.pk)
        request.session["_auth_user_backend"] = settings.AUTHENTICATION_BACKENDS[-1]
        request.session["_auth_user_hash"] = alice.get_session_auth_hash()
        if verified:
            request.session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        request.session.save()
        chain(request)
        user = seen.pop("user")
        assert type(user) is User
        assert user.pk == alice.pk
        assert user.is_verified() is verified
        assert user.otp_device == (device if verified else None)
