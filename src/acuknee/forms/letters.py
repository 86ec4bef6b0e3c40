"""Editing a referral letter before printing: whom it goes to and its text, opened pre-filled
with the suggested letter (``reports.referral.generated_body``) or the last edit. The care layer
keeps the edit (``care.services.save_referral_letter``); this form only reads it."""

from __future__ import annotations

from django import forms

from acuknee.forms.base import Form


class ReferralLetterForm(Form):
    """``version``: the saved edit's version when the form was opened (blank for the first)."""

    version = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=1)
    recipient = forms.CharField(
        label="To",
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 70}),
        help_text="Name, service and address of the clinician who receives the letter.",
    )
    body = forms.CharField(
        label="Letter",
        max_length=20000,
        widget=forms.Textarea(attrs={"rows": 28, "cols": 90}),
        help_text=(
            "Paragraphs are separated by an empty line; a line starting with '- ' is a list "
            "item. The letterhead, date, urgency picture and signature are added when printed."
        ),
    )
