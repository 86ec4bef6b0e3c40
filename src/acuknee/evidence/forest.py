"""Forest plots and the "100 patients" icon array, drawn with the shared chart style.

A forest plot shows each trial's effect with its 95 % interval (a square sized by its weight in
the pooled analysis), the pooled effect as a diamond spanning its confidence interval, and the
prediction interval as a line through the diamond: where the true effect of a new, similar
trial is expected to fall. Comparisons against sham and against usual care are drawn as separate
plots, because they answer different questions (specific effect vs the whole package of care).

The icon array shows 100 figures per group: filled figures improved, outlined ones did not. Fill
versus outline is the cue, so it reads printed in grey.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from matplotlib.lines import Line2D
from matplotlib.patches import Polygon

from acuknee.evidence.meta import MetaResult
from acuknee.reports.style import BAND, INK, PALETTE, figure_to_svg, new_figure, svg_data_uri

__all__ = ["ForestRow", "IconGroup", "forest_svg", "icon_array_svg", "svg_data_uri"]


@dataclass(frozen=True)
class ForestRow:
    """One trial's effect (positive favours acupuncture) and its weight in percent, if pooled."""

    label: str
    estimate: float
    ci_low: float
    ci_high: float
    weight: float | None = None


@dataclass(frozen=True)
class IconGroup:
    """One arm for the icon array: how many of 100 improved (a whole number, already rounded)."""

    label: str
    improved: int


def forest_svg(
    rows: Sequence[ForestRow],
    pooled: MetaResult | None,
    *,
    title: str,
    xlabel: str,
    mid: tuple[float, str] | None = None,
) -> str:
    """An SVG forest plot; ``pooled`` None draws the trials only (nothing to pool).

    ``mid`` = (value, label) shades -value..value, e.g. a guideline's minimal important
    difference, so a reader sees whether an interval reaches it.
    """
    n_rows = len(rows) + (2 if pooled is not None else 0)
    fig = new_figure(7.2, 1.5 + 0.34 * n_rows)
    ax = fig.add_subplot()
    ax.grid(False)
    y = float(n_rows)
    labels: list[str] = []
    numbers: list[str] = []
    ticks: list[float] = []
    low = min([r.ci_low for r in rows] + ([pooled.pi[0]] if pooled else []) + [0.0])
    high = max([r.ci_high for r in rows] + ([pooled.pi[1]] if pooled else []) + [0.0])
    for row in rows:
        y -= 1
        size = 4 + (row.weight or 0) / 8
        ax.plot([row.ci_low, row.ci_high], [y, y], color=INK, linewidth=1.0, linestyle="-")
        ax.plot([row.estimate], [y], marker="s", markersize=size, color=PALETTE[0], linestyle="")
        weight = f"  {row.weight:.0f} %" if row.weight is not None else ""
        labels.append(row.label)
        numbers.append(f"{row.estimate:.2f} ({row.ci_low:.2f} to {row.ci_high:.2f}){weight}")
        ticks.append(y)
    if pooled is not None:
        y -= 1.5
        est, (lo, hi) = pooled.estimate, pooled.ci
        ax.plot(list(pooled.pi), [y, y], color=INK, linewidth=1.0, linestyle="--")
        ax.add_patch(
            Polygon(
                [(lo, y), (est, y + 0.3), (hi, y), (est, y - 0.3)],
                closed=True,
                facecolor=PALETTE[0],
                edgecolor=INK,
            )
        )
        labels.append(f"Pooled ({pooled.method}{', Knapp-Hartung' if pooled.knha else ''})")
        numbers.append(
            f"{est:.2f} ({lo:.2f} to {hi:.2f})\nprediction {pooled.pi[0]:.2f} to {pooled.pi[1]:.2f}"
        )
        ticks.append(y)
    ax.axvline(0, color=INK, linewidth=0.8)
    if mid is not None:
        ax.axvspan(-mid[0], mid[0], color=BAND, zorder=0)
        low, high = min(low, -mid[0]), max(high, mid[0])
    span = high - low
    ax.set_xlim(low - 0.05 * span, high + 0.05 * span)
    ax.set_ylim(y - 0.8, n_rows + 0.2)
    ax.set_yticks(ticks, labels)
    ax.tick_params(axis="y", length=0)
    for tick, text in zip(ticks, numbers, strict=True):
        ax.annotate(
            text,
            xy=(1.02, tick),
            xycoords=("axes fraction", "data"),
            va="center",
            fontsize=7,
        )
    ax.annotate(
        "estimate (95 % CI)  weight",
        xy=(1.02, n_rows - 0.45),
        xycoords=("axes fraction", "data"),
        va="bottom",
        fontsize=7,
        fontweight="bold",
    )
    ax.set_xlabel(xlabel)
    ax.set_title(title)
    handles = [
        Line2D([], [], marker="s", color=PALETTE[0], linestyle="", label="trial (size = weight)"),
        Line2D([], [], color=INK, linestyle="--", label="prediction interval"),
    ]
    if mid is not None:
        handles.append(Line2D([], [], color=BAND, linewidth=6, label=mid[1]))
    fig.legend(handles=handles, loc="outside lower center", ncols=3)
    return figure_to_svg(fig)


def _person(ax_x: float, ax_y: float, filled: bool) -> list[Polygon]:
    """A simple figure (head and body) as two patches, filled or outlined."""
    face = INK if filled else "white"
    head = [
        (ax_x - 0.16, ax_y + 0.28),
        (ax_x, ax_y + 0.44),
        (ax_x + 0.16, ax_y + 0.28),
        (ax_x, ax_y + 0.12),
    ]
    body = [
        (ax_x - 0.3, ax_y - 0.4),
        (ax_x - 0.22, ax_y + 0.06),
        (ax_x + 0.22, ax_y + 0.06),
        (ax_x + 0.3, ax_y - 0.4),
    ]
    return [
        Polygon(points, closed=True, facecolor=face, edgecolor=INK, linewidth=0.7)
        for points in (head, body)
    ]


def icon_array_svg(groups: Sequence[IconGroup], *, caption: str) -> str:
    """Side-by-side 10 x 10 grids of figures, one per group; filled = improved."""
    if not groups:
        raise ValueError("groups: at least one group is needed")
    for group in groups:
        if not 0 <= group.improved <= 100:
            raise ValueError(f"{group.label}: improved must be 0..100 (got {group.improved})")
    fig = new_figure(2.3 * len(groups), 2.9)
    axes = fig.subplots(1, len(groups), squeeze=False)[0]
    for ax, group in zip(axes, groups, strict=True):
        for index in range(100):
            row, col = divmod(index, 10)
            for patch in _person(col, 9 - row, index < group.improved):
                ax.add_patch(patch)
        ax.set_xlim(-0.6, 9.6)
        ax.set_ylim(-0.6, 9.6)
        ax.set_aspect("equal")
        ax.axis("off")
        ax.set_title(f"{group.label}\n{group.improved} of 100 improved", loc="center")
    fig.suptitle(caption, fontsize=8)
    return figure_to_svg(fig)
