"""Knee diagrams: valid, accessible SVG with each local point where its location says, mirrored
for the left knee, distal points listed and not drawn, and clear errors for bad input."""

from __future__ import annotations

import ast
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from acuknee.clinical import load_knowledge
from acuknee.clinical.planning import PlannedPoint
from acuknee.clinical.vocabulary import Side
from acuknee.reports import VIEWS, DiagramError, knee_diagram, views_showing
from acuknee.reports.diagrams import knee_views

SVG = "{http://www.w3.org/2000/svg}"
GERAC = ["ST34", "SP10", "ST35", "EX-LE4", "ST36", "SP9", "GB34"]
BACK_OF_KNEE = ["LR8", "KI10", "BL39", "BL40"]


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def point_groups(root: ET.Element) -> dict[str, ET.Element]:
    return {
        g.attrib["data-code"]: g
        for g in root.iter(f"{SVG}g")
        if "kd-point" in g.attrib.get("class", "").split()
        and "kd-distal-point" not in g.attrib.get("class", "").split()
    }


def marker_x(root: ET.Element, code: str) -> float:
    circle = point_groups(root)[code].find(f"{SVG}circle")
    assert circle is not None
    return float(circle.attrib["cx"])


@pytest.mark.parametrize("view", VIEWS)
def test_every_view_parses_as_xml_with_title_and_desc(view: str) -> None:
    root = parse(knee_diagram(GERAC + BACK_OF_KNEE, view, "right"))
    assert root.tag == f"{SVG}svg"
    title, desc = root.find(f"{SVG}title"), root.find(f"{SVG}desc")
    assert title is not None
    assert title.text
    assert "Right knee" in title.text
    assert desc is not None
    assert desc.text
    assert root.attrib["aria-labelledby"] == title.attrib["id"]
    assert root.attrib["aria-describedby"] == desc.attrib["id"]


def test_each_local_point_is_drawn_with_its_name_and_location_in_a_title() -> None:
    kb = load_knowledge()
    drawn: set[str] = set()
    for view in VIEWS:
        groups = point_groups(parse(knee_diagram(GERAC + BACK_OF_KNEE, view, "right")))
        for code, group in groups.items():
            title = group.find(f"{SVG}title")
            assert title is not None
            assert title.text
            point = kb.points[code]
            assert point.pinyin in title.text
            assert point.english in title.text
            assert point.location in title.text
        drawn |= set(groups)
    assert drawn == set(GERAC + BACK_OF_KNEE)


def test_points_are_focusable_with_an_accessible_name() -> None:
    groups = point_groups(parse(knee_diagram(["ST35"], "anterior", "right")))
    group = groups["ST35"]
    assert group.attrib["tabindex"] == "0"
    assert group.attrib["aria-label"].startswith("ST35 Dubi (Calf's Nose): ")


def test_interactive_diagram_is_a_group_and_static_one_an_img() -> None:
    # Focusable content inside role="img" is hidden from assistive technology (ARIA: img has
    # presentational children; axe-core rule nested-interactive), so only a static drawing is one.
    interactive = parse(knee_diagram(["ST35"], "anterior", "right"))
    static = parse(knee_diagram(["ST35"], "anterior", "right", interactive=False))
    assert interactive.attrib["role"] == "group"
    assert static.attrib["role"] == "img"
    assert "tabindex" not in knee_diagram(["ST35"], "anterior", "right", interactive=False)


def test_left_anterior_view_mirrors_the_right() -> None:
    right = parse(knee_diagram(["ST35", "EX-LE4"], "anterior", "right"))
    left = parse(knee_diagram(["ST35", "EX-LE4"], "anterior", "left"))
    width = knee_views()["anterior"].width
    assert marker_x(left, "ST35") == width - marker_x(right, "ST35")
    # the lateral knee eye is on the viewer's left for the right knee, on the right for the left
    assert marker_x(right, "ST35") < marker_x(right, "EX-LE4")
    assert marker_x(left, "ST35") > marker_x(left, "EX-LE4")


def test_lateral_view_is_the_same_for_both_knees() -> None:
    right = knee_diagram(["GB34"], "lateral", "right", id_prefix="x")
    left = knee_diagram(["GB34"], "lateral", "left", id_prefix="x")
    assert marker_x(parse(right), "GB34") == marker_x(parse(left), "GB34")


def test_distal_points_are_listed_not_drawn() -> None:
    svg = knee_diagram(["ST36", "SP6", "LI4"], "anterior", "right")
    root = parse(svg)
    assert set(point_groups(root)) == {"ST36"}
    distal = {
        g.attrib["data-code"]
        for g in root.iter(f"{SVG}g")
        if "kd-distal-point" in g.attrib.get("class", "")
    }
    assert distal == {"SP6", "LI4"}
    assert "Distal points" in svg


