"""Small-cell suppression that subtraction cannot undo: across filters (the network minus one
clinic) and within a row (n - completed). Each test tries the attack and finds it closed."""

from __future__ import annotations

import itertools
from functools import cache
from typing import Any

import pytest

from acuknee.research import analytics
from acuknee.research.analytics import DuckDBEngine, Filters, ReportError
from tests.research.test_analytics import course, frames, row

# The case: a big clinic and a small one whose 2 courses are a suppressed cell; one of
# the two has a pain change worth hiding.
BIG, SMALL = 1, 2
UNFILTERED = Filters()


def network(small_courses: int = 2, big_courses: int = 20) -> DuckDBEngine:
    rows = [
        course(i, clinic_id=BIG, clinic_region="North", pain_improvement=10.0)
        for i in range(1, big_courses + 1)
    ]
    rows += [
        course(100 + i, clinic_id=SMALL, clinic_region="North", pain_improvement=45.0)
        for i in range(small_courses)
    ]
    return DuckDBEngine.from_tables(*frames(rows, []))


@cache
def _network_report(filters: Filters = UNFILTERED) -> analytics.Report:
    """``network()``'s report for ``filters``: computed once for the tests that read the same one
    (each report is a few dozen DuckDB queries)."""
    return analytics.report(network(), filters)


def _exact(value: Any) -> bool:
    return isinstance(value, int)


def test_the_network_minus_one_clinic_does_not_reveal_the_other() -> None:
    whole = row(_network_report().outcomes, "all", "all")
    only_big = row(_network_report(Filters(clinic=BIG)).outcomes, "all", "all")
    assert _exact(whole["n"])
    assert not (_exact(only_big["n"]) and _exact(whole["n"])), (whole["n"], only_big["n"])
    assert only_big["pain_mean"] is None  # no sum of pain changes to subtract either


def test_a_region_filter_cannot_stand_in_for_the_network() -> None:
    region = row(_network_report(Filters(region="North")).outcomes, "all", "all")
    only_big = row(_network_report(Filters(clinic=BIG, region="North")).outcomes, "all", "all")
    assert not (_exact(region["n"]) and _exact(only_big["n"]))


def test_a_filtered_cell_is_hidden_when_the_unfiltered_cell_differs_by_a_few() -> None:
    engine = network()
    unfiltered = row(analytics.report(engine, by="sex").outcomes, "sex", "female")
    filtered = row(
        analytics.report(engine, Filters(clinic=BIG), by="sex").outcomes, "sex", "female"
    )
    assert _exact(unfiltered["n"])
    assert filtered["n"] == analytics.COMPLEMENTARY


def test_a_filter_whose_complement_is_large_is_published() -> None:
    engine = network(small_courses=6)
    only_big = row(analytics.report(engine, Filters(clinic=BIG)).outcomes, "all", "all")
    assert only_big["n"] == 20
    assert only_big["pain_mean"] == pytest.approx(10.0)


def test_dropping_one_of_two_filters_is_compared_too() -> None:
    rows = [course(i, clinic_id=BIG, sex="female") for i in range(1, 21)]
    rows += [course(50 + i, clinic_id=BIG, sex="male") for i in range(3)]
    rows += [course(100 + i, clinic_id=SMALL, sex="female") for i in range(9)]
    engine = DuckDBEngine.from_tables(*frames(rows, []))
    both = row(analytics.report(engine, Filters(clinic=BIG, sex="female")).outcomes, "all", "all")
    # clinic 1 alone is 23; 23 - 20 would be its 3 men
    assert both["n"] == analytics.COMPLEMENTARY


def test_n_minus_completed_does_not_reveal_a_suppressed_dropout_count() -> None:
    rows = [course(i) for i in range(1, 11)]
    rows += [course(20 + i, completed=False, dropped_out=True) for i in range(2)]
    whole = row(
        analytics.report(DuckDBEngine.from_tables(*frames(rows, []))).outcomes, "all", "all"
    )
    assert whole["dropped_out"] == "<5"
    assert whole["n"] == 12
    assert whole["completed"] == analytics.COMPLEMENTARY


def test_evaluable_minus_responders_does_not_reveal_a_few_non_responders() -> None:
    rows = [course(i, verdict="responder", responder=True) for i in range(1, 11)]
    rows += [course(20 + i) for i in range(2)]
    whole = row(
        analytics.report(DuckDBEngine.from_tables(*frames(rows, []))).outcomes, "all", "all"
    )
    assert whole["evaluable"] == 12
    assert whole["responders"] == analytics.COMPLEMENTARY
    assert whole["responder_rate"] is None


