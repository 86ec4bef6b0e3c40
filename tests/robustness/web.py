"""What the bad-input tests of the web forms share: a patient with every kind of record, every
POST form of the clinic app as a browser would submit it, and a snapshot of what is stored.

Requests go through a client that enforces CSRF like a browser session (the token from the
cookie, in the header), so the middleware reads each body before the view does, as in
production. Forms are parsed from the pages as served (``benchmarks.bench_clinic``'s parser),
so a field added to a form is posted without changing these tests.
"""

from __future__ import annotations

import itertools
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import User
from django.db.models import Model, Sum
from django.test import Client
from django.urls import reverse

from acuknee.forms.measurements import SELF_REPORT_INSTRUMENTS
from acuknee.pages.views.selfreport import LINK_VALID_FOR
from acuknee.records.models import (
    IntakeRecord,
    Measurement,
    Patient,
    PlanRecord,
    SelfReportLink,
    TreatmentSession,
)
from benchmarks.bench_clinic import Form, _FormParser
from tests.intake_answers import red_flags_answered_no
from tests.pages.test_sessions import sign_plan

INTAKE = {
    "visit_date": "2026-11-20",
    "side": "left",
    "duration_weeks": "12",
    "health__able_to_consent": "on",
    **red_flags_answered_no(),
}
PAIN = {
    "pain_nrs__current": "5",
    "pain_nrs__average_last_week": "5",
    "pain_nrs__worst_last_week": "6",
}
_numbers = itertools.count(1)


def browser(user: User | None) -> Client:
    """A client that enforces CSRF (as a browser's requests meet the middleware)."""
    client = Client(enforce_csrf_checks=True, raise_request_exception=False)
    if user is not None:
        client.force_login(user)
    return client


def forms_on(html: str) -> list[Form]:
    parser = _FormParser()
    parser.feed(html)
    parser.close()
    return parser.forms


def pick(html: str, name: str | None) -> Form:
    """The page's form holding the field ``name`` (or its first form that is not the logout)."""
    for form in forms_on(html):
        if name is None and form.action != reverse("logout"):
            return form
        if name is not None and name in form.names():
            return form
    raise AssertionError(f"no form with {name!r} on the page")


@dataclass
class Target:
    """One POST form: where it is shown, how to find it there, and what makes it valid."""

    name: str
    page: str
    key: str | None
    fill: Callable[[], dict[str, str]] = dict
    text: tuple[str, ...] = ()  # free text: stored as sent (stripped), shown escaped
    coded: tuple[str, ...] = ()  # text that must name something known (a point, an email)
    anonymous: bool = False
    writes_without_fields: bool = False  # any CSRF-valid POST acts (the self-report button)

    def form(self, client: Client) -> Form:
        response = client.get(self.page)
        assert response.status_code == 200, (self.name, response.status_code)
        return pick(response.content.decode(), self.key)

    def url(self, form: Form) -> str:
        return form.action or self.page


@dataclass
class World:
    """Alice's patient with an intake and a signed plan, a logged session, a measurement, a
    second intake with a draft plan, and an open self-report link."""

    patient: Patient
    alice: User
    signed: PlanRecord
    draft: PlanRecord
    intake: IntakeRecord
    session: TreatmentSession
    measurement: Measurement
    token: str
    targets: dict[str, Target] = field(default_factory=dict)


def post_form(
    client: Client, url: str, pairs: list[tuple[str, str]] | dict[str, str], **extra: Any
) -> Any:
    body = urllib.parse.urlencode(pairs)
    return send(client, url, body.encode(), "application/x-www-form-urlencoded", **extra)


def send(client: Client, url: str, body: bytes, content_type: str, **extra: Any) -> Any:
    """POST raw bytes with this client's CSRF token in the header."""
    token = client.cookies["csrftoken"].value if "csrftoken" in client.cookies else ""
    return client.generic("POST", url, body, content_type, HTTP_X_CSRFTOKEN=token, **extra)


def filled(form: Form, values: dict[str, str]) -> list[tuple[str, str]]:
    pairs = [(n, values.get(n, v)) for n, v in form.fields]
    return pairs + [(n, v) for n, v in values.items() if n not in form.names()]


def _must(response: Any, status: int = 302) -> Any:
    assert response.status_code == status, response.content.decode()[:2000]
    return response


def _submit(client: Client, page: str, key: str, values: dict[str, str]) -> None:
    """Open ``page``, fill the form holding ``key`` with ``values`` and submit it (302)."""
    form = pick(client.get(page).content.decode(), key)
    _must(post_form(client, form.action or page, filled(form, values)))


def build_world(patient: Patient, alice: User) -> World:
    client = browser(alice)
    signed = sign_plan(patient, alice)
    pid = patient.pk
    session = {"pain_before": "6", "pain_after": "4"}
    _submit(client, reverse("session-new", args=[pid]), "session_date", session)
    measurement = {**PAIN, "measured_on": "2026-11-21"}
    _submit(client, reverse("measurement-new", args=[pid]), "measured_on", measurement)
    _submit(client, reverse("intake-new", args=[pid]) + "?step=all", "visit_date", INTAKE)
    intake = IntakeRecord.objects.filter(patient=patient).latest("pk")
    page = reverse("plan-new", args=[pid, intake.pk])
    _must(post_form(client, page, {"start": "2026-11-23"}))
    _, token = SelfReportLink.issue(patient, alice, list(SELF_REPORT_INSTRUMENTS), LINK_VALID_FOR)
    world = World(
        patient=patient,
        alice=alice,
        signed=signed,
        draft=PlanRecord.objects.get(intake=intake),
        intake=intake,
        session=TreatmentSession.objects.get(patient=patient),
        measurement=Measurement.objects.filter(patient=patient).latest("pk"),
        token=token,
    )
    world.targets = {t.name: t for t in targets(world)}
    return world


