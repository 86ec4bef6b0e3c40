"""Informed consent in the core: it names who gave it and at least one risk explained; under the
``minor_consent`` age only a parent or guardian consents (bacc_minimum_age)."""

from __future__ import annotations

import datetime as dt

import pytest
from pydantic import ValidationError

from acuknee.clinical import load_knowledge
from acuknee.clinical.consent import EXPLAINABLE_RISKS, Consent, consent_problems, minor_age
from acuknee.clinical.vocabulary import AdverseEventKind, ConsentBy

DAY = dt.date(2026, 3, 2)


def _consent(**extra: object) -> Consent:
    data: dict[str, object] = {
        "given_on": DAY,
        "given_by": "patient",
        "risks_explained": ["bruising"],
        **extra,
    }
    return Consent.model_validate(data)


def test_a_consent_that_names_no_risk_is_refused() -> None:
    with pytest.raises(ValidationError, match="name at least one risk"):
        _consent(risks_explained=[])


def test_a_guardians_consent_needs_the_guardians_name() -> None:
    with pytest.raises(ValidationError, match="guardian_name"):
        _consent(given_by="parent_or_guardian")


def test_the_explainable_risks_are_the_coded_adverse_events_without_other() -> None:
    assert AdverseEventKind.OTHER not in EXPLAINABLE_RISKS
    assert set(EXPLAINABLE_RISKS) | {AdverseEventKind.OTHER} == set(AdverseEventKind)


def test_the_minor_age_is_the_minor_consent_rules_own_bound() -> None:
    kb = load_knowledge()
    assert minor_age(kb) == 16
    assert "bacc_minimum_age" in kb.safety_rules["minor_consent"].source


def test_a_patient_under_the_minor_age_cannot_consent_alone() -> None:
    kb = load_knowledge()
    [(field, message)] = consent_problems(_consent(), 15, kb)
    assert field == "given_by"
    assert "parent or guardian" in message
    assert consent_problems(_consent(), 16, kb) == []
    guardian = _consent(given_by=ConsentBy.PARENT_OR_GUARDIAN.value, guardian_name="A. Parent")
    assert consent_problems(guardian, 15, kb) == []
