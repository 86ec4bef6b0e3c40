"""Refreshing the research tables from the clinic's records (the synthetic demo clinic)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.management import call_command
from django.db import transaction

from acuknee.care.queries import build_course, signed_plan
from acuknee.clinical import SessionRecord, evaluate, load_knowledge
from acuknee.records.models import Clinic, Patient
from acuknee.research.models import AdverseEventFact, CourseOutcome
from acuknee.research.refresh import refresh
from acuknee.research.schema import COURSE_COLUMNS
from tests.demo_snapshot import restore_demo

TODAY = dt.date(2026, 11, 1)
pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def _demo_once(
    django_db_setup: Any, django_db_blocker: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[None]:
    """The demo clinic (built once per run: tests/demo_snapshot.py), for the module, inside a
    transaction rolled back at the end; each test's own transaction nests inside it, so tests
    stay independent."""
    with django_db_blocker.unblock(), transaction.atomic():
        restore_demo(tmp_path_factory, TODAY)
        yield
        transaction.set_rollback(True)


@pytest.fixture
def demo(_demo_once: None, db: Any) -> None:
    """The demo clinic, for one test (its changes are rolled back after it)."""


def _signed(patients: Any) -> list[Patient]:
    return [p for p in patients if not p.is_voided and signed_plan(p) is not None]


def test_one_row_per_patient_with_a_signed_plan(demo: None) -> None:
    summary = refresh(today=TODAY, seed=1)
    expected = _signed(Patient.objects.all())
    assert expected
    assert CourseOutcome.objects.count() == summary.courses == len(expected)


def test_rows_hold_no_identifier(demo: None) -> None:
    refresh(today=TODAY, seed=1)
    names = {c.name for c in COURSE_COLUMNS}
    assert not names & {"record_number", "given_name", "family_name", "date_of_birth", "phone"}
    identifiers = set()
    for p in Patient.objects.all():
        identifiers |= {p.record_number, p.given_name, p.family_name, p.date_of_birth.isoformat()}
    for r in CourseOutcome.objects.values():
        assert not {str(v) for v in r.values()} & identifiers, r


def test_course_ids_are_a_permutation_not_the_patient_order(demo: None) -> None:
    refresh(today=TODAY, seed=1)
    ages_by_course = list(CourseOutcome.objects.order_by("course_id").values_list("age", flat=True))
    assert sorted(CourseOutcome.objects.values_list("course_id", flat=True)) == list(
        range(1, len(ages_by_course) + 1)
    )
    refresh(today=TODAY, seed=2)
    again = list(CourseOutcome.objects.order_by("course_id").values_list("age", flat=True))
    assert sorted(again) == sorted(ages_by_course)
    assert again != ages_by_course


def test_verdicts_are_the_cores_evaluation(demo: None) -> None:
    refresh(today=TODAY, seed=1)
    kb = load_knowledge()
    verdicts: dict[str, int] = {}
    for patient in _signed(Patient.objects.all()):
        course = build_course(patient)
        if course is None or not course.follow_ups:
            status = "not_evaluable"
        else:
            status = evaluate(course, kb).follow_ups[-1].oarsi.status
        verdicts[status] = verdicts.get(status, 0) + 1
    stored: dict[str, int] = {}
    for v in CourseOutcome.objects.values_list("verdict", flat=True):
        stored[v] = stored.get(v, 0) + 1
    assert stored == verdicts
    assert "responder" in stored or "non_responder" in stored


def test_clinic_region_comes_from_the_clinic(demo: None) -> None:
    refresh(today=TODAY, seed=1)
    regions = dict(Clinic.objects.values_list("id", "region"))
    for r in CourseOutcome.objects.all():
        assert r.clinic_region == regions[r.clinic_id]


def test_adverse_events_are_copied_from_the_sessions(demo: None) -> None:
    refresh(today=TODAY, seed=1)
    recorded = sum(
        len(SessionRecord.model_validate(s.data).adverse_events)
        for p in _signed(Patient.objects.all())
        for s in p.sessions.filter(voided_at__isnull=True)
    )
    assert recorded > 0
    assert AdverseEventFact.objects.count() == recorded
    known = set(CourseOutcome.objects.values_list("course_id", flat=True))
    assert set(AdverseEventFact.objects.values_list("course_id", flat=True)) <= known


def test_refresh_twice_replaces_rather_than_duplicates(demo: None) -> None:
    first = refresh(today=TODAY, seed=1)
    second = refresh(today=TODAY, seed=2)
    assert CourseOutcome.objects.count() == first.courses == second.courses
    assert AdverseEventFact.objects.count() == second.adverse_events


def test_rows_of_clinics_without_records_are_kept(demo: None) -> None:
    """A synthetic cohort's clinic has no patient records: refresh leaves its rows alone."""
    other = Clinic.objects.create(name="Synthetic 1 (synthetic)", slug="synthetic-1")
    kept = {c.name: _value(c) for c in COURSE_COLUMNS}
    CourseOutcome.objects.create(**(kept | {"course_id": 900, "clinic_id": other.pk}))
    refresh(today=TODAY, seed=1)
    assert CourseOutcome.objects.filter(course_id=900, clinic_id=other.pk).exists()
    refreshed = CourseOutcome.objects.exclude(clinic_id=other.pk)
    assert refreshed.exists()
    assert min(refreshed.values_list("course_id", flat=True)) == 901  # after the kept ids


def _value(column: Any) -> Any:
    return {"bigint": 1, "int": 1, "float": None, "bool": False, "text": "x", "date": TODAY}[
        column.kind
    ]


def test_management_command_reports_what_it_did(demo: None, capsys: Any) -> None:
    call_command("refresh_research")
    out = capsys.readouterr().out
    assert "research tables refreshed" in out
    assert CourseOutcome.objects.exists()


def test_voided_patients_are_left_out(demo: None) -> None:
    voided = Patient.objects.filter(voided_at__isnull=False).count()
    assert voided > 0
    summary = refresh(today=TODAY, seed=1)
    assert summary.courses == len(_signed(Patient.objects.filter(voided_at__isnull=True)))


def test_a_record_the_core_cannot_read_is_counted_not_guessed(demo: None) -> None:
    from acuknee.records.models import IntakeRecord

    signed = _signed(Patient.objects.order_by("id"))
    IntakeRecord.objects.filter(patient=signed[0]).update(data={"age": "old"})
    summary = refresh(today=TODAY, seed=1)
    assert summary.skipped["with an intake or plan the core cannot read"] == 1
    assert summary.courses == len(signed) - 1


def test_each_pooled_measure_is_in_the_domain_and_of_the_evidence_the_knowledge_base_gives() -> (
    None
):
    """A pooled measure's domain and its exploratory label are the knowledge base's: knee skin
    temperature was pooled as "circulation", which instruments.toml says no validated measure
    exists for (skin temperature is an exploratory marker of inflammation, Denoble 2010)."""
    from acuknee.clinical import load_knowledge
    from acuknee.research.schema import DOMAIN_MEASURES

    kb = load_knowledge()
    for m in DOMAIN_MEASURES:
        inst = kb.instruments[m.instrument]
        sub = next(s for s in inst.subscales if s.id == m.subscale)
        assert sub.domain is not None, m
        assert m.domain == sub.domain.value, m
        assert m.exploratory == (inst.exploratory or sub.exploratory), m
    assert "circulation" not in {m.domain for m in DOMAIN_MEASURES}
    prefixes = [m.prefix for m in DOMAIN_MEASURES]
    assert len(prefixes) == len(set(prefixes))
