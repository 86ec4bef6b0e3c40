"""Text a JSON entry point refuses: lone UTF-16 surrogates and control characters.

A lone surrogate (``"x\\ud800"`` in JSON) decodes to a Python string that cannot be encoded as
UTF-8: stored, it breaks every page, FHIR search and export that later renders it. Control
characters other than tab, newline and carriage return have no place in clinical text and
some databases refuse them (PostgreSQL: NUL). Every body and query string of the REST API
(``rest.JsonParser``) and every FHIR write (``fhir_api.writes._json_body``) is walked here, so one
rule covers them all. Messages name the field and the character's code point, never echo the
text (it may be a patient's note).
"""

from __future__ import annotations

from typing import Any

_ALLOWED_CONTROLS = frozenset("\t\n\r")


def text_problem(text: str) -> str | None:
    """Why ``text`` is refused, or None."""
    for index, char in enumerate(text):
        point = ord(char)
        if 0xD800 <= point <= 0xDFFF:
            return (
                f"contains a lone UTF-16 surrogate (U+{point:04X}) at position {index}: "
                "send valid Unicode text"
            )
        if (point < 0x20 or 0x7F <= point <= 0x9F) and char not in _ALLOWED_CONTROLS:
            return (
                f"contains a control character (U+{point:04X}) at position {index}; only tab, "
                "newline and carriage return are allowed"
            )
    return None


def _join(path: str, key: object) -> str:
    return f"{path}.{key}" if path else str(key)


def text_problems(data: Any, path: str = "") -> list[tuple[str | None, str]]:
    """Every refused string in a decoded JSON value, keys included, as (dotted path, why)."""
    problems: list[tuple[str | None, str]] = []
    stack: list[tuple[Any, str]] = [(data, path)]
    while stack:
        value, where = stack.pop()
        if isinstance(value, str):
            why = text_problem(value)
            if why is not None:
                problems.append((where or None, why))
        elif isinstance(value, dict):
            for key, item in value.items():
                key_why = text_problem(str(key))
                if key_why is not None:
                    problems.append((where or None, f"a key {key_why}"))
                    continue
                stack.append((item, _join(where, key)))
        elif isinstance(value, list):
            stack.extend((item, _join(where, i)) for i, item in enumerate(value))
    return sorted(problems, key=lambda p: p[0] or "")