def test_planned_points_on_the_other_knee_are_not_drawn() -> None:
    points = [
        PlannedPoint(
            code="ST35",
            side=Side.LEFT,
            role="local",
            depth_cun_min=1,
            depth_cun_max=2,
            angle="perpendicular",
        ),
        PlannedPoint(
            code="ST36",
            side=Side.BOTH,
            role="local",
            depth_cun_min=1,
            depth_cun_max=1.5,
            angle="perpendicular",
        ),
    ]
    assert set(point_groups(parse(knee_diagram(points, "anterior", "right")))) == {"ST36"}
    assert set(point_groups(parse(knee_diagram(points, "anterior", "left")))) == {"ST35", "ST36"}


def test_unknown_point_code_raises_a_clear_error() -> None:
    with pytest.raises(DiagramError, match=r"unknown point code 'XX99': not in the knowledge base"):
        knee_diagram(["ST35", "XX99"], "anterior", "right")


def test_unknown_view_and_side_raise_clear_errors() -> None:
    with pytest.raises(DiagramError, match="unknown view 'top'"):
        knee_diagram(["ST35"], "top", "right")
    with pytest.raises(DiagramError, match="side must be 'left' or 'right'"):
        knee_diagram(["ST35"], "anterior", "both")


def test_text_is_escaped() -> None:
    svg = knee_diagram(["ST35"], "anterior", "right", id_prefix='a"><script>')
    assert "<script>" not in svg
    parse(svg)


def test_no_inline_style_or_script() -> None:
    for view in VIEWS:
        for side in ("left", "right"):
            svg = knee_diagram(GERAC + BACK_OF_KNEE + ["SP6"], view, side)
            assert "style=" not in svg
            assert "<script" not in svg


def test_every_local_point_of_the_knowledge_base_has_a_place_in_some_view() -> None:
    kb = load_knowledge()
    local = [p.code for p in kb.points.values() if kb.regions[p.region].local_to_knee]
    assert [c for c in local if not views_showing(c)] == []


def test_every_drawn_code_is_a_local_point_of_the_knowledge_base() -> None:
    kb = load_knowledge()
    for view in knee_views().values():
        for mark in view.mark:
            assert mark.code in kb.points, (view.id, mark.code)
            assert kb.regions[kb.points[mark.code].region].local_to_knee, mark.code
            for x, y in mark.at:
                assert 0 <= x <= view.width, (view.id, mark.code)
                assert 0 <= y <= view.height, (view.id, mark.code)


def test_points_sit_where_their_location_puts_them() -> None:
    """Coarse anatomy checks of the drawing data against points.toml's locations."""
    views = knee_views()
    ant, post = views["anterior"].marks(), views["posterior"].marks()
    lat, med = views["lateral"].marks(), views["medial"].marks()
    # knee eyes either side of the patellar ligament (x 93-107), level with each other
    assert ant["ST35"].at[0][0] < 93 < 107 < ant["EX-LE4"].at[0][0]
    assert ant["ST35"].at[0][1] == ant["EX-LE4"].at[0][1]
    # EX-LE2 above the middle of the patellar base (y 102, x 100); ST34/SP10 2 cun above it
    assert ant["EX-LE2"].at[0][0] == 100
    assert ant["EX-LE2"].at[0][1] < 102
    assert ant["ST34"].at[0][1] < ant["EX-LE2"].at[0][1]
    assert ant["ST34"].at[0][0] < 100
    assert ant["SP10"].at[0][0] > 100
    # ST36 below ST35
    assert ant["ST36"].at[0][1] > ant["ST35"].at[0][1]
    # BL40 at the midpoint of the popliteal crease (x 56-144), KI10 medial, BL39 lateral
    assert post["BL40"].at[0][0] == 100
    assert post["KI10"].at[0][0] < 100 < post["BL39"].at[0][0]
    # GB34 in front of (towards the viewer's right) and below the fibular head (centre 84, 197)
    assert lat["GB34"].at[0][0] > 84
    assert lat["GB34"].at[0][1] > 197
    # SP9 below the medial tibial condyle (lower edge y 192); LR7 behind SP9
    assert med["SP9"].at[0][1] > 192
    assert med["LR7"].at[0][0] > med["SP9"].at[0][0]


def test_diagrams_module_imports_no_web_framework() -> None:
    import acuknee.reports.diagrams as module

    tree = ast.parse(Path(module.__file__).read_text(encoding="utf-8"))
    imported = {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    } | {
        (node.module or "").split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
    }
    assert "django" not in imported


def test_ids_are_unique_per_diagram_so_several_fit_on_one_page() -> None:
    ids = [
        re.findall(r'id="([^"]+)"', knee_diagram(["ST35"], view, side))
        for view in VIEWS
        for side in ("left", "right")
    ]
    flat = [i for group in ids for i in group]
    assert len(flat) == len(set(flat))
