"""Voiding an intake or a measurement: the version the page was opened at, and a reason."""

from __future__ import annotations

from django import forms

from acuknee.forms.base import Form


class VoidRecordForm(Form):
    """A void is refused without a reason, and refused when the record changed since the page
    was opened (``version``)."""

    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    reason = forms.CharField(
        label="Reason for voiding", max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )

    def clean_reason(self) -> str:
        reason = str(self.cleaned_data["reason"]).strip()
        if not reason:
            raise forms.ValidationError("A reason is required.")
        return reason


class VoidIntakeForm(VoidRecordForm):
    void_baseline = forms.BooleanField(
        label="Also void the baseline measurements recorded with this intake",
        required=False,
    )
