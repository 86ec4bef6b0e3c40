"""Prepared reads (``records.prepared``) answer exactly what the ORM answers for the same
queryset: every prepared read of the app is compared row by row, field by field, with its own
ORM queryset on a history with voided records, amendments, a referral and a draft; and a build
whose SQL does not take its arguments as parameters is refused instead of answered wrongly."""

from __future__ import annotations

import datetime as dt
import importlib
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.db.models import Model
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

import acuknee
from acuknee.care import queries, services
from acuknee.records.models import IntakeDraft, Patient, SelfReportLink
from acuknee.records.prepared import REGISTRY, PreparationError, Prepared
from tests.care.builders import (
    course_with_voided_records,
    days_ago,
    intake,
    oa_intake,
    septic_intake,
)
from tests.care.builders import signed_plan as make_signed_plan

pytestmark = pytest.mark.django_db

SOURCE = Path(acuknee.__file__).parent
DEFINING = sorted(
    ".".join(path.relative_to(SOURCE.parent).with_suffix("").parts)
    for path in SOURCE.rglob("*.py")
    if "= Prepared(" in path.read_text(encoding="utf-8")
)
for _module in DEFINING:  # every prepared read registers itself when its module is imported
    importlib.import_module(_module)


def snapshot(obj: Any, seen: frozenset[int] = frozenset()) -> Any:
    """A row as data: a model's loaded fields, annotations and related objects it holds (an
    object already on the path, as a user's staff profile's user, by its key only)."""
    if not isinstance(obj, Model):
        return obj
    if id(obj) in seen:
        return (type(obj).__name__, obj.pk)
    seen |= {id(obj)}
    fields = {k: snapshot(v, seen) for k, v in vars(obj).items() if k != "_state"}
    related = {k: snapshot(v, seen) for k, v in obj._state.fields_cache.items()}
    return (type(obj).__name__, fields, related)


@pytest.fixture
def history(alice: User, patient: Patient, client: Client) -> dict[str, Any]:
    """Every kind of record the prepared reads return, with the arguments to read them."""
    cleared = intake(patient, alice, septic_intake(), days_ago(40))
    services.resolve_referral(
        cleared, alice, seen_by="Dr Synthetic", seen_on=days_ago(38), cleared=True
    )
    plan_record = course_with_voided_records(patient, alice)
    assert plan_record.signed_by == alice  # the plan page shows who signed it
    intake(patient, alice, septic_intake(), days_ago(5))  # a referral that stands
    intake(patient, alice, oa_intake(), days_ago(2))
    IntakeDraft.objects.create(patient=patient, user=alice, step=1, data={})
    link, _ = SelfReportLink.issue(patient, alice, ["pain_nrs"], dt.timedelta(days=7))
    SelfReportLink.objects.filter(pk=link.pk).update(used_at=timezone.now())
    client.force_login(alice)
    return {
        "patient_id": patient.pk,
        "clinic_id": patient.clinic_id,
        "user_id": alice.pk,
        "plan_id": plan_record.pk,
        "session_id": patient.sessions.filter(voided_at__isnull=True).earliest("number").pk,
        "session_key": client.session.session_key,
        "now": timezone.now(),
        "since": timezone.now() - dt.timedelta(days=7),
        "intake_id": cleared.pk,  # an intake with a recorded referral outcome
        "measured_on": days_ago(9),  # a voided clinic measurement, and who voided it
    }


def test_the_app_s_prepared_reads_are_all_compared() -> None:
    assert len(DEFINING) >= 4
    assert {read.build.__module__ for read in REGISTRY} == set(DEFINING)


def test_the_history_holds_what_the_reads_must_cope_with(
    history: dict[str, Any], patient: Patient
) -> None:
    assert patient.sessions.filter(voided_at__isnull=False).exists()
    assert patient.measurements.filter(voided_at__isnull=False).exists()
    assert queries.current_consent(patient) is not None


