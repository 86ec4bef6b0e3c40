"""Real objects to fill the matrix's URLs, and clients for every role.

The demo clinic (``load_demo``) is "own": the askers are its practitioner, front desk and clinic
admin, and the network researcher. Riverside is "other": its records must never be reachable
and its patients' names must never appear in an answer.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from acuknee.api.fhir_api.resources import RESOURCE_TYPES
from acuknee.demo import DEMO_CLINIC_SLUG, OTHER_CLINIC_SLUG, load_demo
from acuknee.records.models import ApiToken, Clinic, ExportJob, Patient, PlanRecord, SelfReportLink
from tests.pages.conftest import verify_second_factor
from tests.security.matrix import ROLES, Outcome, Route, Rule, expectation, routes

USERS = {
    "practitioner": "practitioner",
    "front_desk": "frontdesk",
    "clinic_admin": "clinicadmin",
    "researcher": "researcher",
}
"""Matrix role -> demo username."""

RECORD_KEYS = {
    "patient_id",
    "intake_id",
    "plan_id",
    "session_id",
    "measurement_id",
    "group_id",
    "job_id",
    "token_id",
    "resource_id",
    "digest",
}
"""Keywords naming a record that belongs to a clinic (or a user): own/other variants."""

NEUTRAL = {"code": "ST36", "resource_type": "Patient", "rest": "no/such/path"}
"""Keywords naming nothing clinic-specific."""


@dataclass
class Side:
    """One clinic's records, as URL keyword values."""

    clinic: Clinic
    patient: Patient
    values: dict[str, str] = field(default_factory=dict)
    link_token: str = ""


def _side(slug: str, user: User) -> Side:
    clinic = Clinic.objects.get(slug=slug)
    plan = (
        PlanRecord.objects.filter(
            patient__clinic=clinic,
            patient__voided_at__isnull=True,
            voided_at__isnull=True,
            status=PlanRecord.Status.SIGNED,
            sessions__voided_at__isnull=True,
        )
        .order_by("pk")
        .first()
    )
    assert plan is not None, f"the demo has no signed plan with sessions in {slug}"
    patient = plan.patient
    session = plan.sessions.filter(voided_at__isnull=True).order_by("pk").first()
    measurement = patient.measurements.filter(voided_at__isnull=True).order_by("pk").first()
    _, link_token = SelfReportLink.issue(patient, user, ["pain_nrs"], dt.timedelta(days=7))
    side = Side(clinic, patient, link_token=link_token)
    side.values = {
        "patient_id": str(patient.pk),
        "intake_id": str(plan.intake_id),
        "plan_id": str(plan.pk),
        "session_id": str(session.pk),
        "measurement_id": str(measurement.pk),
        "group_id": str(clinic.pk),
        "digest": _chart_digest(patient),
    }
    return side


def _chart_digest(patient: Patient) -> str:
    """The name of one of the patient's trend charts (the address a page links it at)."""
    from acuknee.reports.charts import trend_digest
    from acuknee.reports.outcomes import outcomes_context

    outcomes = outcomes_context(patient)["outcomes"]
    spec = next(r.chart_spec for d in outcomes.domains for r in d.rows if r.chart_spec)
    return trend_digest(spec)


