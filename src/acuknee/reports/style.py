"""One chart style for every picture acuknee draws (progress report, clinic report, forest plots).

Why one module: a reader learns the look once, and each promise the issue makes about charts is
kept in one place:

- colour-blind safe: the Okabe-Ito palette (Okabe & Ito 2008, "Color Universal Design"), ordered
  so that neighbouring series also differ in lightness;
- readable printed in grey: series ``i`` gets ``PALETTE[i]``, ``LINESTYLES[i]``, ``MARKERS[i]``
  and ``HATCHES[i]`` together (``series_style(i)``), so colour is never the only cue;
- no chart junk: no top or right spine, a light horizontal grid, no shadows or 3-D;
- fonts: DejaVu Sans, which ships with matplotlib and Debian; nothing is downloaded.

Charts are built on ``matplotlib.figure.Figure`` objects directly, never through pyplot, so they
need no GUI, hold no global figure registry and are safe to draw from several request threads.
``figure_to_svg`` renders to an SVG string; ``svg_data_uri`` turns it into the
``data:image/svg+xml;base64,...`` address that pages embed in ``<img>`` (the Content-Security-Policy
forbids inline ``<svg>`` with style attributes, and allows ``data:`` images).
"""

from __future__ import annotations

import base64
import io
from typing import Any, Final

import matplotlib
from cycler import cycler
from matplotlib import rcParams
from matplotlib.figure import Figure

# Headless rendering; harmless when pyplot is never imported (we build Figure objects directly).
matplotlib.use("Agg", force=False)

__all__ = [
    "BAND",
    "FONT_SIZES",
    "HATCHES",
    "INK",
    "LINESTYLES",
    "MARKERS",
    "PALETTE",
    "apply_style",
    "figure_to_svg",
    "new_figure",
    "series_style",
    "svg_data_uri",
]

#: Okabe-Ito colours, ordered dark/light alternately so that, printed in grey, neighbours differ.
PALETTE: Final[tuple[str, ...]] = (
    "#0072B2",  # blue (dark)
    "#E69F00",  # orange (light)
    "#000000",  # black
    "#56B4E9",  # sky blue (light)
    "#D55E00",  # vermillion (mid)
    "#009E73",  # bluish green (mid)
    "#CC79A7",  # reddish purple (light)
    "#F0E442",  # yellow (very light: last, for fills only)
)
#: Line styles paired with ``PALETTE`` by index: the grey-print cue for lines.
LineStyle = str | tuple[int, tuple[int, ...]]
LINESTYLES: Final[tuple[LineStyle, ...]] = (
    "-",
    "--",
    ":",
    "-.",
    (0, (5, 1, 1, 1)),
    (0, (1, 1)),
    "-",
    "--",
)
#: Markers paired with ``PALETTE`` by index: the grey-print cue for points.
MARKERS: Final[tuple[str, ...]] = ("o", "s", "^", "D", "v", "P", "X", "*")
#: Hatches paired with ``PALETTE`` by index: the grey-print cue for bars and areas.
HATCHES: Final[tuple[str, ...]] = ("", "//", "..", "xx", "\\\\", "++", "oo", "--")
#: Text and axis colour (near black prints crisply in grey).
INK: Final[str] = "#222222"
#: Fill for reference bands (minimal important change, confidence regions): light grey.
BAND: Final[str] = "#D9D9D9"
#: Font sizes in points, tuned for a chart about 8 cm wide on A4 and on screen.
FONT_SIZES: Final[dict[str, float]] = {"base": 8.0, "title": 9.0, "label": 8.0, "tick": 7.0}

_RC: Final[dict[str, Any]] = {
    "font.family": "DejaVu Sans",
    "font.size": FONT_SIZES["base"],
    "axes.titlesize": FONT_SIZES["title"],
    "axes.titleweight": "bold",
    "axes.titlelocation": "left",
    "axes.labelsize": FONT_SIZES["label"],
    "xtick.labelsize": FONT_SIZES["tick"],
    "ytick.labelsize": FONT_SIZES["tick"],
    "legend.fontsize": FONT_SIZES["tick"],
    "legend.frameon": False,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.edgecolor": INK,
    "axes.labelcolor": INK,
    "axes.linewidth": 0.8,
    "axes.grid": True,
    "axes.grid.axis": "y",
    "axes.axisbelow": True,
    "grid.color": "#E5E5E5",
    "grid.linewidth": 0.6,
    "xtick.color": INK,
    "ytick.color": INK,
    "text.color": INK,
    "lines.linewidth": 1.8,
    "lines.markersize": 5.0,
    "figure.dpi": 100,
    "savefig.dpi": 100,
    "figure.facecolor": "white",
    "axes.facecolor": "white",
    "svg.fonttype": "none",  # text stays text: searchable, small, extracted by pdftotext
    "svg.hashsalt": "acuknee",  # deterministic ids: same data, same bytes
    "axes.prop_cycle": cycler(color=list(PALETTE[:6]), linestyle=list(LINESTYLES[:6])),
}


def apply_style() -> None:
    """Set the shared style on matplotlib's global defaults (idempotent, cheap)."""
    # matplotlib validates every key and value at run time; its stubs want literal keys.
    rcParams.update(_RC)  # type: ignore[arg-type]


def series_style(index: int) -> dict[str, Any]:
    """Colour, line style and marker of series ``index``, so each series has three cues."""
    i = index % len(PALETTE)
    return {"color": PALETTE[i], "linestyle": LINESTYLES[i], "marker": MARKERS[i]}


def new_figure(width_in: float, height_in: float) -> Figure:
    """A styled figure of the given size in inches (no pyplot: thread-safe, nothing retained)."""
    apply_style()
    return Figure(figsize=(width_in, height_in), layout="constrained")


def figure_to_svg(fig: Figure) -> str:
    """The figure as a standalone SVG document, without a creation date (reproducible bytes)."""
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": "acuknee"})
    return buffer.getvalue()


def svg_data_uri(svg: str) -> str:
    """A ``data:image/svg+xml;base64,...`` address for ``<img src>`` (allowed by the CSP)."""
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")


apply_style()
