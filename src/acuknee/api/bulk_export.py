"""FHIR Bulk Data Access (v2) ``$export`` under ``/fhir``: kick-off, status, files, cancel.

Kick-off at system (``/fhir/$export``), Group (``/fhir/Group/<clinic id>/$export``: a Group is a
clinic's patients) and Patient level (``/fhir/Patient/$export``) creates an ``ExportJob`` and
hands its id to a *runner*; the default one runs ``run_job`` in a background thread, so no
queue is needed (``run_export <job id>`` runs a job from another process). Every level exports
the caller's own clinic only: a clinic admin's system export is their clinic, a researcher is
refused. ``run_job`` streams raw rows (a DB-API cursor, ``fetchmany``) into
``acuknee.fhir.bulk``: the NDJSON lines Patients and Measurements stored when saved, copied in
blocks, and resources built only for rows without current lines. It writes one NDJSON file per
type under ``data_dir / "exports" / <job id>``, so memory does not grow with the data. Files and
status are the requesting user's only (another user's job is a 404), with the same Bearer token
as the REST API. Every error is an OperationOutcome.

Exported types (``bulk.RESOURCE_TYPES``): Patient, QuestionnaireResponse and Observation (stored
lines, the fast path), and Condition, Flag and ServiceRequest (intakes: the assessment, the
screening's safety findings and referrals), CarePlan (signed plans), Procedure and AdverseEvent
(sessions), built by the ``/fhir`` reads' own functions: the ids and content of the reads.
Voided records are left out. A record that cannot be mapped (bad stored data) fails alone: it
is logged (table and id, never content), left out, and reported as an OperationOutcome in the
``OperationOutcome`` file the manifest's ``error`` array lists; the rest of the export goes on.
``_since`` keeps the resources whose content *changed* at or after the instant: a record's
own ``updated_at`` (created, edited, signed or voided since then), and for a resource that also
shows other records, theirs (``CHANGED``): a CarePlan's activities and status change with its
sessions, the patient's measurements and plans; a Flag's status with the patient's intakes; a
ServiceRequest's with its referral's outcomes; a Procedure's ``basedOn`` with its plan. The
records to export are found in the same query from the rows changed since (the ``updated_at``
indexes), so neither the clinic's records nor any in Python are read to find them. A record
voided since is left out rather than listed as deleted (the spec's optional ``deleted`` output is
not produced). Kick-off is ``GET`` with query parameters. Finished jobs' files expire after
``ACUKNEE_EXPORT_RETENTION_HOURS`` (``expire_exports`` removes them; status and files of an
expired job answer 404 with an OperationOutcome).

A running job beats (``heartbeat_at``, at most every ``PROGRESS_EVERY_SECONDS``, after each chunk
of rows). A queued or running job with no beat for ``STALLED_AFTER`` lost its worker (the
process died or was killed): the status URL marks it failed and answers 500 with an
OperationOutcome saying so, as the spec has a failed export answer, instead of "202" for ever.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import logging
import shutil
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, cast

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.signals import request_finished
from django.db import connections
from django.db.models import BooleanField, Case, F, Q, Value, When
from django.http import FileResponse, HttpRequest, HttpResponse, JsonResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.http import http_date
from django.views.decorators.csrf import csrf_exempt

from acuknee.accounts.access import CLINICAL_ROLES, staff_clinic, staff_profile
from acuknee.api.auth import BearerToken, InsufficientScope
from acuknee.api.fhir_api import resources as fhir_resources
from acuknee.care.queries import live
from acuknee.fhir import bulk
from acuknee.records.models import (
    Clinic,
    ExportJob,
    IntakeRecord,
    Measurement,
    Patient,
    PlanRecord,
    ReferralOutcome,
    TreatmentSession,
)

logger = logging.getLogger(__name__)

Runner = Callable[[uuid.UUID], None]
"""Starts the work of a job created at kick-off (a thread by default; tests pass their own)."""

FHIR_JSON = "application/fhir+json"
NDJSON = "application/fhir+ndjson"
OUTPUT_FORMATS = {NDJSON, "application/ndjson", "ndjson"}
CHUNK = 2000
"""Rows fetched per database round trip; also how often a running job looks for a cancel."""
RETRY_AFTER_SECONDS = 2
DEFAULT_RETENTION = dt.timedelta(hours=24)
"""How long a finished job's files are kept unless ``ACUKNEE_EXPORT_RETENTION_HOURS`` says."""
STALLED_AFTER = dt.timedelta(minutes=2)
"""A job silent this long has no worker: many times the beat interval, longer than any pause
between chunks of a healthy job."""
FINISHED = (ExportJob.Status.COMPLETED, ExportJob.Status.FAILED, ExportJob.Status.CANCELLED)
ERRORS = "OperationOutcome"
"""The file of the records that could not be mapped (one OperationOutcome each), listed in the
manifest's ``error`` array as FHIR Bulk Data specifies; in ``ExportJob.output`` with
``"error": true``. Never an exported type, so it cannot clash with one."""


