"""The one widget every date field of the app is shown with."""

from __future__ import annotations

from typing import Any

from django import forms


class IsoDateInput(forms.DateInput):
    """A browser's date box, given its value as an ISO date: the only value such a box shows
    (the clinic's locale format, 14/06/1958, left the details form's birth date empty, so
    every save of changed contact details was refused as missing it)."""

    input_type = "date"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs, format="%Y-%m-%d")
