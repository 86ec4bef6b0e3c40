"""The point reference and the plan's knee diagrams.

``/reference/`` lists every point and protocol of the knowledge base with their sources resolved
to citations, narrowed by a search; ``/reference/points/<code>/`` shows one point with its
diagram, depth, angle, cautions and tags. Any signed-in staff role may read it: it holds no patient
data. ``diagram_context`` gives the plan page its four views of each treated knee.
"""

from __future__ import annotations

import re
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import URLPattern, path
from django.utils.safestring import mark_safe

from acuknee.accounts.access import clinic_view
from acuknee.clinical import KnowledgeBase, Plan, load_knowledge
from acuknee.clinical.knowledge import Point, Protocol
from acuknee.clinical.vocabulary import Side
from acuknee.pages.views.intake import citations
from acuknee.records.models import Role
from acuknee.reports.diagrams import (
    VIEWS,
    DiagramError,
    is_local,
    knee_diagram,
    point_label,
    views_showing,
)

ALL_ROLES = frozenset(Role(value) for value in Role.values)
"""The reference holds no patient data: every staff role may read it."""

VIEW_NAMES = {
    "anterior": "Front",
    "medial": "Inner side",
    "lateral": "Outer side",
    "posterior": "Back",
}


# --- plan diagrams ------------------------------------------------------------------------------


def diagram_context(plan_content: dict[str, Any]) -> dict[str, Any]:
    """Context for ``pages/_knee_diagram.html``: four views of each knee the plan treats.

    Returns ``{"knee_diagram": None}`` for a refused plan or one without points, and an
    ``error`` entry (shown on the page) when a point cannot be drawn.
    """
    content = Plan.model_validate(plan_content)
    if content.status == "refused" or not content.points:
        return {"knee_diagram": None}
    kb = load_knowledge()
    sides: list[Side] = []
    for planned in content.points:
        sides += [s for s in planned.side.single_sides() if s not in sides]
    sides.sort(key=lambda s: s is Side.LEFT)  # the right knee first, as on the intake form
    try:
        knees = [
            {
                "side": side.value,
                "label": f"{side.value.capitalize()} knee",
                "views": [
                    {
                        "id": view,
                        "name": VIEW_NAMES[view],
                        "svg": mark_safe(  # built by knee_diagram with every text escaped
                            knee_diagram(content.points, view, side, kb, list_distal=False)
                        ),
                    }
                    for view in VIEWS
                ],
            }
            for side in sides
        ]
    except DiagramError as exc:
        return {"knee_diagram": {"error": str(exc)}}
    distal: dict[str, dict[str, Any]] = {}
    for planned in content.points:
        point = kb.points[planned.code]
        if is_local(point, kb):
            continue
        row = distal.setdefault(
            point.code, {"label": point_label(point), "location": point.location, "sides": []}
        )
        row["sides"].append(planned.side.value)
    return {
        "knee_diagram": {
            "knees": knees,
            "distal": list(distal.values()),
            "ashi_points": content.ashi_points,
        }
    }


# --- search -------------------------------------------------------------------------------------


def _terms(query: str) -> list[str]:
    return [t for t in query.casefold().split() if t]


def _squash(text: str) -> str:
    """Lower case without punctuation, so ``exle4`` finds EX-LE4 and ``st 36`` is not needed."""
    return re.sub(r"[^0-9a-z]", "", text.casefold())


def _matches(haystack: list[str], terms: list[str]) -> bool:
    """Every term occurs in some field (as typed, or ignoring punctuation)."""
    text = " ".join(haystack).casefold()
    squashed = _squash(text)
    return all(t in text or (_squash(t) and _squash(t) in squashed) for t in terms)


def point_matches(point: Point, kb: KnowledgeBase, terms: list[str]) -> bool:
    """Search a point by code, pinyin, hanzi, English name, region and location."""
    region = kb.regions[point.region]
    fields = [
        point.code,
        point.pinyin,
        point.hanzi_traditional,
        point.hanzi_simplified,
        point.english,
        region.id.replace("_", " "),
        region.name,
        point.location,
    ]
    return _matches(fields, terms)


def protocol_matches(protocol: Protocol, terms: list[str]) -> bool:
    """Search a protocol by id, name, cause, method, style and point codes."""
    fields = [
        protocol.id,
        protocol.name,
        protocol.cause.label,
        protocol.method.value,
        protocol.style,
        *(p.code for p in protocol.points),
    ]
    return _matches(fields, terms)


# --- rows for the templates ---------------------------------------------------------------------


def _point_row(point: Point, kb: KnowledgeBase) -> dict[str, Any]:
    return {
        "point": point,
        "region": kb.regions[point.region].name,
        "local": is_local(point, kb),
    }


def _protocol_row(protocol: Protocol, kb: KnowledgeBase) -> dict[str, Any]:
    return {
        "protocol": protocol,
        "cause": protocol.cause.label,
        "points": [{"planned": p, "name": point_label(kb.points[p.code])} for p in protocol.points],
        "reassessment_weeks": ", ".join(str(w) for w in protocol.reassessment_weeks),
        "evidence_level": protocol.evidence_level.value.replace("_", " "),
        "citations": citations(protocol.source),
    }


@clinic_view(roles=ALL_ROLES)
def reference(request: HttpRequest) -> HttpResponse:
    """Every point and protocol of the knowledge base, narrowed by ``q``."""
    kb = load_knowledge()
    query = request.GET.get("q", "").strip()[:200]
    terms = _terms(query)
    points = [p for p in kb.points.values() if point_matches(p, kb, terms)]
    protocols = [p for p in kb.protocols.values() if protocol_matches(p, terms)]
    context = {
        "query": query,
        "points": [_point_row(p, kb) for p in points],
        "protocols": [_protocol_row(p, kb) for p in protocols],
        "total_points": len(kb.points),
        "total_protocols": len(kb.protocols),
    }
    return render(request, "pages/reference.html", context)


@clinic_view(roles=ALL_ROLES)
def reference_point(request: HttpRequest, code: str) -> HttpResponse:
    """One point: names, location, depth, angle, needling, cautions with citations, diagrams."""
    kb = load_knowledge()
    point = kb.points.get(code)
    if point is None:
        raise Http404("no such point")
    views = views_showing(point.code) if is_local(point, kb) else []
    diagrams = [
        {
            "id": view,
            "name": VIEW_NAMES[view],
            "svg": mark_safe(  # built by knee_diagram with every text escaped
                knee_diagram([point.code], view, Side.RIGHT, kb, list_distal=False)
            ),
        }
        for view in views
    ]
    cautions = [
        {
            "caution": c,
            "kind": c.kind.replace("_", " "),
            "citations": citations(c.source),
        }
        for c in point.cautions
    ]
    used_by = [
        {"protocol": p, "roles": sorted({pp.role for pp in p.points if pp.code == point.code})}
        for p in kb.protocols.values()
        if any(pp.code == point.code for pp in p.points)
    ]
    context = {
        "point": point,
        "region": kb.regions[point.region],
        "local": is_local(point, kb),
        "diagrams": diagrams,
        "cautions": cautions,
        "aliases": [kb.points[c] for c in point.alias_for],
        "used_by": used_by,
        "sources": citations(point.source),
    }
    return render(request, "pages/reference_point.html", context)


urlpatterns: list[URLPattern] = [
    path("reference/", reference, name="reference"),
    path("reference/points/<str:code>/", reference_point, name="reference-point"),
]
