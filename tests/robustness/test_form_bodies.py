"""Every POST form of the clinic app against malformed bodies: oversized, too many fields, the
wrong content type, invalid UTF-8, an unknown charset, NUL bytes, a large file upload. Nothing
answers 5xx; a rejected post stores nothing (counts, versions, voids, history unchanged)."""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart
from pytest_django import Settings as DjangoSettings

from benchmarks.bench_clinic import Form
from tests.robustness.web import Target, World, browser, filled, send, snapshot

FORM = "application/x-www-form-urlencoded"
INVALID_UTF8 = b"\xff\xfe\xc3(\xed\xa0\x80"  # not UTF-8: a lone byte, a cut sequence, a surrogate


@pytest.fixture
def world(shared_world: World, db: Any) -> World:
    return shared_world


Body = Callable[[list[tuple[str, str]]], tuple[bytes, str]]


def _open_forms(world: World) -> list[tuple[Target, Client, Form]]:
    """Every form as its page serves it, with the client (own CSRF cookie) that opened it."""
    out = []
    for target in world.targets.values():
        client = browser(None if target.anonymous else world.alice)
        out.append((target, client, target.form(client)))
    return out


def _post_each(
    opened: list[tuple[Target, Client, Form]], body: Body, *, must_reject: bool
) -> dict[str, int]:
    """Post ``body(valid pairs)`` to every form: never a 5xx and, when ``must_reject``, nothing
    stored. Returns each form's status."""
    statuses = {}
    for target, client, form in opened:
        raw, content_type = body(filled(form, target.fill()))
        before = snapshot()
        response = send(client, target.url(form), raw, content_type)
        assert response.status_code < 500, (target.name, response.status_code)
        if must_reject and not target.writes_without_fields:
            assert snapshot() == before, target.name
        statuses[target.name] = response.status_code
    return statuses


def _urlencoded(pairs: list[tuple[str, str]]) -> bytes:
    return urllib.parse.urlencode(pairs).encode()


def oversized(pairs: list[tuple[str, str]]) -> tuple[bytes, str]:
    pad = "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)
    return _urlencoded([*pairs, ("padding", pad)]), FORM


def too_many_fields(pairs: list[tuple[str, str]]) -> tuple[bytes, str]:
    extra = [(f"f{i}", "1") for i in range(settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1)]
    return _urlencoded([*pairs, *extra]), FORM


def as_charset(charset: str) -> Body:
    return lambda pairs: (_urlencoded(pairs), f"{FORM}; charset={charset}")


def as_content_type(content_type: str) -> Body:
    return lambda pairs: (json.dumps(dict(pairs)).encode(), content_type)


def nul_in_every_field(pairs: list[tuple[str, str]]) -> tuple[bytes, str]:
    spoiled = [(n, v if n == "csrfmiddlewaretoken" else f"{v}\x00") for n, v in pairs]
    return _urlencoded(spoiled), FORM


def test_bodies_that_cannot_be_read_are_refused_and_store_nothing(world: World) -> None:
    """Oversized, too many fields, or a urlencoded body declaring another charset than UTF-8
    (RFC 1866): 400 from every form, and nothing stored."""
    opened = _open_forms(world)
    for body in (oversized, too_many_fields, as_charset("utf-16"), as_charset("latin-1")):
        statuses = _post_each(opened, body, must_reject=True)
        assert set(statuses.values()) == {400}, (body, statuses)


def test_bodies_without_valid_form_data_store_nothing(world: World) -> None:
    """JSON or text instead of form data, or NUL bytes in every field."""
    opened = _open_forms(world)
    bodies = [as_content_type(t) for t in ("application/json", "text/plain")]
    for body in [*bodies, nul_in_every_field]:
        _post_each(opened, body, must_reject=True)


def test_invalid_utf8_in_every_field_never_causes_a_server_error(world: World) -> None:
    def body(pairs: list[tuple[str, str]]) -> tuple[bytes, str]:
        parts = [
            urllib.parse.quote(n).encode() + b"=" + urllib.parse.quote(v).encode() + INVALID_UTF8
            for n, v in pairs
        ]
        return b"&".join(parts), FORM

    _post_each(_open_forms(world), body, must_reject=False)


def test_an_unknown_charset_is_ignored_as_django_does(world: World) -> None:
    statuses = _post_each(_open_forms(world), as_charset("bogus-charset-9"), must_reject=False)
    assert statuses["patient create"] == 302


def test_a_large_upload_never_touches_the_disk(
    world: World, settings: DjangoSettings, tmp_path: Path
) -> None:
    """No page takes a file: a file part beyond the in-memory limit is read and dropped. The
    temporary upload folder does not exist, so a handler that spooled the file to disk (Django's
    default for large uploads) would fail the request."""
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path / "absent")
    upload = b"%PDF-1.7\n" + b"0" * (3 * settings.FILE_UPLOAD_MAX_MEMORY_SIZE)

    def body(pairs: list[tuple[str, str]]) -> tuple[bytes, str]:
        data: dict[str, Any] = {}
        for name, value in pairs:
            data.setdefault(name, []).append(value)
        data["file"] = _File(upload)
        return encode_multipart(BOUNDARY, data), MULTIPART_CONTENT

    statuses = _post_each(_open_forms(world), body, must_reject=False)
    assert statuses["patient create"] == 302  # the form's own fields still count


def test_more_file_parts_than_allowed_are_refused(world: World) -> None:
    def body(pairs: list[tuple[str, str]]) -> tuple[bytes, str]:
        data: dict[str, Any] = dict(pairs)
        data["file"] = [_File(b"x") for _ in range(settings.DATA_UPLOAD_MAX_NUMBER_FILES + 1)]
        return encode_multipart(BOUNDARY, data), MULTIPART_CONTENT

    statuses = _post_each(_open_forms(world), body, must_reject=True)
    assert set(statuses.values()) == {400}


class _File:
    """A file-like part for ``encode_multipart`` (it reads ``name`` and ``read()``)."""

    name = "scan.pdf"

    def __init__(self, content: bytes) -> None:
        self.content = content

    def read(self) -> bytes:
        return self.content
