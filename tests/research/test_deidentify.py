"""De-identified export: no identifiers, intervals kept, 90+ grouped, k-anonymity enforced and
reported, Parquet and CSV with a data dictionary."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from acuknee.research.cli import app
from acuknee.research.deidentify import (
    DEFAULT_MAX_SHIFT_DAYS,
    ExportError,
    age_bands,
    deidentify_courses,
    export,
    keyed,
    read_table,
)
from acuknee.research.schema import AGE_BANDS, TABLES, age_band
from acuknee.research.synth import iter_cohort, synthesize
from acuknee.research.writers import cohort_tables, write_database

SECRET = b"test secret for date offsets, 32b"


@pytest.fixture
def synthetic_db(db: Any) -> pa.Table:
    """3,000 synthetic courses in 30 clinics, as read back before export."""
    write_database(iter_cohort(3_000, 30, 6))
    return read_table("research_course")


def _groups(table: pa.Table) -> dict[tuple[Any, ...], int]:
    counts = table.group_by(["age_band", "sex", "clinic_region"]).aggregate([([], "count_all")])
    return {
        (r["age_band"], r["sex"], r["clinic_region"]): r["count_all"] for r in counts.to_pylist()
    }


def test_export_holds_no_demo_names_record_numbers_or_contacts(
    db: Any, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    from acuknee.records.models import Patient
    from acuknee.research.refresh import refresh
    from tests.demo_snapshot import restore_demo

    restore_demo(tmp_path_factory, dt.date(2026, 11, 1))
    refreshed = refresh(today=dt.date(2026, 11, 1), seed=1)
    assert refreshed.courses > 0  # the export really contains rows built from these patients
    write_database(iter_cohort(2_000, 10, 3))
    export(tmp_path, k=2, fmt="both", secret=SECRET)
    text = "\n".join(
        [p.read_text() for p in tmp_path.glob("*.csv")]
        + [p.read_text() for p in tmp_path.glob("*.md")]
        + [p.read_text() for p in tmp_path.glob("*.json")]
        + [str(pq.read_table(p).to_pylist()) for p in tmp_path.glob("*.parquet")]
    )
    words = set(re.findall(r"\w+", text))
    patients = list(Patient.objects.all())
    assert patients
    for patient in patients:
        values = [patient.given_name, patient.family_name, patient.record_number]
        values += [v for v in (patient.phone, patient.email) if v]
        for value in values:
            # a whole word (names) or, for values with punctuation, anywhere in the text
            found = value in words if re.fullmatch(r"\w+", value) else value in text
            assert not found, value
    columns = pq.read_schema(tmp_path / "research_course.parquet").names
    assert not {"age", "date_of_birth", "record_number", "given_name", "family_name"} & set(columns)


def test_dates_move_together_so_intervals_are_kept(synthetic_db: pa.Table, tmp_path: Path) -> None:
    export(tmp_path, k=2, secret=SECRET)
    out = pq.read_table(tmp_path / "research_course.parquet").to_pylist()
    before = {r["course_id"]: r for r in synthetic_db.to_pylist()}
    pseudonyms, offsets = keyed(list(before), SECRET, DEFAULT_MAX_SHIFT_DAYS)
    original = {int(p): before[old] for p, old in zip(pseudonyms, before, strict=True)}
    shift = {int(p): int(o) for p, o in zip(pseudonyms, offsets, strict=True)}
    moved_any = False
    for row in out:
        source = original[row["course_id"]]
        days = (row["start_date"] - source["start_date"]).days
        assert days == shift[row["course_id"]]
        assert 1 <= abs(days) <= DEFAULT_MAX_SHIFT_DAYS
        if source["follow_up_date"] is not None:
            moved_any = True
            assert (row["follow_up_date"] - row["start_date"]) == (
                source["follow_up_date"] - source["start_date"]
            )
            assert row["follow_up_weeks"] == source["follow_up_weeks"]
    assert moved_any


def test_the_same_secret_gives_the_same_offsets_and_another_secret_does_not(
    synthetic_db: pa.Table, tmp_path: Path
) -> None:
    export(tmp_path / "a", k=2, secret=SECRET)
    export(tmp_path / "b", k=2, secret=SECRET)
    export(tmp_path / "c", k=2, secret=b"another secret of thirty-two b.")
    a, b, c = (pq.read_table(tmp_path / x / "research_course.parquet") for x in "abc")
    assert a.equals(b)
    assert a["start_date"] != c["start_date"]


def test_every_age_has_one_band_alike_for_a_row_and_a_column() -> None:
    """Children and adolescents apart (the clinic treats them; they were once counted as
    18-39), then 18-39, ten-year bands and 90+, the same whether one row is banded (refresh)
    or a whole column (export, synthetic cohorts)."""
    ages = np.arange(0, 121)
    assert list(age_bands(ages)) == [age_band(int(a)) for a in ages]
    edges = [age_band(a) for a in (0, 14, 17, 18, 39, 40, 89, 90, 104)]
    assert edges == ["0-17", "0-17", "0-17", "18-39", "18-39", "40-49", "80-89", "90+", "90+"]
    assert {age_band(int(a)) for a in ages} == set(AGE_BANDS)


def test_ages_over_89_are_grouped_and_the_age_column_dropped() -> None:
    courses = cohort_tables(synthesize(20_000, 2, 4))["research_course"]
    ages = courses["age"].to_numpy()
    assert (ages >= 90).sum() >= 5
    out, _, mapping = deidentify_courses(courses, 2, SECRET, 180)
    assert "age" not in out.column_names
    band = dict(zip(out["course_id"].to_pylist(), out["age_band"].to_pylist(), strict=True))
    old_ids = courses["course_id"].to_numpy()
    checked = 0
    for old, age in zip(old_ids, ages, strict=True):
        if int(old) in mapping:
            expected = "90+" if age >= 90 else band[mapping[int(old)]]
            assert band[mapping[int(old)]] == expected
            checked += age >= 90
    assert checked >= 5


@pytest.mark.parametrize("k", [5, 25])
def test_every_quasi_identifier_group_in_the_output_has_at_least_k_courses(
    synthetic_db: pa.Table, tmp_path: Path, k: int
) -> None:
    report = export(tmp_path, k=k, secret=SECRET)
    out = pq.read_table(tmp_path / "research_course.parquet")
    assert min(_groups(out).values()) >= k
    assert report.suppressed  # 3,000 courses over 140 combinations: some groups are small


def test_small_groups_are_reported_and_their_courses_and_events_left_out(
    synthetic_db: pa.Table, tmp_path: Path
) -> None:
    report = export(tmp_path, k=5, secret=SECRET)
    small = {k: n for k, n in _groups(synthetic_db).items() if n < 5}
    listed = {(g.age_band, g.sex, g.clinic_region): g.courses for g in report.suppressed}
    assert listed == small
    assert report.courses_written == report.courses_read - sum(small.values())
    saved = json.loads((tmp_path / "export_report.json").read_text())
    assert saved["suppressed_courses"] == sum(small.values())
    assert len(saved["suppressed"]) == len(small)
    kept = set(pq.read_table(tmp_path / "research_course.parquet")["course_id"].to_pylist())
    events = pq.read_table(tmp_path / "research_adverse_event.parquet")
    assert set(events["course_id"].to_pylist()) <= kept
    events_before = read_table("research_adverse_event")
    assert report.adverse_events_written < events_before.num_rows == report.adverse_events_read


def test_rows_are_in_pseudonym_order_not_database_order(
    synthetic_db: pa.Table, tmp_path: Path
) -> None:
    export(tmp_path, k=2, secret=SECRET)
    ids = pq.read_table(tmp_path / "research_course.parquet")["course_id"].to_numpy()
    assert (np.diff(ids) > 0).all()
    assert not set(ids.tolist()) & set(synthetic_db["course_id"].to_pylist())


def test_csv_and_parquet_hold_the_same_rows(synthetic_db: pa.Table, tmp_path: Path) -> None:
    export(tmp_path, k=5, fmt="both", secret=SECRET)
    for name in TABLES:
        parquet = pq.read_table(tmp_path / f"{name}.parquet")
        options = pacsv.ConvertOptions(column_types=parquet.schema)
        csv = pacsv.read_csv(tmp_path / f"{name}.csv", convert_options=options)
        assert csv.equals(parquet), name


def test_data_dictionary_describes_every_exported_column(
    synthetic_db: pa.Table, tmp_path: Path
) -> None:
    export(tmp_path, k=5, secret=SECRET)
    dictionary = json.loads((tmp_path / "data_dictionary.json").read_text())
    markdown = (tmp_path / "data_dictionary.md").read_text()
    for name in TABLES:
        exported = pq.read_schema(tmp_path / f"{name}.parquet").names
        described = [c["name"] for c in dictionary["tables"][name]["columns"]]
        assert described == exported
        for column in dictionary["tables"][name]["columns"]:
            assert column["description"]
            assert f"| {column['name']} |" in markdown
    dates = [c for c in dictionary["tables"]["research_course"]["columns"] if c["type"] == "date"]
    assert all("intervals are kept" in c["transformation"] for c in dates)
    assert dictionary["tables"]["research_course"]["dropped"][0]["name"] == "age"
    assert "k = 5" in markdown


def test_k_below_2_is_refused(db: Any, tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="--k"):
        export(tmp_path, k=1)


def test_cli_exports_with_a_secret_file(synthetic_db: pa.Table, tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_bytes(SECRET)
    out = tmp_path / "out"
    args = ["export", "--deidentify", "--out", str(out), "--secret-file", str(secret)]
    result = CliRunner().invoke(app, [*args, "--format", "csv", "--k", "5"])
    assert result.exit_code == 0, result.output
    assert "quasi-identifier groups under 5 suppressed" in result.output
    assert "  suppressed: age band " in result.output
    assert (out / "research_course.csv").exists()
    assert not (out / "research_course.parquet").exists()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ([], "add --deidentify"),
        (["--deidentify", "--k", "1"], "--k must be at least 2"),
        (["--deidentify", "--format", "xml"], "--format must be parquet, csv or both"),
    ],
)
def test_cli_refuses_bad_export_options_with_exit_2(
    db: Any, tmp_path: Path, extra: list[str], message: str
) -> None:
    result = CliRunner().invoke(app, ["export", "--out", str(tmp_path / "out"), *extra])
    assert result.exit_code == 2
    assert message in result.output
    assert not (tmp_path / "out").exists()


def test_empty_tables_export_empty_files_with_their_dictionary(db: Any, tmp_path: Path) -> None:
    report = export(tmp_path, k=5, fmt="both", secret=SECRET)
    assert (report.courses_read, report.courses_written, report.suppressed) == (0, 0, [])
    assert pq.read_table(tmp_path / "research_course.parquet").num_rows == 0
    assert "age" not in pq.read_schema(tmp_path / "research_course.parquet").names
    assert (tmp_path / "data_dictionary.md").exists()
