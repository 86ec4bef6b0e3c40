"""``acuknee.records.inserts``: rows and their history rows stored as the ORM stores them
(``bulk_create``, ``Model.objects.create`` and django-simple-history's own history rows), each
row given its own id, on SQLite and PostgreSQL (this folder runs in both passes)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection, connections
from django.db.models import Model, signals
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from simple_history.models import HistoricalRecords
from simple_history.utils import bulk_create_with_history

from acuknee.records import inserts
from acuknee.records.inserts import insert, insert_with_history
from acuknee.records.models import (
    IntakeRecord,
    Measurement,
    Patient,
    RenderedFhir,
    TreatmentSession,
)

pytestmark = pytest.mark.django_db

_MOMENTS = {"created_at", "updated_at", "history_date"}
"""Set from the clock as each row is made: compared for closeness, not equality."""


def _stored(row: Model) -> dict[str, Any]:
    """Every concrete column as read back from the database, but its id and its moments."""
    fresh = type(row)._default_manager.get(pk=row.pk)
    return {
        f.attname: getattr(fresh, f.attname)
        for f in type(row)._meta.concrete_fields
        if not f.primary_key and f.attname not in _MOMENTS
    }


def _history_of(row: Model) -> list[dict[str, Any]]:
    history: Any = type(row).history.model  # type: ignore[attr-defined]
    rows = history.objects.filter(id=row.pk).order_by("history_id")
    return [
        {
            f.attname: getattr(h, f.attname)
            for f in history._meta.concrete_fields
            if f.attname not in {"history_id", "id", *_MOMENTS}
        }
        for h in rows
    ]


def _measurements(patient: Patient, user: User, day: dt.date) -> list[Measurement]:
    made = []
    for instrument, answers in (
        ("pain_nrs", {"current": 6, "average_last_week": 5, "worst_last_week": 8}),
        ("patient_global", {"global": 4}),
        ("sleep_quality", {"rating": 7}),
    ):
        made.append(
            Measurement(
                patient=patient,
                measured_on=day,
                instrument=instrument,
                answers=answers,
                scores={"instrument": instrument, "subscales": {}},
                origin=Measurement.Origin.CLINIC,
                created_by=user,
            )
        )
    return made


@pytest.fixture(params=["columns reused", "made as models"])
def history_made(request: Any, monkeypatch: pytest.MonkeyPatch) -> str:
    """Both ways a history row is made: from its row's prepared values, and (for a history
    model with a column of its own) as a model."""
    if request.param == "made as models":
        monkeypatch.setattr(inserts, "_alike", lambda ours, theirs: False)
    monkeypatch.setattr(inserts, "_PLANS", {})
    return str(request.param)


def test_the_care_layer_s_history_rows_reuse_their_rows_prepared_values() -> None:
    """Every column of the three models' history rows is a tracked column prepared alike, the
    row's id, or one of django-simple-history's own: none is made as a model."""
    for model in (IntakeRecord, Measurement, TreatmentSession):
        history: Any = model.history.model  # type: ignore[attr-defined]
        plan = inserts._history_plan(connection, model, history)
        assert plan is not None, model
        assert sum(1 for source, _ in plan if source == "row") == len(plan) - 5, model


def test_rows_and_their_history_are_stored_as_simple_history_s_bulk_create_stores_them(
    patient: Patient, alice: User, history_made: str
) -> None:
    ours = _measurements(patient, alice, dt.date(2026, 3, 2))
    theirs = _measurements(patient, alice, dt.date(2026, 3, 2))
    with CaptureQueriesContext(connection) as ctx:
        insert_with_history(ours)
    bulk_create_with_history(theirs, Measurement)
    statements = [q["sql"] for q in ctx.captured_queries if "INSERT" in q["sql"]]
    assert len(statements) == 2  # the rows in one statement, their history rows in another
    assert len({r.pk for r in ours + theirs}) == 6
    for mine, reference in zip(ours, theirs, strict=True):
        assert mine.pk is not None
        assert not mine._state.adding
        assert _stored(mine) == _stored(reference)
        assert _history_of(mine) == _history_of(reference)
        assert [h["history_type"] for h in _history_of(mine)] == ["+"]
        stored = Measurement.objects.get(pk=mine.pk)
        assert stored.created_at == mine.created_at
        assert abs(stored.created_at - reference.created_at) < dt.timedelta(minutes=1)
        assert stored.instrument == mine.instrument  # each row was given its own id


def test_one_row_and_its_history_are_stored_as_objects_create_stores_them(
    patient: Patient, alice: User, history_made: str
) -> None:
    """A single intake, as ``record_intake`` stores it: the row, and the history row that
    django-simple-history's save signal writes for ``objects.create``, by the request's user."""
    values = {
        "patient": patient,
        "visit_date": dt.date(2026, 3, 1),
        "data": {"age": 66, "side": "left"},
        "screening": {"referrals": []},
        "assessment": {"likely_cause": "knee_oa"},
        "refers": False,
        "created_by": alice,
        "goals": "Walk the dog",
    }
    request = RequestFactory().post("/")
    request.user = alice
    HistoricalRecords.context.request = request  # as the history middleware sets it
    try:
        ours = IntakeRecord(**values)
        insert_with_history([ours])
        theirs = IntakeRecord.objects.create(**values)
    finally:
        del HistoricalRecords.context.request
    assert _stored(ours) == _stored(theirs)
    assert _history_of(ours) == _history_of(theirs)
    assert _history_of(ours)[0]["history_user_id"] == alice.pk


def test_a_row_s_own_history_user_and_change_reason_are_kept(
    patient: Patient, alice: User, history_made: str
) -> None:
    ours, theirs = (_measurements(patient, alice, dt.date(2026, 3, 2))[:1] for _ in range(2))
    for rows in (ours, theirs):
        rows[0]._history_user = alice  # type: ignore[attr-defined]
        rows[0]._change_reason = "entered from the paper form"
    insert_with_history(ours)
    bulk_create_with_history(theirs, Measurement)
    assert _history_of(ours[0]) == _history_of(theirs[0])
    assert _history_of(ours[0])[0]["history_change_reason"] == "entered from the paper form"


def test_rows_past_the_database_s_limit_on_parameters_go_in_more_statements(
    patient: Patient, alice: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    fields = len([f for f in Measurement._meta.concrete_fields if not f.primary_key])
    monkeypatch.setattr(connection.features, "max_query_params", 2 * fields)  # two rows each
    rows = _measurements(patient, alice, dt.date(2026, 3, 2))
    with CaptureQueriesContext(connection) as ctx:
        insert(rows)
    statements = [q["sql"] for q in ctx.captured_queries if q["sql"].startswith("INSERT")]
    assert len(statements) == 2
    assert [Measurement.objects.get(pk=r.pk).instrument for r in rows] == [
        "pain_nrs",
        "patient_global",
        "sleep_quality",
    ]


def test_a_database_that_cannot_return_the_ids_of_a_many_row_insert_gets_a_row_a_statement(
    patient: Patient, alice: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite before 3.35 returns no ids from an insert: each row is inserted alone and its id
    read after it, as Django does there."""
    if connection.vendor != "sqlite":
        pytest.skip("PostgreSQL returns the ids of every insert; this is SQLite's fallback")
    monkeypatch.setattr(type(connection.features), "can_return_rows_from_bulk_insert", False)
    written = connections["default"].__dict__  # (``connection`` is a proxy of it)
    written.pop("acuknee_inserts", None)  # the statements written with RETURNING
    rows = _measurements(patient, alice, dt.date(2026, 3, 2))
    try:
        with CaptureQueriesContext(connection) as ctx:
            insert_with_history(rows)
    finally:
        written.pop("acuknee_inserts", None)
    inserts = [q["sql"] for q in ctx.captured_queries if "INSERT" in q["sql"]]
    assert len(inserts) == 3 + 1  # a row a statement, then the history rows
    assert not any("RETURNING" in sql for sql in inserts)
    assert [Measurement.objects.get(pk=r.pk).instrument for r in rows] == [
        "pain_nrs",
        "patient_global",
        "sleep_quality",
    ]
    assert [h["instrument"] for r in rows for h in _history_of(r)] == [r.instrument for r in rows]