def test_adverse_event_counts_are_guarded_across_filters() -> None:
    rows = [course(i, clinic_id=BIG) for i in range(1, 21)]
    rows += [course(100 + i, clinic_id=SMALL) for i in range(6)]
    events = [
        {"course_id": i, "session_number": 1, "type": "bruising", "severity": "mild"}
        for i in (*range(1, 7), 100)
    ]
    engine = DuckDBEngine.from_tables(*frames(rows, events))
    whole = analytics.report(engine).adverse_events[0]
    only_big = analytics.report(engine, Filters(clinic=BIG)).adverse_events[0]
    assert whole["events"] == 7
    assert only_big["events"] == analytics.COMPLEMENTARY


def test_more_filters_than_the_check_compares_are_refused_by_name() -> None:
    many = Filters(clinic=1, region="North", cause="x", method="manual", sex="female")
    with pytest.raises(ReportError, match="filters: at most 4"):
        analytics.report(network(), many)


def test_every_published_count_survives_every_single_filter_subtraction() -> None:
    """The attack run systematically: each one-filter report against the unfiltered one, every
    row and count; no difference of 1 to 4 is left between two exact numbers."""
    whole = _network_report()
    columns = ("n", "evaluable", "responders", "completed", "dropped_out", "pain_n")
    published = {(c, r[c]) for r in whole.outcomes for c in columns if _exact(r.get(c))}
    tried = 0
    for chosen in (Filters(clinic=BIG), Filters(clinic=SMALL), Filters(region="North")):
        for r in _network_report(chosen).outcomes:
            for c in columns:
                if not _exact(r.get(c)):
                    continue
                for column, other in published:
                    tried += 1
                    if column == c:
                        assert not 0 < other - r[c] < analytics.SMALL_CELL, (chosen, r, c)
    assert tried > 0


@pytest.mark.django_db
def test_the_api_refuses_too_many_filters_with_a_clear_error(rex: Any) -> None:
    from tests.api.conftest import api_for, assert_error_shape

    response = api_for(rex).get(
        "/research/outcomes", clinic=1, region="North", cause="x", method="manual", sex="female"
    )
    assert_error_shape(response, 422, "filters")


# --- the second pass: requests that are not each other's broader request ------------------------
#
# Each test below is an attack a researcher could run with the report's own filters; it worked
# before date filters became calendar periods and filtered answers became cells of the
# breakdown by that filter (with the breakdown's complementary suppression).


def _n(rep: analytics.Report, dimension: str = "all", level: str = "all") -> Any:
    return row(rep.outcomes, dimension, level)["n"]


def test_two_date_windows_a_day_apart_do_not_reveal_the_courses_started_that_day() -> None:
    import datetime as dt

    rows = [course(i, start_date=dt.date(2026, 2, 1)) for i in range(1, 21)]
    rows += [course(100 + i, start_date=dt.date(2026, 3, 2)) for i in range(2)]
    rows += [course(200 + i, start_date=dt.date(2026, 6, 1)) for i in range(20)]
    engine = DuckDBEngine.from_tables(*frames(rows, []))
    start = dt.date(2026, 1, 1)
    before = analytics.report(engine, Filters(start_from=start, start_to=dt.date(2026, 3, 1)))
    after = analytics.report(engine, Filters(start_from=start, start_to=dt.date(2026, 3, 2)))
    a, b = _n(before), _n(after)
    assert not (_exact(a) and _exact(b) and 0 < b - a < analytics.SMALL_CELL), (a, b)
    # rounded outward to the quarter holding the window, and said so
    assert before.filters == {"period": "2026-Q1"}
    assert any("rounded outward" in note for note in before.notes)


def test_a_date_window_that_is_not_one_quarter_or_year_is_refused_by_name() -> None:
    import datetime as dt

    engine = network()
    with pytest.raises(ReportError, match="start_to"):
        analytics.report(
            engine, Filters(start_from=dt.date(2025, 12, 1), start_to=dt.date(2026, 1, 31))
        )
    with pytest.raises(ReportError, match="start_from"):
        analytics.report(engine, Filters(start_from=dt.date(2025, 12, 1)))


