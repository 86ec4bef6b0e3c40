"""Patient registration, search and voiding forms."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.utils import timezone

from acuknee.clinic.models import Clinic, Patient


class DateInput(forms.DateInput):
    input_type = "date"


class PatientForm(forms.ModelForm):
    """Register a patient in one clinic; a record number is unique within that clinic."""

    class Meta:
        model = Patient
        fields = [
            "given_name",
            "family_name",
            "date_of_birth",
            "sex",
            "record_number",
            "phone",
            "email",
        ]
        widgets = {"date_of_birth": DateInput()}
        labels = {"date_of_birth": "Date of birth", "record_number": "Record number"}

    def __init__(self, *args: Any, clinic: Clinic, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.clinic = clinic

    def clean_record_number(self) -> str:
        number = str(self.cleaned_data["record_number"]).strip()
        taken = Patient.objects.filter(clinic=self.clinic, record_number=number)
        if self.instance.pk:
            taken = taken.exclude(pk=self.instance.pk)
        if taken.exists():
            raise forms.ValidationError("Another patient of this clinic has this record number.")
        return number

    def clean_date_of_birth(self) -> dt.date:
        born: dt.date = self.cleaned_data["date_of_birth"]
        if born > timezone.localdate():
            raise forms.ValidationError("The date of birth is in the future.")
        return born


class PatientSearchForm(forms.Form):
    """One box: a name, a date of birth (YYYY-MM-DD) or a record number."""

    q = forms.CharField(
        label="Search by name, date of birth (YYYY-MM-DD) or record number",
        required=False,
        max_length=200,
    )


class VoidForm(forms.Form):
    """Voiding keeps the record visible as voided, so the reason is required; ``version`` is
    the record the user saw (a later change refuses the void as stale)."""

    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    reason = forms.CharField(
        label="Reason for voiding", widget=forms.Textarea(attrs={"rows": 3}), max_length=2000
    )

    def clean_reason(self) -> str:
        reason = str(self.cleaned_data["reason"]).strip()
        if not reason:
            raise forms.ValidationError("A reason is required.")
        return reason