def test_only_new_rows_of_one_model_are_inserted(patient: Patient, alice: User) -> None:
    rows = _measurements(patient, alice, dt.date(2026, 3, 2))
    insert(rows[:1])
    with pytest.raises(ValueError, match="new Measurement rows only"):
        insert(rows[:2])  # the first is stored already
    with pytest.raises(ValueError, match="new Measurement rows only"):
        insert([rows[1], patient])
    assert Measurement.objects.filter(patient=patient).count() == 1


@pytest.mark.parametrize("model", [IntakeRecord, TreatmentSession, Measurement])
def test_what_the_care_layer_inserts_has_no_save_step_the_insert_would_skip(
    model: type[Model],
) -> None:
    """``insert_with_history`` sends no save signals and calls no ``save()``: the models the
    care layer stores with it have none but django-simple-history's receiver (whose history row
    it writes itself) and ``RenderedFhir``'s ``save`` (which clears lines not yet stored)."""
    for signal in (signals.pre_save, signals.post_save):
        sync, asynchronous = signal._live_receivers(model)
        found = [f"{r.__module__}.{r.__qualname__}" for r in [*sync, *asynchronous]]
        assert all(name.startswith("simple_history.") for name in found), (signal, found)
    assert model.save in (Model.save, RenderedFhir.save), model


def test_a_discarded_intake_draft_is_deleted_as_the_orm_deletes_it(
    patient: Patient, alice: User
) -> None:
    """``IntakeDraft.discard`` deletes with one statement what ``QuerySet.delete`` would: the
    draft of that patient by that user, and nothing else. A draft has no history, no delete
    receiver and nothing that refers to it, so the ORM would send and collect nothing more."""
    from acuknee.records.models import IntakeDraft

    other = User.objects.create_user("synthetic-bob")
    IntakeDraft.objects.create(patient=patient, user=alice, step="health", data={"a": ["1"]})
    IntakeDraft.objects.create(patient=patient, user=other, step="health", data={})
    for signal in (signals.pre_delete, signals.post_delete):
        sync, asynchronous = signal._live_receivers(IntakeDraft)
        assert [*sync, *asynchronous] == []
    assert not hasattr(IntakeDraft, "history")
    referring = [f for f in IntakeDraft._meta.get_fields() if f.auto_created and not f.concrete]
    assert referring == []
    with CaptureQueriesContext(connection) as ctx:
        IntakeDraft.discard(patient.pk, alice.pk)
        IntakeDraft.discard(patient.pk, alice.pk)  # none left: nothing happens
    assert len(ctx.captured_queries) == 2
    assert list(IntakeDraft.objects.values_list("user_id", flat=True)) == [other.pk]
