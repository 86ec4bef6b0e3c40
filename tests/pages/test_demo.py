"""The demo clinic: every stage present, built through the core, synthetic, idempotent."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterator
from io import StringIO
from typing import Any

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command

from acuknee.care.status import patient_status
from acuknee.clinical import (
    Assessment,
    Course,
    Intake,
    Plan,
    Scores,
    Screening,
    SessionRecord,
    evaluate,
)
from acuknee.clinical.response import Visit
from acuknee.commands.management.commands import load_demo as load_demo_command
from acuknee.demo import (
    DEMO_CLINIC_NAME,
    DEMO_CLINIC_SLUG,
    DEMO_USERS,
    OTHER_CLINIC_SLUG,
    DemoResult,
    load_demo,
    password_for,
)
from acuknee.records.models import (
    Clinic,
    IntakeRecord,
    Measurement,
    Patient,
    PlanRecord,
    Role,
    StaffProfile,
    TreatmentSession,
)
from tests.demo_snapshot import restore_demo
from tests.module_records import module_records

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 11, 1)
"""The day the research and FHIR tests load the demo for too: one snapshot (one ``load_demo``
per run, tests/demo_snapshot.py) serves them all."""


@pytest.fixture(scope="module")
def _demo_records(
    django_db_setup: Any, django_db_blocker: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DemoResult]:
    """What ``load_demo(TODAY)`` wrote into an empty database and answered: built by
    ``load_demo`` once per run and copied in (tests/demo_snapshot.py), so the run pays for one
    load; copied in once for the module's tests (tests/module_records.py)."""
    with module_records(django_db_blocker):
        yield restore_demo(tmp_path_factory, TODAY)


@pytest.fixture
def demo(_demo_records: DemoResult, db: None) -> DemoResult:
    """The demo as ``load_demo`` leaves it, for one test: what a test writes (a reload, a reset,
    a real patient) is undone before the next. The tests that reload and reset the demo start
    from it (the snapshot is exactly what ``load_demo`` adds)."""
    return _demo_records


def _demo_patients() -> list[Patient]:
    return list(Patient.objects.filter(clinic__slug=DEMO_CLINIC_SLUG, voided_at__isnull=True))


def _intake(patient: Patient) -> Intake:
    return Intake.model_validate(patient.intakes.get().data)


def test_creates_two_clinics_and_one_user_per_role(demo: DemoResult) -> None:
    result = demo
    assert result.created
    assert Clinic.objects.get(slug=DEMO_CLINIC_SLUG).name == DEMO_CLINIC_NAME
    assert Clinic.objects.filter(slug=OTHER_CLINIC_SLUG).exists()
    demo_roles = set(
        StaffProfile.objects.filter(clinic__slug=DEMO_CLINIC_SLUG).values_list("role", flat=True)
    )
    assert demo_roles == {Role.PRACTITIONER, Role.FRONT_DESK, Role.CLINIC_ADMIN}
    assert StaffProfile.objects.get(user__username="researcher").clinic is None
    assert {login.username for login in result.logins} == {u for u, _, _ in DEMO_USERS}
    assert result.patients == Patient.objects.count()


def test_printed_logins_work(demo: DemoResult) -> None:
    assert password_for("practitioner") == "demo-practitioner-2026"
    assert authenticate(username="practitioner", password="demo-practitioner-2026") is not None


def test_about_thirty_synthetic_patients(demo: DemoResult) -> None:
    demo = Patient.objects.filter(clinic__slug=DEMO_CLINIC_SLUG)
    assert 25 <= demo.count() <= 35
    assert not Patient.objects.filter(synthetic=False).exists()


def test_every_stage_is_present(demo: DemoResult) -> None:
    statuses = Counter(patient_status(p, TODAY) for p in _demo_patients())
    for status in Patient.Status:
        assert statuses[status] >= 1, status
    assert statuses[Patient.Status.COMPLETED] >= 4
    assert statuses[Patient.Status.IN_COURSE] >= 5


def test_completed_patients_include_responders_and_non_responders(demo: DemoResult) -> None:
    verdicts = []
    for patient in _demo_patients():
        if patient_status(patient, TODAY) != Patient.Status.COMPLETED:
            continue
        visits: dict[dt.date, dict[str, dict[str, float | None]]] = {}
        for m in patient.measurements.all():
            visits.setdefault(m.measured_on, {})[m.instrument] = m.answers
        days = sorted(visits)
        course = Course(
            baseline=Visit(date=days[0], measurements=visits[days[0]]),
            follow_ups=[Visit(date=d, measurements=visits[d]) for d in days[1:]],
        )
        verdicts.append(evaluate(course).follow_ups[-1].oarsi.status)
    assert "responder" in verdicts
    assert "non_responder" in verdicts


def test_special_patients_are_present(demo: DemoResult) -> None:
    patients = _demo_patients()
    intakes = [_intake(p) for p in patients]
    assert any(i.health.pregnant for i in intakes)
    assert any(i.health.implanted_electronic_device for i in intakes)
    assert any(i.health.knee_prosthesis is not None for i in intakes)
    referred = [p for p in patients if patient_status(p, TODAY) == Patient.Status.REFERRED]
    screening = Screening.model_validate(referred[0].intakes.get().screening)
    assert "septic_arthritis" in {r.rule for r in screening.referrals}
    assert not referred[0].plans.exists()


