"""The clinical core: a consultation, KOOS scoring, a course evaluation, a synthetic batch.

Floors, each measured in the same run as its job:

- consultation (intake JSON -> ``screen`` + ``assess`` + ``plan``): validating the same JSON into
  ``Intake``, the parsing every caller pays anyway.
- ``score("koos", answers)``: a plain-Python KOOS of the same 42 numbers (per subscale, 100 minus
  25 x the mean), so the cost of validation, missing-item rules and result models is visible.
- ``evaluate(course)``: scoring the same measurements with ``score`` alone, so what evaluation
  adds on top of scoring (change, MIC, OMERACT-OARSI) is visible.
- synthetic batch: as the consultation, over seeded synthetic intakes, per intake.
"""

from __future__ import annotations

import collections
import datetime as dt
import functools
import json
from pathlib import Path
from typing import Any

from acuknee.clinical.assessment import assess
from acuknee.clinical.instruments import score
from acuknee.clinical.intake import Intake
from acuknee.clinical.knowledge import load_knowledge
from acuknee.clinical.planning import Plan, plan
from acuknee.clinical.response import Course, evaluate
from acuknee.clinical.screening import screen
from benchmarks import synthetic
from benchmarks.harness import Result, Settings, compare

EXAMPLES = Path(__file__).resolve().parents[1] / "docs" / "examples"
START = dt.date(2026, 12, 1)  # sessions are dated from a fixed day: the clock is never read


def consult(text: str) -> Plan:
    """The whole consultation from the JSON a client sends: parse, screen, assess, plan."""
    intake = Intake.model_validate_json(text)
    screening = screen(intake)
    return plan(intake, screening, assess(intake), start=START)


def _consultations(settings: Settings) -> list[Result]:
    results = []
    for path in sorted(EXAMPLES.glob("intake-*.json")):
        text = path.read_text()
        results.append(
            compare(
                f"consultation {path.stem.removeprefix('intake-')}",
                functools.partial(consult, text),
                "Intake.model_validate_json of the same JSON",
                functools.partial(Intake.model_validate_json, text),
                settings,
                note=f"plan {consult(text).status}",
            )
        )
    return results


def _koos_floor(subscales: list[list[str]], answers: dict[str, Any]) -> list[float]:
    """KOOS Scoring 2012 by hand: 100 - 25 x mean, for complete answers only."""
    out = []
    for items in subscales:
        values = [answers[code] for code in items]
        out.append(100 - sum(values) / len(values) * 25)
    return out


def _koos(settings: Settings) -> Result:
    answers = json.loads((EXAMPLES / "answers-koos.json").read_text())
    koos = load_knowledge().instruments["koos"]
    subscales = [list(sub.items) for sub in koos.subscales]
    assert sorted(c for items in subscales for c in items) == sorted(answers), "42 items"
    return compare(
        "score koos",
        lambda: score("koos", answers),
        "plain-Python 100 - 25 x mean per subscale",
        lambda: _koos_floor(subscales, answers),
        settings,
    )


def _score_all(course: Course) -> list[Any]:
    visits = [course.baseline, *course.follow_ups]
    return [score(name, answers) for v in visits for name, answers in v.measurements.items()]


def _evaluate(settings: Settings) -> Result:
    course = Course.model_validate_json((EXAMPLES / "course.json").read_text())
    visits = 1 + len(course.follow_ups)
    return compare(
        "evaluate course",
        lambda: evaluate(course),
        "score every measurement of the course",
        lambda: _score_all(course),
        settings,
        note=f"{visits} visits, {len(_score_all(course))} measurements",
    )


def _batch(settings: Settings) -> Result:
    texts = synthetic.intake_texts(settings.synthetic, settings.seed)
    statuses = collections.Counter(consult(text).status for text in texts)
    mix = ", ".join(f"{count} {status}" for status, count in sorted(statuses.items()))

    def job() -> None:
        for text in texts:
            consult(text)

    def floor() -> None:
        for text in texts:
            Intake.model_validate_json(text)

    return compare(
        f"synthetic batch of {len(texts):,} (per intake)",
        job,
        "Intake.model_validate_json of the same JSON",
        floor,
        settings,
        ops_per_call=len(texts),
        note=f"seed {settings.seed}: {mix}",
    )


def run(settings: Settings) -> list[Result]:
    return [*_consultations(settings), _koos(settings), _evaluate(settings), _batch(settings)]
