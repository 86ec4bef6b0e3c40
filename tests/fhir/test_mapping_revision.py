"""Stored FHIR export lines are served as long as ``MAPPING_REVISION`` (with the instruments'
knowledge) is unchanged, so a change to the mapping's output must raise it: this test fails
when the lines of a fixed synthetic patient and measurement change while the revision stays."""

from __future__ import annotations

import datetime as dt
import hashlib

from acuknee.clinical import score
from acuknee.fhir import bulk

RENDERED_BY_REVISION = {
    "3": "6985a069e6f42ed94b7f0d8df24d9e5ca62452411ab9c22b45ed943372855330",
}
"""The digest of the fixed lines under each revision. After changing the mapping: raise
``MAPPING_REVISION`` and add the new digest here (the failure message prints it)."""


def fixed_lines() -> bytes:
    answers: dict[str, float | None] = {
        "current": 6.0,
        "average_last_week": 5.0,
        "worst_last_week": 7.0,
    }
    patient = bulk.render_patient(1, "N-0001", "Ada", "Synthetic", dt.date(1960, 1, 2), "female")
    scores = score("pain_nrs", answers).model_dump(mode="json")
    response, observations, _ = bulk.render_measurement(
        2, 1, dt.date(2026, 1, 5), "pain_nrs", answers, scores
    )
    skipped = score("koos_jr", {}).model_dump(mode="json")  # every answer skipped: no item
    unanswered, _, _ = bulk.render_measurement(3, 1, dt.date(2026, 1, 5), "koos_jr", {}, skipped)
    return b"\n".join([patient, response, observations, unanswered])


def test_the_mappings_output_changes_only_with_its_revision() -> None:
    digest = hashlib.sha256(fixed_lines()).hexdigest()
    expected = RENDERED_BY_REVISION.get(bulk.MAPPING_REVISION)
    assert digest == expected, (
        f"the FHIR lines changed under MAPPING_REVISION {bulk.MAPPING_REVISION!r}: raise it so "
        f"stored lines are rendered afresh, and record {digest!r} for the new revision"
    )
