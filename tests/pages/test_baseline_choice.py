"""The practitioner chooses the visit a course is measured from, on the outcomes page, and can
go back to the default (the intake's own measurements); a same-day self-report never replaces
the intake's baseline unless chosen."""

from __future__ import annotations

import datetime as dt
from html import unescape
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from acuknee.clinical import score
from acuknee.records.models import IntakeRecord, Measurement, Patient, PlanRecord
from tests.pages.conftest import login
from tests.pages.test_outcomes import FOLLOW_UP, koos, measure, outcomes_url
from tests.pages.test_sessions import START, sign_plan

LATER = START + dt.timedelta(weeks=2)


@pytest.fixture
def signed(patient: Patient, alice: User) -> PlanRecord:
    """A signed plan whose intake is dated START, with baseline measurements that day."""
    record = sign_plan(patient, alice)
    measure(patient, START, "pain_nrs", {"current": 6, "average_last_week": 6})
    measure(patient, START, "koos", koos(2))
    measure(patient, START, "patient_global", {"global": 6})
    return record


def choose_url(patient: Patient, record: IntakeRecord) -> str:
    return reverse("intake-baseline", args=[patient.pk, record.pk])


def choice(record: IntakeRecord, day: dt.date | None) -> dict[str, str]:
    return {"version": str(record.version), "baseline_on": day.isoformat() if day else ""}


def intake_of(plan: PlanRecord) -> IntakeRecord:
    return IntakeRecord.objects.get(pk=plan.intake_id)


def self_report(patient: Patient, day: dt.date, average: int) -> None:
    answers = {"average_last_week": average}
    Measurement.objects.create(
        patient=patient,
        measured_on=day,
        instrument="pain_nrs",
        answers=answers,
        scores=score("pain_nrs", answers).model_dump(mode="json"),
        origin=Measurement.Origin.SELF_REPORT,
    )


def improved_by_later(patient: Patient) -> None:
    """Pain 6 at the intake, 2 two weeks later and still 2 at the follow-up."""
    for day in (LATER, FOLLOW_UP):
        measure(patient, day, "pain_nrs", {"current": 2, "average_last_week": 2})
        measure(patient, day, "koos", koos(2))
        measure(patient, day, "patient_global", {"global": 3})


def average_pain_baseline(response: Any) -> str:
    outcomes = response.context["outcomes"]
    pain = next(d for d in outcomes.domains if d.domain == "pain")
    return str(next(r for r in pain.rows if r.name == "Average pain, last week").baseline)


def test_the_outcomes_page_offers_each_measurement_date_and_the_default(
    patient: Patient, alice: User, signed: PlanRecord
) -> None:
    improved_by_later(patient)
    response = login(alice).get(outcomes_url(patient))
    html = response.content.decode()
    assert reverse("intake-baseline", args=[patient.pk, signed.intake_id]) in html
    assert "The intake's measurements (default)" in unescape(html)
    for day in (START, LATER, FOLLOW_UP):
        assert f'<option value="{day.isoformat()}">{day.isoformat()} (clinic)</option>' in html


def test_choosing_a_later_date_changes_the_baseline_shown_and_the_verdicts_baseline(
    patient: Patient, alice: User, signed: PlanRecord
) -> None:
    improved_by_later(patient)
    client = login(alice)
    before = client.get(outcomes_url(patient)).context["outcomes"]
    assert [(v.status, v.days) for v in before.verdicts[-1:]] == [("responder", 42)]
    record = intake_of(signed)
    response = client.post(choose_url(patient, record), choice(record, LATER))
    assert response.status_code == 302
    page = client.get(outcomes_url(patient))
    after = page.context["outcomes"]
    assert after.baseline_date == LATER
    assert f"the measurements of {LATER.isoformat()}, chosen by the practitioner" in (
        page.content.decode()
    )
    assert [(v.date, v.days, v.status) for v in after.verdicts] == [
        (FOLLOW_UP, 28, "non_responder")
    ]
    assert average_pain_baseline(page) == "2"


