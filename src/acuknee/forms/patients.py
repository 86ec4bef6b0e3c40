"""Patient registration, details and search forms (voiding: ``forms.voiding``)."""

from __future__ import annotations

from typing import Any

from django import forms

from acuknee.care.patients import REASON_MAX_LENGTH, PatientDetails
from acuknee.forms.base import Form
from acuknee.forms.widgets import IsoDateInput
from acuknee.records.models import Patient

_DETAILS = ["given_name", "family_name", "date_of_birth", "sex", "record_number", "phone", "email"]


class PatientForm(Form):
    """A patient's details, parsed only: the rules (plausible birth date, a record number unique
    in the clinic, likely duplicates) are the care layer's (``acuknee.care.patients``)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        made = forms.fields_for_model(
            Patient,
            fields=_DETAILS,
            widgets={"date_of_birth": IsoDateInput()},
            labels={"date_of_birth": "Date of birth", "record_number": "Record number"},
        )
        self.fields = {**made, **self.fields}  # type: ignore[has-type]

    def details(self) -> PatientDetails:
        return PatientDetails(**{name: self.cleaned_data[name] for name in _DETAILS})

    def add_problems(self, problems: list[tuple[str | None, str]]) -> None:
        """The care layer's errors, each next to the field it names."""
        for name, message in problems:
            self.add_error(name if name in self.fields else None, message)


class PatientRegisterForm(PatientForm):
    """Registration; ``confirm_duplicates`` is offered once likely duplicates were shown."""

    confirm_duplicates = forms.BooleanField(
        label="I checked: this is a different person, register anyway", required=False
    )


class PatientEditForm(PatientForm):
    """The details page: the version it was opened at, and why identity details change."""

    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    reason = forms.CharField(
        label="Reason for the change (required to change a name, date of birth, sex or record "
        "number)",
        required=False,
        max_length=REASON_MAX_LENGTH,
    )

    @classmethod
    def opened(cls, patient: Patient) -> PatientEditForm:
        initial = {name: getattr(patient, name) for name in _DETAILS}
        return cls(initial={**initial, "version": patient.version})


class PatientSearchForm(Form):
    """One box: a name, a date of birth (YYYY-MM-DD) or a record number."""

    q = forms.CharField(
        label="Search by name, date of birth (YYYY-MM-DD) or record number",
        required=False,
        max_length=200,
    )
