"""The clinic report's two pictures, drawn once for the web page and the PDF alike.

- ``responder_chart``: the responder rate overall and per group as a dot with its Wilson 95%
  interval (a bar would suggest the rate is known to its top; the whisker says how uncertain it
  is). Groups below the small-cell size get a hollow dot; a group with nobody evaluable gets no
  dot, only its label, so an empty group never reads as 0%.
- ``change_chart``: the mean improvement per measure with its t-based 95% interval, one panel per
  unit (scores 0-100, points 0-10, seconds...), since a shared axis across units would compare
  numbers that do not compare. Zero is drawn in each panel: an interval crossing it is no
  evidence of change.

Style (colour-blind-safe palette, grey-safe markers, no chart junk) comes from
``acuknee.reports.style``; each chart carries alt text listing every figure it shows.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass

from matplotlib.figure import Figure

from acuknee.clinical.numbers import format_number
from acuknee.reports.chart_cache import cached
from acuknee.reports.clinic_report import ChangeRow, ClinicReport, GroupRow
from acuknee.reports.style import INK, apply_style, figure_to_svg, series_style, svg_data_uri

WIDTH_IN = 6.6
ROW_IN = 0.26
TOP_IN, BOTTOM_IN, GAP_IN = 0.35, 0.55, 0.65  # title; tick labels and axis label; between panels
LEFT, RIGHT = 0.42, 0.91  # shares of the width: wrapped group labels; the "k/n" counts


@dataclass(frozen=True)
class Chart:
    """An SVG chart, its ``data:`` address for ``<img src>`` and the alt text that describes it."""

    svg: str
    uri: str
    alt: str


def _wrap(text: str, width: int = 44) -> str:
    return "\n".join(textwrap.wrap(text, width)) or text


def _fixed_figure(panels: list[float]) -> Figure:
    """A figure of stacked panels (heights in inches) with fixed margins.

    Margins are set by hand rather than by matplotlib's constrained layout: the labels are
    wrapped to a known width, and the layout engine would double the cost of every chart.
    """
    height = TOP_IN + sum(panels) + GAP_IN * (len(panels) - 1) + BOTTOM_IN
    apply_style()
    fig = Figure(figsize=(WIDTH_IN, height))  # as style.new_figure, without the layout engine
    fig.subplots_adjust(
        left=LEFT,
        right=RIGHT,
        top=1 - TOP_IN / height,
        bottom=BOTTOM_IN / height,
        hspace=GAP_IN / (sum(panels) / len(panels)),
    )
    return fig


def _chart(fig: object, alt: str) -> Chart:
    svg = figure_to_svg(fig)  # type: ignore[arg-type]
    return Chart(svg=svg, uri=svg_data_uri(svg), alt=alt)


def _pct(value: float) -> str:
    return f"{format_number(value * 100, 0)}%"


def responder_sections(report: ClinicReport) -> list[tuple[str, list[GroupRow]]]:
    """The groups the responder chart shows, in order, each section under its heading."""
    overall = GroupRow(
        label="All treated patients", treated=report.treated, responders=report.responders
    )
    return [
        ("Overall", [overall]),
        ("Cause", report.by_cause),
        ("Severity band", report.by_severity),
        ("Protocol", report.by_protocol),
        ("Practitioner", report.by_practitioner),
    ]


def responder_chart(report: ClinicReport) -> Chart:
    """Responder rate (OMERACT-OARSI) per group: dot and Wilson 95% interval, in percent."""
    rows = tuple(
        (index, f"{title}: {g.label}", g)
        for index, (title, groups) in enumerate(responder_sections(report))
        for g in groups
    )
    return cached("clinic.responders", rows, lambda: _responder_chart(rows))


def _responder_chart(key: tuple[tuple[int, str, GroupRow], ...]) -> Chart:
    labels = [_wrap(label) for _, label, _ in key]
    rows = [(index, g) for index, _, g in key]
    lines = sum(label.count("\n") + 1 for label in labels)
    fig = _fixed_figure([ROW_IN * max(lines, 2)])
    ax = fig.add_subplot()
    described = []
    for y, (index, g) in enumerate(rows):
        p = g.responders
        style = series_style(index)
        if p.estimate is None or p.low is None or p.high is None:
            ax.text(1, y, "no evaluable patients", va="center", ha="left", fontsize=7, color=INK)
            described.append(f"{labels[y].replace(chr(10), ' ')}: no evaluable patients")
            continue
        ax.hlines(y, p.low * 100, p.high * 100, color=style["color"], linewidth=1.6)
        ax.plot(
            [p.estimate * 100],
            [y],
            marker=style["marker"],
            color=style["color"],
            markerfacecolor="white" if p.small else style["color"],
            markersize=6,
            linestyle="none",
        )
        ax.text(
            101,
            y,
            f"{p.count}/{p.total}",
            va="center",
            ha="left",
            fontsize=7,
            color=INK,
            clip_on=False,
        )
        described.append(
            f"{labels[y].replace(chr(10), ' ')}: {_pct(p.estimate)} "
            f"({_pct(p.low)} to {_pct(p.high)}), {p.count} of {p.total}"
        )
    ax.set_yticks(range(len(rows)), labels)
    ax.invert_yaxis()
    ax.set_xlim(0, 100)
    ax.set_xlabel("Responders (%, OMERACT-OARSI), with Wilson 95% interval")
    ax.grid(axis="x", visible=True)
    ax.grid(axis="y", visible=False)
    ax.set_title("Responder rate by group")
    alt = "Responder rate by group, dot and 95% interval. " + "; ".join(described) + "."
    return _chart(fig, alt)


def change_chart(report: ClinicReport) -> Chart | None:
    """Mean improvement per measure (positive = better), one panel per unit; None if no data."""
    rows = tuple(c for c in report.changes if c.change.mean is not None)
    return cached("clinic.changes", rows, lambda: _change_chart(rows)) if rows else None


def _change_chart(rows: tuple[ChangeRow, ...]) -> Chart:
    units: dict[str, list[ChangeRow]] = {}
    for c in rows:
        units.setdefault(c.unit or "value", []).append(c)
    heights = [max(len(v), 1) for v in units.values()]
    fig = _fixed_figure([ROW_IN * h + 0.1 for h in heights])
    axes = fig.subplots(len(units), 1, squeeze=False, height_ratios=heights)[:, 0]
    described = []
    domains = list(dict.fromkeys(c.domain for c in rows))
    for ax, (unit, members) in zip(axes, units.items(), strict=True):
        for y, c in enumerate(members):
            m = c.change
            assert m.mean is not None
            style = series_style(domains.index(c.domain))
            if m.low is not None and m.high is not None:
                ax.hlines(y, m.low, m.high, color=style["color"], linewidth=1.6)
                mean, low, high = (format_number(v) for v in (m.mean, m.low, m.high))
                text = f"{c.label}: {mean} ({low} to {high}) {unit}, n={m.n}"
            else:
                text = f"{c.label}: {format_number(m.mean)} {unit}, n={m.n}, no interval"
            ax.plot(
                [m.mean],
                [y],
                marker=style["marker"],
                color=style["color"],
                markerfacecolor="white" if m.small else style["color"],
                markersize=6,
                linestyle="none",
            )
            described.append(text)
        ax.axvline(0, color=INK, linewidth=0.8)
        ax.set_yticks(
            range(len(members)), [_wrap(f"{c.domain.title()}: {c.label}", 40) for c in members]
        )
        ax.invert_yaxis()
        ax.set_xlabel(f"Mean improvement, {unit} (positive = better)")
        ax.grid(axis="x", visible=True)
        ax.grid(axis="y", visible=False)
    axes[0].set_title("Mean change from baseline (95% interval)")
    alt = "Mean improvement per measure, dot and 95% interval. " + "; ".join(described) + "."
    return _chart(fig, alt)
