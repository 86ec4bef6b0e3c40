"""The whole knowledge base loads, every cross-reference resolves, every entry is sourced."""

from __future__ import annotations

import tomllib
from importlib import resources

import pytest

from acuknee.clinical.errors import KnowledgeError
from acuknee.clinical.instruments import instrument_problems
from acuknee.clinical.knowledge import build_knowledge, cross_reference_problems, load_knowledge
from acuknee.clinical.vocabulary import Cause

_REGION = b"""
[meta]
title = "t"
version = "1"
licence = "CC0"
[[region]]
id = "x"
name = "x"
limb = "lower"
local_to_knee = false
source = SOURCES
"""


def _files() -> list[tuple[str, bytes]]:
    root = resources.files("acuknee.clinical") / "knowledge"
    return sorted((e.name, e.read_bytes()) for e in root.iterdir() if e.name.endswith(".toml"))


def test_every_knowledge_file_loads_with_no_cross_reference_problem() -> None:
    kb = load_knowledge()
    assert cross_reference_problems(kb) == []
    assert instrument_problems(kb) == []


def test_every_knowledge_file_states_title_version_and_licence() -> None:
    kb = load_knowledge()
    assert {name for name, _ in _files()} == set(kb.files)
    for meta in kb.files.values():
        assert meta.title
        assert meta.version
        assert meta.licence


def test_every_source_is_cited_by_at_least_one_file_that_defines_it() -> None:
    for name, raw in _files():
        data = tomllib.loads(raw.decode())
        text = raw.decode()
        for sid in data.get("sources", {}):
            assert text.count(f'"{sid}"') >= 1, f"{name}: source {sid} defined but never cited"


def test_every_cause_with_protocols_has_a_default_protocol() -> None:
    # A cause with no protocol (Osgood-Schlatter) is planned with the unspecified default.
    kb = load_knowledge()
    for cause in Cause:
        if kb.protocols_for(cause) or cause is Cause.UNSPECIFIED:
            assert [p for p in kb.protocols_for(cause) if p.default_for_cause], cause


def test_a_protocol_naming_an_unknown_point_fails_the_build() -> None:
    files = [
        (name, raw.replace(b'code = "ST36"', b'code = "ST99"') if name == "protocols.toml" else raw)
        for name, raw in _files()
    ]
    with pytest.raises(KnowledgeError, match="unknown point 'ST99'"):
        build_knowledge(files)


def test_a_rule_naming_an_unknown_intake_field_fails_the_build() -> None:
    files = [
        (
            name,
            raw.replace(b'"red_flags.fever"', b'"red_flags.feverish"')
            if name == "safety.toml"
            else raw,
        )
        for name, raw in _files()
    ]
    with pytest.raises(KnowledgeError, match=r"unknown intake field 'red_flags\.feverish'"):
        build_knowledge(files)


def test_an_entry_without_a_source_fails_the_build() -> None:
    bad = _REGION.replace(b"SOURCES", b"[]")
    with pytest.raises(KnowledgeError, match="source"):
        build_knowledge([("bad.toml", bad)])


def test_an_unknown_source_id_fails_the_build() -> None:
    bad = _REGION.replace(b"SOURCES", b'["nowhere"]')
    with pytest.raises(KnowledgeError, match="unknown source 'nowhere'"):
        build_knowledge([("bad.toml", bad)])
