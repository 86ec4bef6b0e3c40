"""Knee diagrams: a plan's points drawn on four schematic views of the knee, as SVG text.

Pure: takes core models (``PlannedPoint`` or point codes) and the knowledge base, returns SVG; no
Django, no I/O beyond reading the package's own ``knee_views.toml``. Where a point is *described*
to lie is clinical knowledge (``points.toml``: ``location``); where to *draw* it on each outline is
presentation, kept in ``knee_views.toml``. Points whose region is not local to the knee (SP6,
KI3, LI4, ...) are listed as distal points, never drawn on the knee.

The SVG is accessible without script or inline styles (a strict CSP): the root has a ``<title>``
and ``<desc>``; each point is a ``<g>`` whose ``<title>`` (code, name, location) shows on hover,
and which is focusable (``tabindex="0"``, ``aria-label``) so a tap or the keyboard reveals its
name in the caption line (``diagram.css``). Colours are SVG presentation attributes, so the
drawing also reads without the stylesheet.
"""

from __future__ import annotations

import tomllib
from collections.abc import Sequence
from functools import cache, lru_cache
from html import escape
from importlib import resources
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from acuknee.clinical.knowledge import KnowledgeBase, Point, load_knowledge
from acuknee.clinical.planning import PlannedPoint
from acuknee.clinical.vocabulary import Side

ViewName = Literal["anterior", "medial", "lateral", "posterior"]
VIEWS: tuple[ViewName, ...] = ("anterior", "medial", "lateral", "posterior")
"""The four views, in the order they are shown."""

ShapeKind = Literal["skin", "edge", "bone", "bone_line", "tendon", "muscle", "crease"]
LabelAt = Literal["left", "right", "above", "below"]

# Presentation attributes per shape kind (not ``style=``: a strict CSP allows these).
_SHAPE_PAINT: dict[str, dict[str, str]] = {
    "skin": {"fill": "#f8f0e9", "stroke": "none"},
    "edge": {"fill": "none", "stroke": "#5b4a3f", "stroke-width": "1.6"},
    "bone": {"fill": "#ebe4d8", "stroke": "#8b7b68", "stroke-width": "1.1"},
    "bone_line": {
        "fill": "none",
        "stroke": "#a8998a",
        "stroke-width": "1",
        "stroke-dasharray": "3 2",
    },
    "tendon": {"fill": "none", "stroke": "#b58a66", "stroke-width": "2"},
    "muscle": {"fill": "none", "stroke": "#cdb6a4", "stroke-width": "1"},
    "crease": {
        "fill": "none",
        "stroke": "#6d5141",
        "stroke-width": "1.4",
        "stroke-dasharray": "5 3",
    },
}
_MARK_RADIUS = 4.5
_FONT = "system-ui, sans-serif"


class DiagramError(ValueError):
    """A diagram was asked for something it cannot draw (unknown point code, view or side)."""


# --- drawing data -------------------------------------------------------------------------------


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Shape(_Model):
    kind: ShapeKind
    d: str


class Text(_Model):
    x: float
    y: float
    text: str
    anchor: Literal["start", "middle", "end"] = "start"


class Mark(_Model):
    """Where to draw one point code in one view (the right knee's coordinates)."""

    code: str
    at: list[tuple[float, float]] = Field(min_length=1)
    label: LabelAt = "right"


class KneeView(_Model):
    id: ViewName
    title: str
    mirror_left: bool
    width: float
    height: float
    shape: list[Shape]
    text: list[Text] = []
    mark: list[Mark] = []

    def marks(self) -> dict[str, Mark]:
        return {m.code: m for m in self.mark}


class _ViewsFile(_Model):
    meta: dict[str, str]
    view: list[KneeView]


@cache
def knee_views() -> dict[str, KneeView]:
    """The four views from ``knee_views.toml``, validated, by id (read once per process)."""
    raw = (resources.files("acuknee.reports") / "knee_views.toml").read_bytes()
    try:
        parsed = _ViewsFile.model_validate(tomllib.loads(raw.decode("utf-8")))
    except (tomllib.TOMLDecodeError, ValidationError) as exc:
        raise DiagramError(f"knee_views.toml: {exc}") from exc
    views: dict[str, KneeView] = {v.id: v for v in parsed.view}
    if sorted(views) != sorted(VIEWS):
        raise DiagramError(f"knee_views.toml must define exactly the views {', '.join(VIEWS)}")
    return views


# --- which points go where ----------------------------------------------------------------------


def is_local(point: Point, kb: KnowledgeBase) -> bool:
    """Drawn on the knee when its region is local to the knee (``points.toml`` regions)."""
    return kb.regions[point.region].local_to_knee


def views_showing(code: str) -> list[ViewName]:
    """The views that draw ``code``, in display order (empty for a distal point)."""
    views = knee_views()
    return [name for name in VIEWS if code in views[name].marks()]


def point_label(point: Point) -> str:
    """``ST35 Dubi (Calf's Nose)``: the short name shown beside a diagram."""
    return f"{point.code} {point.pinyin} ({point.english})"