@pytest.mark.parametrize("read", sorted(REGISTRY, key=repr), ids=repr)
def test_every_prepared_read_answers_as_its_orm_queryset(
    read: Prepared, history: dict[str, Any]
) -> None:
    values = {name: history[name] for name in read.arguments}
    shape = read.example_shape
    expected = [snapshot(row) for row in read.orm(shape, **values)]
    assert expected, f"{read!r} found nothing in the history: the comparison would prove nothing"
    assert [snapshot(row) for row in read.rows(shape=shape, **values)] == expected
    # Compiled once: the second run (other values) must not reuse the first run's values.
    other = {name: _other(value) for name, value in values.items()}
    again = [snapshot(row) for row in read.rows(shape=shape, **other)]
    assert again == [snapshot(r) for r in read.orm(shape, **other)]


def _other(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value + 1000
    if isinstance(value, dt.date):  # a date or a moment
        return value - dt.timedelta(days=3650)
    return value + "x"


def test_a_read_is_built_and_compiled_once_per_connection(patient: Patient) -> None:
    built: list[int] = []

    def build(patient_id: int) -> Any:
        built.append(patient_id)
        return Patient.objects.filter(pk=patient_id)

    read = Prepared(build, register=False, patient_id=int)
    assert [p.pk for p in read.rows(patient_id=patient.pk)] == [patient.pk]
    assert read.rows(patient_id=patient.pk + 1) == []
    with CaptureQueriesContext(connection) as ctx:
        assert [p.pk for p in read.rows(patient_id=patient.pk)] == [patient.pk]
    assert len(built) == 1
    assert len(ctx.captured_queries) == 1


def test_values_list_rows_are_converted_as_the_orm_converts_them(history: dict[str, Any]) -> None:
    read = Prepared(
        lambda patient_id: Patient.objects.filter(pk=patient_id).values_list(
            "date_of_birth", "created_at"
        ),
        patient_id=int,
    )
    (row,) = read.rows(patient_id=history["patient_id"])
    assert row == tuple(read.orm(patient_id=history["patient_id"]).get())
    assert isinstance(row[0], dt.date)
    assert isinstance(row[1], dt.datetime)


def test_an_argument_written_into_the_sql_text_is_refused(patient: Patient) -> None:
    read = Prepared(lambda n: Patient.objects.order_by("pk")[:n], register=False, n=int)
    with pytest.raises(PreparationError, match="'n' is not a parameter"):
        read.rows(n=5)


def test_an_argument_of_another_kind_is_refused(patient: Patient) -> None:
    read = Prepared(
        lambda patient_id: Patient.objects.filter(pk=patient_id), register=False, patient_id=int
    )
    for wrong in (str(patient.pk), None, True, float(patient.pk)):
        with pytest.raises(TypeError, match="'patient_id' must be a int"):
            read.rows(patient_id=wrong)
    with pytest.raises(TypeError, match="takes"):
        read.rows(pk=patient.pk)


def test_a_known_related_object_is_set_only_where_it_is_related(
    alice: User, patient: Patient
) -> None:
    from acuknee.care.queries import PATIENT_PLANS as PLANS

    make_signed_plan(patient, alice, days_ago(3))
    (plan,) = PLANS.rows(known={"patient": patient}, patient_id=patient.pk)
    with CaptureQueriesContext(connection) as ctx:
        assert plan.patient is patient
    assert not ctx.captured_queries
    other = Patient.objects.exclude(pk=patient.pk).first() or Patient(pk=patient.pk + 1)
    with pytest.raises(PreparationError, match="is not related"):
        PLANS.rows(known={"patient": other}, patient_id=patient.pk)


def test_a_build_that_compiles_to_no_query_is_refused(patient: Patient) -> None:
    read = Prepared(
        lambda patient_id: Patient.objects.filter(pk=patient_id, pk__in=[]),
        register=False,
        patient_id=int,
    )
    with pytest.raises(PreparationError, match="compiles to no query"):
        read.rows(patient_id=patient.pk)
