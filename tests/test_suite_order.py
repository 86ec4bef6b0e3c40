"""The suite's own order: the longest files are listed by their real paths (a renamed file
would silently lose its place)."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import LONGEST_FIRST


def test_every_file_named_longest_first_exists() -> None:
    root = Path(__file__).resolve().parents[1]
    assert [p for p in LONGEST_FIRST if not (root / p).is_file()] == []