def retention() -> dt.timedelta:
    hours = getattr(settings, "ACUKNEE_EXPORT_RETENTION_HOURS", None)
    return DEFAULT_RETENTION if hours is None else dt.timedelta(hours=float(hours))


def expires_at(job: ExportJob) -> dt.datetime | None:
    return None if job.finished_at is None else job.finished_at + retention()


def expire_exports(now: dt.datetime | None = None) -> int:
    """Remove the files of every finished job older than the retention and mark it expired, so
    health data does not pile up on disk; returns how many jobs expired."""
    cutoff = (now or timezone.now()) - retention()
    old = ExportJob.objects.filter(status__in=FINISHED, finished_at__lt=cutoff)
    expired = 0
    for job_id in old.values_list("pk", flat=True):
        shutil.rmtree(job_dir(job_id), ignore_errors=True)
        expired += ExportJob.objects.filter(pk=job_id, status__in=FINISHED).update(
            status=ExportJob.Status.EXPIRED, output=[]
        )
    return expired


def exports_root() -> Path:
    """Where job files live: ``ACUKNEE_EXPORTS_DIR`` in settings (tests), else the data dir's
    ``exports`` folder."""
    override = getattr(settings, "ACUKNEE_EXPORTS_DIR", None)
    return Path(override) if override else settings.CONFIG.data_dir / "exports"


def job_dir(job_id: uuid.UUID) -> Path:
    return exports_root() / str(job_id)


# --- answers -------------------------------------------------------------------------------------


def outcome(status: int, code: str, message: str, expression: str | None = None) -> JsonResponse:
    """An OperationOutcome with one error issue (``code`` from FHIR's issue-type value set),
    naming the parameter at fault in ``expression`` when there is one."""
    issue: dict[str, Any] = {"severity": "error", "code": code, "diagnostics": message}
    if expression is not None:
        issue["expression"] = [expression]
    body = {"resourceType": "OperationOutcome", "issue": [issue]}
    response = JsonResponse(body, status=status, content_type=FHIR_JSON)
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="acuknee"'
    return response


class _Refused(Exception):
    def __init__(self, response: HttpResponse) -> None:
        self.response = response


