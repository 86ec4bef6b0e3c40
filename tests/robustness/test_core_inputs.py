"""The clinical core's inputs, spoiled: each documented example (docs/examples) with one value
replaced by something of the wrong shape, or one unknown key added, goes through the same path
as ``acuknee screen|assess|plan|score|evaluate|stricta``. The only outcomes allowed are a result
or the core's own errors (pydantic's ``ValidationError`` at the boundary, ``ClinicalError``
inside), never ``TypeError``, ``KeyError``, ``OverflowError`` and the like; and the command line
turns any file, even one that is not UTF-8 or not JSON, into exit 0 or 2 with a message.

tests/clinical holds the properties of valid inputs (scores in range, no blocked point); this
file holds the invalid ones."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from typer.testing import CliRunner

from acuknee.cli import app
from acuknee.clinical import (
    ClinicalError,
    Course,
    Intake,
    assess,
    evaluate,
    load_knowledge,
    plan,
    score,
    screen,
    stricta,
)
from acuknee.clinical.stricta import StrictaInput

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples"
KB = load_knowledge()
BOUNDED = settings(
    max_examples=40, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)

HOSTILE_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["", "<script>", "' OR 1=1 --", "\x00", "9" * 400, "2026-02-30", "-1e309"]),
    st.text(max_size=20),
)
HOSTILE = st.recursive(
    HOSTILE_SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)


def _example(name: str) -> Any:
    return json.loads((EXAMPLES / name).read_text())


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in a JSON document a value sits (the document itself included)."""
    out = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            out += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            out += _paths(item, (*prefix, index))
    return out


def _replaced(document: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    copy = json.loads(json.dumps(document))
    target = copy
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = new
    return copy


@st.composite
def spoiled(draw: st.DrawFn, name: str) -> Any:
    """The example ``name`` with one value replaced or one unknown key added."""
    document = _example(name)
    path = draw(st.sampled_from(_paths(document)), label="where")
    if draw(st.booleans(), label="add a key") and isinstance(_at(document, path), dict):
        extra = {**_at(document, path), draw(st.text(max_size=8)): draw(HOSTILE)}
        return _replaced(document, path, extra)
    return _replaced(document, path, draw(HOSTILE, label="value"))


def _at(document: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        document = document[part]
    return document


def only_core_errors(action: Callable[[], Any]) -> None:
    """Run the core: a result, or an error the boundary maps to a message naming the field."""
    with contextlib.suppress(ValidationError, ClinicalError):
        action()


def _consult(data: Any) -> None:
    intake = Intake.model_validate(data)
    screening, assessment = screen(intake, KB), assess(intake, KB)
    plan(intake, screening, assessment, start=dt.date(2026, 12, 1), kb=KB)


@BOUNDED
@given(data=st.data())
def test_a_spoiled_intake_is_screened_assessed_and_planned_or_refused_with_a_core_error(
    data: st.DataObject,
) -> None:
    name = data.draw(st.sampled_from(sorted(p.name for p in EXAMPLES.glob("intake-*.json"))))
    document = data.draw(spoiled(name))
    only_core_errors(lambda: _consult(document))


@BOUNDED
@given(
    start=st.dates(min_value=dt.date(1, 1, 1), max_value=dt.date(9999, 12, 31)),
)
def test_a_plan_starting_on_any_date_is_made_or_refused_with_a_core_error(start: dt.date) -> None:
    intake = Intake.model_validate(_example("intake-knee-oa.json"))
    screening, assessment = screen(intake, KB), assess(intake, KB)
    only_core_errors(lambda: plan(intake, screening, assessment, start=start, kb=KB))


@BOUNDED
@given(
    instrument=st.sampled_from([*sorted(KB.instruments), "unknown", ""]),
    answers=st.dictionaries(st.text(max_size=6), HOSTILE_SCALARS, max_size=6),
)
def test_any_answers_to_any_instrument_are_scored_or_refused_naming_the_item(
    instrument: str, answers: dict[str, Any]
) -> None:
    only_core_errors(lambda: score(instrument, answers, KB))


@BOUNDED
@given(
    instrument=st.sampled_from(sorted(KB.instruments)),
    value=st.one_of(
        st.floats(allow_nan=True, allow_infinity=True),
        st.integers(min_value=-(10**30), max_value=10**30),
    ),
)
def test_an_out_of_range_or_non_finite_answer_is_refused_with_a_core_error(
    instrument: str, value: float
) -> None:
    code = KB.instruments[instrument].items[0].code
    try:
        scores = score(instrument, {code: value}, KB)
    except ClinicalError:
        return
    for number in scores.values().values():
        assert number is None or math.isfinite(number)


@BOUNDED
@given(data=st.data())
def test_a_spoiled_course_is_evaluated_or_refused_with_a_core_error(data: st.DataObject) -> None:
    document = data.draw(spoiled("course.json"))
    only_core_errors(lambda: evaluate(Course.model_validate(document), KB))


@BOUNDED
@given(data=st.data())
def test_a_spoiled_stricta_input_is_reported_or_refused_with_a_core_error(
    data: st.DataObject,
) -> None:
    document = data.draw(spoiled("stricta.json"))

    def report() -> None:
        given_input = StrictaInput.model_validate(document)
        stricta(given_input.plan, given_input.sessions, given_input.context, KB)

    only_core_errors(report)


@settings(max_examples=25, deadline=None, derandomize=True)
@given(
    command=st.sampled_from(
        [["screen"], ["assess"], ["plan"], ["score", "koos"], ["evaluate"], ["stricta"]]
    ),
    content=st.one_of(
        st.binary(max_size=64),
        st.sampled_from([b"\xff\xfe{}", b"{", b"[]", b"null", b"1" * 5000, b'{"a":' * 2000]),
        HOSTILE.map(lambda v: json.dumps(v).encode()),
    ),
)
def test_the_command_line_answers_any_file_with_a_result_or_exit_2(
    command: list[str], content: bytes
) -> None:
    result = CliRunner().invoke(app, [*command, "-"], input=content)
    assert result.exit_code in (0, 2), (result.exit_code, repr(result.exception))
    if result.exit_code == 2:
        assert "error:" in result.output
