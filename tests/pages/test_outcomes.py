"""Reassessment visits scored by the core, and the outcomes built from stored measurements:
the five domains, MIC, the OMERACT-OARSI verdict, adverse events, sessions attended."""

from __future__ import annotations

import base64
import datetime as dt
import re
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.urls import reverse
from django.utils import timezone
from matplotlib.figure import Figure

from acuknee.audit.models import AuditEvent
from acuknee.clinical import score
from acuknee.clinical.response import EXPLORATORY_HERE_NOTE
from acuknee.records.models import Measurement, Patient, PlanRecord
from acuknee.reports import chart_cache, charts
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
    client = login(alice)
    response = client.get(outcomes_url(patient))
    domains = {d.domain: d for d in response.context["outcomes"].domains}
    assert {"pain", "inflammation", "circulation", "relaxation", "function"} <= set(domains)
    average = next(r for r in domains["pain"].rows if r.name == "Average pain, last week")
    assert (average.baseline, average.latest, average.change) == ("6", "2", "-4")
    assert average.mic_status == "reached"
    linked = chart_addresses(response.content.decode())
    assert linked  # new data: the page links the charts and draws none
    for address in linked:
        assert client.get(address).status_code == 200  # each drawn by its own request
    prefix = '<img class="trend" src="data:image/svg+xml;base64,'
    assert average.chart.startswith(prefix)  # drawn now: inline
    svg = base64.b64decode(average.chart[len(prefix) :].split('"', 1)[0]).decode()
    assert "<svg" in svg
    assert "Average pain, last week" in svg
    assert b"<script" not in response.content.split(b"<main", 1)[1]


def chart_addresses(html: str) -> list[str]:
    """The addresses of the trend charts a page links rather than shows inline."""
    return re.findall(r'<img class="trend[^"]*" src="(/[^"]+\.svg)"', html)


@pytest.fixture
def undrawn(patient: Patient, signed: PlanRecord) -> Patient:
    """A follow-up no chart has been drawn for: every drawn chart forgotten."""
    measure(patient, FOLLOW_UP, "pain_nrs", {"current": 3, "average_last_week": 2})
    measure(patient, FOLLOW_UP, "koos", koos(3))
    chart_cache.clear()
    return patient