def _authenticate(request: HttpRequest) -> None:
    """The Bearer token's user with a clinical role in a clinic, else 401 / 403."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    try:
        found = BearerToken().authenticate(request, token) if scheme.lower() == "bearer" else None
    except InsufficientScope as exc:
        raise _Refused(outcome(403, "forbidden", str(exc))) from None
    if found is None:
        raise _Refused(outcome(401, "login", "a valid API token is required (Bearer)"))
    try:
        if staff_profile(request).role not in CLINICAL_ROLES:
            raise PermissionDenied("role")
        staff_clinic(request)
    except PermissionDenied:
        raise _Refused(
            outcome(403, "forbidden", "bulk export is for a clinic's practitioners and admins")
        ) from None


def _own_job(request: HttpRequest, job_id: uuid.UUID) -> ExportJob:
    """The caller's job, made for the clinic they are in *now*: checked on every status and
    file request (with the role, in ``_authenticate``), so a user moved to another clinic or
    to a role without exports cannot fetch what they exported before."""
    clinic = staff_clinic(request)
    job = ExportJob.objects.filter(pk=job_id, user=request.user, clinic=clinic).first()
    if job is None:
        raise _Refused(outcome(404, "not-found", "no such export job"))
    return cast(ExportJob, job)


def _guarded(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except _Refused as refused:
            return refused.response

    wrapper.__name__ = view.__name__
    wrapper.__doc__ = view.__doc__
    return cast(Callable[..., HttpResponse], csrf_exempt(wrapper))


# --- kick-off ------------------------------------------------------------------------------------


MAX_OFFSET = dt.timedelta(hours=14)
"""The largest time zone offset a FHIR R4 instant may carry, either way (its regex)."""


def _since(text: str | None) -> dt.datetime | None:
    """``_since`` as a UTC instant; anything that is not one is a 400 naming ``_since``, before
    a job is stored.

    Refused: no time zone, digits other than ASCII, a day or hour the calendar lacks
    (``2026-02-30``, ``T24:00``: ``parse_datetime`` raises for these rather than answering
    None), an offset beyond FHIR's ±14:00, and an instant whose UTC time falls before year 1 or
    after 9999 (the database stores it in UTC: converting it overflowed inside the job's
    insert)."""
    if text is None:
        return None

    def refused(why: str) -> _Refused:
        return _Refused(outcome(400, "invalid", f"_since {why}: {text[:80]!r}", "_since"))

    # A "+" left unencoded in a query string arrives as a space.
    written = text.replace(" ", "+")
    try:
        parsed: dt.datetime | None = parse_datetime(written) if written.isascii() else None
    except ValueError:
        raise refused("is not a date and time the calendar has") from None
    if parsed is None or parsed.tzinfo is None:
        raise refused("must be a FHIR instant with a time zone (YYYY-MM-DDThh:mm:ss+zz:zz)")
    offset = parsed.utcoffset()
    if offset is None or abs(offset) > MAX_OFFSET:
        raise refused("must have a time zone offset between -14:00 and +14:00")
    try:
        return parsed.astimezone(dt.UTC)
    except OverflowError:
        raise refused("falls outside the years 1 to 9999 in UTC") from None


def _check_kickoff(request: HttpRequest) -> tuple[list[str], dt.datetime | None]:
    if "respond-async" not in request.headers.get("Prefer", ""):
        raise _Refused(outcome(400, "invalid", "the Prefer: respond-async header is required"))
    if FHIR_JSON not in request.headers.get("Accept", ""):
        raise _Refused(outcome(400, "invalid", f"the Accept: {FHIR_JSON} header is required"))
    params = request.GET
    output_format = params.get("_outputFormat")
    if output_format is not None and output_format not in OUTPUT_FORMATS:
        raise _Refused(outcome(400, "not-supported", f"_outputFormat must be {NDJSON}"))
    try:
        types = bulk.parse_types(params.get("_type"))
    except ValueError as exc:
        raise _Refused(outcome(400, "not-supported", str(exc))) from None
    return types, _since(params.get("_since"))


def _kickoff(
    request: HttpRequest, runner: Runner, level: str, group_id: str | None = None
) -> HttpResponse:
    if request.method != "GET":  # the spec's POST form (a Parameters body) is not supported
        return outcome(405, "not-supported", "kick-off is GET, with query parameters")
    _authenticate(request)
    clinic = staff_clinic(request)
    if group_id is not None and group_id != str(clinic.pk):
        raise _Refused(outcome(404, "not-found", "no such Group"))
    types, since = _check_kickoff(request)
    expire_exports()
    job = ExportJob.objects.create(
        user=request.user,
        clinic=clinic,
        level=level,
        types=types,
        since=since,
        request_url=request.build_absolute_uri(),
        transaction_time=timezone.now(),
    )
    runner(job.id)
    response = HttpResponse(status=202)
    response["Content-Location"] = request.build_absolute_uri(
        reverse("fhir-export-status", args=[job.id])
    )
    return response


# --- status, cancel, files -----------------------------------------------------------------------


def _manifest(request: HttpRequest, job: ExportJob) -> dict[str, Any]:
    def url(item: Mapping[str, Any]) -> str:
        return str(
            request.build_absolute_uri(reverse("fhir-export-file", args=[job.id, item["type"]]))
        )

    return {
        "transactionTime": job.transaction_time.isoformat().replace("+00:00", "Z"),
        "request": job.request_url,
        "requiresAccessToken": True,
        "output": [
            {"type": item["type"], "url": url(item), "count": item["count"]}
            for item in job.output
            if not item.get("error")
        ],
        "error": [
            {"type": item["type"], "url": url(item)} for item in job.output if item.get("error")
        ],
    }


def _status(request: HttpRequest, job_id: uuid.UUID) -> HttpResponse:
    _authenticate(request)
    job = _own_job(request, job_id)
    if request.method == "DELETE":
        job.refresh_from_db()
        if job.status in (ExportJob.Status.QUEUED, ExportJob.Status.RUNNING):
            ExportJob.objects.filter(pk=job.pk).update(
                status=ExportJob.Status.CANCELLED, finished_at=timezone.now()
            )
        elif job.status == ExportJob.Status.CANCELLED:
            return outcome(404, "not-found", "this export was already cancelled")
        elif job.status == ExportJob.Status.EXPIRED:
            return outcome(404, "not-found", "this export has expired and its files are gone")
        else:
            ExportJob.objects.filter(pk=job.pk).update(status=ExportJob.Status.CANCELLED)
        shutil.rmtree(job_dir(job.id), ignore_errors=True)
        return HttpResponse(status=202)
    if request.method != "GET":
        return outcome(405, "not-supported", "status is GET, or DELETE to cancel")
    if fail_if_stalled(job):
        job.refresh_from_db()
    if job.status in (ExportJob.Status.QUEUED, ExportJob.Status.RUNNING):
        response = HttpResponse(status=202)
        response["X-Progress"] = job.progress or job.get_status_display()
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
    if _expired(job):
        return outcome(404, "not-found", "this export has expired; start a new one")
    if job.status == ExportJob.Status.COMPLETED:
        response = JsonResponse(_manifest(request, job))
        until = expires_at(job)
        if until is not None:  # the spec's optional Expires header: when the files go
            response["Expires"] = http_date(until.timestamp())
        return response
    if job.status == ExportJob.Status.CANCELLED:
        return outcome(404, "not-found", "this export was cancelled")
    return outcome(500, "exception", f"the export failed: {job.error}")


def fail_if_stalled(job: ExportJob, now: dt.datetime | None = None) -> bool:
    """Mark a queued or running job failed when its worker has not beaten for
    ``STALLED_AFTER``; True when this call failed it. The update is conditional on the beat
    it saw, so a worker that beats meanwhile is not failed."""
    if job.status not in (ExportJob.Status.QUEUED, ExportJob.Status.RUNNING):
        return False
    now = now or timezone.now()
    last = job.heartbeat_at or job.created_at
    if now - last < STALLED_AFTER:
        return False
    failed = ExportJob.objects.filter(
        pk=job.pk,
        status__in=(ExportJob.Status.QUEUED, ExportJob.Status.RUNNING),
        heartbeat_at=job.heartbeat_at,
    ).update(
        status=ExportJob.Status.FAILED,
        error=(
            f"the export worker stopped (no sign of life since {last:%Y-%m-%d %H:%M:%S %Z}); "
            "start a new export"
        ),
        finished_at=now,
    )
    if failed:
        shutil.rmtree(job_dir(job.pk), ignore_errors=True)
    return bool(failed == 1)


def _expired(job: ExportJob) -> bool:
    """Expired, or past its retention though no sweep has run yet."""
    until = expires_at(job)
    past = job.status in FINISHED and until is not None and until <= timezone.now()
    return job.status == ExportJob.Status.EXPIRED or past


def _file(request: HttpRequest, job_id: uuid.UUID, resource_type: str) -> HttpResponse:
    if request.method != "GET":
        return outcome(405, "not-supported", "export files are GET only")
    _authenticate(request)
    job = _own_job(request, job_id)
    listed = {item["type"] for item in job.output}
    target = job_dir(job.id) / f"{resource_type}.ndjson"
    if _expired(job):
        return outcome(404, "not-found", "this export has expired; start a new one")
    if job.status != ExportJob.Status.COMPLETED or resource_type not in listed:
        return outcome(404, "not-found", "no such export file")
    if not target.is_file():
        return outcome(404, "not-found", "the export file was removed")
    return FileResponse(target.open("rb"), content_type=NDJSON)


# --- the job -------------------------------------------------------------------------------------


class Cancelled(Exception):
    """The job was cancelled (DELETE) while it ran."""


def _queryset(job: ExportJob, table: str) -> Any:
    """``table``'s export rows: the job's clinic, not voided, changed at or after ``_since``;
    Patients in primary-key order, Measurements by patient, then primary key. That order is the
    ``patient_id`` index's, and the patients come as an ``IN`` subquery, not a join, so no
    database sorts the clinic's rows before the first one (SQLite sorted them, blobs and all, in
    a temporary B-tree when ordered by primary key over a join)."""
    patients = live(Patient).filter(clinic_id=job.clinic_id)
    if table == "Patient":
        queryset: Any = patients.order_by("pk")
    else:
        queryset = (
            live(Measurement)
            .filter(patient_id__in=patients.values("pk"))
            .order_by("patient_id", "pk")
        )
    if job.since is not None:
        queryset = queryset.filter(updated_at__gte=job.since)
    return queryset


def _chunks(queryset: Any, columns: Sequence[Any]) -> Iterator[list[tuple[Any, ...]]]:
    """``columns`` (names or expressions) of the rows, in chunks of ``CHUNK``. The SQL is the
    ORM's (the same on SQLite and PostgreSQL) run on a raw DB-API cursor: no model or dict per
    row. ``chunked_cursor`` is a server-side (named) cursor on PostgreSQL, so rows stream from
    the server; SQLite's cursor steps through the result as ``fetchmany`` asks."""
    sql, params = queryset.values_list(*columns).query.sql_with_params()
    connection = connections[queryset.db]
    # On PostgreSQL in autocommit, Django makes the named cursor WITH HOLD: no transaction is
    # held open, so progress writes and a cancel from another connection are seen meanwhile.
    with connection.chunked_cursor() as cursor:
        cursor.execute(sql, params)
        while chunk := cursor.fetchmany(CHUNK):
            yield chunk