def _codes_for_side(points: Sequence[PlannedPoint] | Sequence[str], side: Side) -> list[str]:
    codes: list[str] = []
    for p in points:
        if isinstance(p, PlannedPoint):
            if not p.side.covers(side):
                continue
            code = p.code
        else:
            code = p
        if code not in codes:
            codes.append(code)
    return codes


def _resolve(codes: Sequence[str], kb: KnowledgeBase) -> list[Point]:
    unknown = [c for c in codes if c not in kb.points]
    if unknown:
        raise DiagramError(
            f"unknown point code{'s' if len(unknown) > 1 else ''} "
            f"{', '.join(repr(c) for c in unknown)}: not in the knowledge base"
        )
    return [kb.points[c] for c in codes]


def _side(side: Side | str) -> Side:
    """One knee: a diagram is of the left or the right knee, never both at once."""
    if str(side) not in (Side.LEFT.value, Side.RIGHT.value):
        raise DiagramError(f"side must be 'left' or 'right', not {str(side)!r}")
    return Side(str(side))


def _view(view: str) -> KneeView:
    views = knee_views()
    if view not in views:
        raise DiagramError(f"unknown view {view!r}: choose one of {', '.join(VIEWS)}")
    return views[view]


# --- SVG ----------------------------------------------------------------------------------------


def _attrs(**attrs: str | float | None) -> str:
    parts = []
    for key, value in attrs.items():
        if value is None:
            continue
        name = key.rstrip("_").replace("_", "-")
        text = f"{value:g}" if isinstance(value, float) else str(value)
        parts.append(f'{name}="{escape(text, quote=True)}"')
    return " ".join(parts)


def _paint(kind: str) -> str:
    return " ".join(f'{k}="{v}"' for k, v in _SHAPE_PAINT[kind].items())


def _label_position(x: float, y: float, at: str) -> tuple[float, float, str]:
    gap = _MARK_RADIUS + 3
    if at == "left":
        return x - gap, y + 3.5, "end"
    if at == "right":
        return x + gap, y + 3.5, "start"
    if at == "above":
        return x, y - gap - 1, "middle"
    return x, y + gap + 8, "middle"


def _describe(point: Point) -> str:
    return f"{point_label(point)}: {point.location}"


def _point_attrs(point: Point, css_class: str, interactive: bool) -> str:
    """A point's group: focusable with its full description as name when interactive."""
    attrs = _attrs(class_=css_class, data_code=point.code)
    if interactive:
        attrs += " " + _attrs(tabindex="0", role="img", aria_label=_describe(point))
    return attrs


def _point_group(
    point: Point,
    spots: list[tuple[float, float]],
    label_at: str,
    caption: tuple[float, float],
    interactive: bool,
) -> str:
    label = _describe(point)
    out = [f"<g {_point_attrs(point, 'kd-point', interactive)}>"]
    out.append(f"<title>{escape(label)}</title>")
    for x, y in spots:
        out.append(
            f'<circle class="kd-marker" {_attrs(cx=float(x), cy=float(y), r=_MARK_RADIUS)} '
            'fill="#b3261e" stroke="#ffffff" stroke-width="1.5"/>'
        )
    lx, ly, anchor = _label_position(*spots[0], label_at)
    out.append(
        f'<text class="kd-label" {_attrs(x=lx, y=ly, text_anchor=anchor)} '
        f'font-family="{_FONT}" font-size="10" font-weight="700" fill="#1a1a1a" '
        f'stroke="#ffffff" stroke-width="3" paint-order="stroke">{escape(point.code)}</text>'
    )
    cx, cy = caption
    out.append(
        f'<text class="kd-detail" {_attrs(x=cx, y=cy, text_anchor="middle")} '
        f'font-family="{_FONT}" font-size="10" fill="#1a1a1a" visibility="hidden">'
        f"{escape(point_label(point))}</text>"
    )
    out.append("</g>")
    return "".join(out)


def _distal_panel(points: list[Point], x: float, interactive: bool) -> str:
    out = [
        f'<g class="kd-distal">'
        f'<text {_attrs(x=x, y=24.0)} font-family="{_FONT}" font-size="11" font-weight="700" '
        'fill="#1a1a1a">Distal points</text>'
    ]
    for i, point in enumerate(points):
        y = 44.0 + 16 * i
        out.append(
            f"<g {_point_attrs(point, 'kd-point kd-distal-point', interactive)}>"
            f"<title>{escape(_describe(point))}</title>"
            f'<text {_attrs(x=x, y=y)} font-family="{_FONT}" font-size="10" fill="#1a1a1a">'
            f"{escape(point.code)} {escape(point.pinyin)}</text></g>"
        )
    out.append("</g>")
    return "".join(out)


