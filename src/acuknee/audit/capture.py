"""What one request did, as an audit row: who, what, which patient, from where, with what result.

Kept apart from the middleware so the login signals build their rows the same way. A request
is classified from its resolved URL (the name and keyword arguments Django already matched), so
no extra query is needed except, for a record addressed by its own id (``/api/v1/intakes/7``,
``/fhir/Condition/intake-7``), one that finds its patient (the value is hashed into the row's
chain link, so it is read before the INSERT).
"""

from __future__ import annotations

import dataclasses
import ipaddress
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import ObjectDoesNotExist
from django.http import HttpRequest
from django.urls import Resolver404, ResolverMatch, resolve

from acuknee.audit.models import Action, AuditEvent
from acuknee.records.ids import storable_pk

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

SKIPPED_NAMES = frozenset({"login", "logout", "healthz"})
"""Logins and logouts are recorded by the auth signals (with the outcome Django decided); the
health check is a load balancer's probe."""

NON_PATIENT_API_NAMES = frozenset(
    {
        "openapi-json",
        "openapi-view",
        "api-root",
        "point_list",
        "point_detail",
        "protocol_list",
        "protocol_detail",
        "fhir-metadata",
    }
)
"""API and FHIR routes that serve no patient data (the knowledge base, the API's own docs):
their reads are not recorded (writes by staff still are)."""

NON_ATOMIC_NAMES = frozenset({"fhir-export-system", "fhir-export-group", "fhir-export-patient"})
"""Writes not wrapped in the audit transaction: a bulk export kick-off hands its new job to a
background thread, which must see the job committed."""

RECORD_KWARGS = {
    "intake_id": "intake",
    "plan_id": "plan",
    "session_id": "session",
    "measurement_id": "measurement",
}
"""URL keywords naming a clinical record, most specific first, and the object type recorded."""

FHIR_RECORD_IDS = {
    "Condition": (re.compile(r"^intake-(\d+)$"), "intake"),
    "CarePlan": (re.compile(r"^plan-(\d+)$"), "plan"),
    "Procedure": (re.compile(r"^session-(\d+)$"), "session"),
    "AdverseEvent": (re.compile(r"^session-(\d+)-\d+$"), "session"),
    "QuestionnaireResponse": (re.compile(r"^meas-(\d+)$"), "measurement"),
    "Observation": (re.compile(r"^meas-(\d+)-"), "measurement"),
}
"""FHIR ids derived from the clinic's rows (see ``api.fhir_api.resources``) and the row they
point at."""

SEARCH_NAMES = frozenset({"patient-list", "patient_list"})
"""The patient list page and the REST patient list: with a non-blank ``q`` they are a search by
name, number or date of birth, recorded as action ``search`` with the query's kind (never the
text searched for: a name is an identifier, so ``q`` is masked in the logged path as well)."""

SEARCH_MASK = "[search]"

REPORT_NAMES = {"clinic-report": Action("read"), "clinic-report-pdf": Action("export")}
"""Clinic-wide reports (outcomes across the clinic's patients): viewing one is a read, the PDF
an export; neither names a patient, so the URL alone would not be audited."""

_DIGITS = re.compile(r"^(?:Patient/)?([0-9]+)$")


@dataclass
class Target:
    """What a request touched: the object and, where it is known, the patient."""

    action: str
    object_type: str = ""
    object_id: str = ""
    patient_id: int | None = None
    record: tuple[str, int] | None = None  # (kind, pk): patient found by subquery at insert
    patient_ids: tuple[int, ...] = ()  # a read of several patients: one row for each


def _int(value: Any) -> int | None:
    """A patient or record id written in ``value``, or None (not a number, or beyond BIGINT)."""
    found = _DIGITS.match(str(value)) if value is not None else None
    return storable_pk(found.group(1)) if found else None


def _ints(values: list[str]) -> tuple[int, ...]:
    """The distinct patient ids of a FHIR list parameter (``patient=1,2``, ``_id=7``), in order."""
    found: dict[int, None] = {}
    for value in ",".join(values).split(","):
        pk = _int(value.strip().rstrip("/"))
        if pk is not None:
            found[pk] = None
    return tuple(found)


def _search_kind(request: HttpRequest) -> str:
    from acuknee.care.queries import search_kind

    return search_kind(request.GET.get("q", ""))


