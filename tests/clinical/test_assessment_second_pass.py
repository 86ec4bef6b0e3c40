"""Vignettes for the second pass on assessment (issue 11 item 10): the NICE NG226 age gate on
the osteoarthritis cause, the ACR 1986 clinical + radiographic set (osteophytes plus 1 of 3), and
Osgood-Schlatter disease in adolescents, planned with the unspecified-knee-pain protocol."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from acuknee.clinical.assessment import assess
from acuknee.clinical.intake import Intake
from acuknee.clinical.knowledge import KnowledgeBase, load_knowledge
from acuknee.clinical.planning import plan
from acuknee.clinical.screening import screen
from acuknee.clinical.vocabulary import Cause


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return load_knowledge()


def intake(**changes: Any) -> Intake:
    base: dict[str, Any] = {"age": 60, "side": "left", "duration_weeks": 26}
    return Intake.model_validate({**base, **changes})


def test_a_30_year_old_with_three_acr_clinical_items_is_not_given_an_osteoarthritis_cause(
    kb: KnowledgeBase,
) -> None:
    result = assess(
        intake(
            age=30,
            morning_stiffness_minutes=10,
            examination={"crepitus": True, "bony_tenderness": True, "palpable_warmth": False},
        ),
        kb,
    )
    assert result.likely_cause is Cause.UNSPECIFIED


def test_the_acr_clinical_osteoarthritis_rule_cites_the_nice_age_gate(kb: KnowledgeBase) -> None:
    result = assess(
        intake(
            age=46,
            morning_stiffness_minutes=10,
            examination={"crepitus": True, "bony_tenderness": True},
        ),
        kb,
    )
    assert (result.likely_cause, "nice_ng226_diagnosis" in result.sources) == (
        Cause.KNEE_OSTEOARTHRITIS,
        True,
    )


def test_osteophytes_alone_without_one_of_the_three_acr_items_are_not_osteoarthritis(
    kb: KnowledgeBase,
) -> None:
    result = assess(
        intake(
            age=48,
            morning_stiffness_minutes=40,
            examination={"crepitus": False},
            investigations={"xray_osteophytes": True},
        ),
        kb,
    )
    assert (result.likely_cause, result.acr_clinical_radiographic.classified) == (  # type: ignore[union-attr]
        Cause.UNSPECIFIED,
        False,
    )


def test_osteophytes_with_crepitus_are_osteoarthritis_by_the_acr_radiographic_set(
    kb: KnowledgeBase,
) -> None:
    result = assess(
        intake(age=48, examination={"crepitus": True}, investigations={"xray_osteophytes": True}),
        kb,
    )
    assert (result.likely_cause, "altman1986_knee_oa" in result.sources) == (
        Cause.KNEE_OSTEOARTHRITIS,
        True,
    )


def test_tibial_tubercle_tenderness_in_an_adolescent_is_osgood_schlatter(
    kb: KnowledgeBase,
) -> None:
    result = assess(intake(age=13, examination={"tibial_tubercle_tenderness": True}), kb)
    assert (result.likely_cause, "weiler2011_osgood_schlatter" in result.sources) == (
        Cause.OSGOOD_SCHLATTER,
        True,
    )


def test_tibial_tubercle_tenderness_in_an_adult_is_not_osgood_schlatter(
    kb: KnowledgeBase,
) -> None:
    result = assess(intake(age=40, examination={"tibial_tubercle_tenderness": True}), kb)
    assert result.likely_cause is not Cause.OSGOOD_SCHLATTER


def test_osgood_schlatter_is_planned_with_the_unspecified_knee_pain_protocol(
    kb: KnowledgeBase,
) -> None:
    patient = intake(
        age=13,
        consent_given_by="parent_or_guardian",
        examination={"tibial_tubercle_tenderness": True},
    )
    result = plan(
        patient, screen(patient, kb), assess(patient, kb), start=dt.date(2025, 3, 3), kb=kb
    )
    unspecified = next(p for p in kb.protocols_for(Cause.UNSPECIFIED) if p.default_for_cause)
    assert (
        result.status,
        result.protocol,
        any("No protocol treats" in w for w in result.warnings),
    ) == (
        "proposed",
        unspecified.id,
        True,
    )


def test_every_cause_reads_in_a_sentence_as_its_label_says_it(kb: KnowledgeBase) -> None:
    """The assessment's summary and the plan's rationale name a cause by its label, lower-cased
    inside a sentence except a name (the code with spaces said "osgood schlatter disease" and
    "pes anserine tendinopathy bursitis")."""
    for cause in Cause:
        assert cause.phrase.casefold() == cause.label.casefold()
        assert cause.phrase[0].isupper() == (cause is Cause.OSGOOD_SCHLATTER), cause
    adolescent = intake(
        age=13,
        consent_given_by="parent_or_guardian",
        examination={"tibial_tubercle_tenderness": True},
    )
    assessment = assess(adolescent, kb)
    assert assessment.summary.startswith("Likely Osgood-Schlatter disease: ")
    proposed = plan(
        adolescent, screen(adolescent, kb), assessment, start=dt.date(2025, 3, 3), kb=kb
    )
    assert proposed.rationale.startswith("Likely cause: Osgood-Schlatter disease. ")
    assert "No protocol treats Osgood-Schlatter disease; " in " ".join(proposed.warnings)
    medial = assess(
        intake(examination={"pes_anserine_tenderness": True, "pain_location": ["medial"]}), kb
    )
    assert medial.likely_cause is Cause.PES_ANSERINE
    assert medial.summary.startswith("Likely pes anserine tendinopathy or bursitis: ")
