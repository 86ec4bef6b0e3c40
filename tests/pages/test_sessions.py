"""Sessions: logged pre-filled from the signed plan, validated as the core SessionRecord, edited
with optimistic locking, voided with a reason; the schedule as an RFC 5545 calendar."""

from __future__ import annotations

import datetime as dt
import html
from typing import Any

import icalendar
import pytest
from django import forms
from django.contrib.auth.models import User
from django.forms import BaseFormSet
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from acuknee.care import services
from acuknee.clinical import Intake, Plan, SessionRecord, assess, plan, screen
from acuknee.clinical.vocabulary import AdverseEventKind
from acuknee.pages.ics import CalendarEvent, ics_calendar
from acuknee.records.models import IntakeRecord, Patient, PlanRecord, TreatmentSession
from tests.care.builders import consent_on
from tests.pages.conftest import login

START = dt.date(2026, 1, 5)

KNEE_OA: dict[str, Any] = {
    "age": 64,
    "sex": "female",
    "side": "right",
    "duration_weeks": 78,
    "activity_related_pain": True,
    "morning_stiffness_minutes": 15,
    "examination": {
        "pain_location": ["medial", "anterior"],
        "crepitus": True,
        "bony_tenderness": True,
        "bony_enlargement": False,
        "palpable_warmth": False,
    },
    "investigations": {"xray_osteophytes": True, "kellgren_lawrence_grade": 2},
}


def sign_plan(
    patient: Patient,
    user: User,
    health: dict[str, Any] | None = None,
    *,
    consent: bool = True,
    **preferences: Any,
) -> PlanRecord:
    """A signed plan made by the core from a knee OA intake (no shortcut around the core), with
    the patient's informed consent recorded at the intake unless ``consent`` is False."""
    intake = Intake.model_validate({**KNEE_OA, "preferences": preferences, "health": health or {}})
    screening, assessment = screen(intake), assess(intake)
    proposed = plan(intake, screening, assessment, start=START)
    assert proposed.status == "proposed"
    record = IntakeRecord.objects.create(
        patient=patient,
        visit_date=START,
        data=intake.model_dump(mode="json"),
        screening=screening.model_dump(mode="json"),
        assessment=assessment.model_dump(mode="json"),
        created_by=user,
    )
    content = proposed.model_dump(mode="json")
    if consent:
        services.record_consent(patient, user, consent_on(START))
    return PlanRecord.objects.create(
        patient=patient,
        intake=record,
        status=PlanRecord.Status.SIGNED,
        proposed=content,
        content=content,
        start_date=START,
        signed_at=timezone.now(),
        signed_by=user,
        created_by=user,
    )


def posted(*parts: forms.Form | BaseFormSet) -> dict[str, Any]:
    """What a browser would send for these forms as rendered (checked boxes as "on")."""
    data: dict[str, Any] = {}
    for part in parts:
        if isinstance(part, BaseFormSet):
            for bf in part.management_form:
                data[bf.html_name] = bf.value()
            members = list(part.forms)
        else:
            members = [part]
        for form in members:
            for bf in form:
                value = bf.value()
                if isinstance(bf.field, forms.BooleanField):
                    if value:
                        data[bf.html_name] = "on"
                    continue
                data[bf.html_name] = "" if value is None else str(value)
    return data


def page_data(client: Client, url: str) -> dict[str, Any]:
    response = client.get(url)
    assert response.status_code == 200
    entry = response.context["entry"]
    return posted(entry.session, entry.points, entry.electro, entry.events)


@pytest.fixture
def signed(patient: Patient, alice: User) -> PlanRecord:
    return sign_plan(patient, alice)


def new_url(patient: Patient) -> str:
    return reverse("session-new", args=[patient.pk])


