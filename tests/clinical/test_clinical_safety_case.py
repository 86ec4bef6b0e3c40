"""The hazard log (docs/clinical-safety.md) cannot drift from the knowledge base or the tests.

Every red flag and safety rule has an entry; no entry names a rule that is gone; every test an
entry names is defined in its file (read with ``ast``, not imported); every source an entry names
is in the knowledge base, and an entry lists every source its rule cites; every risk rating is the
matrix's. The entry format is described at the top of the log's section 4.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import pytest

from acuknee.clinical.knowledge import KnowledgeBase, load_knowledge

ROOT = Path(__file__).resolve().parents[2]
LOG = ROOT / "docs" / "clinical-safety.md"

KINDS = ("red_flag", "safety_rule", "check")
REQUIRED = ("Rule", "Hazard", "Causes", "Controls", "Sources", "Test", "Initial risk")
ALIASES = {"Control": "Controls", "Source": "Sources"}

# The risk matrix of section 3: RATING[likelihood][severity], both 1 to 5.
RATING = {
    5: {1: 3, 2: 4, 3: 4, 4: 5, 5: 5},
    4: {1: 2, 2: 3, 3: 3, 4: 4, 5: 5},
    3: {1: 2, 2: 2, 3: 3, 4: 3, 5: 4},
    2: {1: 1, 2: 2, 3: 2, 4: 3, 5: 4},
    1: {1: 1, 2: 1, 3: 2, 4: 2, 5: 3},
}

_HEADING = re.compile(r"^### (HAZ-\d+) (\S+)(?: — .*)?$")
_LINE = re.compile(r"^- ([A-Z][a-z]+(?: risk)?): (.*)$")
_RULE = re.compile(r"^`([^`]+)` \((\w+)\)$")
_TEST = re.compile(r"`(tests/[^`:]+\.py)::([^`]+)`")
_RISK = re.compile(r"^S([1-5]) [×x] L([1-5]) = ([1-5])\b")


@dataclass
class Entry:
    number: str
    heading_id: str
    lines: dict[str, str] = field(default_factory=dict)

    @property
    def rule(self) -> str:
        found = _RULE.match(self.lines.get("Rule", ""))
        return found.group(1) if found else ""

    @property
    def kind(self) -> str:
        found = _RULE.match(self.lines.get("Rule", ""))
        return found.group(2) if found else ""

    @property
    def tests(self) -> list[tuple[str, str]]:
        return _TEST.findall(self.lines.get("Test", ""))

    @property
    def sources(self) -> list[str]:
        return re.findall(r"`([^`]+)`", self.lines.get("Sources", ""))


def parse(text: str) -> list[Entry]:
    """The log's entries: each ``### HAZ-NN <id>`` heading and its ``- Name: value`` lines."""
    entries: list[Entry] = []
    current: Entry | None = None
    for line in text.splitlines():
        heading = _HEADING.match(line)
        if heading:
            current = Entry(heading.group(1), heading.group(2))
            entries.append(current)
            continue
        if line.startswith("#"):
            current = None
            continue
        item = _LINE.match(line)
        if current is not None and item:
            name = ALIASES.get(item.group(1), item.group(1))
            current.lines[name] = item.group(2).strip()
    return entries


@cache
def entries() -> tuple[Entry, ...]:
    return tuple(parse(LOG.read_text(encoding="utf-8")))


@cache
def defined_tests(path: str) -> frozenset[str]:
    """Names of the test functions defined in a test file, at module level or in a class."""
    tree = ast.parse((ROOT / path).read_text(encoding="utf-8"))
    names = {
        node.name
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    }
    classes = {node.name for node in ast.walk(tree) if isinstance(node, ast.ClassDef)}
    return frozenset(names | classes)


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return load_knowledge()


def rules_of(kb: KnowledgeBase) -> dict[str, str]:
    """Every rule id in the knowledge base and its kind."""
    found = dict.fromkeys(kb.red_flags, "red_flag")
    found.update(dict.fromkeys(kb.safety_rules, "safety_rule"))
    return found


def test_the_log_parses_into_entries() -> None:
    assert len(entries()) >= 28


def test_every_red_flag_and_safety_rule_has_an_entry_in_the_hazard_log(kb: KnowledgeBase) -> None:
    logged = {e.rule for e in entries()}
    missing = sorted(set(rules_of(kb)) - logged)
    assert not missing, f"rules without an entry in docs/clinical-safety.md: {missing}"


def test_no_entry_names_a_rule_that_is_not_in_the_knowledge_base(kb: KnowledgeBase) -> None:
    known = rules_of(kb)
    stale = [
        f"{e.number} {e.rule} ({e.kind})"
        for e in entries()
        if e.kind != "check" and known.get(e.rule) != e.kind
    ]
    assert not stale, f"entries whose rule id and kind are not in the knowledge base: {stale}"


def test_every_named_test_is_defined_in_its_file() -> None:
    missing = []
    for entry in entries():
        for path, node in entry.tests:
            parts = node.split("[", 1)[0].split("::")
            if not (ROOT / path).is_file():
                missing.append(f"{entry.number}: no file {path}")
            elif not set(parts) <= defined_tests(path):
                missing.append(f"{entry.number}: {path}::{node}")
    assert not missing, f"tests named in the hazard log that do not exist: {missing}"