def _write_table(
    job: ExportJob, table: str, sinks: Mapping[str, bulk.Sink], slug: str, failed: bulk.Failed
) -> dict[str, int]:
    """Every line of ``table``'s resources in one pass: each row brings its primary key and the
    lines it stored at save, or NULLs (a ``CASE``) where they are not of the current
    ``render_version``; ``bulk.write_rendered`` copies the former and builds the latter."""
    queryset = _queryset(job, table)
    current = Q(fhir_version=bulk.render_version())
    model = queryset.model
    stored = [
        Case(
            When(current, then=F(name)),
            default=Value(None),
            output_field=model._meta.get_field(name),
        )
        for name in bulk.RENDERED_COLUMNS[table]
    ]

    def raw_rows(pks: list[Any]) -> Iterable[tuple[Any, ...]]:
        rows = model.objects.filter(pk__in=pks).order_by("pk")
        return rows.values_list(*bulk.TABLE_COLUMNS[table])  # type: ignore[no-any-return]

    label = f"reading {table} records"
    ExportJob.objects.filter(pk=job.pk).update(progress=label)
    chunks = _watch(job.pk, _chunks(queryset, ["pk", *stored]), label)
    return bulk.write_rendered(table, chunks, sinks, slug, raw_rows, failed=failed)


