"""The point reference (every point and protocol, with sources) and the plan's knee diagrams."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from acuknee.clinical import load_knowledge
from acuknee.pages.views.reference import diagram_context
from acuknee.records.models import IntakeRecord, Patient, PlanRecord
from tests.intake_answers import red_flags_answered_no
from tests.pages.conftest import login

REFERENCE = "/reference/"


def point_url(code: str) -> str:
    return reverse("reference-point", kwargs={"code": code})


def test_reference_url_is_named_reference() -> None:
    assert reverse("reference") == REFERENCE


def test_anonymous_user_is_redirected_to_login(db: Any) -> None:
    for url in (REFERENCE, point_url("ST36")):
        response = Client().get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("persona", ["alice", "dana", "erin", "rex"])
def test_every_staff_role_can_read_the_reference(persona: str, request: Any) -> None:
    user: User = request.getfixturevalue(persona)
    assert login(user).get(REFERENCE).status_code == 200
    assert login(user).get(point_url("BL40")).status_code == 200


def test_reference_lists_every_point_and_protocol(alice: User) -> None:
    kb = load_knowledge()
    page = login(alice).get(REFERENCE).content.decode()
    for code in kb.points:
        assert f'id="point-{code}"' in page
    for protocol in kb.protocols.values():
        assert f'id="protocol-{protocol.id}"' in page


def test_reference_resolves_protocol_sources_to_citations(alice: User) -> None:
    kb = load_knowledge()
    page = login(alice).get(REFERENCE).content.decode()
    protocol = kb.protocols["knee-oa-manual-gerac"]
    for source in protocol.source:
        # Django escapes apostrophes and ampersands; compare on an unescaped-safe prefix
        assert kb.sources[source].citation[:40] in page


def test_search_narrows_points_by_pinyin(alice: User) -> None:
    page = login(alice).get(REFERENCE, {"q": "zusanli"}).content.decode()
    assert 'id="point-ST36"' in page
    assert 'id="point-BL40"' not in page


def test_search_matches_location_and_code_without_punctuation(alice: User) -> None:
    popliteal = login(alice).get(REFERENCE, {"q": "popliteal crease"}).content.decode()
    assert 'id="point-BL40"' in popliteal
    assert 'id="point-ST36"' not in popliteal
    by_code = login(alice).get(REFERENCE, {"q": "exle4"}).content.decode()
    assert 'id="point-EX-LE4"' in by_code
    assert 'id="point-ST35"' not in by_code


def test_search_narrows_protocols(alice: User) -> None:
    page = login(alice).get(REFERENCE, {"q": "electro"}).content.decode()
    assert 'id="protocol-knee-oa-electro-tu2021"' in page
    assert 'id="protocol-knee-oa-manual-gerac"' not in page


def test_search_without_match_says_so(alice: User) -> None:
    page = login(alice).get(REFERENCE, {"q": "nothing-like-this"}).content.decode()
    assert "No point matches." in page
    assert "No protocol matches." in page


def test_point_page_shows_cautions_with_citations(alice: User) -> None:
    kb = load_knowledge()
    page = login(alice).get(point_url("BL40")).content.decode()
    for caution in kb.points["BL40"].cautions:
        assert caution.text in page
        for source in caution.source:
            assert kb.sources[source].citation[:40] in page
    assert "near_large_vessel" in page
    assert "1.0–1.5 cun" in page


def test_point_page_draws_the_point_on_its_views(alice: User) -> None:
    page = login(alice).get(point_url("ST35")).content.decode()
    assert page.count("<svg") == 2  # anterior and lateral
    assert 'data-code="ST35"' in page


def test_distal_point_page_has_no_diagram(alice: User) -> None:
    page = login(alice).get(point_url("SP6")).content.decode()
    assert "<svg" not in page
    assert "distal: not drawn" in page


def test_unknown_point_is_404(alice: User) -> None:
    assert login(alice).get(point_url("XX99")).status_code == 404


def test_nav_links_to_the_reference(alice: User) -> None:
    page = login(alice).get(reverse("patient-list")).content.decode()
    assert f'href="{REFERENCE}"' in page


def test_reference_has_no_inline_style_or_script(alice: User) -> None:
    for url in (REFERENCE, point_url("EX-LE5")):
        page = login(alice).get(url).content.decode()
        assert "style=" not in page
        assert "<script>" not in page


# --- the plan's knee diagrams -------------------------------------------------------------------


def _plan(client: Client, patient: Patient) -> PlanRecord:
    intake = {
        "visit_date": "2026-11-20",
        "side": "left",
        "duration_weeks": "12",
        "health__able_to_consent": "on",
        **red_flags_answered_no(),
    }
    response = client.post(reverse("intake-new", kwargs={"patient_id": patient.pk}), intake)
    assert response.status_code == 302
    record = IntakeRecord.objects.get(patient=patient)
    url = reverse("plan-new", kwargs={"patient_id": patient.pk, "intake_id": record.pk})
    assert client.post(url, {"start": dt.date(2026, 11, 23).isoformat()}).status_code == 302
    return PlanRecord.objects.get(intake=record)


def test_plan_page_shows_the_points_on_four_views_of_the_treated_knee(
    alice: User, patient: Patient
) -> None:
    client = login(alice)
    record = _plan(client, patient)
    url = reverse("plan-detail", kwargs={"patient_id": patient.pk, "plan_id": record.pk})
    page = client.get(url).content.decode()
    assert "Points on the knee" in page
    assert page.count('class="knee-diagram"') == 4
    assert 'data-side="left"' in page
    assert 'data-side="right"' not in page
    for planned in record.content["points"]:
        code = planned["code"]
        if load_knowledge().regions[load_knowledge().points[code].region].local_to_knee:
            assert f'data-code="{code}"' in page


def test_diagram_context_draws_both_knees_for_bilateral_points() -> None:
    content = {
        "status": "proposed",
        "points": [
            {
                "code": "ST35",
                "side": "both",
                "role": "local",
                "depth_cun_min": 1,
                "depth_cun_max": 2,
                "angle": "perpendicular",
            },
            {
                "code": "SP6",
                "side": "left",
                "role": "distal",
                "depth_cun_min": 1,
                "depth_cun_max": 1.5,
                "angle": "perpendicular",
            },
        ],
    }
    diagram = diagram_context(content)["knee_diagram"]
    assert [k["side"] for k in diagram["knees"]] == ["right", "left"]
    assert [row["label"] for row in diagram["distal"]] == [
        "SP6 Sanyinjiao (Three Yin Intersection)"
    ]


def test_diagram_context_is_empty_for_a_refused_plan() -> None:
    assert diagram_context({"status": "refused", "refusal_reasons": ["x"]}) == {
        "knee_diagram": None
    }