def test_session_page_is_prefilled_from_the_signed_plan(
    patient: Patient, alice: User, signed: PlanRecord
) -> None:
    response = login(alice).get(new_url(patient))
    planned = Plan.model_validate(signed.content)
    initial = response.context["entry"].points.initial
    assert [(p["code"], p["side"]) for p in initial[: len(planned.points)]] == [
        (p.code, p.side.value) for p in planned.points
    ]
    first = initial[0]
    assert first["depth_value"] == planned.points[0].depth_cun_min
    assert first["angle"] == "perpendicular"
    assert response.context["entry"].session.initial["retention_minutes"] == (
        planned.retention_minutes
    )
    assert b'value="ST34"' in response.content
    today = timezone.localdate().isoformat()
    assert f'type="date" name="session_date" value="{today}"'.encode() in response.content


def test_logging_a_session_stores_a_valid_session_record_numbered_one(
    patient: Patient, alice: User, signed: PlanRecord
) -> None:
    client = login(alice)
    data = page_data(client, new_url(patient))
    data |= {"pain_before": "6", "pain_after": "3", "points-0-de_qi": "on"}
    response = client.post(new_url(patient), data)
    assert response.status_code == 302
    stored = TreatmentSession.objects.get()
    record = SessionRecord.model_validate(stored.data)
    assert (stored.number, stored.plan, stored.created_by) == (1, signed, alice)
    assert record.points[0].code == "ST34"
    assert record.points[0].de_qi is True
    assert (record.pain_before, record.pain_after) == (6, 3)


def test_the_next_session_gets_the_next_number(
    patient: Patient, alice: User, signed: PlanRecord
) -> None:
    client = login(alice)
    for _ in range(2):
        assert client.post(new_url(patient), page_data(client, new_url(patient))).status_code == 302
    assert list(TreatmentSession.objects.values_list("number", flat=True)) == [1, 2]


def test_pain_of_eleven_is_refused_under_its_field_in_words_and_stores_nothing(
    patient: Patient, alice: User, signed: PlanRecord
) -> None:
    client = login(alice)
    data = page_data(client, new_url(patient)) | {"pain_after": "11"}
    response = client.post(new_url(patient), data)
    assert response.status_code == 400
    errors = response.context["entry"].session.errors
    assert errors["pain_after"] == ["must be 10 or less"]
    assert TreatmentSession.objects.count() == 0


def test_the_page_shown_again_with_an_error_shows_the_last_session_and_pain_as_first_opened(
    patient: Patient, alice: User, signed: PlanRecord
) -> None:
    """A save reads the sessions without their records; the page shown again with an error
    reads them then, and shows the last session and the pain trend as the page first did."""
    client = login(alice)
    for pain in ("6", "4"):
        data = page_data(client, new_url(patient)) | {"pain_before": pain, "pain_after": "3"}
        assert client.post(new_url(patient), data).status_code == 302
    opened = client.get(new_url(patient))
    response = client.post(
        new_url(patient), page_data(client, new_url(patient)) | {"pain_after": "11"}
    )
    assert response.status_code == 400

    def before_this_session(page: str) -> str:
        return page[
            page.index('id="previous-heading"') : page.index(
                "</section>", page.index('id="previous-heading"')
            )
        ]

    shown = before_this_session(response.content.decode())
    assert shown == before_this_session(opened.content.decode())
    assert "Session 2," in shown
    assert shown.count("<tr>") >= 2


def test_a_value_the_core_refuses_reads_in_words_without_its_path_or_pydantics_phrasing(
    patient: Patient, alice: User, signed: PlanRecord
) -> None:
    client = login(alice)
    data = page_data(client, new_url(patient)) | {
        "needle_diameter_mm": "-0.2",
        "needle_length_mm": "25",
    }
    response = client.post(new_url(patient), data)
    assert response.status_code == 400
    assert response.context["entry"].session.errors["needle_diameter_mm"] == ["must be more than 0"]
    page = response.content.decode()
    assert "needle.diameter_mm" not in page
    assert "Input should" not in page
    assert TreatmentSession.objects.count() == 0


