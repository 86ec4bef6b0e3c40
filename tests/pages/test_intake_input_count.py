"""How many inputs a practitioner makes to complete an intake for a typical knee-OA patient:
counted, not timed (issue 14).

The patient (``TYPICAL``): the test patient (a woman of 66, from the record), left knee pain for
two years, worse with activity, 10 minutes of morning stiffness; every red-flag question asked
and answered "no"; on examination crepitus, bony tenderness and bony enlargement without palpable
warmth (the ACR clinical criteria, as in the browser scenario), pain on the medial side; at
baseline the 42 KOOS items, the three pain ratings and the patient's global rating. Everything
else is left as the form shows it (able to consent, no medication, no preferences).

An input is one control whose value the practitioner changes from what the page shows when it
opens (a select chosen, a box ticked, a radio group answered, a number typed), plus one press of
a button for each page sent. The free-text history is optional and not counted.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

from django.contrib.auth.models import User
from django.test import Client

from acuknee.clinical import load_knowledge
from acuknee.records.models import IntakeRecord, Patient
from tests.intake_answers import red_flags_answered_no
from tests.pages.conftest import login
from tests.pages.test_intake import new_url

KOOS = {f"m__koos__{i.code}": "2" for i in load_knowledge().instruments["koos"].items}
TYPICAL: dict[str, str | list[str]] = {
    "side": "left",
    "duration_weeks": "104",
    "activity_related_pain": "true",
    "morning_stiffness_minutes": "10",
    **red_flags_answered_no(),
    "examination__crepitus": "true",
    "examination__bony_tenderness": "true",
    "examination__bony_enlargement": "true",
    "examination__palpable_warmth": "false",
    "examination__pain_location": ["medial"],
    **KOOS,
    "m__pain_nrs__current": "6",
    "m__pain_nrs__average_last_week": "5",
    "m__pain_nrs__worst_last_week": "7",
    "m__patient_global__global": "6",
}


@dataclass
class Shown:
    """The intake form's controls as a page shows them: name -> submitted values."""

    values: dict[str, list[str]] = field(default_factory=dict)
    controls: set[str] = field(default_factory=set)


class _Parser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.shown = Shown()
        self.inside = False
        self.select: str | None = None
        self.first: str | None = None
        self.textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and a.get("id") == "intake-form":
            self.inside = True
        if not self.inside:
            return
        name = a.get("name", "")
        values = self.shown.values
        if tag in {"input", "select", "textarea"} and name:
            self.shown.controls.add(name)
        if tag == "input" and name and a.get("type") not in {"submit", "button"}:
            if a.get("type") in {"checkbox", "radio"}:
                values.setdefault(name, [])
                if "checked" in a:
                    values[name].append(a.get("value", "on"))
            else:
                values[name] = [a.get("value", "")]
        elif tag == "select":
            self.select, self.first = name, None
        elif tag == "option" and self.select:
            if self.first is None:
                self.first = a.get("value", "")
                values[self.select] = [self.first]
            if "selected" in a:
                values[self.select] = [a.get("value", "")]
        elif tag == "textarea":
            self.textarea = name
            values[name] = [""]

    def handle_data(self, data: str) -> None:
        if self.textarea:
            self.shown.values[self.textarea] = [data.strip("\n")]

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.inside = False
        elif tag == "select":
            self.select = None
        elif tag == "textarea":
            self.textarea = None


def shown(page: str) -> Shown:
    parser = _Parser()
    parser.feed(page)
    return parser.shown


@dataclass
class Count:
    changed: int = 0
    presses: int = 0

    @property
    def inputs(self) -> int:
        return self.changed + self.presses


def fill(client: Client, url: str, count: Count, action: dict[str, str]) -> Any:
    """Open ``url``, change what ``TYPICAL`` says differs, count it, and send the page."""
    page = shown(client.get(url).content.decode())
    data = dict(page.values)
    for name, wanted in TYPICAL.items():
        if name not in page.controls:
            continue
        value = wanted if isinstance(wanted, list) else [wanted]
        if data.get(name, []) != value:
            count.changed += 1
            data[name] = value
    count.presses += 1
    return client.post(url, {**data, **action})


def one_page(client: Client, patient: Patient) -> Count:
    """Every field on one page (the intake as it was before the steps: ``?step=all``)."""
    count = Count()
    response = fill(client, f"{new_url(patient)}?step=all", count, {"action": "save"})
    assert response.status_code == 302, response.content.decode()[:3000]
    return count


def stepped(client: Client, patient: Patient) -> Count:
    """Step by step, "Next" on each step and "Save intake and screen" on the last."""
    count = Count()
    for slug in ("history", "safety", "examination"):
        response = fill(client, f"{new_url(patient)}?step={slug}", count, {"action": "next"})
        assert response.status_code == 302, response.content.decode()[:3000]
    url = f"{new_url(patient)}?step=baseline"
    response = fill(client, url, count, {"action": "save"})
    assert response.status_code == 302, response.content.decode()[:3000]
    return count


def previous_intake(client: Client, patient: Patient) -> None:
    """The same patient's intake of three months ago, with the same answers."""
    visit = dt.date.today() - dt.timedelta(days=90)
    data: dict[str, Any] = {**TYPICAL, "visit_date": visit.isoformat()}
    data["health__able_to_consent"] = "on"
    assert client.post(new_url(patient), data).status_code == 302


NEEDED = 4 + len(red_flags_answered_no()) + 5 + len(KOOS) + 4
"""The controls the typical patient changes on a fresh form: four of history, each red-flag
question, five of examination, the 42 KOOS items and four ratings."""


def test_a_first_intake_takes_the_same_answers_and_three_more_presses_in_steps(
    alice: User, patient: Patient
) -> None:
    client = login(alice)
    before = one_page(client, patient)
    IntakeRecord.objects.all().delete()  # type: ignore[misc]
    after = stepped(client, patient)
    print(
        f"\nfirst intake: one page {before}, {before.inputs} inputs; steps {after}, {after.inputs}"
    )
    assert before.changed == after.changed == NEEDED
    assert (before.presses, after.presses) == (1, 4)


def test_a_repeat_intake_asks_only_the_red_flags_and_the_measures_again(
    alice: User, patient: Patient
) -> None:
    client = login(alice)
    previous_intake(client, patient)
    after = stepped(client, patient)
    print(f"\nrepeat intake: steps {after}, {after.inputs} inputs")
    # history, examination and preferences come from the previous intake; the red-flag
    # questions are asked again (HAZ-84) and the questionnaires afresh.
    assert after.changed == len(red_flags_answered_no()) + len(KOOS) + 4


def test_a_repeat_intake_on_one_page_changes_the_same_controls(
    alice: User, patient: Patient
) -> None:
    client = login(alice)
    previous_intake(client, patient)
    before = one_page(client, patient)
    print(f"\nrepeat intake: one page {before}, {before.inputs} inputs")
    assert before.changed == len(red_flags_answered_no()) + len(KOOS) + 4
