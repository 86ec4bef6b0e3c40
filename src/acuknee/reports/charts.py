"""Trend charts of one measure over a course: the values, the baseline and the MIC band.

The same function draws the chart on the outcomes page, on the patient page and in the progress
report (HTML and PDF), so what a practitioner sees on screen is what the patient takes home.

What a chart shows, and why:

- the measure's values at baseline and each follow-up, dates on the x axis (proportional to
  days, so a long gap looks long);
- the baseline as a thin dotted line, so every later point reads as "better or worse than when
  we started";
- the minimal-important-change band: a grey band from the baseline to the baseline plus the MIC
  in the measure's good direction. A point beyond the band's far edge has improved by at least
  the MIC; a point inside it has changed less than patients notice. The MIC value and kind come
  from the core's evaluation (``MicCheck``), never from this module; without an established MIC
  there is no band and the chart says so;
- the y axis on the measure's declared scale from its low end (a change is not visually
  inflated); when every value lies in the scale's lowest quarter (timed tests: declared 1 to
  300 s) the top is cut off and the chart says "scale to 300";
- an arrow naming the good direction, and "exploratory" in the title for measures without
  validation (skin temperature, an exploratory inflammation marker).

Two more pictures lead their reports (issue 5: "every report leads with a picture"):

- ``GlanceSpec``, the progress report's "at a glance": each of the five domains' first measure as
  its improvement from baseline divided by the MIC the core applied (1.0 = the MIC reached), so
  scales of 0-10 and 0-100 share one axis; rows without an MIC give their raw change in words,
  rows without data say "not measured" (never a zero bar);
- ``UrgencySpec``, the referral letter's: each red flag on the routine / urgent / emergency scale.

Every colour has a second cue (line style, marker, hatch) from ``acuknee.reports.style``, so the
charts read in grey. Rendered SVG and PNG are cached by content (``chart_cache``: the spec is
frozen, its ``repr`` holds every value drawn): a page drawn twice, or a report made after the
page was viewed, draws nothing again.
"""

from __future__ import annotations

import base64
import datetime as dt
import io
import textwrap
from dataclasses import dataclass
from typing import Literal

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from acuknee.clinical.numbers import format_number
from acuknee.reports.chart_cache import cached, digest, drawn
from acuknee.reports.style import (
    BAND,
    FONT_SIZES,
    HATCHES,
    INK,
    PALETTE,
    apply_style,
    figure_to_svg,
    series_style,
    svg_data_uri,
)

__all__ = [
    "CHART_HEIGHT_IN",
    "CHART_WIDTH_IN",
    "TREND_SVG",
    "GlanceRow",
    "GlanceSpec",
    "TrendSpec",
    "UrgencySpec",
    "draw_trend",
    "drawn_trend_svg",
    "glance_data_uri",
    "glance_figure",
    "trend_data_uri",
    "trend_digest",
    "trend_figure",
    "trend_png",
    "trend_svg",
    "urgency_data_uri",
    "urgency_figure",
]

CHART_WIDTH_IN = 3.3
"""Width of a trend chart in inches: two fit side by side on A4 portrait."""
CHART_HEIGHT_IN = 1.9

PRINT_DPI = 150
"""Resolution of the charts in PDFs: sharp on paper, small in the file."""

_CUT_BELOW = 1 / 4  # cut the scale's top when every value lies in its lowest quarter


