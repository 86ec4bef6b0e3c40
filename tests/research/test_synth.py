"""Synthetic cohorts: reproducible, at the configured rates, consistent with the clinical core, and
written faithfully to Parquet and the app's database."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from acuknee.clinical import load_knowledge
from acuknee.clinical.response import Course, Visit, evaluate
from acuknee.research.cli import app
from acuknee.research.schema import COURSE_COLUMNS, age_band
from acuknee.research.synth import (
    AE_TYPES,
    BLOCK,
    DEFAULT_CONFIG,
    Cohort,
    SynthError,
    iter_cohort,
    synthesize,
)
from acuknee.research.writers import arrow_schema, cohort_tables, write_database, write_parquet

KB = load_knowledge()


def _same(a: Cohort, b: Cohort) -> bool:
    return all(
        np.array_equal(a.courses[k], b.courses[k], equal_nan=a.courses[k].dtype.kind in "fM")
        for k in a.courses
    ) and all(np.array_equal(a.adverse_events[k], b.adverse_events[k]) for k in a.adverse_events)


# --- reproducibility ---------------------------------------------------------------------------


def test_same_seed_gives_identical_cohorts() -> None:
    assert _same(synthesize(3_000, 7, 11), synthesize(3_000, 7, 11))


def test_different_seeds_give_different_cohorts() -> None:
    a, b = synthesize(3_000, 7, 11), synthesize(3_000, 7, 12)
    assert not np.array_equal(a.courses["age"], b.courses["age"])
    assert not np.array_equal(a.courses["verdict"], b.courses["verdict"])


def test_a_larger_cohort_starts_with_the_smaller_one_across_a_block_boundary() -> None:
    small, large = synthesize(BLOCK, 5, 3), synthesize(BLOCK + 700, 5, 3)
    assert len(large) == BLOCK + 700
    head = Cohort(
        {k: v[:BLOCK] for k, v in large.courses.items()},
        {k: v[large.adverse_events["course_id"] <= BLOCK] for k, v in large.adverse_events.items()},
        large.clinics,
    )
    assert _same(small, head)


def test_chunks_are_blocks_with_consecutive_course_ids() -> None:
    chunks = list(iter_cohort(BLOCK + 10, 3, 1))
    assert [len(c) for c in chunks] == [BLOCK, 10]
    assert chunks[1].courses["course_id"][0] == BLOCK + 1


@pytest.mark.parametrize(
    ("patients", "clinics", "seed", "named"),
    [(0, 1, 1, "--patients"), (5, 0, 1, "--clinics"), (5, 6, 1, "--clinics"), (5, 1, -1, "--seed")],
)
def test_bad_sizes_are_refused_naming_the_argument(
    patients: int, clinics: int, seed: int, named: str
) -> None:
    with pytest.raises(SynthError, match=named):
        synthesize(patients, clinics, seed)


# --- rates on 50k rows -------------------------------------------------------------------------


def test_dropout_rate_matches_the_configured_rate(cohort_50k: Cohort) -> None:
    assert cohort_50k.courses["dropped_out"].mean() == pytest.approx(
        DEFAULT_CONFIG.dropout, abs=0.01
    )


def test_adverse_events_per_session_match_witt_2009(cohort_50k: Cohort) -> None:
    sessions = cohort_50k.courses["sessions_attended"].sum()
    rate = len(cohort_50k.adverse_events["course_id"]) / sessions
    assert rate == pytest.approx(DEFAULT_CONFIG.ae_per_session, abs=0.0008)


def test_adverse_event_types_follow_the_configured_shares(cohort_50k: Cohort) -> None:
    types = cohort_50k.adverse_events["type"]
    for name, share in zip(AE_TYPES, DEFAULT_CONFIG.ae_types, strict=True):
        assert (types == name).mean() == pytest.approx(share, abs=0.03), name


def test_cause_mix_follows_the_configured_shares(cohort_50k: Cohort) -> None:
    for cause, profile in DEFAULT_CONFIG.causes.items():
        share = (cohort_50k.courses["cause"] == cause).mean()
        assert share == pytest.approx(profile.share, abs=0.01), cause


@pytest.mark.parametrize(
    ("protocol", "rate"),
    [("knee-oa-manual-gerac", 0.531), ("knee-oa-electro-tu2021", 0.603)],
)
def test_function_success_rate_matches_the_trial_figure(
    cohort_50k: Cohort, protocol: str, rate: float
) -> None:
    c = cohort_50k.courses
    rows = (c["protocol_id"] == protocol) & ~np.isnan(c["function_final"])
    before, after = 100 - c["function_baseline"][rows], 100 - c["function_final"][rows]
    improved = (before - after)[before > 0] / before[before > 0]
    assert (improved >= 0.36 - 1e-9).mean() == pytest.approx(rate, abs=0.03)


def test_no_electroacupuncture_with_a_cardiac_device(cohort_50k: Cohort) -> None:
    c = cohort_50k.courses
    assert c["cardiac_device"].sum() > 0
    assert not ((c["method"] == "electro") & c["cardiac_device"]).any()


def test_protocol_and_method_follow_the_cause_in_the_knowledge_base(cohort_50k: Cohort) -> None:
    c = cohort_50k.courses
    for protocol in np.unique(c["protocol_id"]):
        rows = c["protocol_id"] == protocol
        known = KB.protocols[str(protocol)]
        assert set(c["cause"][rows]) == {known.cause}
        assert set(c["method"][rows]) == {known.method}
        assert set(c["sessions_planned"][rows]) == {known.number_of_sessions}


def test_age_band_and_severity_band_follow_their_definitions(cohort_50k: Cohort) -> None:
    c = cohort_50k.courses
    for age in np.unique(c["age"]):
        assert set(c["age_band"][c["age"] == age]) == {age_band(int(age))}
    assert (c["age"] >= 90).sum() > 0
    nrs = c["pain_nrs_baseline"]
    expected = np.where(nrs <= 4, "mild", np.where(nrs <= 7, "moderate", "severe"))
    assert (c["severity_band"] == expected).all()


def test_sessions_dropout_and_follow_up_are_consistent(cohort_50k: Cohort) -> None:
    c = cohort_50k.courses
    assert (c["sessions_attended"] >= 1).all()
    assert (c["sessions_attended"] <= c["sessions_planned"]).all()
    assert (c["completed"] == (c["sessions_attended"] == c["sessions_planned"])).all()
    dropped = c["dropped_out"]
    assert (c["sessions_attended"][dropped] < c["sessions_planned"][dropped]).all()
    assert np.isnan(c["pain_nrs_final"][dropped]).all()
    assert np.isnat(c["follow_up_date"][dropped]).all()
    assert (c["verdict"][dropped] == "not_evaluable").all()
    followed = ~dropped
    days = (c["follow_up_date"][followed] - c["start_date"][followed]).astype(int)
    assert (days >= 1).all()
    assert np.allclose(days / 7, c["follow_up_weeks"][followed])


def test_responder_column_mirrors_the_verdict(cohort_50k: Cohort) -> None:
    c = cohort_50k.courses
    assert ((c["responder"] == 1) == (c["verdict"] == "responder")).all()
    assert ((c["responder"] == -1) == (c["verdict"] == "not_evaluable")).all()


def test_every_clinic_treats_at_least_one_course(cohort_50k: Cohort) -> None:
    assert set(np.unique(cohort_50k.courses["clinic_id"])) == set(range(1, 41))
    assert all("synthetic" in c.slug and "Synthetic" in c.name for c in cohort_50k.clinics)


def test_adverse_events_fall_on_attended_sessions(cohort_50k: Cohort) -> None:
    events = cohort_50k.adverse_events
    attended = cohort_50k.courses["sessions_attended"][events["course_id"] - 1]
    assert (events["session_number"] >= 1).all()
    assert (events["session_number"] <= attended).all()


# --- agreement with the clinical core ----------------------------------------------------------


def _koos_items(score: float, prefix: str, items: int) -> dict[str, float | None]:
    """Answers 0-4 whose KOOS score is ``score`` (the sum of item codes, spread over the items)."""
    total = round((100 - score) / 25 * items)
    answers: dict[str, float | None] = {}
    for i in range(1, items + 1):
        answers[f"{prefix}{i}"] = min(4, total)
        total -= min(4, total)
    return answers


def _pss4(total: float) -> dict[str, float | None]:
    left, oriented = int(total), []
    for _ in range(4):
        oriented.append(min(4, left))
        left -= oriented[-1]
    # items 2 and 3 are reversed by the core (4 - answer)
    return {"1": oriented[0], "2": 4 - oriented[1], "3": 4 - oriented[2], "4": oriented[3]}


def _visit(c: dict[str, Any], i: int, when: str) -> dict[str, dict[str, float | None]]:
    def value(name: str) -> float | None:
        v = float(c[f"{name}_{when}"][i])
        return None if math.isnan(v) else v

    found: dict[str, dict[str, float | None]] = {}
    nrs, pg = value("pain_nrs"), value("patient_global")
    pain, function = value("pain"), value("function")
    if nrs is not None:
        found["pain_nrs"] = {"average_last_week": nrs}
    if pg is not None:
        found["patient_global"] = {"global": pg}
    if pain is not None and function is not None:
        found["koos"] = _koos_items(pain, "P", 9) | _koos_items(function, "A", 17)
    if (circumference := value("inflammation")) is not None:
        found["knee_circumference"] = {"affected_cm": 40.0 + circumference, "other_cm": 40.0}
    if (pss := value("relaxation")) is not None:
        found["pss4"] = _pss4(pss)
    if (skin := value("skin_temperature")) is not None:
        found["skin_temperature"] = {"affected_c": 30.0 + skin, "other_c": 30.0}
    return found


def _sample(c: dict[str, Any]) -> list[int]:
    """Rows of every kind: each verdict, a missing patient global, a high-improvement edge."""
    rng = np.random.default_rng(5)
    picks: list[int] = []
    kinds = [
        c["verdict"] == "responder",
        c["verdict"] == "non_responder",
        (c["verdict"] == "not_evaluable") & ~c["dropped_out"],
        c["dropped_out"],
        np.isnan(c["patient_global_final"]) & ~c["dropped_out"],
        c["pain_nrs_final"] * 2 == c["pain_nrs_baseline"],
    ]
    for rows in kinds:
        where = np.flatnonzero(rows)
        assert len(where) > 0
        picks += rng.choice(where, size=min(40, len(where)), replace=False).tolist()
    return picks


def test_verdicts_agree_with_the_clinical_core(cohort_50k: Cohort) -> None:
    c = cohort_50k.courses
    for i in _sample(c):
        start = c["start_date"][i].astype(dt.date)
        follow_ups = []
        if not np.isnat(c["follow_up_date"][i]):
            follow_ups.append(
                Visit(
                    date=c["follow_up_date"][i].astype(dt.date), measurements=_visit(c, i, "final")
                )
            )
        course = Course(
            baseline=Visit(date=start, measurements=_visit(c, i, "baseline")), follow_ups=follow_ups
        )
        evaluation = evaluate(course, KB)
        stored = c["verdict"][i]
        if not evaluation.follow_ups:
            assert stored == "not_evaluable", i
            continue
        last = evaluation.follow_ups[-1]
        assert last.oarsi.status == stored, (i, last.oarsi.explanation)
        measures = {(m.instrument, m.subscale): m for group in last.domains for m in group.measures}
        for domain, key in [("pain", ("koos", "pain")), ("function", ("koos", "adl"))]:
            core = measures[key]
            assert core.baseline == c[f"{domain}_baseline"][i]  # bit for bit
            assert core.follow_up == c[f"{domain}_final"][i]
            reached = {"reached": 1, "not_reached": 0}[core.mic.status]
            assert reached == c[f"{domain}_mic_reached"][i], (i, domain)
        for domain, key in [
            ("inflammation", ("knee_circumference", "difference")),
            ("relaxation", ("pss4", "total")),
            ("skin_temperature", ("skin_temperature", "difference")),
        ]:
            stored_improvement = c[f"{domain}_improvement"][i]
            if key in measures and measures[key].improvement is not None:
                assert measures[key].improvement == pytest.approx(stored_improvement, abs=1e-9)
            else:
                assert math.isnan(stored_improvement)


# --- writers -----------------------------------------------------------------------------------


def test_parquet_round_trips_the_cohort(tmp_path: Path) -> None:
    cohort = synthesize(2_500, 4, 8)
    summary = write_parquet(iter_cohort(2_500, 4, 8), tmp_path)
    assert (summary.courses, summary.adverse_events) == (2_500, len(cohort.adverse_events["type"]))
    expected = cohort_tables(cohort)
    for name, table in expected.items():
        read = pq.read_table(tmp_path / f"{name}.parquet")
        assert read.schema.equals(arrow_schema(name))
        assert read.equals(table), name


def test_parquet_writes_one_row_group_per_chunk(tmp_path: Path) -> None:
    write_parquet(iter_cohort(BLOCK + 5, 2, 1), tmp_path)
    assert pq.ParquetFile(tmp_path / "research_course.parquet").metadata.num_row_groups == 2


@pytest.mark.django_db(transaction=False)
def test_database_writer_round_trips_and_creates_synthetic_clinics() -> None:
    from acuknee.records.models import Clinic
    from acuknee.research.models import AdverseEventFact, CourseOutcome

    cohort = synthesize(1_200, 6, 4)
    summary = write_database(iter_cohort(1_200, 6, 4))
    assert summary.courses == CourseOutcome.objects.count() == 1_200
    assert summary.adverse_events == AdverseEventFact.objects.count()
    clinics = Clinic.objects.filter(slug__startswith="synthetic-s4-")
    assert clinics.count() == 6
    names = [c.name for c in COURSE_COLUMNS]
    rows = list(CourseOutcome.objects.order_by("course_id").values_list(*names))
    by_pk = {c.pk: c for c in clinics}
    for i in (0, 1, 599, 1_199):
        row = dict(zip(names, rows[i], strict=True))
        assert by_pk[row["clinic_id"]].slug == f"synthetic-s4-c{cohort.courses['clinic_id'][i]:04d}"
        assert row["clinic_region"] == by_pk[row["clinic_id"]].region
        assert row["start_date"] == cohort.courses["start_date"][i].astype(dt.date)
        for name in ("age", "sex", "verdict", "protocol_id", "sessions_attended", "dropped_out"):
            assert row[name] == cohort.courses[name][i], name
        for name in ("pain_baseline", "function_final", "patient_global_final"):
            value = cohort.courses[name][i]
            assert (row[name] is None) if math.isnan(value) else row[name] == value, name
        responder = cohort.courses["responder"][i]
        assert row["responder"] == (None if responder < 0 else bool(responder))


@pytest.mark.django_db(transaction=False)
def test_writing_the_same_seed_again_replaces_that_cohort() -> None:
    from acuknee.research.models import CourseOutcome

    write_database(iter_cohort(300, 3, 9))
    write_database(iter_cohort(300, 3, 9))
    assert CourseOutcome.objects.count() == 300


# --- command line ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--patients", "0", "--clinics", "1"], "--patients must be at least 1"),
        (["--patients", "5", "--clinics", "0"], "--clinics must be at least 1"),
        (["--patients", "5", "--clinics", "6"], "cannot exceed --patients"),
    ],
)
def test_cli_refuses_bad_sizes_with_exit_2(tmp_path: Path, args: list[str], message: str) -> None:
    result = CliRunner().invoke(app, ["synth", *args, "--seed", "1", "--parquet", str(tmp_path)])
    assert result.exit_code == 2
    assert message in result.output
    assert not list(tmp_path.iterdir())


def test_cli_needs_exactly_one_destination() -> None:
    result = CliRunner().invoke(app, ["synth", "--patients", "5", "--clinics", "1", "--seed", "1"])
    assert result.exit_code == 2
    assert "--parquet DIR or --database" in result.output


def test_cli_writes_parquet_and_says_what_it_wrote(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        ["synth", "--patients", "800", "--clinics", "4", "--seed", "2", "--parquet", str(tmp_path)],
    )
    assert result.exit_code == 0, result.output
    assert "Wrote 800 courses" in result.output
    assert pq.read_metadata(tmp_path / "research_course.parquet").num_rows == 800


def test_parquet_writer_leaves_no_file_when_generation_fails(tmp_path: Path) -> None:
    def failing() -> Any:
        yield synthesize(100, 2, 1)
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        write_parquet(failing(), tmp_path)
    assert list(tmp_path.iterdir()) == []