def test_an_implausible_depth_lands_on_that_points_depth_field(
    patient: Patient, alice: User, signed: PlanRecord
) -> None:
    client = login(alice)
    data = page_data(client, new_url(patient)) | {"points-1-depth_value": "40"}
    response = client.post(new_url(patient), data)
    assert response.status_code == 400
    assert "depth_value" in response.context["entry"].points.forms[1].errors
    assert TreatmentSession.objects.count() == 0


def test_an_unticked_planned_point_is_left_out(
    patient: Patient, alice: User, signed: PlanRecord
) -> None:
    client = login(alice)
    data = page_data(client, new_url(patient))
    del data["points-0-needled"]
    client.post(new_url(patient), data)
    codes = [p["code"] for p in TreatmentSession.objects.get().data["points"]]
    assert "ST34" not in codes
    assert "ST36" in codes


def test_adverse_events_are_recorded_with_severity_and_action(
    patient: Patient, alice: User, signed: PlanRecord
) -> None:
    client = login(alice)
    data = page_data(client, new_url(patient)) | {
        "events-0-kind": "bruising",
        "events-0-severity": "mild",
        "events-0-action_taken": "pressure applied",
        "events-0-point": "SP10",
    }
    assert client.post(new_url(patient), data).status_code == 302
    (event,) = SessionRecord.model_validate(TreatmentSession.objects.get().data).adverse_events
    assert (event.kind.value, event.severity.value, event.action_taken) == (
        "bruising",
        "mild",
        "pressure applied",
    )


def test_the_session_form_offers_the_coded_adverse_event_kinds(
    patient: Patient, alice: User, signed: PlanRecord
) -> None:
    response = login(alice).get(new_url(patient))
    field = response.context["entry"].events.forms[0].fields["kind"]
    offered = [value for value, _ in field.choices if value]
    assert offered == [k.value for k in AdverseEventKind]
    assert b'<option value="retained_or_broken_needle">Retained or broken needle</option>' in (
        response.content
    )


def test_an_other_adverse_event_keeps_its_words_in_the_note(
    patient: Patient, alice: User, signed: PlanRecord
) -> None:
    client = login(alice)
    data = page_data(client, new_url(patient)) | {
        "events-0-kind": "other",
        "events-0-severity": "mild",
        "events-0-action_taken": "reassured",
        "events-0-note": "tingling in the foot for ten minutes",
    }
    assert client.post(new_url(patient), data).status_code == 302
    (event,) = SessionRecord.model_validate(TreatmentSession.objects.get().data).adverse_events
    assert (event.kind, event.note) == (
        AdverseEventKind.OTHER,
        "tingling in the foot for ten minutes",
    )


def test_an_adverse_event_without_action_names_the_field(
    patient: Patient, alice: User, signed: PlanRecord
) -> None:
    client = login(alice)
    data = page_data(client, new_url(patient)) | {
        "events-0-kind": "fainting",
        "events-0-severity": "moderate",
    }
    response = client.post(new_url(patient), data)
    assert response.status_code == 400
    assert "action_taken" in response.context["entry"].events.forms[0].errors
    assert TreatmentSession.objects.count() == 0


def test_an_electro_plan_prefills_its_wired_pairs_and_frequency(
    patient: Patient, alice: User
) -> None:
    signed = sign_plan(patient, alice, method="electro")
    planned = Plan.model_validate(signed.content)
    assert planned.electro_circuits
    client = login(alice)
    response = client.get(new_url(patient))
    pairs = response.context["entry"].electro.initial
    assert [(p["point_a"], p["point_b"]) for p in pairs] == [
        (c.a, c.b) for c in planned.electro_circuits
    ]
    assert client.post(new_url(patient), page_data(client, new_url(patient))).status_code == 302
    record = SessionRecord.model_validate(TreatmentSession.objects.get().data)
    assert record.electro[0].frequency_hz == planned.electro_frequency_hz