RECORD_MODELS: dict[str, Any] = {
    "IntakeRecord": IntakeRecord,
    "PlanRecord": PlanRecord,
    "TreatmentSession": TreatmentSession,
}


RECORD_BUILDERS: dict[str, tuple[tuple[str, Callable[[Any], list[dict[str, Any]]]], ...]] = {
    "IntakeRecord": (
        ("Condition", lambda r: [fhir_resources.condition_json(r)]),
        ("Flag", fhir_resources.flag_jsons),
        ("ServiceRequest", fhir_resources.service_request_jsons),
    ),
    "PlanRecord": (("CarePlan", lambda r: [fhir_resources.care_plan_json(r)]),),
    "TreatmentSession": (
        ("Procedure", lambda r: [fhir_resources.procedure_json(r)]),
        ("AdverseEvent", fhir_resources.adverse_event_jsons),
    ),
}
"""Per record table, the types built from a record and the ``/fhir`` reads' function that
builds them."""


def _changed(model: Any, since: dt.datetime, column: str = "pk", **rows: Any) -> Any:
    """``column`` of the rows of ``model`` (``rows`` narrowing them) changed at or after
    ``since``, voided ones too (a void changes what is served): found by the ``updated_at``
    index, so an incremental export reads the few recent rows, not the clinic's."""
    found = model.objects.filter(updated_at__gte=since, **rows)
    return found.order_by().values(column)


