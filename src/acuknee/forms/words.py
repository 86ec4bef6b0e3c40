"""A core model's validation error as a page says it: in words, without pydantic's phrasing.

The clinical core validates with pydantic, whose messages ("Input should be greater than 0")
name no field and read as a program's. The forms put each error under the field it concerns, so
only what is wrong needs saying: "must be more than 0". A message written by the core itself (a
``ValueError`` in a validator) is already in words and is kept, without pydantic's "Value error, ".
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from acuknee.clinical.numbers import format_number

_TEMPLATES = {
    "greater_than": "must be more than {gt}",
    "greater_than_equal": "must be {ge} or more",
    "less_than": "must be less than {lt}",
    "less_than_equal": "must be {le} or less",
    "string_too_long": "must be at most {max_length} characters",
    "string_too_short": "must be at least {min_length} characters",
    "too_long": "must have at most {max_length}",
    "too_short": "must have at least {min_length}",
    "missing": "is required",
    "int_parsing": "must be a whole number",
    "int_from_float": "must be a whole number",
    "float_parsing": "must be a number",
    "date_from_datetime_parsing": "must be a date (YYYY-MM-DD)",
    "date_parsing": "must be a date (YYYY-MM-DD)",
}


def _shown(value: Any) -> Any:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return format_number(value, 3)
    return value


def in_words(error: Mapping[str, Any]) -> str:
    """One entry of ``ValidationError.errors()`` as a page shows it under its field."""
    message = str(error.get("msg", "")).removeprefix("Value error, ")
    template = _TEMPLATES.get(str(error.get("type", "")))
    if template is not None:
        context = {key: _shown(value) for key, value in (error.get("ctx") or {}).items()}
        try:
            return template.format(**context)
        except (KeyError, IndexError):
            pass
    if message.startswith("Input should be "):
        return "must be " + message.removeprefix("Input should be ")
    return message