def test_without_a_signed_plan_no_session_can_be_logged(patient: Patient, alice: User) -> None:
    response = login(alice).get(new_url(patient))
    assert response.status_code == 409
    assert b"no signed plan" in response.content


def log_one(client: Client, patient: Patient) -> TreatmentSession:
    assert client.post(new_url(patient), page_data(client, new_url(patient))).status_code == 302
    return TreatmentSession.objects.latest("id")


def test_a_concurrent_edit_is_refused_with_a_clear_message(
    patient: Patient, alice: User, bob: User, signed: PlanRecord
) -> None:
    session = log_one(login(alice), patient)
    url = reverse("session-edit", args=[patient.pk, session.pk])
    alice_client, bob_client = login(alice), login(bob)
    alice_data = page_data(alice_client, url) | {"note": "alice's note", "amend_reason": "typo"}
    bob_data = page_data(bob_client, url) | {"note": "bob's note", "amend_reason": "typo"}
    assert alice_client.post(url, alice_data).status_code == 302
    response = bob_client.post(url, bob_data)
    assert response.status_code == 409
    assert b"changed by someone else" in response.content
    session.refresh_from_db()
    assert (session.data["note"], session.version) == ("alice's note", 2)


def test_voiding_a_session_needs_a_reason_and_keeps_it_visible(
    patient: Patient, alice: User, signed: PlanRecord
) -> None:
    client = login(alice)
    session = log_one(client, patient)
    url = reverse("session-void", args=[patient.pk, session.pk])
    assert client.post(url, {"version": session.version, "reason": ""}).status_code == 400
    response = client.post(url, {"version": session.version, "reason": "wrong patient"})
    assert response.status_code == 302
    session.refresh_from_db()
    assert session.is_voided
    assert session.void_reason == "wrong patient"
    assert TreatmentSession.objects.count() == 1


def unfold(text: str) -> list[str]:
    return text.replace("\r\n ", "").split("\r\n")


def test_schedule_is_an_icalendar_with_one_event_per_planned_visit(
    patient: Patient, alice: User, signed: PlanRecord
) -> None:
    response = login(alice).get(reverse("schedule-ics", args=[patient.pk]))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")
    raw = response.content
    assert raw.endswith(b"\r\n")
    assert b"\n" not in raw.replace(b"\r\n", b"")
    assert all(len(line) <= 75 for line in raw.split(b"\r\n"))
    lines = unfold(raw.decode("utf-8"))[:-1]
    assert (lines[0], lines[-1]) == ("BEGIN:VCALENDAR", "END:VCALENDAR")
    assert "VERSION:2.0" in lines
    assert any(line.startswith("PRODID:") for line in lines)
    events: list[list[str]] = []
    for line in lines:
        if line == "BEGIN:VEVENT":
            events.append([])
        elif events and line != "END:VEVENT":
            events[-1].append(line)
    schedule = Plan.model_validate(signed.content).schedule
    assert len(events) == len(schedule) == lines.count("END:VEVENT")
    uids = set()
    for event, visit in zip(events, schedule, strict=True):
        props = dict(line.split(":", 1) for line in event)
        assert props["DTSTART;VALUE=DATE"] == visit.date.strftime("%Y%m%d")
        assert props["DTSTAMP"].endswith("Z")
        assert props["SUMMARY"]
        uids.add(props["UID"])
    assert len(uids) == len(events)


def test_long_summaries_fold_at_75_octets_without_splitting_a_character() -> None:
    event = CalendarEvent(uid="u@acuknee", day=dt.date(2026, 12, 7), summary="é" * 100)
    raw = ics_calendar([event], dt.datetime(2026, 12, 6, tzinfo=dt.UTC), "Knee")
    assert all(len(line) <= 75 for line in raw.split(b"\r\n"))
    parsed = icalendar.Calendar.from_ical(raw)
    assert [str(e["SUMMARY"]) for e in parsed.walk("VEVENT")] == ["é" * 100]


