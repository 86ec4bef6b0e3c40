"""The documentation cannot drift: every example runs, every format and command is documented,
the CLI reference is what ``--help`` prints now, and every README command works."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer
from pydantic import BaseModel
from typer.testing import CliRunner

from acuknee.cli import app
from acuknee.clinical.assessment import Assessment
from acuknee.clinical.instruments import SubscaleScore
from acuknee.clinical.intake import Intake, field_paths
from acuknee.clinical.knowledge import Point, Protocol, load_knowledge
from acuknee.clinical.planning import Plan
from acuknee.clinical.response import Course, Evaluation
from acuknee.clinical.screening import Screening
from acuknee.clinical.sessions import SessionRecord
from acuknee.clinical.stricta import StrictaContext, StrictaReport

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
EXAMPLES = DOCS / "examples"
FORMATS = DOCS / "formats.md"
README = ROOT / "README.md"
START = "2026-12-01"

runner = CliRunner()


def _commands_for(example: Path) -> list[list[str]]:
    """The commands an example file feeds, from its name prefix."""
    name, path = example.name, str(example)
    if name.startswith("intake-"):
        return [["screen", path], ["assess", path], ["plan", path, "--start", START]]
    if name.startswith("answers-"):
        return [["score", example.stem.removeprefix("answers-"), path]]
    if name.startswith("course"):
        return [["evaluate", path]]
    if name.startswith("stricta"):
        return [["stricta", path]]
    raise AssertionError(f"{name}: no command known for this example name prefix")


EXAMPLE_RUNS = [
    pytest.param(args, id=f"{example.name}:{args[0]}")
    for example in sorted(EXAMPLES.glob("*.json"))
    for args in _commands_for(example)
]


def _formats() -> str:
    return FORMATS.read_text(encoding="utf-8")


def _documented_paths() -> str:
    """formats.md with list markers removed, so `points[].depth` documents `points.depth`."""
    return _formats().replace("[]", "")


def _subcommands() -> list[str]:
    group = typer.main.get_command(app)
    return list(getattr(group, "commands", {}))


def _readme_commands() -> list[str]:
    """Lines inside README code blocks that call the installed command."""
    text = README.read_text(encoding="utf-8")
    blocks = re.findall(r"^```[^\n]*\n(.*?)^```", text, flags=re.MULTILINE | re.DOTALL)
    lines = [line.strip() for block in blocks for line in block.splitlines()]
    return [line for line in lines if line.startswith(".venv/bin/acuknee")]


def _models(root: type[BaseModel]) -> list[type[BaseModel]]:
    """``root`` and every model nested in its fields."""
    found: list[type[BaseModel]] = []
    pending = [root]
    while pending:
        model = pending.pop()
        if model in found:
            continue
        found.append(model)
        for info in model.model_fields.values():
            annotation: Any = info.annotation
            for arg in (annotation, *_type_args(annotation)):
                if isinstance(arg, type) and issubclass(arg, BaseModel):
                    pending.append(arg)
    return found


def _type_args(annotation: Any) -> list[Any]:
    args = list(getattr(annotation, "__args__", ()))
    return args + [inner for arg in args for inner in _type_args(arg)]


OUTPUT_ROOTS = (
    Screening,
    Assessment,
    Plan,
    Evaluation,
    StrictaReport,
    SubscaleScore,
    Point,
    Protocol,
)
OUTPUT_MODELS = [model for root in OUTPUT_ROOTS for model in _models(root)]


@pytest.mark.parametrize("args", EXAMPLE_RUNS)
def test_every_example_runs_through_its_command_and_prints_json(args: list[str]) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.stderr
    json.loads(result.stdout)


@pytest.mark.parametrize("example", sorted(EXAMPLES.glob("*.json")), ids=lambda p: p.name)
def test_every_example_file_is_mentioned_in_formats(example: Path) -> None:
    assert example.name in _formats()


@pytest.mark.parametrize("command", _subcommands())
def test_every_subcommand_has_a_heading_in_formats(command: str) -> None:
    heading = re.compile(rf"^#+ .*`acuknee {re.escape(command)}[` ]", flags=re.MULTILINE)
    assert heading.search(_formats()), f"no heading with `acuknee {command}` in docs/formats.md"


def test_cli_reference_is_what_help_prints_now() -> None:
    result = subprocess.run(
        [sys.executable, str(DOCS / "generate_cli_reference.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_readme_has_commands_to_check() -> None:
    assert len(_readme_commands()) >= 5


@pytest.mark.parametrize("line", _readme_commands())
def test_every_readme_command_exits_0(line: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    args = shlex.split(line, comments=True)[1:]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.stderr


@pytest.mark.parametrize("instrument", sorted(load_knowledge().instruments))
def test_every_instrument_has_an_answers_example(instrument: str) -> None:
    assert (EXAMPLES / f"answers-{instrument}.json").exists()


@pytest.mark.parametrize("instrument", sorted(load_knowledge().instruments))
def test_every_instrument_is_documented_in_formats(instrument: str) -> None:
    assert f"`{instrument}`" in _formats()


@pytest.mark.parametrize(
    "path",
    sorted(field_paths(Intake))
    + sorted(field_paths(Course))
    + sorted(field_paths(SessionRecord))
    + sorted(field_paths(StrictaContext, "context.")),
)
def test_every_input_field_is_documented_by_its_path(path: str) -> None:
    assert f"`{path}`" in _documented_paths()


@pytest.mark.parametrize(
    "field",
    sorted(
        {
            name
            for model in OUTPUT_MODELS
            for name in (*model.model_fields, *model.model_computed_fields)
        }
    ),
)
def test_every_output_field_is_documented(field: str) -> None:
    """Named alone (`status`) or as the last part of a path (`referrals[].urgency`)."""
    named = re.compile(rf"`(?:[^`\s]*\.)?{re.escape(field)}`")
    assert named.search(_formats()), f"output field {field!r} is not in docs/formats.md"