def test_every_entry_names_at_least_one_test() -> None:
    without = [e.number for e in entries() if not e.tests]
    assert not without, f"entries without a `tests/...::name` on their Test line: {without}"


def test_every_entry_has_every_line_of_the_format() -> None:
    incomplete = {
        e.number: missing
        for e in entries()
        if (missing := [n for n in (*REQUIRED, "Residual risk") if not e.lines.get(n)])
    }
    assert not incomplete, f"entries missing lines: {incomplete}"


def test_every_entry_has_a_rule_line_with_a_known_kind_matching_its_heading() -> None:
    wrong = [
        e.number
        for e in entries()
        if e.kind not in KINDS
        or e.rule != e.heading_id
        or (e.kind == "check") != e.rule.startswith("check.")
    ]
    assert not wrong, f"entries whose Rule line is not `<id>` (kind) matching the heading: {wrong}"


def test_entry_numbers_and_rule_ids_are_unique() -> None:
    numbers = [e.number for e in entries()]
    rules = [e.rule for e in entries()]
    assert len(set(numbers)) == len(numbers), sorted(n for n in numbers if numbers.count(n) > 1)
    assert len(set(rules)) == len(rules), sorted(r for r in rules if rules.count(r) > 1)


def test_every_named_source_is_in_the_knowledge_base(kb: KnowledgeBase) -> None:
    unknown = [f"{e.number}: {s}" for e in entries() for s in e.sources if s not in kb.sources]
    assert not unknown, f"source ids in the hazard log that the knowledge base lacks: {unknown}"


def test_an_entry_lists_every_source_its_rule_cites(kb: KnowledgeBase) -> None:
    cited = {r.id: r.source for r in kb.red_flags.values()}
    cited.update({r.id: r.source for r in kb.safety_rules.values()})
    short = [
        f"{e.number} {e.rule}: {sorted(set(cited[e.rule]) - set(e.sources))}"
        for e in entries()
        if e.rule in cited and not set(cited[e.rule]) <= set(e.sources)
    ]
    assert not short, f"entries missing sources their rule cites: {short}"


@pytest.mark.parametrize("line", ["Initial risk", "Residual risk"])
def test_every_risk_rating_is_the_matrix_rating_of_its_severity_and_likelihood(line: str) -> None:
    wrong = []
    for entry in entries():
        found = _RISK.match(entry.lines.get(line, ""))
        if found is None:
            wrong.append(f"{entry.number}: not 'S<n> × L<n> = <rating>'")
            continue
        severity, likelihood, rating = (int(g) for g in found.groups())
        if RATING[likelihood][severity] != rating:
            wrong.append(
                f"{entry.number}: S{severity} × L{likelihood} is {RATING[likelihood][severity]}"
            )
    assert not wrong, f"{line} ratings that do not follow the matrix: {wrong}"


def test_no_residual_risk_is_higher_than_the_initial_risk() -> None:
    def rating(entry: Entry, line: str) -> int:
        found = _RISK.match(entry.lines[line])
        assert found is not None, entry.number
        return int(found.group(3))

    higher = [e.number for e in entries() if rating(e, "Residual risk") > rating(e, "Initial risk")]
    assert not higher, f"entries whose residual risk exceeds the initial risk: {higher}"


def test_no_residual_risk_is_unacceptable() -> None:
    unacceptable = [
        e.number
        for e in entries()
        if (found := _RISK.match(e.lines.get("Residual risk", ""))) and int(found.group(3)) >= 4
    ]
    assert not unacceptable, f"entries with an unacceptable residual risk (4 or 5): {unacceptable}"


def test_the_parser_reads_a_rule_only_from_its_rule_line() -> None:
    """A heading alone does not log a rule: an entry without its Rule line leaves it missing."""
    text = "### HAZ-01 septic_arthritis — x\n- Rule: `septic_arthritis` (red_flag)\n"
    assert [e.rule for e in parse(text)] == ["septic_arthritis"]
    assert [e.rule for e in parse("### HAZ-01 septic_arthritis — x\n")] == [""]


SOURCE_PATH = re.compile(r"`([\w.-]+(?:/[\w.-]+)+\.(?:py|html|toml|json|md|csv))`")
"""A file named in the log by its path (``care/queries.py``, ``tests/pages/test_worklist.py``)."""


def test_every_file_the_log_names_by_its_path_exists() -> None:
    """A control points at the code that holds it: a file moved or renamed since leaves the
    entry pointing nowhere (paths under the package, ``src/acuknee/``, or the repository)."""
    named = set(SOURCE_PATH.findall(LOG.read_text(encoding="utf-8")))
    assert len(named) >= 20
    missing = [
        path
        for path in sorted(named)
        if not ((ROOT / path).exists() or (ROOT / "src" / "acuknee" / path).exists())
    ]
    assert not missing, f"files named in the hazard log that do not exist: {missing}"