def test_schedule_text_with_commas_and_semicolons_round_trips() -> None:
    event = CalendarEvent(
        uid="u@acuknee", day=dt.date(2026, 12, 7), summary="Session 1; knee, left\\right"
    )
    raw = ics_calendar([event], dt.datetime(2026, 12, 6, tzinfo=dt.UTC), "Clinic; A, B")
    parsed = icalendar.Calendar.from_ical(raw)
    assert str(parsed["X-WR-CALNAME"]) == "Clinic; A, B"
    assert [str(e["SUMMARY"]) for e in parsed.walk("VEVENT")] == ["Session 1; knee, left\\right"]


def test_the_sessions_section_counts_attended_against_planned(
    patient: Patient, alice: User, signed: PlanRecord
) -> None:
    client = login(alice)
    log_one(client, patient)
    response = client.get(reverse("sessions-section", args=[patient.pk]))
    section = response.context["sessions_section"]
    assert (section["attended"], section["planned"]) == (1, 10)
    assert b"Open session 1" in response.content


# --- the session checked against the plan and the screening --------------------------------------


@pytest.mark.parametrize("typed", ["st 34", "st-34", "St34", "ST 34"])
def test_a_loosely_typed_point_code_is_stored_as_its_who_code_and_the_user_told(
    patient: Patient, alice: User, signed: PlanRecord, typed: str
) -> None:
    client = login(alice)
    data = page_data(client, new_url(patient)) | {"points-0-code": typed}
    response = client.post(new_url(patient), data, follow=True)
    assert response.redirect_chain, response.content.decode()[:2000]
    stored = SessionRecord.model_validate(TreatmentSession.objects.get().data)
    assert stored.points[0].code == "ST34"
    assert f"{typed!r} was recorded as ST34" in html.unescape(response.content.decode())


def test_an_unknown_point_code_is_still_refused_naming_its_row(
    patient: Patient, alice: User, signed: PlanRecord
) -> None:
    client = login(alice)
    data = page_data(client, new_url(patient)) | {"points-0-code": "st 99"}
    response = client.post(new_url(patient), data)
    assert response.status_code == 400
    [message] = response.context["entry"].points.forms[0].errors["code"]
    assert message.startswith("Point row 1: unknown point code 'st 99'")
    assert TreatmentSession.objects.count() == 0


def test_a_point_blocked_in_pregnancy_and_not_in_the_plan_cannot_be_logged(
    patient: Patient, alice: User
) -> None:
    sign_plan(patient, alice, health={"pregnant": True, "pregnancy_weeks": 20})
    client = login(alice)
    data = page_data(client, new_url(patient)) | {"points-0-code": "SP6"}
    response = client.post(new_url(patient), data)
    assert response.status_code == 400
    [message] = response.context["entry"].points.forms[0].errors["code"]
    assert "Pregnancy: forbidden throughout pregnancy" in message  # the rule in words (issue 11)
    assert b"Pregnancy: forbidden throughout pregnancy" in response.content
    assert TreatmentSession.objects.count() == 0


# --- the session-time limits of the screening (bleeding risk: BAcC; WHO 1999) --------------------


def _bleeding_rule_words() -> tuple[str, list[str]]:
    from acuknee.clinical import load_knowledge

    kb = load_knowledge()
    rule = kb.safety_rules["bleeding_risk"]
    return rule.name, [kb.sources[s].citation for s in rule.source]


def test_a_depth_beyond_the_bleeding_risk_cap_is_refused_naming_the_rule_and_source(
    patient: Patient, alice: User
) -> None:
    sign_plan(patient, alice, health={"anticoagulant": "warfarin"})
    client = login(alice)
    data = page_data(client, new_url(patient)) | {
        "points-0-depth_value": "1",
        "points-0-depth_unit": "cun",
    }
    response = client.post(new_url(patient), data)
    assert response.status_code == 400
    [message] = response.context["entry"].points.forms[0].errors["depth_value"]
    name, citations = _bleeding_rule_words()
    assert "deeper than this patient's limit of 0.5 cun" in message
    assert name in message
    assert all(c in message for c in citations)
    assert "bleeding_risk" not in message
    assert "points.0" not in message
    assert TreatmentSession.objects.count() == 0