def _action(method: str, name: str, path: str) -> str:
    if method == "DELETE":
        return Action("delete")
    if "export" in name:
        return Action("export")
    if method in READ_METHODS:
        return Action("read")
    if method in {"PUT", "PATCH"}:
        return Action("update")
    if name.endswith("void") or path.rstrip("/").endswith("/void"):
        return Action("void")
    if any(word in name for word in ("edit", "sign", "revoke")):
        return Action("update")
    return Action("create")


def classify(
    request: HttpRequest, match: ResolverMatch | None, authenticated: bool
) -> Target | None:
    """The audit target of a request, or None when the request is not audited.

    Audited: any request to a URL that names a patient or one of their records; any API or
    FHIR request by a signed-in caller that can return patient data; the audit pages; and any
    write by a signed-in user.
    """
    method = request.method or ""
    name = (match.url_name or "") if match else ""
    if name in SKIPPED_NAMES:
        return None
    kwargs = match.kwargs if match else {}
    action = _action(method, name, request.path)
    is_api = request.path.startswith(("/api/", "/fhir/"))
    target = Target(action=action)

    for key, kind in RECORD_KWARGS.items():
        if key in kwargs:
            target.object_type, target.object_id = kind, str(kwargs[key])
            pk = _int(kwargs[key])
            if "patient_id" not in kwargs and pk is not None:
                target.record = (kind, pk)
            break
    if "patient_id" in kwargs:
        target.patient_id = _int(kwargs["patient_id"])
        if not target.object_type:
            target.object_type, target.object_id = "patient", str(kwargs["patient_id"])
    if "kind_name" in kwargs:  # FHIR read or search
        kind_name = str(kwargs["kind_name"])
        target.object_type = kind_name
        resource_id = str(kwargs.get("resource_id", ""))
        target.object_id = resource_id
        if kind_name == "Patient":
            target.patient_id = _int(resource_id)
        elif kind_name in FHIR_RECORD_IDS:
            pattern, kind = FHIR_RECORD_IDS[kind_name]
            found = pattern.match(resource_id)
            if found:
                target.record = (kind, int(found.group(1)))
    if name == "selfreport-fill":
        target.object_type = "self_report_link"
        target.object_id = _link_hash(kwargs)  # as stored: the token itself is never kept
        target.record = ("self_report_link", 0)
    if is_api and target.patient_id is None and target.record is None:
        # an API list or FHIR search narrowed to patients: ?patient=7, ?subject=Patient/7,
        # ?patient=7,8, and a FHIR Patient search by ?_id=7,8
        ids: tuple[int, ...] = ()
        for key in ("patient", "subject", "patient_id"):
            if key in request.GET:
                ids = _ints(request.GET.getlist(key))
                break
        if not ids and kwargs.get("kind_name") == "Patient" and "_id" in request.GET:
            ids = _ints(request.GET.getlist("_id"))
        if len(ids) == 1:
            target.patient_id = ids[0]
        elif ids:
            target.patient_ids = ids
    if name in SEARCH_NAMES and method in READ_METHODS:
        kind = _search_kind(request)
        if kind:
            target.action, target.object_type, target.object_id = Action("search"), "patient", kind
    if name in REPORT_NAMES and method in READ_METHODS:
        target.action, target.object_type = REPORT_NAMES[name], "clinic_report"
    if not target.object_type:
        target.object_type = _object_type(name, is_api)

    touches_patient = (
        target.patient_id is not None or target.record is not None or bool(target.patient_ids)
    )
    if name.startswith("audit") or target.action == Action("search") or name in REPORT_NAMES:
        return target
    if touches_patient:
        return target
    if is_api and authenticated and name not in NON_PATIENT_API_NAMES:
        return target
    if method not in READ_METHODS and authenticated:
        return target
    return None


SECRET_KWARGS = frozenset({"token"})
"""URL keywords that are secrets (a self-report link's token): never written to the log."""


def _link_hash(kwargs: dict[str, Any]) -> str:
    from acuknee.records.models import SelfReportLink

    return str(SelfReportLink.hash_token(str(kwargs.get("token", ""))))


def logged_path(request: HttpRequest) -> str:
    """The path and query string, with secret URL parts replaced by ``[secret]`` and the text
    of a patient search by ``[search]``."""
    path = request.get_full_path()
    match = getattr(request, "resolver_match", None)
    if request.GET.get("q", "").strip():
        params = request.GET.copy()
        params.setlist("q", [SEARCH_MASK])
        path = f"{request.path}?{params.urlencode(safe='[]/,')}"
    for key in SECRET_KWARGS & set(match.kwargs if match else ()):
        secret = str(match.kwargs[key]) if match else ""
        if secret:
            path = path.replace(secret, "[secret]")
    return path


