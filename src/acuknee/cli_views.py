"""Readable Rich views of the command line's results (``--pretty`` and ``acuknee demo``).

Views only present what the core computed; they decide nothing. Source ids are resolved to
citations so a practitioner can see where each rule comes from.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from pydantic import BaseModel
from rich.console import Console
from rich.json import JSON
from rich.panel import Panel
from rich.table import Table

from acuknee.clinical.knowledge import load_knowledge
from acuknee.clinical.numbers import format_number

console = Console()


def _fmt(value: float | None, digits: int = 1) -> str:
    return format_number(value, digits, missing="-")


def _citations(ids: Iterable[str]) -> list[str]:
    sources = load_knowledge().sources
    return [sources[i].citation if i in sources else i for i in dict.fromkeys(ids)]


def _print_citations(ids: Iterable[str]) -> None:
    cited = _citations(ids)
    if cited:
        console.print("[bold]Sources[/bold]")
        for n, citation in enumerate(cited, 1):
            console.print(f"  [{n}] {citation}", highlight=False)


def screening_view(s: Any) -> None:
    if not s.referrals and not s.findings:
        console.print("[green]No red flag, contraindication or precaution applies.[/green]")
    for r in s.referrals:
        style = "bold red" if r.urgency.blocks_plan else "yellow"
        console.print(
            Panel(
                f"{r.reason}\n[bold]Action:[/bold] {r.action}\n"
                + (f"[bold]Next:[/bold] {r.next_step}\n" if r.next_step else "")
                + f"[dim]Findings: {', '.join(r.findings)}[/dim]",
                title=f"[{style}]Referral ({r.urgency.value}): {r.name}[/{style}]",
            )
        )
    for f in s.findings:
        blocked = sorted({f"{b.code} ({b.side.value})" for b in f.blocked_points})
        lines = [f.message]
        if f.blocks_treatment:
            lines.append("[bold]Blocks all needling.[/bold]")
        if f.blocked_methods:
            lines.append("Blocks method: " + ", ".join(m.value for m in f.blocked_methods))
        if blocked:
            lines.append("Blocks points: " + ", ".join(blocked))
        if f.limit_depth:
            lines.append(f"Depth: {f.limit_depth}")
        if f.warn_points:
            lines.append("Take care at: " + ", ".join(f.warn_points))
        console.print(Panel("\n".join(lines), title=f"{f.kind.value.title()}: {f.name}"))
    note = getattr(s, "unanswered_note", None)
    if note:
        console.print(f"[yellow]Note:[/yellow] {note}", highlight=False)
    _print_citations(
        [i for r in s.referrals for i in r.sources] + [i for f in s.findings for i in f.sources]
    )


def assessment_view(a: Any) -> None:
    console.print(f"[bold]Likely cause:[/bold] {a.likely_cause.label}")
    for reason in a.reasons:
        console.print(f"  - {reason}")
    if a.alternatives:
        console.print("Also consistent with: " + ", ".join(m.cause.value for m in a.alternatives))
    console.print(f"[bold]Severity:[/bold] {a.severity.value if a.severity else 'not banded'}")
    console.print(f"  {a.severity_basis}")
    table = Table("Criteria", "Met", "Unknown", "Required", "Result")
    for c in (a.acr_clinical, a.acr_clinical_laboratory, a.acr_clinical_radiographic, a.nice):
        if c is None:
            continue
        verdict = {True: "met", False: "not met", None: "undetermined"}[c.classified]
        table.add_row(
            c.name, str(c.met_count), str(c.unknown_count), str(c.required_count), verdict
        )
    console.print(table)
    console.print(f"[dim]{a.disclaimer}[/dim]")
    _print_citations(a.sources)


def plan_view(p: Any) -> None:
    if p.status == "refused":
        console.print(
            Panel(
                "\n".join(f"- {r}" for r in p.refusal_reasons), title="[bold red]No plan[/bold red]"
            )
        )
        return
    console.print(f"[bold]{p.protocol_name}[/bold] ({p.method.value})")
    console.print(
        f"{p.number_of_sessions} sessions, {p.sessions_per_week} per week, "
        f"{p.retention_minutes} min retention; first session {p.start}"
    )
    table = Table("Point", "Side", "Role", "Depth (cun)", "Angle")
    for pt in p.points:
        depth = f"{_fmt(pt.depth_cun_min)}-{_fmt(pt.depth_cun_max)}"
        table.add_row(pt.code, pt.side.value, pt.role, depth, pt.angle)
    console.print(table)
    if p.ashi_points:
        console.print(f"Plus up to {p.ashi_points} Ashi (tender) points.")
    if p.electro_pairs:
        pairs = ", ".join(f"{a}-{b}" for a, b in p.electro_pairs)
        console.print(f"Electro: {pairs} at {p.electro_frequency_label}")
    for change in p.changes:
        console.print(f"[yellow]Changed:[/yellow] {change.action} {change.target}: {change.reason}")
    for warning in p.warnings:
        console.print(f"[yellow]Warning:[/yellow] {warning}")
    reassess = [v for v in p.schedule if v.kind == "reassessment"]
    if reassess:
        console.print("Reassessment: " + ", ".join(f"{v.date} (week {v.week})" for v in reassess))
    console.print(f"[bold]Expected:[/bold] {p.expected_response}")
    console.print(f"[bold]Evidence:[/bold] {p.evidence_level}")
    _print_citations(p.sources)


def scores_view(s: Any) -> None:
    table = Table("Subscale", "Score", "Answered", "Needed", "Note")
    for sub in s.subscales.values():
        table.add_row(sub.id, _fmt(sub.value), str(sub.answered), str(sub.required), sub.note or "")
    console.print(Panel.fit(table, title=s.instrument))


def evaluation_view(e: Any) -> None:
    for fu in e.follow_ups:
        console.rule(f"{fu.date} (day {fu.days_from_baseline})")
        table = Table("Domain", "Measure", "Baseline", "Now", "Improvement", "MIC")
        for group in fu.domains:
            label = group.domain.value if group.domain else "other"
            if group.exploratory:
                label += " (exploratory)"
            for m in group.measures:
                table.add_row(
                    label,
                    m.name,
                    _fmt(m.baseline),
                    _fmt(m.follow_up),
                    _fmt(m.improvement),
                    m.mic.status.replace("_", " "),
                )
        console.print(table)
        verdict = fu.oarsi.status.replace("_", " ")
        console.print(f"[bold]OMERACT-OARSI:[/bold] {verdict}: {fu.oarsi.explanation}")


def stricta_view(r: Any) -> None:
    table = Table("Item", "Topic", "Reported")
    for item in r.items:
        table.add_row(item.id, item.topic, str(item.value))
    console.print(table)
    console.print(Panel(r.methods_paragraph(), title="Methods paragraph"))


def _points_view(rows: list[dict[str, Any]]) -> None:
    table = Table("Code", "Pinyin", "English", "Region", "Depth (cun)")
    for p in rows:
        depth = f"{_fmt(p['depth_cun_min'])}-{_fmt(p['depth_cun_max'])}"
        table.add_row(p["code"], p["pinyin"], p["english"], p["region"], depth)
    console.print(table)


def _protocols_view(rows: list[dict[str, Any]]) -> None:
    table = Table("Protocol", "Cause", "Method", "Sessions", "Evidence")
    for p in rows:
        sessions = f"{p['number_of_sessions']} ({p['sessions_per_week']}/week)"
        table.add_row(p["id"], p["cause"], p["method"], sessions, p["evidence_level"])
    console.print(table)


_VIEWS: dict[str, Callable[[Any], None]] = {
    "screening": screening_view,
    "assessment": assessment_view,
    "plan": plan_view,
    "scores": scores_view,
    "evaluation": evaluation_view,
    "stricta": stricta_view,
    "points": _points_view,
    "protocols": _protocols_view,
}


def render(view: str, result: BaseModel | list[Any] | dict[str, Any]) -> None:
    """Show ``result`` with its view; anything without one is shown as highlighted JSON."""
    handler = _VIEWS.get(view)
    if handler is not None:
        handler(result)
        return
    data = result.model_dump(mode="json") if isinstance(result, BaseModel) else result
    console.print(JSON(json.dumps(data, ensure_ascii=False)))


def render_case(name: str, screening: Any, assessment: Any, plan: Any) -> None:
    """One example patient in ``acuknee demo``: screening, assessment, then the plan."""
    console.rule(f"[bold]{name}[/bold]")
    screening_view(screening)
    assessment_view(assessment)
    plan_view(plan)
    console.print()