def test_the_default_choice_goes_back_to_the_intakes_measurements(
    patient: Patient, alice: User, signed: PlanRecord
) -> None:
    improved_by_later(patient)
    client = login(alice)
    record = intake_of(signed)
    assert client.post(choose_url(patient, record), choice(record, LATER)).status_code == 302
    record.refresh_from_db()
    assert client.post(choose_url(patient, record), choice(record, None)).status_code == 302
    outcomes = client.get(outcomes_url(patient)).context["outcomes"]
    assert outcomes.baseline_date == START
    assert outcomes.baseline_words == f"the intake's measurements ({START.isoformat()})"
    assert intake_of(signed).baseline_on is None


def test_a_date_with_no_measurement_is_refused_with_a_clear_message(
    patient: Patient, alice: User, signed: PlanRecord
) -> None:
    record = intake_of(signed)
    empty = START + dt.timedelta(days=3)
    response = login(alice).post(choose_url(patient, record), choice(record, empty))
    assert response.status_code == 400
    assert response.context["baseline_form"].errors["baseline_on"] == [
        f"No live measurement was recorded on {empty.isoformat()}."
    ]
    assert f"No live measurement was recorded on {empty.isoformat()}." in response.content.decode()
    assert intake_of(signed).baseline_on is None


def test_a_choice_based_on_a_stale_version_is_refused(
    patient: Patient, alice: User, signed: PlanRecord
) -> None:
    improved_by_later(patient)
    record = intake_of(signed)
    stale = choice(record, LATER) | {"version": str(record.version + 1)}
    response = login(alice).post(choose_url(patient, record), stale)
    assert response.status_code == 409
    assert "changed by someone else" in response.content.decode()
    assert intake_of(signed).baseline_on is None


def test_a_same_day_self_report_does_not_change_the_baseline(
    patient: Patient, alice: User, signed: PlanRecord
) -> None:
    self_report(patient, START, 1)
    page = login(alice).get(outcomes_url(patient))
    assert page.context["outcomes"].baseline_words == (
        f"the intake's measurements ({START.isoformat()})"
    )
    assert average_pain_baseline(page) == "6"


def test_a_self_report_becomes_the_baseline_only_when_chosen(
    patient: Patient, alice: User, signed: PlanRecord
) -> None:
    self_report(patient, LATER, 4)
    client = login(alice)
    assert average_pain_baseline(client.get(outcomes_url(patient))) == "6"
    record = intake_of(signed)
    assert client.post(choose_url(patient, record), choice(record, LATER)).status_code == 302
    page = client.get(outcomes_url(patient))
    assert page.context["outcomes"].baseline_date == LATER
    assert average_pain_baseline(page) == "4"


def test_front_desk_cannot_choose_a_baseline(
    patient: Patient, dana: User, signed: PlanRecord
) -> None:
    record = intake_of(signed)
    response = login(dana).post(choose_url(patient, record), choice(record, START))
    assert response.status_code == 403
    assert intake_of(signed).baseline_on is None


def test_another_clinics_practitioner_gets_404(
    patient: Patient, carol: User, signed: PlanRecord
) -> None:
    record = intake_of(signed)
    response = login(carol).post(choose_url(patient, record), choice(record, START))
    assert response.status_code == 404
    assert intake_of(signed).baseline_on is None


def test_a_choice_on_an_intake_that_a_later_one_replaced_is_refused(
    patient: Patient, alice: User, signed: PlanRecord
) -> None:
    improved_by_later(patient)
    old = intake_of(signed)
    IntakeRecord.objects.create(
        patient=patient, visit_date=LATER, data=old.data, screening=old.screening,
        assessment=old.assessment, created_by=alice,
    )  # fmt: skip
    response = login(alice).post(choose_url(patient, old), choice(old, FOLLOW_UP))
    assert response.status_code == 409
    assert f"A later intake ({LATER.isoformat()}) now starts the course" in (
        response.content.decode()
    )
    assert intake_of(signed).baseline_on is None
