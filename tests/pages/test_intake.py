"""The intake form: saved through the core, screened at once, all or nothing."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from acuknee.clinical import load_knowledge, score
from acuknee.records.models import IntakeRecord, Measurement, Patient, PlanRecord
from tests.intake_answers import red_flags_answered_no
from tests.pages.conftest import login

VISIT = dt.date(2026, 11, 20)


def intake_post(**fields: Any) -> dict[str, Any]:
    """A minimal valid intake: left knee, 12 weeks, able to consent; ``fields`` add to it."""
    data: dict[str, Any] = {
        "visit_date": VISIT.isoformat(),
        "side": "left",
        "duration_weeks": "12",
        "health__able_to_consent": "on",
        **red_flags_answered_no(),
    }
    data.update(fields)
    return data


def new_url(patient: Patient) -> str:
    return reverse("intake-new", kwargs={"patient_id": patient.pk})


def baseline_step(patient: Patient) -> str:
    """The step of the stepped intake that asks the questionnaires."""
    return f"{new_url(patient)}?step=baseline"


def save_intake(user: User, patient: Patient, **fields: Any) -> IntakeRecord:
    response = login(user).post(new_url(patient), intake_post(**fields))
    assert response.status_code == 302, response.content.decode()[:3000]
    return IntakeRecord.objects.get(patient=patient)


def red_flag_intake(alice: User, patient: Patient) -> IntakeRecord:
    return save_intake(alice, patient, red_flags__hot_swollen_knee="true", red_flags__fever="true")


@pytest.fixture
def registered(alice: User) -> User:
    alice.first_name, alice.last_name = "Alice", "Acu"
    alice.save()
    alice.staff.registration = "REG-12345"
    alice.staff.save()
    return alice


# --- saving --------------------------------------------------------------------------------------


def test_intake_form_lists_all_42_koos_items(alice: User, patient: Patient) -> None:
    page = login(alice).get(baseline_step(patient)).content.decode()
    codes = [i.code for i in load_knowledge().instruments["koos"].items]
    assert len(codes) == 42
    assert all(f'name="m__koos__{code}"' in page for code in codes)


def test_intake_asks_each_koos_item_as_a_radio_group_with_a_legend(
    alice: User, patient: Patient
) -> None:
    page = login(alice).get(baseline_step(patient)).content.decode()
    item = load_knowledge().instruments["koos"].items[0]
    assert f'<fieldset class="item" id="id_m__koos__{item.code}">' in page
    assert f"<legend>{item.code}. {item.label}</legend>" in page
    radios = re.findall(rf'<input type="(\w+)" name="m__koos__{item.code}" value="(\d)"', page)
    assert radios == [("radio", str(v)) for v in range(5)]


def test_intake_koos_radios_carry_the_instruments_answer_words(
    alice: User, patient: Patient
) -> None:
    page = login(alice).get(baseline_step(patient)).content.decode()
    koos = load_knowledge().instruments["koos"]
    pain = next(i for i in koos.items if i.code == "P2")  # a severity item
    words = koos.answer_labels(pain)
    assert words[0] == "None"  # the words come from instruments.toml, not from this test
    assert words[1] == "Mild"
    for value, text in words.items():
        assert f'value="{value}" id="id_m__koos__P2_{value}"' in page
        assert f"{value} – {text}" in page


def test_intake_pain_rating_is_a_radio_0_to_10_with_its_end_anchors(
    alice: User, patient: Patient
) -> None:
    page = login(alice).get(baseline_step(patient)).content.decode()
    values = re.findall(r'name="m__pain_nrs__current" value="(\d+)"', page)
    assert values == [str(v) for v in range(11)]
    assert "0 means no pain; 10 means worst pain imaginable." in page


def test_intake_radio_answers_store_the_same_scores_as_the_reassessment(
    alice: User, patient: Patient
) -> None:
    koos = {f"m__koos__{i.code}": "1" for i in load_knowledge().instruments["koos"].items}
    save_intake(alice, patient, m__pain_nrs__current="4", **koos)
    stored = {m.instrument: m for m in Measurement.objects.filter(patient=patient)}
    expected = score("koos", {k.removeprefix("m__koos__"): 1 for k in koos}, load_knowledge())
    assert stored["koos"].scores == expected.model_dump(mode="json")
    assert stored["pain_nrs"].answers["current"] == 4


def test_intake_unanswered_radio_item_is_stored_as_not_answered(
    alice: User, patient: Patient
) -> None:
    record = save_intake(alice, patient, m__koos__P1="2", m__koos__P2="")
    assert record.data["baseline"]["koos"]["P1"] == 2
    assert record.data["baseline"]["koos"]["P2"] is None


def test_intake_saves_record_and_one_scored_measurement_per_instrument(
    alice: User, patient: Patient
) -> None:
    koos = {f"m__koos__P{i}": "2" for i in range(1, 10)}
    record = save_intake(
        alice, patient, m__pain_nrs__average_last_week="6", m__timed_up_and_go__time_s="9.5", **koos
    )
    by_instrument = {m.instrument: m for m in Measurement.objects.filter(patient=patient)}
    assert set(by_instrument) == {"koos", "pain_nrs", "timed_up_and_go"}
    assert by_instrument["koos"].scores["subscales"]["pain"]["value"] == 50.0
    assert by_instrument["koos"].measured_on == VISIT
    assert record.data["baseline"]["pain_nrs"]["average_last_week"] == 6.0
    assert record.assessment["severity"] is not None


def test_age_comes_from_date_of_birth_and_visit_date(alice: User, patient: Patient) -> None:
    record = save_intake(alice, patient)
    assert record.data["age"] == 66  # born 1960-05-17, seen 2026-11-20
    assert record.data["sex"] == "female"


def test_intake_without_red_flags_offers_a_plan(alice: User, patient: Patient) -> None:
    record = save_intake(alice, patient)
    page = login(alice).get(
        reverse("intake-detail", kwargs={"patient_id": patient.pk, "intake_id": record.pk})
    )
    assert "Propose plan" in page.content.decode()


def test_intake_page_names_the_likely_cause_in_words_not_by_its_code(
    alice: User, patient: Patient
) -> None:
    record = save_intake(alice, patient)
    assert record.assessment["likely_cause"] == "unspecified_knee_pain"
    page = login(alice).get(
        reverse("intake-detail", kwargs={"patient_id": patient.pk, "intake_id": record.pk})
    )
    html = page.content.decode()
    assert "Likely cause: <strong>Unspecified knee pain</strong>" in html
    assert "unspecified_knee_pain" not in html


# --- red flags -----------------------------------------------------------------------------------


def test_red_flag_intake_shows_referral_and_no_propose_button(
    alice: User, patient: Patient
) -> None:
    record = red_flag_intake(alice, patient)
    page = (
        login(alice)
        .get(reverse("intake-detail", kwargs={"patient_id": patient.pk, "intake_id": record.pk}))
        .content.decode()
    )
    septic = load_knowledge().red_flags["septic_arthritis"]
    assert septic.name in page
    assert septic.action in page
    assert "Planning is blocked" in page
    assert "Propose plan" not in page


def test_plan_view_refuses_a_red_flag_intake(alice: User, patient: Patient) -> None:
    record = red_flag_intake(alice, patient)
    url = reverse("plan-new", kwargs={"patient_id": patient.pk, "intake_id": record.pk})
    response = login(alice).post(url, {"start": "2026-11-23"})
    assert response.status_code == 409
    assert not PlanRecord.objects.exists()


def test_referral_letter_names_reason_urgency_and_practitioner(
    registered: User, patient: Patient
) -> None:
    record = red_flag_intake(registered, patient)
    url = reverse("intake-referral", kwargs={"patient_id": patient.pk, "intake_id": record.pk})
    page = login(registered).get(url).content.decode()
    septic = load_knowledge().red_flags["septic_arthritis"]
    assert septic.reason in page
    assert "emergency" in page
    assert "Alice Acu" in page
    assert "REG-12345" in page
    assert "Northside Clinic" in page
    assert "Hot swollen knee" in page


def test_referral_letter_is_404_without_a_referral(alice: User, patient: Patient) -> None:
    record = save_intake(alice, patient)
    url = reverse("intake-referral", kwargs={"patient_id": patient.pk, "intake_id": record.pk})
    assert login(alice).get(url).status_code == 404


# --- errors store nothing ------------------------------------------------------------------------


def test_out_of_range_koos_item_is_a_field_error_and_stores_nothing(
    alice: User, patient: Patient
) -> None:
    response = login(alice).post(
        new_url(patient),
        intake_post(m__koos__P1="7", m__koos__P2="1", m__pain_nrs__current="5"),
    )
    assert response.status_code == 200
    form = response.context["form"]
    assert form.errors["m__koos__P1"] == ["The answer: must be a whole number from 0 to 4"]
    assert "koos.P1" not in response.content.decode()  # the item is named by its label
    assert not IntakeRecord.objects.exists()
    assert not Measurement.objects.exists()


def test_invalid_intake_combination_is_a_field_error_and_stores_nothing(
    alice: User, patient: Patient
) -> None:
    response = login(alice).post(
        new_url(patient), intake_post(health__pregnancy_weeks="20", m__pain_nrs__current="5")
    )
    assert response.status_code == 200
    assert "pregnant is false" in response.context["form"].errors["health__pregnancy_weeks"][0]
    assert not IntakeRecord.objects.exists()
    assert not Measurement.objects.exists()


def test_ottawa_items_without_days_since_injury_are_a_field_error(
    alice: User, patient: Patient
) -> None:
    response = login(alice).post(
        new_url(patient), intake_post(injury__fibular_head_tenderness="true")
    )
    assert "injury__days_ago" in response.context["form"].errors
    assert not IntakeRecord.objects.exists()


def test_skin_lesion_needs_a_side(alice: User, patient: Patient) -> None:
    response = login(alice).post(new_url(patient), intake_post(skin_0_region="knee_anterior"))
    assert "skin_0_side" in response.context["form"].errors


def test_visit_before_birth_is_an_error_on_the_visit_date(alice: User, patient: Patient) -> None:
    response = login(alice).post(new_url(patient), intake_post(visit_date="1950-01-01"))
    errors = response.context["form"].errors["visit_date"]
    assert errors == [
        f"The visit date 1950-01-01 is before the birth date ({patient.date_of_birth}).",
    ]  # said of the date, not "Age at this visit must be 0 or more"
    assert not IntakeRecord.objects.exists()


def test_a_visit_dated_after_today_is_an_error_on_the_visit_date(
    alice: User, patient: Patient
) -> None:
    response = login(alice).post(new_url(patient), intake_post(visit_date="9999-12-31"))
    (error,) = response.context["form"].errors["visit_date"]
    assert error.startswith("The visit date 9999-12-31 is after today")
    assert not IntakeRecord.objects.exists()


# --- access --------------------------------------------------------------------------------------


def _urls(patient: Patient, record: IntakeRecord) -> list[str]:
    ids = {"patient_id": patient.pk, "intake_id": record.pk}
    return [
        new_url(patient),
        reverse("intake-detail", kwargs=ids),
        reverse("intake-referral", kwargs=ids),
        reverse("plan-new", kwargs=ids),
    ]


def test_front_desk_cannot_open_intake_pages(alice: User, dana: User, patient: Patient) -> None:
    record = red_flag_intake(alice, patient)
    client = login(dana)
    assert [client.get(u).status_code for u in _urls(patient, record)] == [403] * 4


def test_other_clinic_gets_404_for_intake_pages(alice: User, carol: User, patient: Patient) -> None:
    record = red_flag_intake(alice, patient)
    client = login(carol)
    assert [client.get(u).status_code for u in _urls(patient, record)] == [404] * 4


def test_colleague_may_open_the_intake(alice: User, bob: User, patient: Patient) -> None:
    record = save_intake(alice, patient)
    url = reverse("intake-detail", kwargs={"patient_id": patient.pk, "intake_id": record.pk})
    assert login(bob).get(url).status_code == 200


def test_answer_and_finding_errors_are_shown_together(alice: User, patient: Patient) -> None:
    response = login(alice).post(
        new_url(patient), intake_post(m__koos__P1="7", health__pregnancy_weeks="20")
    )
    assert {"m__koos__P1", "health__pregnancy_weeks"} <= set(response.context["form"].errors)


# --- numb areas (reduced sensation) --------------------------------------------------------------


def test_a_numb_area_recorded_on_the_form_reaches_the_screening(
    alice: User, patient: Patient
) -> None:
    kb = load_knowledge()
    record = save_intake(alice, patient, numb_0_region="knee_anterior", numb_0_side="left")
    assert record.data["health"]["reduced_sensation_sites"] == [
        {"region": "knee_anterior", "side": "left"}
    ]
    [finding] = [f for f in record.screening["findings"] if f["rule"] == "reduced_sensation"]
    in_region = {p.code for p in kb.points.values() if p.region == "knee_anterior"}
    assert in_region
    assert in_region <= set(finding["warn_points"])
    assert "electro" in finding["warn_methods"]


def test_a_numb_area_needs_a_side(alice: User, patient: Patient) -> None:
    response = login(alice).post(new_url(patient), intake_post(numb_0_region="knee_anterior"))
    assert "numb area" in response.context["form"].errors["numb_0_side"][0]
    assert not IntakeRecord.objects.exists()


# --- next steps and unanswered red-flag questions ------------------------------------------------


def detail_url(patient: Patient, record: IntakeRecord) -> str:
    return reverse("intake-detail", kwargs={"patient_id": patient.pk, "intake_id": record.pk})


def test_intake_page_shows_what_the_receiving_service_will_do_next(
    alice: User, patient: Patient
) -> None:
    record = red_flag_intake(alice, patient)
    page = login(alice).get(detail_url(patient, record)).content.decode()
    assert record.screening["referrals"]
    for referral in record.screening["referrals"]:
        assert referral["next_step"]
        assert referral["next_step"] in page
    assert "Next step:" in page


def test_intake_page_lists_unanswered_red_flag_questions_and_says_planning_waits(
    alice: User, patient: Patient
) -> None:
    blanks = dict.fromkeys(red_flags_answered_no(), "")
    record = save_intake(alice, patient, **{**blanks, "red_flags__fever": "false"})
    page = login(alice).get(detail_url(patient, record)).content.decode()
    questions = [q["question"] for q in record.screening["unanswered_red_flags"]]
    assert questions
    assert "Planning waits until the red-flag questions below are answered" in page
    for question in questions:
        assert f"<li>{question}: not recorded</li>" in page
    assert "<li>Fever: not recorded</li>" not in page  # answered "no"


def test_intake_page_with_every_red_flag_question_answered_lists_none(
    alice: User, patient: Patient
) -> None:
    from acuknee.clinical.intake import Question, RedFlagFindings

    answered = {
        f"red_flags__{name}": "false"
        for name, info in RedFlagFindings.model_fields.items()
        if info.annotation == Question
    }
    record = save_intake(alice, patient, **answered)
    assert record.screening["unanswered_red_flags"] == []
    page = login(alice).get(detail_url(patient, record)).content.decode()
    assert "Red-flag questions not answered" not in page
    assert "Planning is allowed." in page
