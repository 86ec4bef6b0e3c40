"""Every text field of every clinic form against HTML, script and SQL injection strings, long
strings, control characters and arbitrary Unicode: no 5xx; an accepted text is stored exactly
as sent (less the surrounding whitespace Django's ``CharField`` strips) and shown HTML-escaped;
a refused post stores nothing.

Hypothesis runs derandomized with few examples per test, so the folder stays well within a
minute on one core."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import pytest
from django.db import transaction
from django.urls import reverse
from django.utils.html import escape
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from acuknee.records.models import (
    IntakeRecord,
    Measurement,
    Patient,
    PlanRecord,
    TreatmentSession,
)
from tests.robustness.web import Target, World, browser, filled, post_form, snapshot

INJECTIONS = [
    "<script>alert('x')</script>",
    '"><img src=x onerror=alert(1)>',
    "'; DROP TABLE patient; --",  # within a point code's 30 characters (now a coded field)
    "' OR '1'='1' --",
    "{{ request.user }}{% debug %}",
    "\u202eevil\u200b Zoë Ñúñez 李 😀",
]
ALL_AT_ONCE = "\n".join(INJECTIONS)
NOT_SHOWN = {"patient create": {"phone"}}  # stored, but on no page yet
TEXT = st.one_of(
    st.sampled_from(INJECTIONS),
    st.text(st.characters(codec="utf-8"), max_size=120),
    st.builds(
        lambda c, n: c * n, st.sampled_from(["x", "<", "é", "\x00", " "]), st.integers(0, 6000)
    ),
)
BOUNDED = settings(
    max_examples=10,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture
def world(shared_world: World, db: Any) -> World:
    return shared_world


# --- where each accepted text is stored and shown ---------------------------------------------


def _session_value(data: dict[str, Any], name: str) -> Any:
    events = data.get("adverse_events") or [{}]
    return {
        "note": data.get("note"),
        "needle_material": (data.get("needle") or {}).get("material"),
        "needle_manufacturer": (data.get("needle") or {}).get("manufacturer"),
        "response_sought": data.get("response_sought"),
        "events-0-note": events[0].get("note"),
        "events-0-action_taken": events[0].get("action_taken"),
    }[name]


def stored(world: World, target: str, name: str) -> tuple[Any, str]:
    """(what the form's last accepted post stored in ``name``, the page that shows it)."""
    pid = world.patient.pk
    if target == "patient create":
        made = Patient.objects.latest("pk")
        return getattr(made, name), reverse("patient-detail", args=[made.pk])
    if target == "intake":
        intake = IntakeRecord.objects.latest("pk")
        key = name.removeprefix("health__")
        return intake.data["health"][key], reverse("intake-detail", args=[pid, intake.pk])
    if target in ("session log", "session edit"):
        session = TreatmentSession.objects.latest("updated_at")
        shown = reverse("session-edit", args=[pid, session.pk])
        if name == "amend_reason":  # kept with the amendment, listed on the session's page
            return session.amendments.latest("pk").reason, shown
        return _session_value(session.data, name), shown
    voided: dict[str, Callable[[], tuple[Any, str]]] = {
        "plan void": lambda: (
            PlanRecord.objects.get(pk=world.draft.pk),
            reverse("plan-detail", args=[pid, world.draft.pk]),
        ),
        "session void": lambda: (
            TreatmentSession.objects.get(pk=world.session.pk),
            reverse("patient-detail", args=[pid]),
        ),
        "measurement void": lambda: (
            Measurement.objects.get(pk=world.measurement.pk),
            reverse("measurement-detail", args=[pid, world.measurement.pk]),
        ),
        "intake void": lambda: (
            IntakeRecord.objects.get(pk=world.intake.pk),
            reverse("intake-detail", args=[pid, world.intake.pk]),
        ),
        "patient void": lambda: (
            Patient.objects.get(pk=pid),
            reverse("patient-detail", args=[pid]),
        ),
    }
    record, page = voided[target]()
    return record.void_reason, page


def expected(target: str, name: str, sent: str) -> Any:
    """What Django and the view make of ``sent``: stripped; a list of lines for the intake's
    one-per-line fields."""
    if target == "intake":
        return [line.strip() for line in sent.splitlines() if line.strip()]
    return sent.strip()


def post_text(world: World, target: Target, values: dict[str, str]) -> tuple[int, bool]:
    """Post the form with ``values`` in its text fields; (status, whether anything changed)."""
    client = browser(world.alice)
    form = target.form(client)
    before = snapshot()
    response = post_form(client, target.url(form), filled(form, {**target.fill(), **values}))
    assert response.status_code < 500, (target.name, values, response.status_code)
    return response.status_code, snapshot() != before


def check_stored_and_escaped(world: World, target: Target, names: Sequence[str], sent: str) -> None:
    """Each field in ``names`` stored ``sent`` as Django reads it, and the page that shows the
    record shows it HTML-escaped, never raw."""
    pages = set()
    for name in names:
        value, page = stored(world, target.name, name)
        assert value == expected(target.name, name, sent), (target.name, name)
        pages.add(page)
    lines = expected(target.name, names[0], sent)
    if set(names) <= NOT_SHOWN.get(target.name, set()):
        return
    for page in pages:
        html = browser(world.alice).get(page).content.decode()
        # Form widgets (Django's Jinja2 form renderer) escape ' and " as &#39; and &#34;.
        html = html.replace("&#39;", "&#x27;").replace("&#34;", "&quot;")
        for line in lines if isinstance(lines, list) else [lines]:
            assert escape(line) in html, (target.name, page, line)
            if "<" in line:
                assert line not in html, (target.name, page, "shown unescaped")


def text_targets(world: World) -> list[Target]:
    return [t for t in world.targets.values() if t.text]


# --- every free-text field, every injection string ----------------------------------------------


def test_injection_strings_in_every_free_text_field_are_stored_as_sent_and_shown_escaped(
    world: World,
) -> None:
    for target in text_targets(world):
        # A void is accepted once per record: it gets every string at once, on separate lines.
        once = target.name.endswith("void")
        for sent in [ALL_AT_ONCE] if once else INJECTIONS:
            status, changed = post_text(world, target, dict.fromkeys(target.text, sent))
            assert status == 302, (target.name, sent, status)
            assert changed, (target.name, sent)
            check_stored_and_escaped(world, target, target.text, sent)


def test_a_text_beyond_a_fields_length_is_refused_and_stores_nothing(world: World) -> None:
    target = world.targets["patient create"]
    status, changed = post_text(world, target, {"given_name": "x" * 101})
    assert (status, changed) == (400, False)


def test_injection_strings_in_coded_fields_are_refused_and_store_nothing(world: World) -> None:
    """A point code, a frequency or an email must name something known: an injection string
    there is a field error, never a 5xx, and nothing is stored."""
    for target in world.targets.values():
        for name in target.coded:
            for sent in INJECTIONS[::2]:  # script, SQL, template syntax
                values = {name: sent}
                if name.startswith("electro-0-"):  # a wired pair is read only with both points
                    values = {"electro-0-point_a": "ST35", "electro-0-point_b": "EX-LE4", **values}
                status, changed = post_text(world, target, values)
                assert (status, changed) == (400, False), (target.name, name, sent)


# --- hypothesis: arbitrary text in any text field ----------------------------------------------


@contextlib.contextmanager
def rolled_back() -> Iterator[None]:
    """Each example starts from the same world: what it stored is rolled back after it."""
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


@BOUNDED
@given(data=st.data())
def test_arbitrary_text_in_any_text_field_is_stored_exactly_or_refused(
    world: World, data: st.DataObject
) -> None:
    target = data.draw(st.sampled_from(text_targets(world)), label="form")
    name = data.draw(st.sampled_from(target.text), label="field")
    sent = data.draw(TEXT, label="text")
    with rolled_back():
        status, changed = post_text(world, target, {name: sent})
        if not changed:  # refused: a form error (400), or a message on the next page (302)
            assert status in (302, 400), status
        elif expected(target.name, name, sent):  # blank: an optional field left empty
            assert status == 302
            check_stored_and_escaped(world, target, [name], sent)


@BOUNDED
@given(data=st.data())
def test_arbitrary_values_in_any_field_of_any_form_never_cause_a_server_error(
    world: World, data: st.DataObject
) -> None:
    """Every field as served (dates, numbers, choices, hidden versions, answers), with values
    of any shape: huge or negative numbers, impossible dates, text."""
    target = data.draw(st.sampled_from(list(world.targets.values())), label="form")
    with rolled_back():
        _post_one_value(world, target, data)


def _post_one_value(world: World, target: Target, data: st.DataObject) -> None:
    client = browser(None if target.anonymous else world.alice)
    form = target.form(client)
    names = sorted(form.names() - {"csrfmiddlewaretoken"}) or ["unexpected"]
    name = data.draw(st.sampled_from(names), label="field")
    value = data.draw(
        st.one_of(
            st.sampled_from(
                ["9" * 40, "-1", "1e309", "nan", "-inf", "0x10", "9999-12-31", "0001-01-01",
                 "2026-02-30", "+10000-01-01", "", " ", "true", "[]", "{}"]
            ),
            TEXT,
        ),
        label="value",
    )  # fmt: skip
    response = post_form(client, target.url(form), filled(form, {**target.fill(), name: value}))
    assert response.status_code < 500, (target.name, name, value)
