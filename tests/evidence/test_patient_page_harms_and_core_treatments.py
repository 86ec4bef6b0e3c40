"""The patient page says how common the minor harms are, with their sources, and that exercise
and weight management come first."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from acuknee.evidence.data import EvidenceDataError, build_evidence
from tests.evidence.test_data import _raw

PATIENT = reverse("evidence-what-to-expect")


@pytest.fixture
def page(db: Any) -> str:
    return Client().get(PATIENT).content.decode()


def test_patient_page_gives_practitioner_recorded_harm_frequencies_from_the_york_survey(
    page: str,
) -> None:
    for figure in ("34,407 treatments", "1.3 per 1000", "1.7 %", "1.2 %", "0.4 %"):
        assert figure in page
    assert "The York acupuncture safety study" in page


def test_patient_page_gives_patient_reported_reactions_from_the_2005_survey(page: str) -> None:
    for figure in ("9408 patients", "29.7 %", "24.4 %", "do not drive if you feel drowsy"):
        assert figure in page
    assert "Short term reactions to acupuncture" in page


def test_patient_page_puts_exercise_and_weight_management_first(page: str) -> None:
    assert "Exercise and, if you are overweight, losing weight are the main treatments" in page
    assert "OARSI guidelines for the non-surgical management" in page
    assert page.index("the main treatments") < page.index("Side effects: what is common")


def test_a_patient_page_note_without_a_source_fails_naming_it() -> None:
    raw = _raw().replace('source = ["ev_macpherson2005"]\n', "source = []\n", 1)
    with pytest.raises(EvidenceDataError, match="source"):
        build_evidence(raw)
