"""Logging a repeat session quickly: the form starts from the last session (needles, points,
retention), shows the last note and the pain trend, asks for informed consent on the first
session only, and a signed session is changed by an amendment with a reason, listed on its page.

The count of inputs a practitioner changes to log a repeat session is measured (counted, not
timed): the form's controls as a browser submits them, compared with what was pre-filled."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from acuknee.clinical import SessionRecord
from acuknee.records.models import Patient, PlanRecord, TreatmentConsent, TreatmentSession
from benchmarks.bench_clinic import form_with
from tests.pages.conftest import login
from tests.pages.test_sessions import page_data, sign_plan

NEEDLES = {
    "needle_diameter_mm": "0.25",
    "needle_length_mm": "40",
    "needle_material": "stainless steel",
    "needle_manufacturer": "Synthetic Needle Co.",
    "number_of_needles": "24",
}
REPEAT_TARGET = 5
"""Issue 14: a repeat session with needle details in 5 or fewer changes from the pre-filled form."""


def new_url(patient: Patient) -> str:
    return reverse("session-new", args=[patient.pk])


def log_first(client: Client, patient: Patient, day: str, **extra: str) -> TreatmentSession:
    data = page_data(client, new_url(patient)) | NEEDLES | {"session_date": day} | extra
    response = client.post(new_url(patient), data)
    assert response.status_code == 302, response.content.decode()[:3000]
    return TreatmentSession.objects.latest("pk")


def changes(before: list[tuple[str, str]], after: list[tuple[str, str]]) -> int:
    """How many controls differ between two submissions of a form: a value typed, changed or
    cleared, a box ticked or unticked (csrf and form token excluded: the browser sends them)."""
    skip = {"csrfmiddlewaretoken", "form_token"}

    def by_name(pairs: list[tuple[str, str]]) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for name, value in pairs:
            if name not in skip:
                out.setdefault(name, []).append(value)
        return out

    a, b = by_name(before), by_name(after)
    return sum(
        1 for name in a.keys() | b.keys() if sorted(a.get(name, [])) != sorted(b.get(name, []))
    )


@pytest.fixture
def signed(patient: Patient, alice: User) -> PlanRecord:
    return sign_plan(patient, alice)


def test_a_repeat_session_is_prefilled_from_the_last_one(
    patient: Patient, alice: User, signed: PlanRecord
) -> None:
    client = login(alice)
    first = log_first(client, patient, "2026-01-12", **{"points-0-depth_value": "0.7"})
    entry = client.get(new_url(patient)).context["entry"]
    session = entry.session.initial
    assert {k: str(session[k]) for k in NEEDLES} == NEEDLES
    record = SessionRecord.model_validate(first.data)
    initial = entry.points.initial
    assert [(p["code"], p["side"]) for p in initial] == [
        (p.code, p.side.value) for p in record.points
    ]
    assert initial[0]["depth_value"] == 0.7  # as needled last time, not the plan's default
    assert session["retention_minutes"] == record.retention_minutes
    assert session["pain_before"] is None
    assert session["note"] == ""


def test_the_last_note_and_the_pain_trend_show_beside_the_form(
    patient: Patient, alice: User, signed: PlanRecord
) -> None:
    client = login(alice)
    log_first(client, patient, "2026-01-12", pain_before="7", pain_after="5", note="Stiff AM.")
    log_first(client, patient, "2026-01-19", pain_before="6", pain_after="3", note="Stairs ok.")
    page = client.get(new_url(patient)).content.decode()
    assert "Note: Stairs ok." in page
    assert "Stiff AM." not in page
    trend = page[page.index("Pain (0–10) session by session") :]
    assert [r in trend for r in ("<td>7</td><td>5</td>", "<td>6</td><td>3</td>")] == [True, True]


def test_the_first_session_page_asks_for_consent_and_refuses_without_it(
    patient: Patient, alice: User
) -> None:
    sign_plan(patient, alice, consent=False)
    client = login(alice)
    page = client.get(new_url(patient))
    assert b"Informed consent (first session)" in page.content
    boxes = re.findall(rb'<input[^>]*name="consent_risks"[^>]*>', page.content)
    assert len(boxes) == 9
    assert not any(b"checked" in box for box in boxes)
    data = page_data(client, new_url(patient)) | {"session_date": "2026-01-12"}
    refused = client.post(new_url(patient), data)
    assert refused.status_code == 400
    errors = refused.context["consent_form"].errors
    assert "consent_given_by" in errors
    assert "consent_risks" in errors
    assert not TreatmentSession.objects.exists()
    consent = {
        "consent_given_by": "patient",
        "consent_given_on": "2026-01-12",
        "consent_risks": ["bruising", "pain_at_site", "fainting"],
    }
    assert client.post(new_url(patient), data | consent).status_code == 302
    stored = TreatmentConsent.objects.get()
    assert (stored.created_by, stored.data["risks_explained"]) == (
        alice,
        ["bruising", "pain_at_site", "fainting"],
    )
    assert b"Informed consent (first session)" not in client.get(new_url(patient)).content


def test_amending_a_signed_session_needs_a_reason_and_lists_the_change(
    patient: Patient, alice: User, bob: User, signed: PlanRecord
) -> None:
    session = log_first(login(alice), patient, "2026-01-12", pain_after="5")
    url = reverse("session-edit", args=[patient.pk, session.pk])
    client = login(bob)
    page = client.get(url).content.decode()
    assert "Signed by alice" in page
    assert "None: this is the note as signed." in page
    data = page_data(client, url) | {"pain_after": "3"}
    refused = client.post(url, data)
    assert refused.status_code == 400
    assert "amend_reason" in refused.context["amend_form"].errors
    assert client.post(url, data | {"amend_reason": "re-rated after rest"}).status_code == 302
    page = client.get(url).content.decode()
    assert "re-rated after rest" in page
    assert "by bob" in page
    assert '<th scope="row">Pain after</th><td>5</td><td>3</td>' in page
    session.refresh_from_db()
    assert session.data["pain_after"] == 3
    assert session.signed_by == alice


def _repeat_changes(client: Client, patient: Patient) -> int:
    """Changes to log session 2 as the practitioner gave it: the same needles and points as
    session 1, a new pain rating before and after, and a short note."""
    shown = form_with(client.get(new_url(patient)).content.decode(), "session_date")
    wanted = (
        dict(shown.fields)
        | NEEDLES
        | {
            "pain_before": "5",
            "pain_after": "3",
            "note": "Less stiffness on the stairs.",
        }
    )
    submitted = [(n, wanted.get(n, v)) for n, v in shown.fields]
    submitted += [(n, v) for n, v in wanted.items() if n not in shown.names()]
    response = client.post(new_url(patient), dict(_multi(submitted)))
    assert response.status_code == 302, response.content.decode()[:3000]
    first, second = (SessionRecord.model_validate(s.data) for s in TreatmentSession.objects.all())
    assert second.needle == first.needle
    assert second.needle is not None
    assert (second.number_of_needles, second.points) == (first.number_of_needles, first.points)
    return changes(shown.fields, submitted)


def _multi(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in pairs:
        out.setdefault(name, []).append(value)
    return out


def test_a_repeat_session_with_needle_details_takes_five_or_fewer_changes(
    patient: Patient, alice: User, signed: PlanRecord
) -> None:
    client = login(alice)
    log_first(client, patient, "2026-01-12", pain_before="6", pain_after="4")
    count = _repeat_changes(client, patient)
    assert count <= REPEAT_TARGET
    assert count == 3  # pain before, pain after, the note: the needles and points carry over


def test_the_change_count_sees_a_changed_control() -> None:
    """The count can fail: a changed, a cleared and an added control each count once."""
    before = [("a", "1"), ("b", "x"), ("c", "")]
    after = [("a", "2"), ("b", ""), ("c", ""), ("d", "on")]
    assert changes(before, after) == 3


def _initial(depth: float = 0.5, hint: str = "plan: local, 0.5–1 cun") -> dict[str, Any]:
    import datetime as dt

    return {
        "session": {"session_date": dt.date(2026, 5, 1), "retention_minutes": 20},
        "points": [
            {"needled": True, "code": "ST36", "side": "left", "depth_value": depth},
            {"needled": True, "code": "SP9", "side": "left", "angle": "perpendicular"},
        ],
        "electro": [{"point_a": "ST36", "point_b": "SP9", "side": "left"}],
        "hints": [hint, ""],
    }


def test_a_new_session_s_fields_are_kept_by_their_content_and_print_as_made_afresh() -> None:
    """``entry_fields`` keeps the print of an entry not bound to data by everything it prints:
    an entry made again from equal data prints from the kept copy without making its rows;
    another depth, hint or side of an added row prints its own, each the same as its template
    prints it afresh; a posted entry (answers, errors) is printed afresh and not kept."""
    from django.template.loader import get_template

    from acuknee.forms.sessions import SessionEntry
    from acuknee.pages.views import sessions as view

    def afresh(entry: SessionEntry) -> str:
        return get_template(view.ENTRY_FIELDS).render({"entry": entry})

    view._NEW_ENTRIES.clear()
    first = view.entry_fields(SessionEntry(initial=_initial(), side="left"))
    assert first == afresh(SessionEntry(initial=_initial(), side="left"))
    assert "plan: local, 0.5–1 cun" in first
    assert 'value="ST36"' in first
    again = SessionEntry(initial=_initial(), side="left")
    assert view.entry_fields(again) is first
    assert "forms" not in again.points.__dict__  # printed without making its rows
    others = [
        SessionEntry(initial=_initial(depth=1.0), side="left"),
        SessionEntry(initial=_initial(hint="plan: distal"), side="left"),
        SessionEntry(initial=_initial(), side="right"),  # the rows a practitioner adds
    ]
    for entry in others:
        printed = view.entry_fields(entry)
        assert printed != first
        assert printed == afresh(SessionEntry(initial=entry.initial, side=entry.side))
    assert len(view._NEW_ENTRIES) == 4
    posted = SessionEntry({"points-TOTAL_FORMS": "x"}, initial=_initial(), side="left")
    assert not posted.points.is_valid()
    shown = view.entry_fields(posted)
    assert shown == afresh(posted)
    assert shown != first
    assert len(view._NEW_ENTRIES) == 4  # nothing kept of a posted entry


def test_an_entry_without_a_date_prints_the_day_it_is_opened_not_the_day_it_was_kept(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A session form whose initial data give no date starts on today (``SessionForm``'s
    initial): its kept print is the day's, and the next day prints the next day's date."""
    import datetime as dt

    from django.utils import timezone

    from acuknee.forms.sessions import SessionEntry
    from acuknee.pages.views import sessions as view

    view._NEW_ENTRIES.clear()
    initial = {k: v for k, v in _initial().items() if k != "session"}
    moment = dt.datetime(2026, 5, 1, 12, tzinfo=dt.UTC)
    monkeypatch.setattr(timezone, "now", lambda: moment)
    first = view.entry_fields(SessionEntry(initial=initial, side="left"))
    assert 'value="2026-05-01"' in first
    monkeypatch.setattr(timezone, "now", lambda: moment + dt.timedelta(days=1))
    later = view.entry_fields(SessionEntry(initial=initial, side="left"))
    assert 'value="2026-05-02"' in later
    assert 'value="2026-05-01"' not in later