def knee_diagram(
    points: Sequence[PlannedPoint] | Sequence[str],
    view: str,
    side: Side | str,
    kb: KnowledgeBase | None = None,
    *,
    interactive: bool = True,
    list_distal: bool = True,
    id_prefix: str | None = None,
) -> str:
    """One view of one knee with ``points`` drawn on it, as SVG text.

    ``points`` are planned points (only those on ``side`` or both sides are drawn) or bare codes.
    Local points this view cannot show are left to the other views; distal points are listed
    beside the drawing when ``list_distal``. ``interactive`` makes each point focusable (the
    root is then a ``group``: focusable content inside ``role="img"`` is hidden from assistive
    technology); a static drawing (for print) is a single ``img``. Raises ``DiagramError`` for an
    unknown point code, view or side.
    """
    knee = _side(side)
    spec = _view(view)
    codes = tuple(_codes_for_side(points, knee))
    if kb is None or kb is load_knowledge():
        return _drawn(codes, spec.id, knee, interactive, list_distal, id_prefix)
    return _draw(codes, spec, knee, kb, interactive, list_distal, id_prefix)


@lru_cache(maxsize=1024)
def _drawn(
    codes: tuple[str, ...],
    view: str,
    knee: Side,
    interactive: bool,
    list_distal: bool,
    id_prefix: str | None,
) -> str:
    """``_draw`` with the app's knowledge base, kept: a plan page draws eight views of the same
    points on every request, and the drawing depends on nothing else (issue 15)."""
    return _draw(codes, _view(view), knee, load_knowledge(), interactive, list_distal, id_prefix)


def _draw(
    codes: Sequence[str],
    spec: KneeView,
    knee: Side,
    kb: KnowledgeBase,
    interactive: bool,
    list_distal: bool,
    id_prefix: str | None,
) -> str:
    chosen = _resolve(codes, kb)
    local = [p for p in chosen if is_local(p, kb)]
    distal = [p for p in chosen if not is_local(p, kb)]
    marks = spec.marks()
    shown = [p for p in local if p.code in marks]
    elsewhere = [p for p in local if p.code not in marks]

    mirror = spec.mirror_left and knee is Side.LEFT
    width, height = spec.width, spec.height

    def mx(x: float) -> float:
        return width - x if mirror else x

    prefix = escape(id_prefix or f"kd-{spec.id}-{knee.value}", quote=True)
    panel_width = 120.0 if list_distal and distal else 0.0
    title = f"{knee.value.capitalize()} knee, {spec.title}"
    desc = [f"Schematic outline of the {knee.value} knee seen from the {spec.title}."]
    ends = sorted(spec.text, key=lambda t: mx(t.x))
    if len(ends) >= 2:
        desc.append(f"{ends[0].text} on the viewer's left, {ends[-1].text.lower()} on the right.")
    desc.append(
        "Points drawn: " + "; ".join(point_label(p) for p in shown) + "."
        if shown
        else "No point of this list is drawn in this view."
    )
    if elsewhere:
        desc.append("Shown in other views: " + ", ".join(p.code for p in elsewhere) + ".")
    if distal:
        desc.append(
            "Distal points, not drawn on the knee: "
            + "; ".join(point_label(p) for p in distal)
            + "."
        )

    role = "group" if interactive else "img"
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="knee-diagram" '
        f"{_attrs(viewBox=f'0 0 {width + panel_width:g} {height:g}', role=role)} "
        f'aria-labelledby="{prefix}-title" aria-describedby="{prefix}-desc" '
        f'data-view="{spec.id}" data-side="{knee.value}">',
        f'<title id="{prefix}-title">{escape(title)}</title>',
        f'<desc id="{prefix}-desc">{escape(" ".join(desc))}</desc>',
        '<g class="kd-anatomy" aria-hidden="true">',
    ]
    transform = f' transform="translate({width:g} 0) scale(-1 1)"' if mirror else ""
    out.append(f"<g{transform}>")
    for shape in spec.shape:
        out.append(
            f'<path class="kd-{shape.kind.replace("_", "-")}" d="{escape(shape.d)}" '
            f"{_paint(shape.kind)}/>"
        )
    out.append("</g>")
    for text in spec.text:
        anchor = text.anchor
        if mirror and anchor != "middle":
            anchor = "end" if anchor == "start" else "start"
        out.append(
            f'<text class="kd-orient" {_attrs(x=mx(text.x), y=text.y, text_anchor=anchor)} '
            f'font-family="{_FONT}" font-size="9" fill="#555555">{escape(text.text)}</text>'
        )
    out.append("</g>")
    out.append('<g class="kd-points">')
    caption = (width / 2, height - 8)
    for point in shown:
        mark = marks[point.code]
        spots = [(mx(x), y) for x, y in mark.at]
        label_at: str = mark.label
        if mirror and label_at in ("left", "right"):
            label_at = "right" if label_at == "left" else "left"
        out.append(_point_group(point, spots, label_at, caption, interactive))
    out.append("</g>")
    if panel_width:
        out.append(_distal_panel(distal, width + 8, interactive))
    out.append("</svg>")
    return "".join(out)
