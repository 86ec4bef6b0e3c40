"""One way to show a number to a person: rounded half away from zero to a fixed number of
decimals, trailing zeros dropped, never "-0", never a float artefact such as "63.8889".

Every page, report, chart caption and CLI table formats through ``format_number`` (the clinic
templates through the ``number`` filter that wraps it), so one value reads the same everywhere.
A measure's decimals come from its subscale (``Subscale.decimals`` in instruments.toml: the 40 m
walk speed has two, most scores one). No dependencies: the pure core and every adapter import it.
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache

MISSING = "—"
"""What stands for a value that is not there (not recorded, not computable)."""


def format_number(
    value: float | int | None, decimals: int = 1, *, missing: str = MISSING, signed: bool = False
) -> str:
    """``value`` rounded half away from zero to ``decimals`` places, without trailing zeros:
    63.8889 -> "63.9", 2.0 -> "2", -0.04 -> "0" (never "-0"), 2.25 -> "2.3" at one decimal.
    ``signed`` puts "+" before a positive result (a change); None, NaN and infinities read as
    ``missing``."""
    if value is None or isinstance(value, bool):
        return missing
    if isinstance(value, float) and not math.isfinite(value):
        return missing
    if decimals < 0:
        raise ValueError("decimals: must be 0 or more")
    return _rounded(value, decimals, signed)


@lru_cache(maxsize=16384, typed=True)
def _rounded(value: float | int, decimals: int, signed: bool) -> str:
    """The text of a finite number, kept by value: a page prints the same values again and
    again (a chart's alt text lists each of its points; issue 15)."""
    step = Decimal(1).scaleb(-decimals)
    rounded = Decimal(repr(value) if isinstance(value, float) else value).quantize(
        step, rounding=ROUND_HALF_UP
    )
    if rounded == 0:
        return "0"
    text = f"{rounded:f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return f"+{text}" if signed and rounded > 0 else text
