"""Readable Rich views of the command line's results (``--pretty`` and ``acuknee demo``)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from rich.console import Console
from rich.json import JSON

console = Console()


def render(view: str, result: BaseModel | list[Any] | dict[str, Any]) -> None:
    data = result.model_dump(mode="json") if isinstance(result, BaseModel) else result
    import json

    console.print(JSON(json.dumps(data, ensure_ascii=False)))


def render_case(name: str, screening: Any, assessment: Any, plan: Any) -> None:
    console.rule(name)
    render("plan", plan)