def _of(model: Any, column: str, ids: Any) -> Any:
    """The pks of ``model``'s rows whose ``column`` is among ``ids`` (a subquery)."""
    return model.objects.filter(**{f"{column}__in": ids}).order_by().values("pk")


CHANGED: dict[str, Callable[[dt.datetime], list[Any]]] = {
    "Condition": lambda since: [_changed(IntakeRecord, since)],
    "Flag": lambda since: [
        _of(IntakeRecord, "patient_id", _changed(IntakeRecord, since, "patient_id"))
    ],
    "ServiceRequest": lambda since: [
        _changed(IntakeRecord, since),
        _changed(ReferralOutcome, since, "intake_id"),
    ],
    "CarePlan": lambda since: [
        _changed(PlanRecord, since),
        _changed(TreatmentSession, since, "plan_id"),
        _of(PlanRecord, "patient_id", _changed(Measurement, since, "patient_id")),
        _of(
            PlanRecord,
            "patient_id",
            _changed(PlanRecord, since, "patient_id", status=PlanRecord.Status.SIGNED),
        ),
    ],
    "Procedure": lambda since: [
        _changed(TreatmentSession, since),
        _of(TreatmentSession, "plan_id", _changed(PlanRecord, since)),
    ],
    "AdverseEvent": lambda since: [_changed(TreatmentSession, since)],
}
"""Per type built from a record, the pks of the record's rows whose resources of that type may
have changed since an instant (subqueries, any of which may hold one): the record itself, or
what else the resource shows. A Flag is active while its intake is the patient's latest, so any
intake of the patient (a later one recorded or voided) changes it; a ServiceRequest is completed
by an outcome; a CarePlan shows its visit states (its sessions, amended or voided, and the
patient's measurements) and whether a later plan superseded it; a Procedure names its plan while
the plan is signed and live."""


def _union(parts: list[Any]) -> Any:
    """One subquery of the pks any of ``parts`` holds (a flat ``UNION``: the database starts
    from these few rows, by primary key)."""
    first, *rest = parts
    return first.union(*rest) if rest else first


def _record_lines(
    job: ExportJob, table: str, failed: Callable[[Sequence[str], str, Any, Exception], None]
) -> Iterator[tuple[str, bytes]]:
    """``(type, NDJSON line)`` built from ``table``'s records (``bulk.RECORD_TABLES``) by the
    ``/fhir`` reads' functions, with the same filters as the raw rows and the facts those read
    (``care.standing``, annotated on the rows), streamed in pk order. With ``_since``, a record
    gives the types whose content changed since (``CHANGED``). A record whose resources of a
    type cannot be built or encoded (bad stored data) goes to ``failed`` and those are left out;
    its other types and the other records are exported."""
    queryset: Any = live(RECORD_MODELS[table]).filter(
        patient__clinic_id=job.clinic_id, patient__voided_at__isnull=True
    )
    builders = [(t, build) for t, build in RECORD_BUILDERS[table] if t in job.types]
    wanted: dict[str, str] = {}
    if job.since is not None:
        changed = {t: CHANGED[t](job.since) for t, _ in builders}
        parts = [part for found in changed.values() for part in found]
        queryset = queryset.filter(pk__in=_union(parts))
        if len(builders) > 1:
            # A record may have changed for one of its types and not another: each says.
            wanted = {t: f"changed_{n}" for n, (t, _) in enumerate(builders)}
            flags = {
                wanted[t]: Case(
                    When(pk__in=_union(found), then=Value(True)),
                    default=Value(False),
                    output_field=BooleanField(),
                )
                for t, found in changed.items()
            }
            queryset = queryset.annotate(**flags)
    if table == "IntakeRecord" and {"Flag", "ServiceRequest"} & set(job.types):
        queryset = fhir_resources.intake_rows(queryset)
    if table == "PlanRecord":
        queryset = fhir_resources.plan_rows(queryset.filter(status="signed"))
    if table == "TreatmentSession":
        queryset = queryset.select_related("plan", "created_by")
    for done, record in enumerate(queryset.order_by("pk").iterator(chunk_size=CHUNK), start=1):
        if done % CHUNK == 0:
            _check(job.pk, f"reading {table} records: {done} rows read")
        for resource_type, build in builders:
            if resource_type in wanted and not getattr(record, wanted[resource_type], True):
                continue
            try:
                lines = [bulk.encode(resource) for resource in build(record)]
            except Exception as exc:
                failed((resource_type,), table, record.pk, exc)
                continue
            for line in lines:
                yield resource_type, line


