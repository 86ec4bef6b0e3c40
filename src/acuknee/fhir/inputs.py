"""What the FHIR mapping needs beyond the clinical core: who the patient and practitioner are.

The core knows no names or record numbers (an intake has age and sex only); the clinic app holds
them and passes these small models in, so the mapping stays testable without a database.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import Field

from acuknee.clinical.base import CoreModel
from acuknee.clinical.vocabulary import Sex

NonEmpty = Annotated[str, Field(min_length=1)]


class RecordIdentifier(CoreModel):
    """An identifier in a namespace the clinic owns, e.g. its medical record numbers.

    ``system`` is the URI of that namespace (``Identifier.system``), so two clinics' record
    number 42 stay two different patients when their data meet in a research network.
    """

    system: Annotated[str, Field(min_length=1, pattern=r"^\S+$")]
    value: NonEmpty


class PatientInfo(CoreModel):
    """A patient's demographics as the clinic records them."""

    record_number: RecordIdentifier
    given_name: NonEmpty
    family_name: NonEmpty
    birth_date: dt.date
    sex: Sex = Sex.UNKNOWN
    id: str | None = None
    """The resource id on the FHIR server, when it has one."""


class PractitionerInfo(CoreModel):
    """The practitioner who needles (STRICTA item 5 lives in the clinic app, not here)."""

    given_name: NonEmpty
    family_name: NonEmpty
    registration: RecordIdentifier | None = None
    """Professional registration number in its register's namespace, when recorded."""
    id: str | None = None


class ReferralOutcomeInfo(CoreModel):
    """The recorded outcome that cleared a referral: who saw the patient, when, and their note."""

    seen_by: NonEmpty
    seen_on: dt.date
    note: str = ""
