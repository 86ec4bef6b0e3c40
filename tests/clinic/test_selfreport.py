"""Patient self-report: a single-use, expiring link that front desk or a practitioner issues and a
patient fills without an account; answers are scored and stored as self-report measurements."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from acuknee.clinic.models import Measurement, Patient, SelfReportLink
from tests.clinic.conftest import login


def issue(user: User, patient: Patient) -> str:
    """Issue a link through the page, as staff do, and return the URL it shows once."""
    response = login(user).post(reverse("selfreport-issue", args=[patient.pk]))
    assert response.status_code == 201
    url: str = response.context["url"]
    assert url.encode() in response.content
    return url.removeprefix("http://testserver")


ANSWERS = {
    "pain_nrs__average_last_week": "4",
    "patient_global__global": "5",
    "pss4__1": "1",
    "pss4__2": "3",
    "pss4__3": "3",
    "pss4__4": "1",
    "sleep_quality__rating": "7",
    "koos__P1": "2",
}


def test_front_desk_can_issue_a_link_and_only_its_hash_is_stored(
    patient: Patient, dana: User
) -> None:
    url = issue(dana, patient)
    token = url.rstrip("/").rsplit("/", 1)[1]
    link = SelfReportLink.objects.get()
    assert link.token_hash == SelfReportLink.hash_token(token)
    assert token not in link.token_hash
    assert link.instruments == ["koos", "pain_nrs", "patient_global", "pss4", "sleep_quality"]
    assert link.expires_at - link.created_at >= dt.timedelta(days=7) - dt.timedelta(seconds=5)


def test_the_url_is_not_shown_again_on_the_links_page(patient: Patient, dana: User) -> None:
    url = issue(dana, patient)
    response = login(dana).get(reverse("selfreport-issue", args=[patient.pk]))
    assert response.status_code == 200
    assert url.encode() not in response.content
    assert b"open" in response.content


def test_a_patient_fills_the_link_without_an_account_and_answers_are_scored(
    patient: Patient, alice: User
) -> None:
    url = issue(alice, patient)
    anonymous = Client()
    page = anonymous.get(url)
    assert page.status_code == 200
    assert b'name="viewport"' in page.content
    response = anonymous.post(url, ANSWERS)
    assert response.status_code == 200
    assert b"Thank you" in response.content
    stored = {m.instrument: m for m in Measurement.objects.all()}
    assert set(stored) == {"koos", "pain_nrs", "patient_global", "pss4", "sleep_quality"}
    assert all(m.origin == Measurement.Origin.SELF_REPORT for m in stored.values())
    assert stored["pss4"].scores["subscales"]["total"]["value"] == 4.0
    assert stored["koos"].scores["subscales"]["pain"]["value"] is None
    assert SelfReportLink.objects.get().used_at is not None


def test_a_link_works_only_once(patient: Patient, alice: User) -> None:
    url = issue(alice, patient)
    assert Client().post(url, ANSWERS).status_code == 200
    again = Client().get(url)
    assert again.status_code == 410
    assert b"already used" in again.content
    assert Client().post(url, ANSWERS).status_code == 410
    assert Measurement.objects.filter(instrument="pss4").count() == 1


def test_an_expired_link_is_refused_with_a_clear_message(patient: Patient, alice: User) -> None:
    url = issue(alice, patient)
    SelfReportLink.objects.update(expires_at=timezone.now() - dt.timedelta(minutes=1))
    response = Client().get(url)
    assert response.status_code == 410
    assert b"expired" in response.content
    assert Client().post(url, ANSWERS).status_code == 410
    assert Measurement.objects.count() == 0


def test_an_unknown_token_is_404(db: None) -> None:
    assert Client().get(reverse("selfreport-fill", args=["not-a-real-token"])).status_code == 404


def test_an_invalid_answer_names_the_item_stores_nothing_and_keeps_the_link_open(
    patient: Patient, alice: User
) -> None:
    url = issue(alice, patient)
    response = Client().post(url, ANSWERS | {"pain_nrs__average_last_week": "12"})
    assert response.status_code == 400
    assert (
        "pain_nrs.average_last_week"
        in (response.context["form"].errors["pain_nrs__average_last_week"][0])
    )
    assert Measurement.objects.count() == 0
    assert SelfReportLink.objects.get().used_at is None


def test_the_patient_form_keeps_csrf_protection(patient: Patient, alice: User) -> None:
    url = issue(alice, patient)
    strict = Client(enforce_csrf_checks=True)
    assert b"csrfmiddlewaretoken" in strict.get(url).content
    assert strict.post(url, ANSWERS).status_code == 403
    assert Measurement.objects.count() == 0


def test_another_clinic_cannot_issue_a_link_for_the_patient(patient: Patient, carol: User) -> None:
    response = login(carol).post(reverse("selfreport-issue", args=[patient.pk]))
    assert response.status_code == 404
    assert SelfReportLink.objects.count() == 0


def test_signing_in_is_needed_to_issue_a_link(patient: Patient) -> None:
    response = Client().post(reverse("selfreport-issue", args=[patient.pk]))
    assert response.status_code == 302
    assert SelfReportLink.objects.count() == 0
