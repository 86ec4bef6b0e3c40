"""CSV import (``acuknee import``): every bad row listed with line, column and problem; a real
import stores every row or none. Fixtures in tests/pages/fixtures are synthetic."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from typer.testing import CliRunner

from acuknee.cli import app
from acuknee.importing import ImportFileError, Problem, import_csv
from acuknee.records.models import Clinic, Measurement, Patient, PlanRecord, TreatmentSession
from tests.pages.test_sessions import sign_plan

FIXTURES = Path(__file__).parent / "fixtures"
runner = CliRunner()


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def where(problems: list[Problem]) -> set[tuple[int, str | None]]:
    return {(p.line, p.column) for p in problems}


@pytest.fixture
def signed(patient: Patient, alice: User) -> PlanRecord:
    return sign_plan(patient, alice)


def cli(*args: str) -> Any:
    return runner.invoke(app, ["import", *args])


# --- patients ------------------------------------------------------------------------------------


def test_patients_are_imported_into_the_clinic(northside: Clinic) -> None:
    report = import_csv(fixture("import-patients.csv"), northside)
    assert report.ok, report.problems
    assert report.kind == "patients"
    assert report.stored == {"patients": 3}
    assert Patient.objects.filter(clinic=northside).count() == 3
    assert Patient.objects.get(record_number="N-1001").email == "iris@example.org"


def test_every_bad_patient_row_is_listed_with_line_and_column(northside: Clinic) -> None:
    report = import_csv(fixture("import-patients-bad.csv"), northside, dry_run=True)
    found = where(report.problems)
    assert (3, "date_of_birth") in found  # in the future
    assert (4, "record_number") in found  # duplicate of line 2
    assert {(5, "given_name"), (5, "date_of_birth"), (5, "sex"), (5, "email")} <= found
    assert all(p.line != 2 for p in report.problems)


def test_a_bad_row_stores_nothing_in_a_real_import(northside: Clinic) -> None:
    report = import_csv(fixture("import-patients-bad.csv"), northside)
    assert not report.ok
    assert not Patient.objects.exists()


def test_a_dry_run_stores_nothing_even_when_every_row_is_good(northside: Clinic) -> None:
    report = import_csv(fixture("import-patients.csv"), northside, dry_run=True)
    assert report.ok
    assert not Patient.objects.exists()


def test_a_record_number_already_in_the_clinic_is_refused(
    northside: Clinic, patient: Patient
) -> None:
    data = b"record_number,given_name,family_name,date_of_birth,sex\nN-0001,A,B,1950-01-01,male\n"
    report = import_csv(data, northside)
    assert where(report.problems) == {(2, "record_number")}


def test_the_same_record_number_in_another_clinic_is_fine(
    southside: Clinic, patient: Patient
) -> None:
    data = b"record_number,given_name,family_name,date_of_birth,sex\nN-0001,A,B,1950-01-01,male\n"
    assert import_csv(data, southside).ok


def test_extra_columns_are_warned_about(northside: Clinic) -> None:
    data = fixture("import-patients.csv").replace(b"email\n", b"email,notes\n", 1)
    report = import_csv(data, northside, dry_run=True)
    assert report.ok
    assert any("notes" in w for w in report.warnings)


# --- the file ------------------------------------------------------------------------------------


def test_a_byte_order_mark_is_accepted(northside: Clinic) -> None:
    report = import_csv(b"\xef\xbb\xbf" + fixture("import-patients.csv"), northside)
    assert report.ok
    assert report.stored == {"patients": 3}


def test_a_file_not_in_utf8_is_refused_clearly(northside: Clinic) -> None:
    data = "record_number,given_name,family_name,date_of_birth,sex\nN-1,Zoë,B,1950-01-01,female\n"
    with pytest.raises(ImportFileError, match=r"not UTF-8.*line 2"):
        import_csv(data.encode("latin-1"), northside)


def test_an_empty_file_is_refused(northside: Clinic) -> None:
    with pytest.raises(ImportFileError, match="empty"):
        import_csv(b"", northside)


def test_a_header_without_rows_is_refused(northside: Clinic) -> None:
    with pytest.raises(ImportFileError, match="no rows"):
        import_csv(b"record_number,given_name,family_name,date_of_birth,sex\n", northside)


def test_missing_required_columns_are_named(northside: Clinic) -> None:
    with pytest.raises(ImportFileError, match=r"missing required column.*sex"):
        import_csv(
            b"record_number,given_name,family_name,date_of_birth\nN-1,A,B,1950-01-01\n",
            northside,
            "patients",
        )


def test_a_file_whose_kind_cannot_be_told_asks_for_kind(northside: Clinic) -> None:
    with pytest.raises(ImportFileError, match="--kind"):
        import_csv(b"record_number,name\nN-1,A\n", northside)


def test_a_quoted_cell_over_two_lines_keeps_later_line_numbers_right(northside: Clinic) -> None:
    data = (
        b"record_number,given_name,family_name,date_of_birth,sex\n"
        b'N-1,"Two\nlines",B,1950-01-01,female\n'
        b"N-2,C,D,1950-01-01,robot\n"
    )
    report = import_csv(data, northside)
    assert where(report.problems) == {(4, "sex")}


# --- measurements --------------------------------------------------------------------------------


def test_measurements_are_scored_by_the_core_and_stored(
    northside: Clinic, patient: Patient
) -> None:
    report = import_csv(fixture("import-measurements.csv"), northside)
    assert report.ok, report.problems
    assert report.kind == "measurements"
    assert report.stored == {"measurements": 4}  # pain_nrs and patient_global, two visits
    first = Measurement.objects.get(instrument="pain_nrs", measured_on="2026-01-05")
    assert first.answers == {"current": 6.0, "average_last_week": 5.0, "worst_last_week": 8.0}
    assert first.scores["instrument"] == "pain_nrs"


def test_bad_measurements_name_their_item_column(northside: Clinic, patient: Patient) -> None:
    report = import_csv(fixture("import-measurements-bad.csv"), northside)
    found = where(report.problems)
    assert (2, "pain_nrs_current") in found  # 11 is above the scale
    assert (3, "record_number") in found  # no such patient
    assert {(4, "measured_on"), (4, "pain_nrs_average_last_week")} <= found
    assert not Measurement.objects.exists()


# --- sessions ------------------------------------------------------------------------------------


def test_sessions_are_validated_as_session_records_and_numbered(
    northside: Clinic, signed: PlanRecord
) -> None:
    report = import_csv(fixture("import-sessions.csv"), northside)
    assert report.ok, report.problems
    sessions = list(TreatmentSession.objects.order_by("number"))
    assert [s.number for s in sessions] == [1, 2]
    assert sessions[0].plan == signed
    assert [p["code"] for p in sessions[0].data["points"]] == ["ST35", "EX-LE4", "SP9"]
    assert sessions[0].data["needle"]["diameter_mm"] == 0.25


def test_bad_sessions_name_their_columns(northside: Clinic, signed: PlanRecord) -> None:
    report = import_csv(fixture("import-sessions-bad.csv"), northside)
    found = where(report.problems)
    assert (2, "pain_before") in found
    assert {(3, "points"), (3, "retention_minutes")} <= found
    assert not TreatmentSession.objects.exists()


def test_sessions_with_an_unknown_point_code_are_refused_on_their_line(
    northside: Clinic, signed: PlanRecord
) -> None:
    text = (
        "record_number,date,points,pain_before\n"
        "N-0001,2026-01-05,ST35:right;ST99:right,6\n"
        "N-0001,2026-01-12,ST35:right,5\n"
    )
    report = import_csv(text.encode(), northside)
    assert where(report.problems) == {(2, "points")}
    assert "ST99" in report.problems[0].message
    assert not TreatmentSession.objects.exists()  # all or nothing


def test_sessions_need_a_signed_plan(northside: Clinic, patient: Patient) -> None:
    report = import_csv(fixture("import-sessions.csv"), northside, dry_run=True)
    assert (2, "record_number") in where(report.problems)


def test_a_redcap_export_with_checkboxes_is_imported(northside: Clinic, signed: PlanRecord) -> None:
    report = import_csv(fixture("redcap-sessions.csv"), northside)
    assert report.ok, report.problems
    assert report.warnings == []  # record_id, redcap_event_name and *_complete are understood
    second = TreatmentSession.objects.get(number=2)
    assert [p["code"] for p in second.data["points"]] == ["ST35", "SP9"]
    assert {p["side"] for p in second.data["points"]} == {"right"}


# --- the command ---------------------------------------------------------------------------------


def test_the_command_imports_and_prints_a_summary(northside: Clinic) -> None:
    result = cli(str(FIXTURES / "import-patients.csv"), "--clinic", "northside")
    assert result.exit_code == 0, result.stderr
    assert '"patients": 3' in result.stdout
    assert Patient.objects.count() == 3


def test_the_command_dry_run_lists_bad_rows_and_exits_2(northside: Clinic) -> None:
    result = cli(str(FIXTURES / "import-patients-bad.csv"), "--clinic", "northside", "--dry-run")
    assert result.exit_code == 2
    assert "error: line 3, column date_of_birth:" in result.stderr
    assert "warning: column 'favourite_colour'" in result.stderr
    assert not Patient.objects.exists()


def test_the_command_refuses_an_unknown_clinic(northside: Clinic) -> None:
    result = cli(str(FIXTURES / "import-patients.csv"), "--clinic", "nowhere")
    assert result.exit_code == 2
    assert "--clinic" in result.stderr


def test_the_command_refuses_a_file_it_cannot_decode(northside: Clinic, tmp_path: Path) -> None:
    bad = tmp_path / "latin1.csv"
    bad.write_bytes("record_number,given_name\nN-1,Zoë\n".encode("latin-1"))
    result = cli(str(bad), "--clinic", "northside", "--kind", "patients")
    assert result.exit_code == 2
    assert "not UTF-8" in result.stderr


def test_a_row_with_more_cells_than_columns_is_refused(northside: Clinic) -> None:
    data = fixture("import-patients.csv") + b"N-1004,Al,Example,1950-01-01,male,,,surplus\n"
    report = import_csv(data, northside)
    assert (5, None) in where(report.problems)
    assert not Patient.objects.exists()


def test_redcap_checkboxes_need_the_side_of_the_points(
    northside: Clinic, signed: PlanRecord
) -> None:
    data = fixture("redcap-sessions.csv").replace(b",right,", b",,")
    report = import_csv(data, northside)
    assert {(2, "points_side"), (3, "points_side")} <= where(report.problems)


def test_the_command_line_imports_django_only_for_import() -> None:
    code = "import sys, acuknee.cli; sys.exit('django' in sys.modules)"
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    assert subprocess.run([sys.executable, "-c", code], env=env, check=False).returncode == 0
