"""Points and protocols: the knowledge base, readable by every staff role (no patient data)."""

from __future__ import annotations

from django.contrib.auth.models import User

from acuknee.clinical import load_knowledge
from tests.api.conftest import Api, api_for, assert_error_shape


def test_points_list_pages_and_counts(rex: User) -> None:
    kb = load_knowledge()
    api = api_for(rex)
    first = api.get("/points", limit=3)
    assert first.status_code == 200
    assert first.json()["total"] == len(kb.points)
    rest = api.get("/points", limit=3, offset=3)
    codes = [p["code"] for p in first.json()["items"] + rest.json()["items"]]
    assert len(codes) == len(set(codes)) == min(6, len(kb.points))


def test_points_search_by_code_or_name_and_region(dana: User) -> None:
    api = api_for(dana)
    found = api.get("/points", q="st35").json()["items"]
    assert [p["code"] for p in found] == ["ST35"]
    region = load_knowledge().points["ST35"].region
    in_region = api.get("/points", region=region, limit=200).json()["items"]
    assert in_region
    assert all(p["region"] == region for p in in_region)


def test_a_point_has_its_sources(alice: User) -> None:
    point = api_for(alice).get("/points/ST35").json()
    assert point["code"] == "ST35"
    assert point["source"]


def test_an_unknown_point_is_404(alice: User) -> None:
    assert_error_shape(api_for(alice).get("/points/XX99"), 404, None)


def test_protocols_filter_by_cause_and_method(erin: User) -> None:
    api = api_for(erin)
    electro = api.get("/protocols", method="electro", limit=200).json()
    assert electro["total"] >= 1
    assert all(p["method"] == "electro" for p in electro["items"])
    oa = api.get("/protocols", cause="knee_osteoarthritis", limit=200).json()["items"]
    assert oa
    assert all(p["cause"] == "knee_osteoarthritis" for p in oa)


def test_a_protocol_detail_and_404(carol: User) -> None:
    api = api_for(carol)
    some = next(iter(load_knowledge().protocols))
    assert api.get(f"/protocols/{some}").json()["id"] == some
    assert_error_shape(api.get("/protocols/no-such-protocol"), 404, None)


def test_the_knowledge_base_needs_a_token(db: object) -> None:
    assert_error_shape(Api().get("/points"), 401, None)
    assert_error_shape(Api().get("/protocols"), 401, None)
