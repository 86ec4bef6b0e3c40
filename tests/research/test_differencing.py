"""Small-cell suppression that subtraction cannot undo: across filters (the network minus one
clinic) and within a row (n - completed). Each test tries the attack and finds it closed."""

from __future__ import annotations

from typing import Any

import pytest

from acuknee.research import analytics
from acuknee.research.analytics import DuckDBEngine, Filters, ReportError
from tests.research.test_analytics import course, frames, row

# The case: a big clinic and a small one whose 2 courses are a suppressed cell; one of
# the two has a pain change worth hiding.
BIG, SMALL = 1, 2


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


def _exact(value: Any) -> bool:
    return isinstance(value, int)


def test_the_network_minus_one_clinic_does_not_reveal_the_other() -> None:
    engine = network()
    whole = row(analytics.report(engine).outcomes, "all", "all")
    only_big = row(analytics.report(engine, Filters(clinic=BIG)).outcomes, "all", "all")
    assert _exact(whole["n"])
    assert not (_exact(only_big["n"]) and _exact(whole["n"])), (whole["n"], only_big["n"])
    assert only_big["pain_mean"] is None  # no sum of pain changes to subtract either


def test_a_region_filter_cannot_stand_in_for_the_network() -> None:
    engine = network()
    region = row(analytics.report(engine, Filters(region="North")).outcomes, "all", "all")
    only_big = row(
        analytics.report(engine, Filters(clinic=BIG, region="North")).outcomes, "all", "all"
    )
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
    engine = network()
    whole = analytics.report(engine)
    columns = ("n", "evaluable", "responders", "completed", "dropped_out", "pain_n")
    published = {(c, r[c]) for r in whole.outcomes for c in columns if _exact(r.get(c))}
    tried = 0
    for chosen in (Filters(clinic=BIG), Filters(clinic=SMALL), Filters(region="North")):
        for r in analytics.report(engine, chosen).outcomes:
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
