"""Coded adverse events: each kind validates, an unknown kind is refused, and a record stored
with the old free-text ``type`` still loads as ``other`` with its text kept in the note."""

from __future__ import annotations

import datetime as dt

import pytest
from pydantic import ValidationError

from acuknee.clinical.sessions import (
    AdverseEvent,
    SessionRecord,
    adverse_event_counts,
    adverse_events_text,
)
from acuknee.clinical.vocabulary import AdverseEventKind, Severity

OLD_SESSION_JSON = """{
  "date": "2026-11-03", "number": 2, "points": [],
  "adverse_events": [
    {"type": "minor bruising", "severity": "mild",
     "action_taken": "Pressure applied for one minute; patient informed.", "point": "SP10"}
  ]
}"""


def test_old_free_text_type_loads_as_other_with_its_text_kept_in_the_note() -> None:
    [event] = SessionRecord.model_validate_json(OLD_SESSION_JSON).adverse_events
    assert event.kind is AdverseEventKind.OTHER
    assert event.note == "minor bruising"
    assert event.action_taken == "Pressure applied for one minute; patient informed."
    assert event.point == "SP10"


def test_old_free_text_type_is_kept_ahead_of_an_existing_note() -> None:
    event = AdverseEvent.model_validate(
        {"type": "felt faint", "severity": "moderate", "action_taken": "lay down", "note": "ok"}
    )
    assert event.note == "felt faint; ok"


def test_an_old_record_saved_again_loads_to_the_same_event() -> None:
    [event] = SessionRecord.model_validate_json(OLD_SESSION_JSON).adverse_events
    assert AdverseEvent.model_validate_json(event.model_dump_json()) == event


@pytest.mark.parametrize("kind", list(AdverseEventKind))
def test_each_coded_kind_validates_and_has_a_label(kind: AdverseEventKind) -> None:
    event = AdverseEvent.model_validate(
        {"kind": kind.value, "severity": "mild", "action_taken": "reassured"}
    )
    assert event.kind is kind
    assert event.kind.label
    assert "_" not in event.kind.label


def test_an_unknown_kind_is_refused_naming_the_field() -> None:
    with pytest.raises(ValidationError) as raised:
        AdverseEvent.model_validate(
            {"kind": "pneumothorax?", "severity": "mild", "action_taken": "none"}
        )
    assert raised.value.errors()[0]["loc"] == ("kind",)


def test_kind_and_the_old_type_together_are_refused_naming_the_field() -> None:
    with pytest.raises(ValidationError, match="type: give the coded kind only"):
        AdverseEvent.model_validate(
            {"kind": "bruising", "type": "bruise", "severity": "mild", "action_taken": "none"}
        )


def test_the_label_shows_the_kind_then_the_note() -> None:
    event = AdverseEvent(
        kind=AdverseEventKind.BRUISING, severity=Severity.MILD, action_taken="pressure", note="2 cm"
    )
    assert event.label == "Bruising: 2 cm"


def _session(number: int, *kinds: AdverseEventKind) -> SessionRecord:
    events = [AdverseEvent(kind=k, severity=Severity.MILD, action_taken="reassured") for k in kinds]
    return SessionRecord(date=dt.date(2026, 1, number), number=number, adverse_events=events)


def test_adverse_events_are_counted_by_kind_in_the_vocabularys_order() -> None:
    sessions = [
        _session(1, AdverseEventKind.FAINTING),
        _session(2, AdverseEventKind.BRUISING, AdverseEventKind.FAINTING),
    ]
    assert adverse_event_counts(sessions) == {
        AdverseEventKind.BRUISING: 1,
        AdverseEventKind.FAINTING: 2,
    }
    text = adverse_events_text(sessions)
    assert text == "3 adverse events in 2 sessions: Bruising 1; Fainting 2."


def test_sessions_without_events_say_none_was_recorded() -> None:
    assert adverse_events_text([_session(1)]) == "No adverse events recorded in 1 session."