def unmapped_outcome(resource_types: Sequence[str], table: str, pk: Any) -> dict[str, Any]:
    """The OperationOutcome of a record left out of an export: its table, id and the types it
    should have given, never its content (which is what could not be read)."""
    return {
        "resourceType": "OperationOutcome",
        "issue": [
            {
                "severity": "error",
                "code": "exception",
                "diagnostics": (
                    f"{', '.join(resource_types)} of {table} {pk} could not be built from the "
                    "stored record and was left out of this export"
                ),
            }
        ],
    }


PROGRESS_EVERY_SECONDS = 1.0
"""Progress is a write (a commit, an fsync on SQLite): at most this often, not every chunk."""
_progress_written: dict[uuid.UUID, float] = {}


def _check(job_id: uuid.UUID, progress: str) -> None:
    """Raise ``Cancelled`` if the job was cancelled, else record its progress (now and then)."""
    status = ExportJob.objects.filter(pk=job_id).values_list("status", flat=True).first()
    if status == ExportJob.Status.CANCELLED:
        raise Cancelled
    now = time.monotonic()
    if now - _progress_written.get(job_id, 0.0) >= PROGRESS_EVERY_SECONDS:
        ExportJob.objects.filter(pk=job_id).update(progress=progress, heartbeat_at=timezone.now())
        _progress_written[job_id] = now


def _watch(
    job_id: uuid.UUID, chunks: Iterator[list[tuple[Any, ...]]], label: str
) -> Iterator[list[tuple[Any, ...]]]:
    """Pass chunks of rows through, looking for a cancel and writing progress after each."""
    done = 0
    for chunk in chunks:
        yield chunk
        done += len(chunk)
        _check(job_id, f"{label}: {done} rows read")


def write_export(job: ExportJob, directory: Path) -> list[dict[str, Any]]:
    """Write one NDJSON file per asked type into ``directory``, reading each table once; the
    manifest's outputs, in ``job.types`` order (a type with no resource has no file), then the
    ``ERRORS`` file if a record could not be mapped (it is left out, logged and reported). Raises
    ``Cancelled`` if the job is cancelled meanwhile."""
    directory.mkdir(parents=True, exist_ok=True)
    counts = dict.fromkeys(job.types, 0)
    slug = Clinic.objects.values_list("slug", flat=True).get(pk=job.clinic_id)
    with contextlib.ExitStack() as stack:
        files = {
            t: stack.enter_context((directory / f"{t}.part").open("wb", buffering=1 << 16))
            for t in job.types
        }
        sinks = {t: f.write for t, f in files.items()}
        errors = stack.enter_context((directory / f"{ERRORS}.part").open("wb"))
        unmapped = 0

        def failed(resource_types: Sequence[str], table: str, pk: Any, exc: Exception) -> None:
            nonlocal unmapped
            # The record's id and table only: its content is what could not be read.
            logger.exception(
                "FHIR export %s: %s %s could not be mapped to %s; left out and reported",
                job.pk,
                table,
                pk,
                ", ".join(resource_types),
                exc_info=exc,
            )
            errors.write(bulk.encode(unmapped_outcome(resource_types, table, pk)))
            unmapped += 1

        for table in bulk.TABLES:
            if not bulk.reads(table, job.types):
                continue
            types = [t for t in job.types if bulk.SOURCE[t] == table]
            counts |= _write_table(job, table, sinks, slug, functools.partial(failed, types))
        for table in bulk.RECORD_TABLES:
            if not bulk.reads(table, job.types):
                continue
            ExportJob.objects.filter(pk=job.pk).update(
                progress=f"reading {table} records", heartbeat_at=timezone.now()
            )
            for resource_type, line in _record_lines(job, table, failed):
                sinks[resource_type](line)
                counts[resource_type] += 1
    output: list[dict[str, Any]] = []
    for resource_type, count in counts.items():
        partial = directory / f"{resource_type}.part"
        if count:
            partial.replace(directory / f"{resource_type}.ndjson")
            output.append({"type": resource_type, "count": count})
        else:
            partial.unlink()
    partial = directory / f"{ERRORS}.part"
    if unmapped:
        partial.replace(directory / f"{ERRORS}.ndjson")
        output.append({"type": ERRORS, "count": unmapped, "error": True})
    else:
        partial.unlink()
    return output