@pytest.mark.parametrize("bad", ["2026-Q5", "26", "2026-03", "2026-Q1; drop", "0000"])
def test_a_malformed_period_is_refused_by_name(bad: str) -> None:
    with pytest.raises(ReportError, match="period"):
        analytics.report(network(), Filters(period=bad))


def test_a_quarter_is_compared_with_its_year() -> None:
    import datetime as dt

    rows = [course(i, start_date=dt.date(2026, 2, 1)) for i in range(1, 21)]
    rows += [course(100 + i, start_date=dt.date(2026, 5, 2)) for i in range(2)]
    engine = DuckDBEngine.from_tables(*frames(rows, []))
    year, q1 = _n(analytics.report(engine, Filters(period="2026"))), None
    q1 = _n(analytics.report(engine, Filters(period="2026-Q1")))
    assert not (_exact(year) and _exact(q1) and 0 < year - q1 < analytics.SMALL_CELL), (year, q1)


def six_clinics(mixed: bool = True) -> DuckDBEngine:
    """Clinics 1, 2, 6 in the North (2 has 2 courses: the secret), 3, 4, 5 in the South; a
    third of each clinic's courses are men's (``mixed``), else all are women's, and no total is
    within 4 of another (so the broader-request check does not hide them by chance)."""
    sizes = {
        1: (20, "North"),
        2: (2, "North"),
        3: (6, "South"),
        4: (28, "South"),
        5: (45, "South"),
        6: (12, "North"),
    }
    rows = []
    for clinic, (size, region) in sizes.items():
        rows += [
            course(
                clinic * 100 + i,
                clinic_id=clinic,
                clinic_region=region,
                sex="male" if mixed and i % 3 == 0 else "female",
                pain_improvement=45.0 if clinic == 2 else 10.0,
            )
            for i in range(size)
        ]
    return DuckDBEngine.from_tables(*frames(rows, []))


@cache
def _women_report(filters: Filters = UNFILTERED) -> analytics.Report:
    """``six_clinics(mixed=False)``'s report for ``filters``, computed once for the tests that
    read the same one."""
    return analytics.report(six_clinics(mixed=False), filters)


def test_the_network_minus_each_other_clinic_one_by_one_does_not_reveal_the_hidden_one() -> None:
    whole = _n(_women_report())
    others = [_n(_women_report(Filters(clinic=c))) for c in (1, 3, 4, 5, 6)]
    assert _exact(whole)
    # every other clinic's total published exactly would give clinic 2's 2 courses back
    assert not all(_exact(n) for n in others), (whole, others)


def test_the_pain_sums_of_the_other_clinics_do_not_reveal_the_suppressed_one() -> None:
    means = [
        row(_women_report(Filters(clinic=c)).outcomes, "all", "all")["pain_mean"]
        for c in (1, 3, 4, 5, 6)
    ]
    assert any(m is None for m in means)


def test_a_region_minus_its_other_clinics_does_not_reveal_a_suppressed_clinic() -> None:
    """The smallest shown clinic of the network (3) is in the South: hiding it alone left the
    North minus clinics 1 and 6 equal to clinic 2."""
    engine = six_clinics()
    rows = analytics.report(engine, by="clinic,region").outcomes
    north = row(rows, "region", "North")["n"]
    others = [row(rows, "clinic", c)["n"] for c in ("1", "6")]
    assert row(rows, "clinic", "2")["n"] == "<5"
    assert _exact(north)
    assert not all(_exact(n) for n in others), (north, others)


def test_a_region_filter_minus_each_of_its_clinic_filters_does_not_reveal_one() -> None:
    north = _n(_women_report(Filters(region="North")))
    assert _exact(north)
    for with_region in (False, True):
        region = "North" if with_region else None
        others = [_n(_women_report(Filters(clinic=c, region=region))) for c in (1, 6)]
        assert not all(_exact(n) for n in others), (north, others)


def test_women_minus_each_clinics_women_does_not_reveal_a_suppressed_clinic() -> None:
    """Two routes to one cell of clinic x sex: filter a clinic and break down by sex, or filter
    a sex and break down by clinic. Both must hide the same cells."""
    engine = six_clinics()
    women = _n(analytics.report(engine, Filters(sex="female")))
    per_clinic = [
        _n(analytics.report(engine, Filters(clinic=c), by="sex"), "sex", "female")
        for c in (1, 3, 4, 5, 6)
    ]
    assert _exact(women)
    assert not all(_exact(n) for n in per_clinic), (women, per_clinic)


