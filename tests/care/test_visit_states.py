"""Which scheduled visits happened, which are due and which are still planned, on a given day:
what the patient page and the progress report say of the schedule (``care.status.visit_states``).
"""

from __future__ import annotations

import datetime as dt

from acuknee.care.status import visit_states
from acuknee.clinical import Plan
from acuknee.clinical.planning import build_schedule

START = dt.date(2026, 3, 2)  # a Monday
PLAN = Plan(
    status="proposed",
    schedule=build_schedule(START, 2, 4, reassessment_weeks=[2]),
    number_of_sessions=4,
)
# sessions on 2, 5, 9, 12 March; the reassessment on 16 March (week 2)


def states(**facts: object) -> dict[tuple[str, int], str]:
    return {
        (v.kind, v.number): v.state
        for v in visit_states(PLAN, START, **facts)  # type: ignore[arg-type]
    }


def test_a_session_logged_before_its_planned_date_is_done_not_planned() -> None:
    # on 3 March two sessions are logged: the second came early (planned for 5 March)
    got = states(sessions_done=2, last_measured=START, today=dt.date(2026, 3, 3))
    assert got[("session", 2)] == "done"
    assert got[("session", 3)] == "planned"


def test_a_planned_session_whose_day_passed_unlogged_is_due() -> None:
    got = states(sessions_done=1, last_measured=START, today=dt.date(2026, 3, 6))
    assert got[("session", 2)] == "due"
    assert got[("session", 3)] == "planned"


def test_a_session_planned_today_and_not_yet_logged_is_still_planned() -> None:
    got = states(sessions_done=1, last_measured=START, today=dt.date(2026, 3, 5))
    assert got[("session", 2)] == "planned"


def test_a_reassessment_measured_a_day_early_is_done() -> None:
    got = states(sessions_done=4, last_measured=dt.date(2026, 3, 15), today=dt.date(2026, 3, 15))
    assert got[("reassessment", 1)] == "done"


def test_a_reassessment_is_due_on_its_day_until_measured() -> None:
    on_the_day = states(sessions_done=4, last_measured=START, today=dt.date(2026, 3, 16))
    assert on_the_day[("reassessment", 1)] == "due"
    before = states(sessions_done=4, last_measured=START, today=dt.date(2026, 3, 13))
    assert before[("reassessment", 1)] == "planned"


def test_the_baseline_does_not_count_as_the_reassessment() -> None:
    # the measurement on the start day precedes the sessions: it is the baseline, not week 2's
    got = states(sessions_done=4, last_measured=START, today=dt.date(2026, 3, 20))
    assert got[("reassessment", 1)] == "due"


def test_a_reassessment_opens_the_day_after_the_visit_before_it() -> None:
    # a measurement from 13 March (the day after the last session) answers week 2's visit
    got = visit_states(PLAN, START, sessions_done=0, last_measured=None, today=START)
    assert [(v.kind, v.since) for v in got] == [
        ("session", None),
        ("session", None),
        ("session", None),
        ("session", None),
        ("reassessment", dt.date(2026, 3, 13)),
    ]
