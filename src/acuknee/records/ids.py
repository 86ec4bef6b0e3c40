"""Whole numbers written by a client (an id in a path or a query string, a number in a file),
read as the databases can store them: one rule for every adapter.

Why not ``isdigit()`` and ``int()``: ``isdigit`` passes '²', which ``int`` refuses (a 500), and
``int`` reads other scripts' decimal digits ('٣' is 3), which no id or count is written in; and
Python refuses to read more than 4,300 digits."""

from __future__ import annotations

import re

DB_INT_MAX = 2**63 - 1
"""The largest integer the databases store (SQLite INTEGER, PostgreSQL bigint)."""

_ASCII_DIGITS = re.compile(r"[0-9]+")


def whole_number(text: str, cap: int) -> int | None:
    """The whole number ``text`` writes in ASCII digits, held at ``cap``; None when ``text`` is
    not ASCII digits alone. A number longer than ``cap`` is held at ``cap`` without being read
    (leading zeros are not its digits)."""
    if not _ASCII_DIGITS.fullmatch(text):
        return None
    significant = text.lstrip("0") or "0"
    if len(significant) > len(str(cap)):
        return cap
    return min(int(significant), cap)


def storable_pk(digits: str) -> int | None:
    """The row id written in ``digits`` (ASCII digits), or None when it is not one or is beyond
    the database's BIGINT: no row can have it, and comparing it would overflow the driver."""
    number = whole_number(digits, DB_INT_MAX + 1)
    return number if number is not None and number <= DB_INT_MAX else None
