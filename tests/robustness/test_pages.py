"""Query strings and URL tokens from outside: the patient search, the point reference, and the
public self-report link. No 5xx, what is echoed is escaped, and a bad answer to a self-report
leaves the link open and stores nothing."""

from __future__ import annotations

import urllib.parse

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from django.utils.html import escape

from acuknee.forms.measurements import SELF_REPORT_INSTRUMENTS
from acuknee.pages.views.selfreport import LINK_VALID_FOR
from acuknee.records.models import Measurement, Patient, SelfReportLink
from tests.robustness.web import PAIN, browser, post_form

SCRIPT = "<script>alert(1)</script>"
QUERIES = [SCRIPT, "%", "_", "' OR 1=1 --", "\x00", "a" * 300, "2026-02-30", "9999-99-99", "é" * 50]


@pytest.mark.parametrize("q", QUERIES)
def test_a_hostile_search_is_answered_and_echoed_escaped(
    alice: User, patient: Patient, q: str
) -> None:
    page = browser(alice).get(reverse("patient-list"), {"q": q})
    assert page.status_code == 200
    html = page.content.decode()
    assert SCRIPT not in html
    if q == SCRIPT:
        assert escape(q) in html


@pytest.mark.parametrize(
    "params", [{"page": "-1"}, {"page": "abc"}, {"page": "9" * 40}, {"voided": SCRIPT}]
)
def test_hostile_paging_of_the_patient_list_is_answered(
    alice: User, patient: Patient, params: dict[str, str]
) -> None:
    assert browser(alice).get(reverse("patient-list"), params).status_code == 200


@pytest.mark.parametrize("q", [SCRIPT, "\x00", "' OR 1=1 --", "x" * 5000])
def test_a_hostile_reference_search_is_answered_escaped(alice: User, q: str) -> None:
    page = browser(alice).get(reverse("reference"), {"q": q})
    assert page.status_code == 200
    assert SCRIPT not in page.content.decode()


TOKENS = [SCRIPT, "' OR 1=1 --", "é", "x" * 10_000, "..%2F..%2Fetc%2Fpasswd", "%00", "%ff%fe"]


@pytest.mark.parametrize("token", TOKENS)
def test_an_unknown_self_report_token_is_404_for_get_and_post(patient: Patient, token: str) -> None:
    client = Client(raise_request_exception=False)
    url = "/r/" + urllib.parse.quote(token, safe="%") + "/"
    assert client.get(url).status_code == 404
    assert client.post(url, PAIN).status_code == 404
    assert Measurement.objects.count() == 0


def test_a_bad_self_report_answer_stores_nothing_and_leaves_the_link_open(
    patient: Patient, alice: User
) -> None:
    link, token = SelfReportLink.issue(
        patient, alice, list(SELF_REPORT_INSTRUMENTS), LINK_VALID_FOR
    )
    client = browser(None)
    url = reverse("selfreport-fill", args=[token])
    client.get(url)
    for bad in ["11", "-1", "1e309", "nan", SCRIPT, "\x00"]:
        response = post_form(client, url, {**PAIN, "pain_nrs__current": bad})
        assert response.status_code == 400, bad
        assert SCRIPT not in response.content.decode()
    link.refresh_from_db()
    assert link.used_at is None
    assert Measurement.objects.count() == 0
    assert post_form(client, url, PAIN).status_code == 200
    assert post_form(client, url, PAIN).status_code == 410
    assert Measurement.objects.filter(origin="self_report").count() == 1
