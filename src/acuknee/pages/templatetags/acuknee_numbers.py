"""``{{ value|number }}`` and ``{{ value|number:2 }}``: the one number formatter in templates
(``acuknee.clinical.numbers.format_number``), instead of ``floatformat``, which prints "-0";
and ``{{ days|join_dates }}``, the one date-list format."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django import template

from acuknee.clinical.numbers import format_number

register = template.Library()


@register.filter
def number(value: float | int | None, decimals: int = 1) -> str:
    """The value as people read it on every page: rounded, no trailing zeros, never "-0"."""
    return format_number(value, int(decimals))


@register.filter
def join_dates(days: Iterable[dt.date]) -> str:
    """Dates as the pages print them (ISO, "2026-05-01, 2026-06-12"), one format everywhere."""
    return ", ".join(day.isoformat() for day in days)