def targets(w: World) -> list[Target]:
    """Every POST form of the clinic app but the patient details form (tested in
    tests/pages/test_patients.py); there is no upload form."""
    pid = w.patient.pk
    reason = ("reason",)
    session_text = (
        "note",
        "needle_material",
        "needle_manufacturer",
        "response_sought",
        "events-0-note",
        "events-0-action_taken",
    )

    def session_values() -> dict[str, str]:
        # A needle's material is recorded with its size (STRICTA 2g).
        return {
            "pain_before": "6",
            "pain_after": "4",
            "needle_diameter_mm": "0.25",
            "needle_length_mm": "40",
        }

    def adverse_event() -> dict[str, str]:
        return {
            **session_values(),
            "events-0-kind": "bruising",
            "events-0-severity": "mild",
            "events-0-action_taken": "pressure",
        }

    # In an order where each form is still open when its turn comes (signing, then voiding).
    return [
        Target(
            "patient create",
            reverse("patient-create"),
            "given_name",
            lambda: {
                "given_name": "Cleo",
                "family_name": "Testcase",
                "date_of_birth": "1970-01-01",
                "sex": "female",
                "record_number": f"R-{next(_numbers)}",
            },
            text=("given_name", "family_name", "record_number", "phone"),
            coded=("email",),
        ),
        Target(
            "intake",
            reverse("intake-new", args=[pid]) + "?step=all",  # every step on one page
            "visit_date",
            lambda: dict(INTAKE),
            text=("health__medications", "health__devices"),
        ),
        Target(
            "plan propose",
            reverse("intake-detail", args=[pid, w.intake.pk]),
            "start",
            lambda: {"start": "2026-11-30"},
        ),
        Target("plan edit", reverse("plan-edit", args=[pid, w.draft.pk]), "override_reason"),
        Target(
            "session log",
            reverse("session-new", args=[pid]),
            "session_date",
            adverse_event,
            text=session_text,
            # A point code must be a standard code (acuknee.clinical.session_check).
            coded=("points-0-code", "electro-0-point_a", "electro-0-frequency_hz"),
        ),
        Target(
            "session edit",
            reverse("session-edit", args=[pid, w.session.pk]),
            "session_date",
            # A signed session is changed by an amendment, which needs a reason.
            lambda: {**adverse_event(), "amend_reason": "corrected"},
            text=(*session_text, "amend_reason"),
        ),
        Target(
            "measurement",
            reverse("measurement-new", args=[pid]),
            "measured_on",
            lambda: {**PAIN, "measured_on": "2026-11-22"},
        ),
        Target(
            "baseline choice",
            reverse("patient-outcomes", args=[pid]),
            "baseline_on",
            lambda: {"baseline_on": "2026-11-21"},
        ),
        Target(
            "self-report link",
            reverse("selfreport-issue", args=[pid]),
            None,
            writes_without_fields=True,
        ),
        Target(
            "self-report answers",
            reverse("selfreport-fill", args=[w.token]),
            None,
            lambda: dict(PAIN),
            anonymous=True,
        ),
        Target("plan sign", reverse("plan-detail", args=[pid, w.draft.pk]), "version"),
        Target(
            "plan void",
            reverse("plan-detail", args=[pid, w.draft.pk]),
            "reason",
            lambda: {"reason": "entered in error"},
            text=reason,
        ),
        Target(
            "session void",
            reverse("session-edit", args=[pid, w.session.pk]),
            "reason",
            lambda: {"reason": "entered in error"},
            text=reason,
        ),
        Target(
            "measurement void",
            reverse("measurement-detail", args=[pid, w.measurement.pk]),
            "reason",
            lambda: {"reason": "entered in error"},
            text=reason,
        ),
        Target(
            "intake void",
            reverse("intake-detail", args=[pid, w.intake.pk]),
            "reason",
            lambda: {"reason": "entered in error"},
            text=reason,
        ),
        Target(
            "patient void",
            reverse("patient-detail", args=[pid]),
            "reason",
            lambda: {"reason": "entered in error"},
            text=reason,
        ),
        Target("sign in", reverse("login"), "username", anonymous=True),
    ]


_MODELS: tuple[type[Model], ...] = (
    Patient,
    IntakeRecord,
    PlanRecord,
    TreatmentSession,
    Measurement,
)


def snapshot() -> dict[str, Any]:
    """Counts, versions (every versioned save bumps one), voids, statuses and link uses."""
    out: dict[str, Any] = {}
    for model in _MODELS:
        rows = model.objects.all()
        out[model.__name__] = (
            rows.count(),
            rows.aggregate(v=Sum("version"))["v"],
            rows.filter(voided_at__isnull=False).count(),
        )
    out["signed plans"] = PlanRecord.objects.filter(status=PlanRecord.Status.SIGNED).count()
    out["links"] = (
        SelfReportLink.objects.count(),
        SelfReportLink.objects.filter(used_at__isnull=False).count(),
    )
    out["history"] = sum(m.history.count() for m in _MODELS)
    return out