def test_a_needle_thicker_than_0_20_mm_under_bleeding_risk_is_refused_on_the_page(
    patient: Patient, alice: User
) -> None:
    sign_plan(patient, alice, health={"anticoagulant": "warfarin"})
    client = login(alice)
    data = page_data(client, new_url(patient)) | {
        "needle_diameter_mm": "0.25",
        "needle_length_mm": "25",
    }
    response = client.post(new_url(patient), data)
    assert response.status_code == 400
    [message] = response.context["entry"].session.errors["needle_diameter_mm"]
    name, citations = _bleeding_rule_words()
    assert "thicker than this patient's limit of 0.2 mm" in message
    assert name in message
    assert citations[0] in message
    assert "needle.diameter_mm" not in message
    assert TreatmentSession.objects.count() == 0


def test_a_needle_of_0_20_mm_within_the_depth_cap_is_accepted(
    patient: Patient, alice: User
) -> None:
    sign_plan(patient, alice, health={"anticoagulant": "warfarin"})
    client = login(alice)
    data = page_data(client, new_url(patient)) | {
        "needle_diameter_mm": "0.20",
        "needle_length_mm": "25",
        "points-0-depth_value": "0.5",
        "points-0-depth_unit": "cun",
    }
    response = client.post(new_url(patient), data)
    assert response.status_code == 302, response.context["entry"].points.forms[0].errors
    assert TreatmentSession.objects.count() == 1


def test_the_plan_s_depth_and_angle_show_beside_each_point_whenever_the_page_is_shown(
    patient: Patient, alice: User, signed: PlanRecord
) -> None:
    """The hints are worked out only for a page shown (a session saved at once never needs
    them): the new session's page, the page refused by a form check and the page refused by
    the care service each show them beside the same rows."""
    client = login(alice)
    shown = client.get(new_url(patient))
    hints = [f.plan_hint for f in shown.context["entry"].points.forms]
    assert hints[0].startswith("plan: ")
    assert f'<p class="hint">{hints[0]}</p>' in shown.content.decode()
    data = page_data(client, new_url(patient))
    by_form = client.post(new_url(patient), data | {"pain_after": "11"})
    assert by_form.status_code == 400
    by_care = client.post(new_url(patient), data | {"session_date": "2001-01-02"})
    assert by_care.status_code == 400
    [refusal] = by_care.context["entry"].non_field_errors  # the care service's, not a field's
    assert "2001-01-02 is before the intake the plan rests on" in refusal
    for refused in (by_form, by_care):
        entry = refused.context["entry"]
        assert [f.plan_hint for f in entry.points.forms][: len(hints)] == hints
        assert f'<p class="hint">{hints[0]}</p>' in refused.content.decode()
    assert TreatmentSession.objects.count() == 0


@pytest.mark.parametrize("typed", ["inf", "infinity", "1e999", "nan"])
def test_an_infinite_frequency_typed_on_the_page_is_refused_on_its_field(
    patient: Patient, alice: User, typed: str
) -> None:
    """The page once answered "saved by another request" and dropped the whole entry."""
    sign_plan(patient, alice, method="electro")
    client = login(alice)
    data = page_data(client, new_url(patient))
    field = next(k for k in data if k.endswith("frequency_hz"))
    response = client.post(new_url(patient), data | {field: typed})
    assert response.status_code == 400
    assert response.context["entry"].electro.forms[0].errors
    assert response.context["entry"].points.forms[0]["code"].value()  # the entry is kept
    assert TreatmentSession.objects.count() == 0
