"""Reassessment visits scored by the core, and the outcomes built from stored measurements:
the five domains, MIC, the OMERACT-OARSI verdict, adverse events, sessions attended."""

from __future__ import annotations

import base64
import datetime as dt
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.urls import reverse
from django.utils import timezone

from acuknee.clinical import score
from acuknee.records.models import Measurement, Patient, PlanRecord
from tests.pages.conftest import login
from tests.pages.test_sessions import START, page_data, sign_plan

FOLLOW_UP = START + dt.timedelta(weeks=6)


def measure(patient: Patient, day: dt.date, instrument: str, answers: dict[str, Any]) -> None:
    Measurement.objects.create(
        patient=patient,
        measured_on=day,
        instrument=instrument,
        answers=answers,
        scores=score(instrument, answers).model_dump(mode="json"),
    )


def koos(value: int) -> dict[str, int]:
    codes = [f"S{i}" for i in range(1, 8)] + [f"P{i}" for i in range(1, 10)]
    codes += [f"A{i}" for i in range(1, 18)] + [f"SP{i}" for i in range(1, 6)]
    codes += [f"Q{i}" for i in range(1, 5)]
    return dict.fromkeys(codes, value)


@pytest.fixture
def signed(patient: Patient, alice: User) -> PlanRecord:
    """A signed plan whose intake is dated START, with baseline measurements that day."""
    record = sign_plan(patient, alice)
    measure(patient, START, "pain_nrs", {"current": 6, "average_last_week": 6})
    measure(patient, START, "koos", koos(2))
    measure(patient, START, "patient_global", {"global": 6})
    return record


def reassessment(**answers: str) -> dict[str, str]:
    return {"measured_on": FOLLOW_UP.isoformat(), **answers}


def new_url(patient: Patient) -> str:
    return reverse("measurement-new", args=[patient.pk])


def outcomes_url(patient: Patient) -> str:
    return reverse("patient-outcomes", args=[patient.pk])


def test_a_reassessment_is_scored_and_stored_per_instrument(
    patient: Patient, alice: User, signed: PlanRecord
) -> None:
    data = reassessment(pain_nrs__average_last_week="2", patient_global__global="3")
    data |= {f"koos__{code}": "1" for code in koos(1)}
    response = login(alice).post(new_url(patient), data)
    assert response.status_code == 302
    stored = {m.instrument: m for m in Measurement.objects.filter(measured_on=FOLLOW_UP)}
    assert set(stored) == {"pain_nrs", "patient_global", "koos"}
    assert stored["koos"].scores["subscales"]["pain"]["value"] == 75.0
    assert stored["pain_nrs"].answers["average_last_week"] == 2
    assert stored["pain_nrs"].origin == Measurement.Origin.CLINIC


def test_the_reassessment_form_offers_every_instrument_of_the_intake(
    patient: Patient, alice: User
) -> None:
    response = login(alice).get(new_url(patient))
    groups = {g.id for g in response.context["form"].groups()}
    assert {"koos", "pain_nrs", "pss4", "chair_stand_30s", "effusion"} <= groups
    assert "koos_ps" not in groups
    assert b'for="id_koos__P1_0"' in response.content
    today = timezone.localdate().isoformat()
    assert f'name="measured_on" value="{today}"'.encode() in response.content


def test_an_answer_out_of_range_is_refused_under_its_item_and_stores_nothing(
    patient: Patient, alice: User, signed: PlanRecord
) -> None:
    data = reassessment(pain_nrs__average_last_week="2", pain_nrs__current="11")
    response = login(alice).post(new_url(patient), data)
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert errors["pain_nrs__current"] == ["The answer: must be a whole number from 0 to 10"]
    page = response.content.decode()
    assert '<a href="#id_pain_nrs__current">Knee pain now</a>: The answer: must be' in page
    assert "pain_nrs.current" not in page  # the core's path for the item, shown to no one
    assert not Measurement.objects.filter(measured_on=FOLLOW_UP).exists()


def test_a_measure_the_core_refuses_lands_on_its_field(
    patient: Patient, alice: User, signed: PlanRecord
) -> None:
    data = reassessment(pain_nrs__average_last_week="2", timed_up_and_go__time_s="0.5")
    response = login(alice).post(new_url(patient), data)
    assert response.status_code == 400
    message = response.context["form"].errors["timed_up_and_go__time_s"][0]
    assert message == "must be between 1 and 300"
    assert "timed_up_and_go.time_s" not in response.content.decode()
    assert not Measurement.objects.filter(measured_on=FOLLOW_UP).exists()


def test_an_empty_reassessment_stores_nothing(
    patient: Patient, alice: User, signed: PlanRecord
) -> None:
    response = login(alice).post(new_url(patient), reassessment())
    assert response.status_code == 400
    assert Measurement.objects.count() == 3


def test_outcomes_show_the_responder_verdict_with_its_criterion(
    patient: Patient, alice: User, signed: PlanRecord
) -> None:
    client = login(alice)
    data = reassessment(pain_nrs__average_last_week="2", patient_global__global="3")
    assert client.post(new_url(patient), data).status_code == 302
    response = client.get(outcomes_url(patient))
    outcomes = response.context["outcomes"]
    (verdict,) = outcomes.verdicts
    assert (verdict.status, verdict.date) == ("responder", FOLLOW_UP)
    assert verdict.criterion == "high improvement in pain or function"
    assert b"Responder" in response.content
    assert b"OMERACT-OARSI" in response.content