def test_pregnant_patients_plan_needles_no_blocked_point(demo: DemoResult) -> None:
    pregnant = next(p for p in _demo_patients() if _intake(p).health.pregnant)
    screening = Screening.model_validate(pregnant.intakes.get().screening)
    plan = Plan.model_validate(pregnant.plans.get().content)
    assert "pregnancy" in {f.rule for f in screening.findings}
    assert plan.points
    assert all(not screening.point_blocks(p.code, p.side) for p in plan.points)


def test_stored_json_is_valid_core_output(demo: DemoResult) -> None:
    for intake in IntakeRecord.objects.all():
        Intake.model_validate(intake.data)
        Screening.model_validate(intake.screening)
        Assessment.model_validate(intake.assessment)
    for plan in PlanRecord.objects.all():
        assert Plan.model_validate(plan.content).status == "proposed"
    for session in TreatmentSession.objects.all():
        record = SessionRecord.model_validate(session.data)
        assert record.date == session.session_date <= TODAY
    for measurement in Measurement.objects.all():
        Scores.model_validate(measurement.scores)
        assert measurement.measured_on <= TODAY


def test_loading_twice_changes_nothing(demo: DemoResult) -> None:
    before = (Patient.objects.count(), TreatmentSession.objects.count(), Clinic.objects.count())
    again = load_demo(TODAY)
    assert not again.created
    assert (
        Patient.objects.count(),
        TreatmentSession.objects.count(),
        Clinic.objects.count(),
    ) == before


def test_reset_recreates_the_same_data_for_the_same_seed(demo: DemoResult) -> None:
    names = sorted(Patient.objects.values_list("record_number", "given_name", "family_name"))
    old_ids = set(Patient.objects.values_list("pk", flat=True))
    result = load_demo(TODAY, reset=True)
    assert result.created
    assert sorted(Patient.objects.values_list("record_number", "given_name", "family_name")) == (
        names
    )
    assert not old_ids & set(Patient.objects.values_list("pk", flat=True))
    assert Clinic.objects.filter(slug=DEMO_CLINIC_SLUG).count() == 1


def test_reset_refuses_when_a_real_patient_is_in_the_demo_clinic(demo: DemoResult) -> None:
    Patient.objects.create(
        clinic=Clinic.objects.get(slug=DEMO_CLINIC_SLUG),
        record_number="REAL-1",
        given_name="Real",
        family_name="Person",
        date_of_birth=dt.date(1950, 1, 1),
        sex="female",
    )
    with pytest.raises(RuntimeError):
        load_demo(TODAY, reset=True)
    assert Patient.objects.filter(record_number="REAL-1").exists()


def test_command_says_what_it_created_and_prints_the_logins(
    demo: DemoResult, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The command on an empty database (its load is the snapshot's: ``load_demo`` itself is
    checked above from what it wrote and answered)."""
    monkeypatch.setattr(load_demo_command, "load_demo", lambda *a, **k: demo)
    out = StringIO()
    call_command("load_demo", stdout=out)
    assert f"Demo clinic created with {demo.patients} synthetic patients." in out.getvalue()
    assert "demo-practitioner-2026" in out.getvalue()


def test_command_run_again_changes_nothing_and_prints_the_logins(demo: DemoResult) -> None:
    count = Patient.objects.count()
    out = StringIO()
    call_command("load_demo", stdout=out)
    assert "already exists" in out.getvalue()
    assert "demo-practitioner-2026" in out.getvalue()
    assert Patient.objects.count() == count


def test_printed_logins_say_the_clinic_admin_enrols_a_second_factor(demo: DemoResult) -> None:
    out = StringIO()
    call_command("load_demo", stdout=out)
    [admin] = [u for u, _, role in DEMO_USERS if role == "clinic_admin"]
    [line] = [line for line in out.getvalue().splitlines() if "second factor" in line]
    assert admin in line
    assert "TOTP" in line


def test_the_list_and_each_patient_s_page_agree_on_last_visit_and_status(demo: DemoResult) -> None:
    """Two reads of the same facts (the list's subquery annotations; the chart each patient's
    page shows them from, ``patients._detail_context``) give every demo patient the same last
    visit and status: responders, referrals, voided records, self-reports, unsigned plans."""
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from acuknee.care.chart import chart_of
    from tests.pages.conftest import login

    client = login(get_user_model().objects.get(username="practitioner"))
    listed = client.get("/").context["rows"]
    assert len(listed) == len(_demo_patients()) >= 25
    today = timezone.localdate()
    for row in listed:
        chart = chart_of(row["patient"])
        shown = (chart.last_visit, chart.status(today))
        assert shown == (row["last_visit"], row["status"]), row["patient"].record_number
    assert len({row["status"] for row in listed}) >= 4  # the comparison spans the demo's stages
    page = client.get(f"/patients/{listed[0]['patient'].pk}/").context  # the page shows these
    assert (page["last_visit"], page["status"]) == (listed[0]["last_visit"], listed[0]["status"])