def test_new_measurements_open_on_a_page_that_draws_no_chart(
    undrawn: Patient, alice: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After a reassessment the outcomes page used to draw its 16 charts before answering (0.2
    to 0.3 s, issue 15); now it links each one and its own request draws it."""
    drawn: list[str] = []
    real = charts.trend_figure

    def counted(spec: charts.TrendSpec) -> Figure:
        drawn.append(spec.title)
        return real(spec)

    monkeypatch.setattr(charts, "trend_figure", counted)
    client = login(alice)
    html = client.get(outcomes_url(undrawn)).content.decode()
    linked = chart_addresses(html)
    assert drawn == []
    assert len(linked) == html.count('<img class="trend') >= 10  # every chart linked
    alts = re.findall(r'<img class="trend[^"]*" src="[^"]+" alt="([^"]+)"', html)
    assert any(
        a.startswith("Average pain, last week (points (0-10), lower is better): ") for a in alts
    )
    for address in linked:
        image = client.get(address)
        assert image.status_code == 200
        assert image["Content-Type"] == "image/svg+xml"
        assert "no-store" in image["Cache-Control"]  # a patient's data, as the page
        assert b"<svg" in image.content
    assert len(drawn) == len(set(linked))  # each drawn once, by its own request
    again = client.get(outcomes_url(undrawn)).content.decode()
    assert chart_addresses(again) == []  # drawn: the next view shows them inline
    assert again.count('src="data:image/svg+xml;base64,') == len(linked)
    assert len(drawn) == len(set(linked))  # and draws nothing again


def test_a_linked_chart_shows_what_the_inline_chart_shows(undrawn: Patient, alice: User) -> None:
    client = login(alice)
    linked = client.get(outcomes_url(undrawn)).content.decode()
    for address in chart_addresses(linked):
        client.get(address)
    inline = client.get(outcomes_url(undrawn)).content.decode()
    pattern = r'<img class="(trend[^"]*)" src="[^"]+" (alt="[^"]+" width="\d+" height="\d+")>'
    assert re.findall(pattern, linked) == re.findall(pattern, inline)  # same alt, size, order
    assert len(re.findall(pattern, inline)) >= 10


def test_a_chart_s_request_is_audited_as_a_read_of_the_patient(
    undrawn: Patient, alice: User
) -> None:
    client = login(alice)
    address = chart_addresses(client.get(outcomes_url(undrawn)).content.decode())[0]
    client.get(address)
    event = AuditEvent.objects.filter(path=address).get()
    assert (event.action, event.patient_id, event.status) == ("read", undrawn.pk, 200)
    assert event.username == "alice"


def test_a_chart_address_serves_only_that_patient_s_chart(
    undrawn: Patient,
    other_patient: Patient,
    alice: User,
    carol: User,
    dana: User,
) -> None:
    client = login(alice)
    address = chart_addresses(client.get(outcomes_url(undrawn)).content.decode())[0]
    digest = address.rsplit("/", 1)[1]
    elsewhere = reverse("patient-chart", args=[other_patient.pk, digest.removesuffix(".svg")])
    assert client.get(elsewhere).status_code == 404  # another patient's address: no such chart
    assert login(carol).get(address).status_code == 404  # another clinic: no such patient
    assert login(dana).get(address).status_code == 403  # the front desk sees no outcomes
    for name in ("0" * 64, "not-a-digest", digest.upper().removesuffix(".SVG")):
        missing = client.get(reverse("patient-chart", args=[undrawn.pk, name]))
        assert missing.status_code == 404
    assert client.get(address).status_code == 200


def test_a_worker_that_did_not_link_a_chart_works_it_out_from_the_records(
    undrawn: Patient, alice: User
) -> None:
    """Two workers each keep their own memory: the one asked for the image may not have served
    the page, and finds the chart among the patient's own charts."""
    client = login(alice)
    linked = chart_addresses(client.get(outcomes_url(undrawn)).content.decode())
    chart_cache.clear()  # this worker forgets what the page kept
    for address in linked:
        image = client.get(address)
        assert image.status_code == 200
        assert b"<svg" in image.content


def test_a_chart_of_data_since_changed_is_not_found_by_another_worker(
    undrawn: Patient, alice: User
) -> None:
    client = login(alice)
    linked = chart_addresses(client.get(outcomes_url(undrawn)).content.decode())
    Measurement.objects.filter(
        patient=undrawn, measured_on=FOLLOW_UP, instrument="pain_nrs"
    ).update(
        answers={"current": 9, "average_last_week": 9},
        scores=score("pain_nrs", {"current": 9, "average_last_week": 9}).model_dump(mode="json"),
    )
    chart_cache.clear()
    statuses = {client.get(address).status_code for address in linked}
    assert statuses == {200, 404}  # the pain charts changed; the KOOS ones did not


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


def test_inflammation_by_skin_temperature_alone_is_labelled_alike_before_and_after_a_follow_up(
    patient: Patient, alice: User, signed: PlanRecord
) -> None:
    """One rule (``domain_label``) for the page before any follow-up and after one: the domain
    was exploratory only after the first follow-up, and its note said no validated measure of
    inflammation exists (effusion and circumference are validated)."""
    measure(patient, START, "skin_temperature", {"affected_c": 33.0})
    client = login(alice)

    def inflammation() -> Any:
        response = client.get(outcomes_url(patient))
        shown = {d.domain: d for d in response.context["outcomes"].domains}["inflammation"]
        printed.append(response.content.decode())
        return shown

    printed: list[str] = []

    before = inflammation()
    measure(patient, FOLLOW_UP, "skin_temperature", {"affected_c": 32.5})
    measure(patient, FOLLOW_UP, "pain_nrs", {"average_last_week": 2})
    after = inflammation()
    assert {r.latest for r in before.rows} == {"—"}
    assert {r.latest for r in after.rows} != {"—"}  # the follow-up is evaluated
    labels = {(d.exploratory, d.note) for d in (before, after)}
    assert labels == {(True, EXPLORATORY_HERE_NOTE)}
    assert all(EXPLORATORY_HERE_NOTE in page for page in printed)


def test_adverse_events_are_listed_from_the_sessions_that_recorded_them_among_those_without(
    patient: Patient, alice: User, signed: PlanRecord
) -> None:
    """Sessions without an adverse event are not read for one (``_adverse_events``); the one
    that recorded an event is listed under its own number, its details intact."""
    client = login(alice)
    url = reverse("session-new", args=[patient.pk])
    event = {
        "events-0-kind": "fainting",
        "events-0-severity": "moderate",
        "events-0-action_taken": "lay flat, needles out",
        "events-0-point": "ST36",
    }
    for extra in ({}, event, {}):
        assert client.post(url, page_data(client, url) | extra).status_code == 302
    outcomes = client.get(reverse("outcomes-section", args=[patient.pk])).context["outcomes"]
    assert outcomes.attended == 3
    assert [
        (a.number, a.kind, a.severity, a.action_taken, a.point) for a in outcomes.adverse_events
    ] == [(2, "Fainting", "moderate", "lay flat, needles out", "ST36")]
    assert outcomes.adverse_event_counts == [("Fainting", 1)]


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


def test_pain_a_third_lower_reaches_its_mcid_alike_on_the_page_the_chart_and_the_report(
    patient: Patient, alice: User
) -> None:
    """Pain 3 -> 2 is 1 point but a third less: Farrar 2001's "about two points or about 30 %"
    reaches the MCID. The verdict, the chart's band, its words and the progress report's
    figure must all say so, not the band or the bar "below the MCID" beside a "reached"."""
    from acuknee.reports.progress import build_patient_report

    sign_plan(patient, alice)
    measure(patient, START, "pain_nrs", {"current": 3, "average_last_week": 3})
    measure(patient, FOLLOW_UP, "pain_nrs", {"current": 2, "average_last_week": 2})
    response = login(alice).get(outcomes_url(patient))
    pain = next(d for d in response.context["outcomes"].domains if d.domain == "pain")
    average = next(r for r in pain.rows if r.name == "Average pain, last week")
    assert average.mic_status == "reached"
    assert average.mic_short == "MCID 2 or 30 % reached"
    assert "against 2 or 30 % of baseline" in average.mic_text
    spec = average.chart_spec
    assert spec is not None
    assert spec.band == pytest.approx((2.1, 3.0))  # 30 % of 3 below the baseline
    assert "MCID 2 or 30 %; from this baseline MCID 0.9 (30 % of the baseline 3)" in (
        spec.alt_text()
    )
    assert "MCID 2 or 30 % reached" in response.content.decode()
    report = build_patient_report(patient, today=FOLLOW_UP)
    assert report.glance is not None
    glance = report.glance.rows[0]
    assert glance.ratio is not None
    assert glance.ratio >= 1
    assert glance.mic == pytest.approx(0.9)
    assert "MCID 0.9 (30 % of the baseline 3)" in glance.note()


def test_a_reassessment_submitted_twice_is_stored_once(
    patient: Patient, alice: User, signed: PlanRecord
) -> None:
    """A double click once stored the visit twice; the second submit now answers that the
    first was saved, as the session page does."""
    client = login(alice)
    token = client.get(new_url(patient)).context["form_token"]
    data = reassessment(pain_nrs__average_last_week="2") | {"form_token": token}
    assert client.post(new_url(patient), data).status_code == 302
    again = client.post(new_url(patient), data, follow=True)
    assert "was already saved" in again.content.decode()
    assert Measurement.objects.filter(patient=patient, measured_on=FOLLOW_UP).count() == 1
    other = reassessment(pain_nrs__average_last_week="3")  # another visit, a new form
    assert client.post(new_url(patient), other | {"form_token": "another"}).status_code == 302
    assert Measurement.objects.filter(patient=patient, measured_on=FOLLOW_UP).count() == 2