@dataclass(frozen=True)
class TrendSpec:
    """Everything one trend chart shows; frozen so equal data share one cached drawing."""

    title: str
    unit: str
    low: float
    high: float
    higher_is_better: bool
    points: tuple[tuple[dt.date, float], ...]
    mic: float | None = None
    """Improvement that counts as important, in the measure's unit (from the core's MicCheck)."""
    mic_label: str = "MIC"
    """Which threshold it is (MIC, MCID, MCII), as the knowledge base names it."""
    mic_relative: float | None = None
    """The MIC's relative form (percent of the baseline), when its source gives one."""
    mic_applied: float | None = None
    """The smallest improvement that reaches the MIC from this baseline (the core's
    ``MicCheck.applied``): the band's width; ``mic`` when None."""
    exploratory: bool = False
    no_band_text: str = "no established MIC"
    """Said where the band would be when there is none (no MIC, or no follow-up yet)."""
    decimals: int = 1
    """How many decimals the measure is shown with (its subscale's), the same on every page."""

    @property
    def baseline(self) -> float | None:
        return self.points[0][1] if self.points else None

    @property
    def band(self) -> tuple[float, float] | None:
        """The MIC band (low, high edge), clipped to the scale; None without a baseline or MIC."""
        width = self.band_width
        if self.baseline is None or width is None:
            return None
        edge = self.baseline + (width if self.higher_is_better else -width)
        low, high = sorted((self.baseline, edge))
        return max(low, self.low), min(high, self.high)

    @property
    def band_width(self) -> float | None:
        return self.mic if self.mic_applied is None else self.mic_applied

    @property
    def mic_stated(self) -> str:
        """The MIC as its source states it: 'MCID 2', 'MCID 2 or 30 %'."""
        stated = f"{self.mic_label} {_num(self.mic, self.decimals)}"
        if self.mic_relative is not None:
            stated += f" or {_num(self.mic_relative)} %"
        return stated

    @property
    def mic_from_baseline(self) -> str:
        """The MIC this chart's band applies, saying so when it is the relative form: 'MCID 2',
        'MCID 0.9 (30 % of the baseline 3)'."""
        width = self.band_width
        if width is None:
            return ""
        if self.mic is not None and self.mic_relative is not None and width < self.mic - 1e-9:
            return (
                f"{self.mic_label} {_num(width)} ({_num(self.mic_relative)} % of the baseline "
                f"{_num(self.baseline, self.decimals)})"
            )
        return f"{self.mic_label} {_num(width, self.decimals)}"

    def alt_text(self) -> str:
        """What the chart says, in words, for screen readers and text extraction."""
        if not self.points:
            return f"{self.title}: no values recorded."
        better = "higher is better" if self.higher_is_better else "lower is better"
        values = "; ".join(
            f"{day.isoformat()}: {_num(value, self.decimals)}" for day, value in self.points
        )
        applied = self.mic_from_baseline
        if applied and applied != self.mic_stated:
            applied = f"{self.mic_stated}; from this baseline {applied}"
        band = (
            f" {applied}: the grey band marks changes smaller than that."
            if self.mic is not None
            else f" {self.no_band_text[:1].upper()}{self.no_band_text[1:]}."
        )
        kind = " Exploratory measure." if self.exploratory else ""
        return f"{self.title} ({self.unit}, {better}): {values}.{band}{kind}"


def _num(value: float | None, decimals: int = 2) -> str:
    return format_number(value, decimals)


def _y_limits(spec: TrendSpec) -> tuple[float, float, bool]:
    """The y range: the declared scale from its low end, with its top cut off when every value
    lies in the lowest quarter (a timed test declared 1 to 300 s, walked in 10). The low end
    always stays, so a change is never inflated by a zoom on the data."""
    values = [v for _, v in spec.points]
    if spec.band is not None:
        values += list(spec.band)
    span = spec.high - spec.low
    if not values or span <= 0:
        return spec.low, spec.high or 1.0, False
    top = max(values)
    if top - spec.low >= span * _CUT_BELOW:
        return spec.low, spec.high, False
    return spec.low, min(spec.high, spec.low + (top - spec.low) * 1.5 or 1.0), True


