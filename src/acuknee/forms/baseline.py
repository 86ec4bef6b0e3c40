"""Choosing the visit a course is measured from: one of the dates with a live measurement, or
the default (the intake's own measurements). The care layer checks the date
(``care.services.choose_baseline``); this form only reads it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django import forms

from acuknee.forms.base import Form

DEFAULT_LABEL = "The intake's measurements (default)"


def date_choices(dates: Iterable[tuple[dt.date, str]]) -> list[tuple[str, str]]:
    """Select options: the default first, then each measurement date with who recorded it."""
    return [("", DEFAULT_LABEL)] + [
        (day.isoformat(), f"{day.isoformat()} ({who})") for day, who in dates
    ]


class BaselineForm(Form):
    """The intake's ``version`` (read when the page was opened) and the chosen date, blank for
    the default. A date that is not offered is passed on, so the care layer says why it is
    refused (no live measurement that day, or a date in the future)."""

    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    baseline_on = forms.CharField(
        label="Baseline used", required=False, max_length=10, widget=forms.Select
    )

    def __init__(self, *args: Any, dates: Iterable[tuple[dt.date, str]] = (), **kwargs: Any):
        super().__init__(*args, **kwargs)
        widget = self.fields["baseline_on"].widget
        assert isinstance(widget, forms.Select)
        widget.choices = date_choices(dates)

    def clean_baseline_on(self) -> dt.date | None:
        value = str(self.cleaned_data.get("baseline_on") or "").strip()
        if not value:
            return None
        try:
            return dt.date.fromisoformat(value)
        except ValueError as exc:
            raise forms.ValidationError(
                f"{value!r} is not a date: choose one of the measurement dates listed."
            ) from exc
