"""What the fuzzers share: how many examples (``ACUKNEE_FUZZ_EXAMPLES`` raises it for a long run
outside the suite), the hostile alphabet, and a tally of requests and 5xx answers that a long run
writes to ``ACUKNEE_FUZZ_TALLY`` (a JSON file) for docs/security.md's figures."""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

EXAMPLES = int(os.environ.get("ACUKNEE_FUZZ_EXAMPLES", "0") or 0)
"""0 in the suite (each file keeps its own small number); a long run sets it to hundreds."""


def examples(default: int) -> int:
    return EXAMPLES or default


TALLY: Counter[str] = Counter()


def count(kind: str, status: int) -> None:
    TALLY[f"{kind} requests"] += 1
    if status >= 500:
        TALLY[f"{kind} 5xx"] += 1


def write_tally() -> None:
    target = os.environ.get("ACUKNEE_FUZZ_TALLY")
    if not target or not TALLY:
        return
    path = Path(target)
    old: dict[str, int] = json.loads(path.read_text()) if path.exists() else {}
    for key, value in TALLY.items():
        old[key] = old.get(key, 0) + value
    path.write_text(json.dumps(old, indent=1, sort_keys=True))
    TALLY.clear()


HOSTILE_TEXT = st.one_of(
    st.text(st.characters(codec=None), max_size=40),  # any code point, lone surrogates included
    st.text(st.characters(categories=["Cc", "Cs", "Co", "Cn", "Zl", "Zp"]), max_size=20),
    st.sampled_from(["x\ud800", "\udfff", "\x00", "\u202e", "\ufeff", "a\r\nb", "%00", "\\u0000"]),
)
"""Strings: surrogates, control, private-use and unassigned characters, line separators."""

HUGE_NUMBERS = st.one_of(
    st.integers(min_value=-(10**400), max_value=10**400),
    st.sampled_from([2**63, -(2**63) - 1, 2**64, 10**30, 99999999999999999999999]),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([1e308, -1e308, 5e-324]),
)

JSON_VALUES: st.SearchStrategy[Any] = st.recursive(
    st.none() | st.booleans() | HUGE_NUMBERS | HOSTILE_TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(HOSTILE_TEXT, inner, max_size=4),
    max_leaves=20,
)
"""Any JSON value built from the hostile strings and huge numbers."""


def deep(depth: int, leaf: bytes = b'"x\\ud800"') -> bytes:
    """JSON text nested ``depth`` levels (arrays and objects in turn), built as text: Python's
    own encoder stops near a thousand levels."""
    opening = b"".join(b"[" if level % 2 else b'{"a":' for level in range(depth))
    closing = b"".join(b"]" if level % 2 else b"}" for level in reversed(range(depth)))
    return opening + leaf + closing


def dumps(value: Any) -> bytes:
    """JSON text; a lone surrogate is written as its escape (``\\ud800``), as a client would."""
    return json.dumps(value, ensure_ascii=True).encode("ascii")