FILTERABLE = ("clinic", "region", "sex")
_REPORTS: dict[tuple[str, str], analytics.Report] = {}


def _report(dimension: str = "", level: str = "") -> analytics.Report:
    """The six clinics' report filtered to one level (or not), by clinic, region and sex; each
    computed once for the tests that read many."""
    if (dimension, level) not in _REPORTS:
        filters = Filters(**{dimension: _value(dimension, level)}) if dimension else Filters()
        _REPORTS[dimension, level] = analytics.report(
            six_clinics(), filters, by=",".join(FILTERABLE)
        )
    return _REPORTS[dimension, level]


def _levels(dimension: str) -> list[str]:
    return [r["level"] for r in _report().outcomes if r["dimension"] == dimension]


def _value(dimension: str, level: str) -> Any:
    return int(level) if dimension == "clinic" else level


def test_the_cell_rule_hides_a_cell_the_same_whichever_dimension_is_the_filter() -> None:
    """Cell (d = v, e = w) is reached as report(d = v) by e and as report(e = w) by d: the
    table rule hides it in both or in neither. (The broader-request check may hide more in
    one route; that only over-suppresses a number the other route publishes.)"""
    from acuknee.research import differencing

    engine = six_clinics()
    regions = differencing.clinic_regions(engine.rows)

    def hides(dimension: str, level: str, other: str, other_level: str) -> bool:
        verdict = differencing.filtered_cells(
            engine.rows,
            lambda f: f.where(engine.placeholder),
            Filters(**{dimension: _value(dimension, level)}),
            [other],
            regions,
        )
        return verdict.whole_hidden or (other, other_level) in verdict.rows

    tried = 0
    for d, e in itertools.combinations(FILTERABLE, 2):
        table = differencing.crossed_counts(
            engine.rows, ("", []), (d, differencing.level_sql(d)), {e: differencing.level_sql(e)}
        ).crossed[e]
        for v in _levels(d):
            for w in _levels(e):
                if not table.get((v, w)):
                    continue
                tried += 1
                assert hides(d, v, e, w) == hides(e, w, d, v), (d, v, e, w)
    assert tried >= 12


def test_no_suppressed_cell_is_a_linear_combination_of_published_counts() -> None:
    """The attack run as linear algebra: every exact course count of the unfiltered report and
    of every one-filter report (clinic, region or sex) is an equation over the network's
    clinic x sex cells; no cell counted 1 to 4 may lie in their span (sums of several reports,
    differences, anything)."""
    import numpy as np

    engine = six_clinics()
    cells = sorted({(c, s) for c in _levels("clinic") for s in _levels("sex")})
    region_of = {"1": "North", "2": "North", "3": "South", "4": "South", "5": "South"}
    region_of["6"] = "North"

    def vector(constraints: dict[str, str]) -> list[float]:
        def inside(cell: tuple[str, str]) -> bool:
            c, s = cell
            values = {"clinic": c, "sex": s, "region": region_of[c]}
            return all(values[k] == v for k, v in constraints.items())

        return [1.0 if inside(cell) else 0.0 for cell in cells]

    equations = []
    requests: list[dict[str, str]] = [{}]
    requests += [{d: v} for d in FILTERABLE for v in _levels(d)]
    for request in requests:
        for r in _report(*next(iter(request.items()), ("", ""))).outcomes:
            if _exact(r["n"]):
                constraints = dict(request)
                if r["dimension"] != "all":
                    constraints[r["dimension"]] = r["level"]
                equations.append(vector(constraints))
    published = np.array(equations)
    rank = np.linalg.matrix_rank(published)
    truth = analytics.outcomes(engine)
    secret = 0
    for c, s in cells:
        n = row(analytics.outcomes(engine, Filters(clinic=int(c), sex=s)), "all", "all")["n"]
        if 0 < n < analytics.SMALL_CELL:
            secret += 1
            target = np.array([vector({"clinic": c, "sex": s})])
            assert np.linalg.matrix_rank(np.vstack([published, target])) > rank, (c, s, n)
    for r in truth:
        if r["dimension"] in FILTERABLE and 0 < r["n"] < analytics.SMALL_CELL:
            secret += 1
            target = np.array([vector({r["dimension"]: r["level"]})])
            assert np.linalg.matrix_rank(np.vstack([published, target])) > rank, r["level"]
    assert secret >= 2