def run_job(job_id: uuid.UUID | str) -> str:
    """Run a queued job to its end: completed (manifest ready), failed or cancelled."""
    job = ExportJob.objects.get(pk=job_id)
    started = ExportJob.objects.filter(pk=job.pk, status=ExportJob.Status.QUEUED).update(
        status=ExportJob.Status.RUNNING, progress="started", heartbeat_at=timezone.now()
    )
    if started != 1:
        return str(job.status)
    directory = job_dir(job.pk)
    try:
        output = write_export(job, directory)
    except Cancelled:
        _progress_written.pop(job.pk, None)
        shutil.rmtree(directory, ignore_errors=True)
        return "cancelled"
    except Exception as exc:
        _progress_written.pop(job.pk, None)
        shutil.rmtree(directory, ignore_errors=True)
        ExportJob.objects.filter(pk=job.pk).update(
            status=ExportJob.Status.FAILED,
            error=str(exc) or type(exc).__name__,
            finished_at=timezone.now(),
        )
        raise
    _progress_written.pop(job.pk, None)
    finished = ExportJob.objects.filter(pk=job.pk, status=ExportJob.Status.RUNNING).update(
        status=ExportJob.Status.COMPLETED, output=output, progress="", finished_at=timezone.now()
    )
    if finished != 1:  # cancelled after the last check
        shutil.rmtree(directory, ignore_errors=True)
        return "cancelled"
    return "completed"


def thread_runner(job_id: uuid.UUID) -> None:
    """Run the job in a daemon thread with its own database connection."""

    def work() -> None:
        try:
            # A failure is recorded on the job (status failed, its error), which the status
            # URL reports; the thread has no one else to tell.
            with contextlib.suppress(Exception):
                run_job(job_id)
        finally:
            connections.close_all()

    thread = threading.Thread(target=work, name=f"fhir-export-{job_id}", daemon=True)
    uid = f"fhir-export-start-{job_id}"

    def start(**kwargs: Any) -> None:
        # Once the kick-off request has finished (its audit row written): the worker's reads
        # never race that request's own writes (SQLite lets one writer hold the tables).
        request_finished.disconnect(dispatch_uid=uid)
        thread.start()

    request_finished.connect(start, weak=False, dispatch_uid=uid)


# --- URLs ----------------------------------------------------------------------------------------


def urlpatterns_for(runner: Runner = thread_runner) -> list[URLPattern]:
    """The ``$export`` URLs (to include under ``fhir/``), with the runner that starts jobs."""

    def system(request: HttpRequest) -> HttpResponse:
        return _kickoff(request, runner, "system")

    def group(request: HttpRequest, group_id: str) -> HttpResponse:
        return _kickoff(request, runner, "group", group_id)

    def patients(request: HttpRequest) -> HttpResponse:
        return _kickoff(request, runner, "patient")

    return [
        path("$export", _guarded(system), name="fhir-export-system"),
        path("Group/<str:group_id>/$export", _guarded(group), name="fhir-export-group"),
        path("Patient/$export", _guarded(patients), name="fhir-export-patient"),
        path("$export-status/<uuid:job_id>", _guarded(_status), name="fhir-export-status"),
        path(
            "$export-file/<uuid:job_id>/<str:resource_type>.ndjson",
            _guarded(_file),
            name="fhir-export-file",
        ),
    ]


urlpatterns = urlpatterns_for()