def created_patient(location: str) -> int | None:
    """The patient a create redirected to (``/patients/7/...``), read from its URL."""
    try:
        match = resolve(urlsplit(location).path)
    except Resolver404:
        return None
    return _int(match.kwargs.get("patient_id"))


def _object_type(name: str, is_api: bool) -> str:
    """``measurement_list`` → measurement, ``patient-create`` → patient, else the URL name."""
    base = re.split(r"[-_]", name, maxsplit=1)[0] if name else ""
    return base if base else ("api" if is_api else "")


def client_ip(request: HttpRequest) -> str | None:
    """The peer address Django saw (REMOTE_ADDR); a forwarded header is not trusted here."""
    raw = request.META.get("REMOTE_ADDR") or ""
    try:
        return str(ipaddress.ip_address(raw))
    except ValueError:
        return None


def clean(text: str, limit: int) -> str:
    """PostgreSQL text cannot hold NUL; columns have a length."""
    return text.replace("\x00", "")[:limit]


def who(user: Any) -> dict[str, Any]:
    """The user's id, username, clinic and role as they are now (snapshots)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return {}
    found: dict[str, Any] = {"user_id": user.pk, "username": clean(user.get_username(), 150)}
    try:
        staff = user.staff
    except (ObjectDoesNotExist, AttributeError):  # a user without a staff profile
        staff = None
    if staff is not None:
        found["clinic_id"] = staff.clinic_id
        found["role"] = staff.role
    return found


def _record_patient(kind: str, pk: int, clinic_id: int | None, request: HttpRequest) -> int | None:
    """The patient of a record addressed by its id, within the caller's clinic (else None)."""
    from acuknee.records.models import (
        IntakeRecord,
        Measurement,
        PlanRecord,
        SelfReportLink,
        TreatmentSession,
    )

    if kind == "self_report_link":
        match = request.resolver_match
        token = str(match.kwargs.get("token", "")) if match else ""
        rows: Any = SelfReportLink.objects.filter(token_hash=SelfReportLink.hash_token(token))
        return rows.values_list("patient_id", flat=True).first()
    model = {
        "intake": IntakeRecord,
        "plan": PlanRecord,
        "session": TreatmentSession,
        "measurement": Measurement,
    }[kind]
    rows = model.objects.filter(pk=pk, patient__clinic_id=clinic_id)
    return rows.values_list("patient_id", flat=True).first()


NOTE_ATTRIBUTE = "acuknee_audit_note"


def note(
    request: HttpRequest, *, object_type: str, object_id: str = "", subject: Any = None
) -> None:
    """Say what a view acted on, when the URL cannot (a token just made, a user named in a
    form): the request's audit row records it, with ``subject`` (a user) as whom it concerned."""
    setattr(request, NOTE_ATTRIBUTE, (object_type, object_id, subject))


def _subject(user: Any) -> dict[str, Any]:
    if user is None:
        return {}
    return {"subject_user_id": user.pk, "subject_username": clean(user.get_username(), 150)}


def build_all(request: HttpRequest, target: Target, status: int | None) -> list[AuditEvent]:
    """The rows for ``request`` (not saved): one, or one per patient of a multi-patient read."""
    if not target.patient_ids:
        return [build(request, target, status)]
    return [
        build(request, dataclasses.replace(target, patient_id=pk, patient_ids=()), status)
        for pk in target.patient_ids
    ]


def build(request: HttpRequest, target: Target, status: int | None) -> AuditEvent:
    """The row for ``request`` (not saved)."""
    user = getattr(request, "user", None)
    identity = who(user)
    noted = getattr(request, NOTE_ATTRIBUTE, None)
    subject: dict[str, Any] = {}
    if noted is not None:
        target.object_type, target.object_id, noted_user = noted
        subject = _subject(noted_user)
    event = AuditEvent(
        action=target.action,
        object_type=clean(target.object_type, 50),
        object_id=clean(target.object_id, 100),
        patient_id=target.patient_id,
        ip=client_ip(request),
        user_agent=clean(request.META.get("HTTP_USER_AGENT", ""), 300),
        method=clean(request.method or "", 10),
        path=clean(logged_path(request), 1000),
        status=status,
        **identity,
        **subject,
    )
    if target.patient_id is None and target.record is not None:
        kind, pk = target.record
        event.patient_id = _record_patient(kind, pk, identity.get("clinic_id"), request)
    return event