def _x_limits(points: tuple[tuple[dt.date, float], ...]) -> tuple[dt.date, dt.date]:
    first, last = points[0][0], points[-1][0]
    margin = dt.timedelta(days=max(3, (last - first).days // 12))
    return first - margin, last + margin


def draw_trend(ax: Axes, spec: TrendSpec) -> None:
    """Draw ``spec`` on ``ax`` (the shared drawing code of every trend chart)."""
    low, high, cut = _y_limits(spec)
    title = spec.title + (" (exploratory)" if spec.exploratory else "")
    ax.set_title(title, fontsize=FONT_SIZES["title"])
    ax.set_ylabel(spec.unit, fontsize=FONT_SIZES["label"])
    if cut:
        ax.text(
            0.0,
            1.0,
            f" scale to {_num(spec.high, spec.decimals)}",
            transform=ax.transAxes,
            ha="left",
            va="top",
            fontsize=FONT_SIZES["tick"],
            color=INK,
        )
    ax.set_ylim(low, high)
    # The good direction, beside the y axis: an arrow pointing the way values should move.
    ax.text(
        1.02,
        0.5,
        "better →",
        transform=ax.transAxes,
        rotation=90 if spec.higher_is_better else 270,
        ha="left",
        va="center",
        fontsize=FONT_SIZES["tick"],
        color=INK,
    )
    if not spec.points:
        ax.text(0.5, 0.5, "no values recorded", transform=ax.transAxes, ha="center", va="center")
        ax.set_xticks([])
        return
    days = [day for day, _ in spec.points]
    values = [value for _, value in spec.points]
    start, end = _x_limits(spec.points)
    ax.set_xlim(start, end)  # type: ignore[arg-type]  # matplotlib converts dates
    band = spec.band
    if band is not None:
        ax.axhspan(*band, facecolor=BAND, edgecolor="none", zorder=0)
        far = band[1] if spec.higher_is_better else band[0]
        ax.text(
            end,  # type: ignore[arg-type]
            far,
            f" {spec.mic_stated}",
            ha="right",
            va="bottom" if spec.higher_is_better else "top",
            fontsize=FONT_SIZES["tick"],
            color=INK,
        )
    else:
        ax.text(
            0.99,
            0.02,
            spec.no_band_text,
            transform=ax.transAxes,
            ha="right",
            va="bottom",
            fontsize=FONT_SIZES["tick"],
            color=INK,
        )
    assert spec.baseline is not None
    ax.axhline(spec.baseline, color=INK, linewidth=0.8, linestyle=":", zorder=1)
    style = series_style(0)
    ax.plot(days, values, color=style["color"], linestyle=style["linestyle"], zorder=3)  # type: ignore[arg-type]
    ax.plot(
        days[:1],  # type: ignore[arg-type]
        values[:1],
        marker="s",
        markersize=5,
        linestyle="none",
        color=INK,
        markerfacecolor="white",
        zorder=4,
        label="baseline",
    )
    if len(days) > 1:
        ax.plot(
            days[1:],  # type: ignore[arg-type]
            values[1:],
            marker=style["marker"],
            linestyle="none",
            color=PALETTE[0],
            zorder=4,
            label="follow-up",
        )
    ticks = _date_ticks(days)
    ax.set_xticks(ticks, [_date_label(day) for day in ticks])  # type: ignore[arg-type]  # matplotlib converts dates
    # At most four y ticks on round numbers: enough to read a value, not a grid of numbers.
    ax.yaxis.set_major_locator(MaxNLocator(nbins=3, steps=[1, 2, 2.5, 5, 10]))


def _date_ticks(days: list[dt.date]) -> list[dt.date]:
    """The visit dates as ticks, leaving out one too close to the previous to be read."""
    span = max((days[-1] - days[0]).days, 1)
    kept = [days[0]]
    for day in days[1:]:
        if (day - kept[-1]).days / span >= 0.18:
            kept.append(day)
    return kept


def _date_label(day: dt.date) -> str:
    return f"{day.day} {day.strftime('%b')}\n{day.year}"


def trend_figure(spec: TrendSpec) -> Figure:
    """A figure holding one trend chart, sized for two across an A4 page."""
    apply_style()
    fig = Figure(figsize=(CHART_WIDTH_IN, CHART_HEIGHT_IN))
    # Fixed margins rather than constrained layout: three times faster, same look for
    # every chart (the labels are short and known).
    fig.subplots_adjust(left=0.19, right=0.93, top=0.86, bottom=0.24)
    draw_trend(fig.add_subplot(), spec)
    return fig


def _png(fig: Figure, dpi: int) -> bytes:
    """The figure as an opaque RGB PNG. matplotlib writes RGBA, and WeasyPrint then encodes the
    picture and its alpha mask apart in every PDF (twice the work, measured about 10 ms a
    chart) for an alpha that is 255 everywhere: the figures are drawn on white."""
    from PIL import Image

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, metadata={"Software": None}, facecolor="white")
    rgb = io.BytesIO()
    Image.open(io.BytesIO(buffer.getvalue())).convert("RGB").save(rgb, format="PNG")
    return rgb.getvalue()


TREND_SVG = "trend.svg"
"""The kind of a page's trend chart in the cache (``chart_cache``)."""


def trend_svg(spec: TrendSpec) -> str:
    """The chart as SVG text (cached by content, ``chart_cache``: about 30 ms to draw)."""
    return cached(TREND_SVG, (spec,), lambda: figure_to_svg(trend_figure(spec)))


def trend_digest(spec: TrendSpec) -> str:
    """The chart's name by content: what its SVG is cached under and a page links it by."""
    return digest(TREND_SVG, spec)


def drawn_trend_svg(name: str) -> str | None:
    """The SVG of the chart named ``name`` (``trend_digest``) if it has been drawn, else None."""
    found = drawn(TREND_SVG, name)
    return found if isinstance(found, str) else None


def trend_png(spec: TrendSpec, dpi: int = PRINT_DPI) -> bytes:
    """The chart as PNG: for the PDF, where WeasyPrint embeds a picture in a millisecond but
    spends about 0.3 s laying out each SVG chart's text (measured: 13 charts, 4 s). Cached by
    content, as the SVG."""
    return cached("trend.png", (spec, dpi), lambda: _png(trend_figure(spec), dpi))


def trend_data_uri(spec: TrendSpec, *, raster: bool = False) -> str:
    """The chart as a ``data:`` address for ``<img src>``: SVG on screen, PNG for print."""
    if raster:
        return "data:image/png;base64," + base64.b64encode(trend_png(spec)).decode("ascii")
    return svg_data_uri(trend_svg(spec))


# --- the "at a glance" figure: every domain on one axis, in units of its MIC ----------------------

GlanceState = Literal["ratio", "no_mic", "not_measured", "no_follow_up"]

GLANCE_WIDTH_IN = 6.6
"""Full width of an A4 page's text column: the figure that leads the progress report."""
_GLANCE_ROW_IN = 0.42
_GLANCE_FRAME_IN = 0.95  # title above, axis label below


@dataclass(frozen=True)
class GlanceRow:
    """One domain's row: its first measure's improvement at the latest follow-up and the MIC
    the core applied to it (both in the measure's unit), or why there is no bar."""

    domain: str
    state: GlanceState
    measure: str | None = None
    unit: str = ""
    improvement: float | None = None
    """Change from baseline in the measure's good direction (positive = better)."""
    change: float | None = None
    """Follow-up minus baseline, as recorded (shown where there is no MIC)."""
    mic: float | None = None
    """The improvement that reaches the MIC from this baseline (the chart's band)."""
    mic_label: str = "MIC"
    mic_text: str = ""
    """How that MIC is stated ('MCID 0.9 (30 % of the baseline 3)'); the label and the value
    when empty."""
    higher_is_better: bool = True
    exploratory: bool = False
    decimals: int = 1
    """The measure's decimals (its subscale's), as the report's tables print it."""

    @property
    def ratio(self) -> float | None:
        """Improvement as a multiple of the MIC: 1.0 = the MIC reached (None without one)."""
        if self.state != "ratio" or self.improvement is None or not self.mic:
            return None
        return self.improvement / self.mic

    @property
    def label(self) -> str:
        name = self.domain + (" (exploratory)" if self.exploratory else "")
        if not self.measure:
            return name
        return f"{name}\n" + textwrap.fill(textwrap.shorten(self.measure, 56), 30)

    def note(self) -> str:
        """What the row says in words (beside its bar, and in the alt text)."""
        if self.state == "not_measured":
            return "not measured"
        if self.state == "no_follow_up":
            return "no follow-up value yet"
        better = "higher" if self.higher_is_better else "lower"
        if self.state == "no_mic":
            return (
                f"no established MIC: change {_signed(self.change, self.decimals)} {self.unit}, "
                f"{better} is better"
            )
        ratio = self.ratio
        assert ratio is not None
        unit = self.unit.split(" (")[0]  # "score", not "score (0-100)": the row is short
        return (
            f"{_num(ratio)} × {self.mic_label} ({_signed(self.improvement, self.decimals)} {unit}; "
            f"{self.mic_text or self.mic_label + ' ' + format_number(self.mic, self.decimals)})"
        )


@dataclass(frozen=True)
class GlanceSpec:
    """The "at a glance" figure: one row per domain, and the title naming the verdict."""

    title: str
    rows: tuple[GlanceRow, ...]

    def alt_text(self) -> str:
        rows = "; ".join(f"{r.label.replace(chr(10), ', ')}: {r.note()}" for r in self.rows)
        return (
            f"{self.title}. Improvement from baseline on each domain's first measure, "
            f"as a multiple of its minimal important change (1 = reached): {rows}."
        )


def _signed(value: float | None, decimals: int = 1) -> str:
    """A change as the report's tables print it: "+" when positive, never "+0" or "-0"."""
    return format_number(value, decimals, signed=True)


def glance_figure(spec: GlanceSpec) -> Figure:
    """Horizontal bars from 0 (no change) to the improvement in MICs, a dashed line at 1 (the
    MIC reached); rows without a ratio carry their note instead of a bar, so "not measured"
    never reads as "no change". Exploratory rows are hatched (a cue that survives grey)."""
    apply_style()
    rows = spec.rows
    height = _GLANCE_FRAME_IN + _GLANCE_ROW_IN * max(len(rows), 1)
    fig = Figure(figsize=(GLANCE_WIDTH_IN, height))
    # Fixed margins, as the trend charts: the labels are short and known.
    fig.subplots_adjust(left=0.27, right=0.98, top=1 - 0.3 / height, bottom=0.5 / height)
    ax = fig.add_subplot()
    ratios = [r.ratio for r in rows if r.ratio is not None]
    low = min([-0.5, *(v - 0.25 for v in ratios)])
    high = max([2.0, *(v + 0.1 for v in ratios)])
    span = high - low
    ax.set_xlim(low, high + span * 1.05)  # room on the right for the note beside a bar
    ax.set_ylim(len(rows) - 0.5, -1.1)  # a top strip for the reference lines' names
    ax.axvline(0, color=INK, linewidth=0.9, zorder=2)
    ax.axvline(1, color=INK, linewidth=1.1, linestyle="--", zorder=2)
    ax.text(1, -0.85, " MIC reached (1)", ha="left", va="center", fontsize=FONT_SIZES["tick"])
    # The notes sit on white so the reference lines never run through the words.
    note_box = {"facecolor": "white", "edgecolor": "none", "pad": 1.0}
    for y, row in enumerate(rows):
        ratio = row.ratio
        if ratio is not None:
            ax.barh(
                y,
                ratio,
                height=0.55,
                color="white" if row.exploratory else PALETTE[0],
                edgecolor=PALETTE[0],
                hatch=HATCHES[1] if row.exploratory else "",
                linewidth=1.0,
                zorder=3,
            )
            x = max(ratio, 0.0) + span * 0.02
        else:
            x = span * 0.02
        ax.text(
            x,
            y,
            row.note(),
            ha="left",
            va="center",
            fontsize=FONT_SIZES["tick"],
            zorder=4,
            bbox=note_box,
        )
    ax.set_yticks(range(len(rows)), [r.label for r in rows])
    ax.tick_params(axis="y", length=0)
    ax.grid(axis="y", visible=False)
    ax.grid(axis="x", visible=True)
    ax.xaxis.set_major_locator(MaxNLocator(nbins=6, steps=[1, 2, 5, 10]))
    ax.set_xlabel("Improvement from baseline ÷ MIC (0 = no change, 1 = MIC reached)")
    ax.set_title(spec.title, fontsize=FONT_SIZES["title"])
    return fig


def glance_svg(spec: GlanceSpec) -> str:
    """The figure as SVG for the page (cached by content, as the trend charts)."""
    return cached("glance.svg", (spec,), lambda: figure_to_svg(glance_figure(spec)))


def glance_png(spec: GlanceSpec, dpi: int = PRINT_DPI) -> bytes:
    """The figure as PNG for the PDF (cached by content: about 0.1 s to draw)."""
    return cached("glance.png", (spec, dpi), lambda: _png(glance_figure(spec), dpi))


def glance_data_uri(spec: GlanceSpec, *, raster: bool = False) -> str:
    """The figure as a ``data:`` address: SVG on screen, PNG for print (as ``trend_data_uri``)."""
    if raster:
        return "data:image/png;base64," + base64.b64encode(glance_png(spec)).decode("ascii")
    return svg_data_uri(glance_svg(spec))


# --- the referral letter's urgency scale ----------------------------------------------------------

URGENCY_LEVELS: tuple[str, ...] = ("routine", "urgent", "emergency")
"""The knowledge base's urgency categories, least to most urgent (``vocabulary.Urgency``)."""


@dataclass(frozen=True)
class UrgencySpec:
    """Each referral (name, urgency) on the three-step urgency scale; the affected knee."""

    referrals: tuple[tuple[str, str], ...]
    knee: str | None = None

    @property
    def title(self) -> str:
        most = max(
            (URGENCY_LEVELS.index(u) for _, u in self.referrals if u in URGENCY_LEVELS), default=0
        )
        knee = f" · affected knee: {self.knee}" if self.knee else ""
        return f"Urgency of this referral: {URGENCY_LEVELS[most]}{knee}"

    def alt_text(self) -> str:
        rows = "; ".join(f"{name}: {urgency}" for name, urgency in self.referrals)
        return f"{self.title}. On the scale routine, urgent, emergency: {rows}."


def urgency_figure(spec: UrgencySpec) -> Figure:
    """Each red flag as a row across routine, urgent, emergency: a filled black diamond at its
    urgency, hollow grey circles at the other steps (shape and fill, never colour alone)."""
    apply_style()
    rows = spec.referrals
    height = 0.75 + 0.28 * max(len(rows), 1)
    fig = Figure(figsize=(GLANCE_WIDTH_IN, height))
    fig.subplots_adjust(left=0.36, right=0.95, top=1 - 0.32 / height, bottom=0.5 / height)
    ax = fig.add_subplot()
    steps = range(len(URGENCY_LEVELS))
    for y, (_, urgency) in enumerate(rows):
        ax.plot(steps, [y] * len(URGENCY_LEVELS), color=BAND, linewidth=2, linestyle="-", zorder=1)
        others = [i for i in steps if URGENCY_LEVELS[i] != urgency]
        ax.plot(
            others,
            [y] * len(others),
            "o",
            color="#8C8C8C",
            markerfacecolor="white",
            markersize=6,
            linestyle="none",
            zorder=2,
        )
        if urgency in URGENCY_LEVELS:
            ax.plot(
                [URGENCY_LEVELS.index(urgency)],
                [y],
                "D",
                color=INK,
                markersize=9,
                linestyle="none",
                zorder=3,
            )
    ax.set_yticks(range(len(rows)), [textwrap.fill(n, 40) for n, _ in rows])
    ax.set_ylim(len(rows) - 0.5, -0.5)
    ax.set_xticks(list(steps), list(URGENCY_LEVELS))
    ax.set_xlim(-0.4, len(URGENCY_LEVELS) - 0.6)
    ax.set_xlabel("Urgency (the knowledge base's categories; filled diamond = this referral)")
    ax.tick_params(axis="y", length=0)
    ax.grid(visible=False)
    ax.set_title(spec.title, fontsize=FONT_SIZES["title"])
    return fig


def urgency_data_uri(spec: UrgencySpec, *, raster: bool = False) -> str:
    """The urgency scale as a ``data:`` address (PNG for print, SVG on screen)."""
    fig = urgency_figure(spec)
    if raster:
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=PRINT_DPI, metadata={"Software": None})
        return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
    return svg_data_uri(figure_to_svg(fig))