def test_outcomes_show_a_non_responder(patient: Patient, alice: User, signed: PlanRecord) -> None:
    measure(patient, FOLLOW_UP, "pain_nrs", {"average_last_week": 5})
    measure(patient, FOLLOW_UP, "koos", koos(2))
    measure(patient, FOLLOW_UP, "patient_global", {"global": 6})
    (verdict,) = login(alice).get(outcomes_url(patient)).context["outcomes"].verdicts
    assert verdict.status == "non_responder"
    assert verdict.explanation.startswith("non-responder")


def test_each_domain_shows_change_mic_and_a_server_drawn_trend(
    patient: Patient, alice: User, signed: PlanRecord
) -> None:
    measure(patient, FOLLOW_UP, "pain_nrs", {"current": 3, "average_last_week": 2})
    response = login(alice).get(outcomes_url(patient))
    domains = {d.domain: d for d in response.context["outcomes"].domains}
    assert {"pain", "inflammation", "circulation", "relaxation", "function"} <= set(domains)
    average = next(r for r in domains["pain"].rows if r.name == "Average pain, last week")
    assert (average.baseline, average.latest, average.change) == ("6", "2", "-4")
    assert average.mic_status == "reached"
    prefix = '<img class="trend" src="data:image/svg+xml;base64,'
    assert average.chart.startswith(prefix)
    svg = base64.b64decode(average.chart[len(prefix) :].split('"', 1)[0]).decode()
    assert "<svg" in svg
    assert "Average pain, last week" in svg
    assert b"<script" not in response.content.split(b"<main", 1)[1]


def test_before_any_follow_up_the_baseline_values_show_without_a_verdict(
    patient: Patient, alice: User, signed: PlanRecord
) -> None:
    response = login(alice).get(outcomes_url(patient))
    outcomes = response.context["outcomes"]
    pain = next(d for d in outcomes.domains if d.domain == "pain")
    average = next(r for r in pain.rows if r.name == "Average pain, last week")
    assert (average.baseline, average.mic_text) == ("6", "no follow-up yet")
    assert outcomes.verdicts == []
    assert b"no follow-up yet" in response.content


def test_a_measure_without_mic_says_no_established_mic(
    patient: Patient, alice: User, signed: PlanRecord
) -> None:
    measure(patient, START, "chair_stand_30s", {"stands": 8})
    measure(patient, FOLLOW_UP, "chair_stand_30s", {"stands": 12})
    response = login(alice).get(outcomes_url(patient))
    function = next(d for d in response.context["outcomes"].domains if d.domain == "function")
    stands = next(r for r in function.rows if r.name == "Chair stands in 30 s")
    assert stands.mic_status == "no_established_mic"
    assert b"no established MIC" in response.content


def test_circulation_domain_says_no_validated_measure_of_knee_circulation_exists(
    patient: Patient, alice: User, signed: PlanRecord
) -> None:
    measure(patient, FOLLOW_UP, "pain_nrs", {"average_last_week": 2})
    response = login(alice).get(outcomes_url(patient))
    domains = {d.domain: d for d in response.context["outcomes"].domains}
    assert "No validated clinical measure of knee circulation exists" in (
        domains["circulation"].about or ""
    )
    assert not domains["circulation"].rows
    assert "No validated clinical measure of knee circulation exists" in response.content.decode()
    assert not domains["pain"].exploratory


def test_outcomes_list_adverse_events_and_sessions_attended_against_planned(
    patient: Patient, alice: User, signed: PlanRecord
) -> None:
    client = login(alice)
    url = reverse("session-new", args=[patient.pk])
    data = page_data(client, url) | {
        "events-0-kind": "bruising",
        "events-0-severity": "mild",
        "events-0-action_taken": "pressure applied",
    }
    assert client.post(url, data).status_code == 302
    response = client.get(reverse("outcomes-section", args=[patient.pk]))
    outcomes = response.context["outcomes"]
    assert (outcomes.attended, outcomes.planned) == (1, 10)
    assert outcomes.reassessments_due[0] == FOLLOW_UP  # its date has passed, nothing measured
    assert [a.kind for a in outcomes.adverse_events] == ["Bruising"]
    assert outcomes.adverse_event_counts == [("Bruising", 1)]
    assert b"Adverse events: Bruising 1</summary>" in response.content


def test_a_voided_measurement_is_left_out_of_the_course(
    patient: Patient, alice: User, signed: PlanRecord
) -> None:
    measure(patient, FOLLOW_UP, "pain_nrs", {"average_last_week": 2})
    Measurement.objects.get(measured_on=FOLLOW_UP).void(alice, "entered for the wrong patient")
    outcomes = login(alice).get(outcomes_url(patient)).context["outcomes"]
    assert outcomes.verdicts == []
    assert outcomes.follow_up_dates == []


def test_front_desk_cannot_open_outcomes_or_record_measurements(
    patient: Patient, dana: User
) -> None:
    client = login(dana)
    assert client.get(outcomes_url(patient)).status_code == 403
    assert client.get(new_url(patient)).status_code == 403
    assert client.post(new_url(patient), reassessment(pain_nrs__current="2")).status_code == 403
    assert Measurement.objects.count() == 0


def test_another_clinics_practitioner_gets_404(patient: Patient, carol: User) -> None:
    client = login(carol)
    assert client.get(outcomes_url(patient)).status_code == 404
    assert client.post(new_url(patient), reassessment(pain_nrs__current="2")).status_code == 404
    assert Measurement.objects.count() == 0
