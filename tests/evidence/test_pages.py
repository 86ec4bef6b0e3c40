"""The evidence pages render the numbers, honour the selector and admit the right people."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from acuknee.evidence.synthesis import pooled_analyses, responder_figures
from tests.pages.conftest import login

STAFF = reverse("evidence")
PATIENT = reverse("evidence-what-to-expect")


@pytest.mark.parametrize("persona", ["alice", "erin", "rex"])
def test_practitioner_admin_and_researcher_open_the_evidence_page(
    persona: str, request: pytest.FixtureRequest
) -> None:
    user = request.getfixturevalue(persona)
    response = login(user).get(STAFF)
    assert response.status_code == 200


def test_patient_page_is_public(db: Any) -> None:
    assert Client().get(PATIENT).status_code == 200


def test_evidence_page_shows_pooled_numbers_of_the_chosen_method(alice: Any) -> None:
    html = login(alice).get(STAFF, {"method": "DL"}).content.decode()  # knha unchecked: off
    sham = next(a for a in pooled_analyses("DL", False) if a.analysis.id == "sham_smd")
    assert f"{sham.result.estimate:.3f}" in html
    assert f"{sham.result.tau2:.4f}" in html
    assert f"{sham.result.i2:.1f} %" in html
    assert "DerSimonian-Laird" in html
    assert "z-based intervals" in html


def test_knapp_hartung_switch_changes_the_interval_shown(alice: Any) -> None:
    client = login(alice)
    on = client.get(STAFF, {"method": "REML", "knha": "on"}).content.decode()
    off = client.get(STAFF, {"method": "REML"}).content.decode()
    kh = next(a for a in pooled_analyses("REML", True) if a.analysis.id == "no_acupuncture_smd")
    z = next(a for a in pooled_analyses("REML", False) if a.analysis.id == "no_acupuncture_smd")
    assert f"{kh.result.ci[0]:.3f} to {kh.result.ci[1]:.3f}" in on
    assert f"{z.result.ci[0]:.3f} to {z.result.ci[1]:.3f}" in off
    assert kh.result.ci[0] < z.result.ci[0]


def test_unknown_method_is_a_400_with_the_field_error(alice: Any) -> None:
    response = login(alice).get(STAFF, {"method": "XX"})
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()


def test_evidence_page_shows_sham_and_no_acupuncture_separately_with_guidelines(alice: Any) -> None:
    html = login(alice).get(STAFF).content.decode()
    assert "Acupuncture vs sham" in html
    assert "Acupuncture vs no acupuncture" in html
    assert html.count('src="data:image/svg+xml;base64,') == 2
    for name in ("ACR/Arthritis Foundation 2019", "NICE NG226", "OARSI 2019", "AAOS 2021"):
        assert name in html
    assert "Not recommended" in html
    assert "Conditional recommendation for" in html
    assert "clinical importance is uncertain" in html


def test_every_trial_on_the_evidence_page_carries_its_citation(alice: Any) -> None:
    html = login(alice).get(STAFF).content.decode()
    for citation in ("Lancet 2005;366:136-143", "BMJ 2007;335:436", "JAMA 2014;312:1313-1322"):
        assert citation in html


def test_pages_have_no_inline_script_or_style(alice: Any) -> None:
    for html in (
        login(alice).get(STAFF).content.decode(),
        Client().get(PATIENT).content.decode(),
    ):
        assert not re.search(r"<script(?![^>]*\bsrc=)", html)
        assert "style=" not in html
        assert not re.search(r"\son[a-z]+=", html)
        assert "<svg" not in html


def test_patient_page_shows_verified_responders_per_100(db: Any) -> None:
    html = Client().get(PATIENT).content.decode()
    gerac = next(f for f in responder_figures() if f.trial.id == "scharf2006")
    assert [(g.label, g.improved) for g in gerac.groups] == [
        ("Traditional Chinese acupuncture", 53),
        ("Sham acupuncture", 51),
        ("Usual care", 29),
    ]
    for group in gerac.groups:
        assert f"<strong>{group.improved} of 100</strong>" in html
    assert "47 of 100" in html  # Tu 2021 sham: 69 of 146
    assert html.count('src="data:image/svg+xml;base64,') == 2


def test_nav_shows_evidence_link_to_practitioner_but_not_front_desk(alice: Any, dana: Any) -> None:
    page = reverse("reference")
    assert f'href="{STAFF}"' in login(alice).get(page).content.decode()
    assert f'href="{STAFF}"' not in login(dana).get(page).content.decode()
