"""Patient self-report: a single-use, expiring link that front desk or a practitioner issues and a
patient fills without an account; answers are scored and stored as self-report measurements."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from acuknee.records.models import Measurement, Patient, SelfReportLink
from tests.pages.conftest import login


def issue(user: User, patient: Patient) -> str:
    """Issue a link through the page, as staff do, and return the URL it shows once."""
    response = login(user).post(reverse("selfreport-issue", args=[patient.pk]))
    assert response.status_code == 201
    url: str = response.context["link_url"]
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


def test_an_invalid_answer_lands_on_its_question_stores_nothing_and_keeps_the_link_open(
    patient: Patient, alice: User
) -> None:
    url = issue(alice, patient)
    response = Client().post(url, ANSWERS | {"pain_nrs__average_last_week": "12"})
    assert response.status_code == 400
    assert "from 0 to 10" in response.context["form"].errors["pain_nrs__average_last_week"][0]
    assert b'<a href="#id_pain_nrs__average_last_week">' in response.content
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


# --- the patient's phone (issue 14) -------------------------------------------------------------

PRACTITIONER_TEXT = (
    "reversed",
    "coded 0",
    "Decision support for qualified practitioners",
    "0 = no problem",
    "koos.",
    "the patient",
)


def patient_page(user: User, patient: Patient) -> str:
    response = Client().get(issue(user, patient))
    assert response.status_code == 200
    return response.content.decode()


def test_the_patient_page_shows_nothing_meant_for_the_practitioner(
    patient: Patient, dana: User
) -> None:
    page = patient_page(dana, patient)
    shown = [text for text in PRACTITIONER_TEXT if text in page]
    assert shown == []


def test_the_patient_page_asks_about_your_knee_in_the_last_week(
    patient: Patient, dana: User
) -> None:
    page = patient_page(dana, patient)
    assert "your knee during the last week" in page
    assert "How often has your knee been swollen?" in page


def test_every_koos_answer_on_the_patient_page_carries_the_instruments_words(
    patient: Patient, dana: User
) -> None:
    page = patient_page(dana, patient)
    assert "<span>Never</span>" in page  # S1 frequency, 0
    assert "<span>Extreme</span>" in page  # severity, 4
    assert "<span>Constantly</span>" in page  # Q1, 4
    assert "<span>Totally</span>" in page  # Q2, 4


def test_a_0_to_10_rating_says_what_0_and_10_mean(patient: Patient, dana: User) -> None:
    page = patient_page(dana, patient)
    assert "0 means no pain; 10 means worst pain imaginable." in page
    assert "<span>0 – no pain</span>" in page
    assert "<span>10 – worst pain imaginable</span>" in page
    assert "0 means terrible; 10 means excellent." in page


def test_each_question_is_a_fieldset_whose_legend_is_the_question(
    patient: Patient, dana: User
) -> None:
    page = patient_page(dana, patient)
    hint = 'aria-describedby="id_pain_nrs__current-hint"'
    assert f'<fieldset class="item" id="id_pain_nrs__current" {hint}>' in page
    assert "<legend>How bad is your knee pain right now?</legend>" in page


def test_a_patients_wrong_answer_is_explained_without_item_codes(
    patient: Patient, dana: User
) -> None:
    url = issue(dana, patient)
    response = Client().post(url, {"pain_nrs__current": "11"})
    assert response.status_code == 400
    page = response.content.decode()
    assert "The answer: must be a whole number from 0 to 10" in page
    assert "pain_nrs.current" not in page


def test_the_issued_link_comes_with_a_qr_code_of_it(patient: Patient, dana: User) -> None:
    response = login(dana).post(reverse("selfreport-issue", args=[patient.pk]))
    page = response.content.decode()
    assert '<svg role="img" aria-label="QR code of the questionnaire link' in page
    assert "<path" in page


def test_the_issued_link_comes_with_a_ready_message_and_copy_buttons(
    patient: Patient, dana: User
) -> None:
    response = login(dana).post(reverse("selfreport-issue", args=[patient.pk]))
    url = response.context["link_url"]
    body = response.context["message"]["body"]
    assert body.startswith("Hello Ada, Northside Clinic asks you to answer")
    assert url in body
    page = response.content.decode()
    assert 'data-copy="selfreport-url"' in page
    assert 'data-copy="selfreport-message"' in page
    assert "acuknee/copy.js" in page
    assert 'href="mailto:' in page