class World:
    """The demo loaded, two sides, a client per role, and the markers of a leak."""

    def __init__(self, demo: Callable[[dt.date], Any] = load_demo) -> None:
        demo(timezone.localdate())
        self.users = {role: User.objects.get(username=name) for role, name in USERS.items()}
        self.other_user = User.objects.get(username="riverside")
        self.own = _side(DEMO_CLINIC_SLUG, self.users["practitioner"])
        self.other = _side(OTHER_CLINIC_SLUG, self.other_user)
        self.login_url = reverse("login")
        self.sessions = {role: self._session(role) for role in ROLES}
        self.tokens = {role: ApiToken.issue(user, "matrix")[1] for role, user in self.users.items()}
        self.other_token = ApiToken.issue(self.other_user, "matrix")[1]
        self.fhir_ids = {
            "own": self._fhir_ids(self.tokens["practitioner"], self.own.patient),
            "other": self._fhir_ids(self.other_token, self.other.patient),
        }
        self.leak_markers = [
            marker
            for p in Patient.objects.filter(clinic=self.other.clinic)
            for marker in (
                f"{p.given_name} {p.family_name}",
                f"{p.family_name}, {p.given_name}",
                p.record_number,
            )
        ]
        self.outcomes: list[Outcome] = []
        self.leaks: list[str] = []
        self.unfillable: list[str] = []
        self.skipped: list[str] = []
        self.elapsed: dict[str, float] = {}

    def _session(self, role: str) -> Client:
        client = Client()
        if role in self.users:
            client.force_login(self.users[role])
            if role == "clinic_admin":
                verify_second_factor(client, self.users[role])
        elif role == "link_holder":
            opened = client.get(f"/r/{self.own.link_token}/")
            assert opened.status_code == 200, "the link holder's own link must open"
        return client

    def _fhir_ids(self, secret: str, patient: Patient) -> dict[str, str]:
        """One resource id per FHIR type for ``patient``, found by searching as its clinic."""
        client = Client(headers={"Authorization": f"Bearer {secret}"})
        ids = {"Patient": str(patient.pk)}
        for kind in RESOURCE_TYPES.values():
            if kind.name == "Patient":
                continue
            if kind.id_pattern is None:
                continue  # not patient data: its id is fixed by the route expansion
            query = {kind.patient_params[0]: str(patient.pk)} if kind.patient_params else {}
            for params in (query, {}):  # the patient's, else any of the clinic's
                answer = client.get(f"/fhir/{kind.name}", params)
                entries = answer.json().get("entry", []) if answer.status_code == 200 else []
                if entries:
                    ids[kind.name] = entries[0]["resource"]["id"]
                    break
        return ids

    # --- keyword values ---------------------------------------------------------------------------

    def variants(self, route: Route) -> list[str]:
        keys = set(route.keywords) & RECORD_KEYS
        if not keys:
            return ["none"]
        if "patient_id" in keys and len(keys) > 1:
            return ["own", "other", "mixed"]
        return ["own", "other"]

    def html_pages(self) -> Iterator[tuple[str, str, Any]]:
        """(role, path, response) of every HTML page of the URLconf, each opened with the test
        client by the first role its rule lets in (the link holder for a token link)."""
        for route in routes():
            rule = route.rule
            if rule is None or rule.kind == "token" or "GET" not in route.methods:
                continue
            if rule.kind == "public":
                role = "link_holder" if "token" in route.keywords else "anonymous"
            else:
                role = next((r for r in ROLES if r in rule.roles), "")
            values = self.values(route, role, "own")
            if not role or values is None:
                continue
            path = route.url(values)
            answer = self.sessions[role].get(path)
            if answer.status_code == 200 and answer["Content-Type"].startswith("text/html"):
                yield role, path, answer

    def values(self, route: Route, role: str, variant: str) -> dict[str, str] | None:
        """Keyword values for one request; None (and a note) when one cannot be filled."""
        out: dict[str, str] = {}
        for key in route.keywords:
            value = self._value(route, key, role, variant)
            if value is None:
                return None
            out[key] = value
        return out

    def _value(self, route: Route, key: str, role: str, variant: str) -> str | None:
        side = self.other if variant in {"other", "mixed"} else self.own
        if variant == "mixed" and key == "patient_id":
            side = self.own
        if key in NEUTRAL:
            return NEUTRAL[key]
        if key == "token":
            return self.own.link_token
        if key == "protocol_id":
            from acuknee.clinical import load_knowledge

            return next(iter(load_knowledge().protocols))
        if key in side.values:
            return side.values[key]
        if key == "token_id":
            owner = self.other_user if side is self.other else self._asker(role)
            return str(ApiToken.issue(owner, "spare")[0].pk)
        if key == "job_id":
            owner = self.other_user if side is self.other else self._asker(role)
            clinic = self.other.clinic if side is self.other else self.own.clinic
            job = ExportJob.objects.create(
                user=owner,
                clinic=clinic,
                level="system",
                request_url="http://testserver/fhir/$export",
                transaction_time=timezone.now(),
            )
            return str(job.pk)
        if key == "resource_id":
            kind = route.fixed.get("kind_name", "")
            found = self.fhir_ids["other" if side is self.other else "own"].get(kind)
            if found is None:
                self.skipped.append(f"{route.label}: no {kind} of the demo patient to read")
            return found
        self.unfillable.append(
            f"{route.label}: the matrix cannot fill <{key}>: add it to RECORD_KEYS and "
            "Side.values (a clinic's record) or NEUTRAL in tests/security/world.py"
        )
        return None

    def _asker(self, role: str) -> User:
        return self.users.get(role, self.users["practitioner"])

    # --- requests ---------------------------------------------------------------------------------

    def request(self, route: Route, rule: Rule, role: str, variant: str) -> None:
        values = self.values(route, role, variant)
        if values is None:
            return
        url = route.url(values)
        denied = role in {"anonymous", "link_holder"} or (
            rule.kind != "public" and (role not in rule.roles or variant in {"other", "mixed"})
        )
        methods = ["GET"] if rule.kind == "public" else list(route.methods)
        if rule.kind == "session" and denied:
            methods = ["GET", "POST"]
        for method in methods:
            start = time.perf_counter()
            response = self._send(rule, role, method, url)
            status = response.status_code
            location = response.get("Location", "")
            self.elapsed[route.label] = (
                self.elapsed.get(route.label, 0.0) + time.perf_counter() - start
            )
            if rule.kind == "session" and status == 405:
                continue  # the method is refused before any access check: the other one counts
            problem = expectation(
                rule, route.name or "", role, variant, status, location, self.login_url
            )
            self.outcomes.append(
                Outcome(route.label, method, role, variant, url, status, location, problem)
            )
            self._check_leak(route, role, method, url, response)

    def _send(self, rule: Rule, role: str, method: str, url: str) -> Any:
        if rule.kind == "token" or url.startswith(("/api/", "/fhir/")):
            secret = self.tokens.get(role)
            headers = {"Authorization": f"Bearer {secret}"} if secret else {}
            client = Client()
            if method == "POST":
                return client.post(
                    url, json.dumps({}), content_type="application/json", headers=headers
                )
            return client.get(url, headers=headers)
        client = self.sessions[role]
        return client.post(url, {}) if method == "POST" else client.get(url)

    def _check_leak(self, route: Route, role: str, method: str, url: str, response: Any) -> None:
        if getattr(response, "streaming", False):
            body = b"".join(response.streaming_content).decode(errors="replace")
        else:
            body = response.content.decode(errors="replace")
        for marker in self.leak_markers:
            if marker in body:
                self.leaks.append(f"{role} {method} {url} ({route.label}) shows {marker!r}")
