"""Informed consent to acupuncture, recorded once before the first treatment.

What a consent record holds: who gave it (the patient, or a parent or guardian by name), on what
day, and which risks were explained, coded as the session's adverse event kinds so that what the
patient was told and what happened can be read side by side.

- The risks offered are the common minor events of the York surveys (bruising, pain at the needle
  site, bleeding, nausea, fainting: MacPherson et al. BMJ 2001;323:486, ``ev_macpherson2001``;
  tiredness or drowsiness: MacPherson & Thomas, Acupunct Med 2005;23:112, ``ev_macpherson2005``)
  and the accidents of WHO 1999 Section II 3 (infection, a broken needle, a burn;
  ``who1999_basic_training_safety``): ``AdverseEventKind`` without ``other``. At least one must be
  named: a consent that names no risk is not informed.
- Under the age in the ``minor_consent`` safety rule (16: the British Acupuncture Council's age
  of consent, ``bacc_minimum_age``), consent comes from a parent or guardian; the age is read
  from that rule, so the screening and the consent record can never disagree.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import Field, model_validator

from acuknee.clinical.base import CoreModel
from acuknee.clinical.knowledge import KnowledgeBase
from acuknee.clinical.vocabulary import AdverseEventKind, ConsentBy

EXPLAINABLE_RISKS: tuple[AdverseEventKind, ...] = tuple(
    k for k in AdverseEventKind if k is not AdverseEventKind.OTHER
)
"""The risks a practitioner can record as explained (see the module docstring for sources)."""


class Consent(CoreModel):
    """One patient's informed consent to acupuncture."""

    given_on: dt.date
    given_by: ConsentBy
    guardian_name: Annotated[str | None, Field(max_length=200)] = None
    """The parent's or guardian's name when they gave it."""
    risks_explained: list[AdverseEventKind] = Field(default_factory=list)
    other_explained: Annotated[str | None, Field(max_length=1000)] = None
    """Anything else explained (the procedure, alternatives, what to do after)."""

    @model_validator(mode="after")
    def _complete(self) -> Consent:
        if not self.risks_explained:
            raise ValueError("risks_explained: name at least one risk that was explained")
        if AdverseEventKind.OTHER in self.risks_explained:
            raise ValueError("risks_explained: write other risks in other_explained")
        name = (self.guardian_name or "").strip()
        if self.given_by is ConsentBy.PARENT_OR_GUARDIAN and not name:
            raise ValueError("guardian_name: give the name of the parent or guardian")
        if self.given_by is ConsentBy.PATIENT and name:
            raise ValueError("guardian_name: leave it blank when the patient gave consent")
        return self


def minor_age(kb: KnowledgeBase) -> int:
    """The age under which a parent or guardian consents: the ``minor_consent`` rule's own
    ``age lt`` bound (``bacc_minimum_age``)."""
    rule = kb.safety_rules["minor_consent"]
    bounds = [c.lt for c in (rule.when.all or []) if c.field == "age" and c.lt is not None]
    if len(bounds) != 1:
        raise ValueError("the minor_consent rule must hold exactly one 'age lt' bound")
    return int(bounds[0])


def consent_problems(consent: Consent, age: int, kb: KnowledgeBase) -> list[tuple[str, str]]:
    """(field, message) pairs when this consent cannot stand for a patient of ``age`` on the day
    it was given: under the ``minor_consent`` age, only a parent or guardian consents."""
    limit = minor_age(kb)
    if age < limit and consent.given_by is not ConsentBy.PARENT_OR_GUARDIAN:
        return [
            (
                "given_by",
                f"the patient is {age}, under {limit}: a parent or guardian must give consent "
                "and be present during treatment (safety rule minor_consent)",
            )
        ]
    return []
