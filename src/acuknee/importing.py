"""CSV import of patients, measurements and sessions into one clinic (and the same columns as a
REDCap export).

Every row is checked by the same rules as the web forms before anything is stored: patients by
``PatientForm`` and the care layer's ``check_details`` (record number unique in the clinic, a
plausible date of birth), measurements by the core's ``score``, sessions as the core
``SessionRecord``. Every problem is reported with its line, column and message; a real import
stores all rows in one transaction, or nothing when any row is bad. Columns are documented in
docs/formats.md ("acuknee import").
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Literal

import pydantic
from django.db import IntegrityError, transaction

from acuknee.care import errors, services
from acuknee.care.errors import InvalidRecord
from acuknee.care.patients import PatientDetails, check_details, register_patient
from acuknee.care.queries import live, session_problems, signed_plan
from acuknee.clinical import InvalidInput, InvalidInputs, SessionRecord, load_knowledge, score
from acuknee.forms.measurements import clinic_instruments
from acuknee.forms.patients import PatientForm
from acuknee.records.ids import whole_number
from acuknee.records.models import Clinic, Patient

Kind = Literal["patients", "measurements", "sessions"]
KINDS: tuple[Kind, ...] = ("patients", "measurements", "sessions")

PATIENT_REQUIRED = ("record_number", "given_name", "family_name", "date_of_birth", "sex")
PATIENT_OPTIONAL = ("phone", "email")
MEASUREMENT_REQUIRED = ("record_number", "measured_on")
SESSION_REQUIRED = ("record_number", "date")
SESSION_OPTIONAL = (
    "number",
    "points",
    "points_side",
    "needle_diameter_mm",
    "needle_length_mm",
    "needle_material",
    "needle_manufacturer",
    "number_of_needles",
    "retention_minutes",
    "electro",
    "response_sought",
    "pain_before",
    "pain_after",
    "adverse_events",
    "practitioner_id",
    "note",
)
REDCAP_IGNORED = (
    "redcap_event_name",
    "redcap_repeat_instrument",
    "redcap_repeat_instance",
    "redcap_data_access_group",
    "redcap_survey_identifier",
)
"""REDCap bookkeeping columns: accepted and ignored (the date columns say when)."""


class ImportFileError(Exception):
    """The file as a whole cannot be imported (encoding, empty, missing columns, unknown kind)."""


@dataclass(frozen=True)
class Problem:
    line: int
    column: str | None
    message: str

    def __str__(self) -> str:
        where = f"line {self.line}" + (f", column {self.column}" if self.column else "")
        return f"{where}: {self.message}"


@dataclass
class ImportReport:
    kind: Kind
    rows: int
    dry_run: bool
    problems: list[Problem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    stored: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "rows": self.rows,
            "dry_run": self.dry_run,
            "stored": self.stored,
            "warnings": self.warnings,
            "problems": [
                {"line": p.line, "column": p.column, "message": p.message} for p in self.problems
            ],
        }


@dataclass
class _Row:
    line: int
    values: dict[str, str]
    too_many_cells: bool = False


# --- reading -------------------------------------------------------------------------------------


def decode(data: bytes, name: str = "file") -> str:
    """UTF-8 text, with or without a byte-order mark; anything else is refused clearly."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ImportFileError(
            f"{name}: not UTF-8 text (byte {exc.start + 1}, line {line}); save it as "
            "'CSV UTF-8' and try again"
        ) from None


def _redcap_name(column: str) -> str:
    return "record_number" if column == "record_id" else column


def read_rows(text: str) -> tuple[list[str], list[_Row]]:
    """The header (REDCap ``record_id`` read as ``record_number``) and the non-blank rows, each
    with the line it starts on (the header is line 1)."""
    if not text.strip():
        raise ImportFileError("the file is empty")
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [_redcap_name(h.strip()) for h in next(reader)]
        rows: list[_Row] = []
        last = reader.line_num
        for cells in reader:
            start, last = last + 1, reader.line_num
            if not any(c.strip() for c in cells):
                continue
            values = {h: c.strip() for h, c in zip(header, cells, strict=False)}
            rows.append(_Row(start, values, too_many_cells=len(cells) > len(header)))
    except csv.Error as exc:
        raise ImportFileError(f"line {reader.line_num}: not valid CSV ({exc})") from None
    duplicates = sorted({h for h in header if header.count(h) > 1})
    if duplicates:
        raise ImportFileError(f"line 1: column(s) given twice: {', '.join(duplicates)}")
    if not rows:
        raise ImportFileError("the file has a header but no rows to import")
    return header, rows


# --- columns -------------------------------------------------------------------------------------


def _item_columns(kb: Any) -> dict[str, tuple[str, str]]:
    """``koos_P1`` -> (``koos``, ``P1``) for every item of every instrument recorded at a visit."""
    return {
        f"{inst}_{item.code}": (inst, item.code)
        for inst in clinic_instruments(kb)
        for item in kb.instruments[inst].items
    }


def _ignorable(column: str) -> bool:
    return column in REDCAP_IGNORED or column.endswith("_complete") or column.endswith("_timestamp")


def detect_kind(header: list[str]) -> Kind:
    """From the columns: ``date_of_birth`` means patients, ``measured_on`` measurements, ``date``
    sessions."""
    signs: tuple[tuple[Kind, str], ...] = (
        ("patients", "date_of_birth"),
        ("measurements", "measured_on"),
        ("sessions", "date"),
    )
    found = [kind for kind, column in signs if column in header]
    if len(found) != 1:
        raise ImportFileError(
            "line 1: cannot tell patients, measurements or sessions from the columns; pass --kind"
        )
    return found[0]


def _check_columns(kind: Kind, header: list[str], kb: Any) -> list[str]:
    """Raise for missing required columns; return warnings for columns that will be ignored."""
    required: tuple[str, ...]
    if kind == "patients":
        required, known = PATIENT_REQUIRED, set(PATIENT_REQUIRED + PATIENT_OPTIONAL)
    elif kind == "measurements":
        required, known = MEASUREMENT_REQUIRED, set(MEASUREMENT_REQUIRED) | set(_item_columns(kb))
    else:
        required, known = SESSION_REQUIRED, set(SESSION_REQUIRED + SESSION_OPTIONAL)
    missing = [c for c in required if c not in header]
    if missing:
        raise ImportFileError(f"line 1: missing required column(s): {', '.join(missing)}")
    extra = [
        c
        for c in header
        if c not in known
        and not _ignorable(c)
        and not (kind == "sessions" and c.startswith("points___"))
    ]
    return [f"column {c!r} is not a {kind} column and is ignored" for c in extra]


# --- rows ----------------------------------------------------------------------------------------


def _date(row: _Row, column: str, problems: list[Problem]) -> dt.date | None:
    text = row.values.get(column, "")
    if not text:
        problems.append(Problem(row.line, column, "required"))
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        problems.append(Problem(row.line, column, f"{text!r} is not a date (use YYYY-MM-DD)"))
        return None


def _patients_by_number(clinic: Clinic) -> dict[str, Patient]:
    return {p.record_number: p for p in Patient.objects.filter(clinic=clinic)}


def _patient(row: _Row, known: dict[str, Patient], problems: list[Problem]) -> Patient | None:
    number = row.values.get("record_number", "")
    if not number:
        problems.append(Problem(row.line, "record_number", "required"))
        return None
    found = known.get(number)
    if found is None:
        problems.append(Problem(row.line, "record_number", f"no patient {number!r} in this clinic"))
        return None
    if found.is_voided:
        problems.append(Problem(row.line, "record_number", f"patient {number!r} is voided"))
        return None
    return found


def _check_patients(
    clinic: Clinic, rows: list[_Row], problems: list[Problem]
) -> list[PatientDetails]:
    """Each row parsed by the registration form and checked by the care layer's rules (required
    details, a plausible birth date, a record number free in the clinic), as on the page."""
    found: list[PatientDetails] = []
    first_line: dict[str, int] = {}
    for row in rows:
        data = {c: row.values.get(c, "") for c in PATIENT_REQUIRED + PATIENT_OPTIONAL}
        form = PatientForm(data)
        if form.is_valid():
            try:
                found.append(check_details(clinic, form.details()))
            except InvalidRecord as exc:
                problems.extend(Problem(row.line, name, message) for name, message in exc.problems)
        for name, messages in form.errors.items():
            for message in messages:
                problems.append(Problem(row.line, None if name == "__all__" else name, message))
        number = data["record_number"]
        if number and number in first_line:
            message = f"record number {number!r} is also on line {first_line[number]}"
            problems.append(Problem(row.line, "record_number", message))
        first_line.setdefault(number, row.line)
    return found


def _check_measurements(
    clinic: Clinic, rows: list[_Row], problems: list[Problem], kb: Any
) -> list[dict[str, Any]]:
    known = _patients_by_number(clinic)
    columns = _item_columns(kb)
    found: list[dict[str, Any]] = []
    for row in rows:
        patient = _patient(row, known, problems)
        day = _date(row, "measured_on", problems)
        answers: dict[str, dict[str, float]] = defaultdict(dict)
        for column, text in row.values.items():
            if column not in columns or not text:
                continue
            instrument, code = columns[column]
            try:
                answers[instrument][code] = float(text)
            except ValueError:
                problems.append(Problem(row.line, column, f"{text!r} is not a number"))
        if not answers:
            problems.append(Problem(row.line, None, "no answers in this row"))
        for instrument, given in answers.items():
            try:
                scores = score(instrument, given, kb)
            except InvalidInputs as exc:
                problems.extend(_core_problem(row, e) for e in exc.errors)
                continue
            except InvalidInput as exc:
                problems.append(_core_problem(row, exc))
                continue
            if patient is not None and day is not None:
                found.append(
                    {
                        "patient": patient,
                        "measured_on": day,
                        "instrument": instrument,
                        "answers": given,
                        "scores": scores,
                        "line": row.line,
                    }
                )
    return found


def _core_problem(row: _Row, exc: InvalidInput) -> Problem:
    """``koos.P3`` (the core's field) is the CSV column ``koos_P3``."""
    column = exc.field.replace(".", "_", 1) if "." in exc.field else exc.field
    return Problem(row.line, column, exc.problem)


def _json_list(row: _Row, column: str, problems: list[Problem]) -> list[Any]:
    text = row.values.get(column, "")
    if not text:
        return []
    try:
        value = json.loads(text)
    except ValueError:
        problems.append(Problem(row.line, column, "not a JSON list"))
        return []
    if not isinstance(value, list):
        problems.append(Problem(row.line, column, "not a JSON list"))
        return []
    return value


def _points(row: _Row, problems: list[Problem]) -> list[Any]:
    """``points``: a JSON list of points, or ``CODE:SIDE`` entries separated by ``;``; plus
    REDCap checkboxes ``points___st35`` = 1 on the side in ``points_side``."""
    text = row.values.get("points", "")
    points: list[Any] = []
    if text.startswith("["):
        points = _json_list(row, "points", problems)
    elif text:
        for entry in text.split(";"):
            code, _, side = entry.strip().partition(":")
            if not code or not side:
                message = f"{entry.strip()!r} is not CODE:SIDE (e.g. ST35:left)"
                problems.append(Problem(row.line, "points", message))
                continue
            points.append({"code": code.strip(), "side": side.strip()})
    checked = [
        c.removeprefix("points___").upper().replace("_", "-")
        for c, v in row.values.items()
        if c.startswith("points___") and v == "1"
    ]
    if checked:
        side = row.values.get("points_side", "")
        if not side:
            problems.append(Problem(row.line, "points_side", "required with points___ checkboxes"))
        points.extend({"code": code, "side": side} for code in checked)
    return points


_SESSION_NUMBERS = (
    "pain_before",
    "pain_after",
    "number_of_needles",
    "retention_minutes",
)


def _session_data(row: _Row, problems: list[Problem]) -> dict[str, Any]:
    v = row.values
    data: dict[str, Any] = {"date": v.get("date", "")}
    for name in ("response_sought", "practitioner_id", "note"):
        if v.get(name):
            data[name] = v[name]
    for name in _SESSION_NUMBERS:
        if v.get(name):
            data[name] = v[name]
    if v.get("needle_diameter_mm") or v.get("needle_length_mm"):
        data["needle"] = {
            "diameter_mm": v.get("needle_diameter_mm") or None,
            "length_mm": v.get("needle_length_mm") or None,
            "material": v.get("needle_material") or None,
            "manufacturer": v.get("needle_manufacturer") or None,
        }
    data["points"] = _points(row, problems)
    data["electro"] = _json_list(row, "electro", problems)
    data["adverse_events"] = _json_list(row, "adverse_events", problems)
    return data


def _session_column(loc: tuple[Any, ...]) -> str | None:
    """The CSV column of a core error location (``needle.diameter_mm`` -> its column)."""
    if not loc:
        return None
    head = str(loc[0])
    if head == "needle" and len(loc) > 1:
        return f"needle_{loc[1]}"
    return head


def _check_sessions(
    clinic: Clinic, rows: list[_Row], problems: list[Problem]
) -> list[dict[str, Any]]:
    known = _patients_by_number(clinic)
    found: list[dict[str, Any]] = []
    taken: dict[int, set[int]] = {}
    for row in rows:
        patient = _patient(row, known, problems)
        plan = signed_plan(patient) if patient is not None else None
        if patient is not None and plan is None:
            message = f"patient {patient.record_number!r} has no signed plan"
            problems.append(Problem(row.line, "record_number", message))
        data = _session_data(row, problems)
        number = 1
        if patient is not None:
            used = taken.setdefault(
                patient.pk,
                set(live(patient.sessions.all()).values_list("number", flat=True)),
            )
            given = row.values.get("number", "")
            written = whole_number(given, 10**9)
            if written is not None and written < 10**9:
                number = written
            elif given:
                problems.append(Problem(row.line, "number", f"{given!r} is not a whole number"))
            else:
                number = max(used, default=0) + 1  # as the session log numbers them
            if number in used:
                message = f"session {number} of patient {patient.record_number!r} already exists"
                problems.append(Problem(row.line, "number", message))
            used.add(number)
        data["number"] = number
        try:
            record = SessionRecord.model_validate(data)
        except pydantic.ValidationError as exc:
            for error in exc.errors():
                message = error["msg"].removeprefix("Value error, ")
                loc = tuple(error["loc"])
                column = _session_column(loc)
                if column is None and ":" in message:  # the model's own check names the field
                    column = message.split(":", 1)[0].split(".", 1)[0]
                problems.append(Problem(row.line, column, message))
            continue
        if plan is not None:
            checked = session_problems(plan, record)
            for problem in checked:
                column = _session_column(problem.loc)
                problems.append(Problem(row.line, column, problem.message))
            if checked:
                continue
        if patient is not None and plan is not None:
            found.append({"patient": patient, "record": record, "line": row.line})
    return found


# --- the import ----------------------------------------------------------------------------------


def import_csv(
    data: bytes,
    clinic: Clinic,
    kind: Kind | None = None,
    *,
    dry_run: bool = False,
    user: Any = None,
    name: str = "file",
) -> ImportReport:
    """Check every row, then store them all in one transaction (none if any row is bad, or on a
    dry run). File-level problems raise ``ImportFileError``."""
    kb = load_knowledge()
    header, rows = read_rows(decode(data, name))
    kind = kind or detect_kind(header)
    report = ImportReport(kind=kind, rows=len(rows), dry_run=dry_run)
    report.warnings = _check_columns(kind, header, kb)
    for row in rows:
        if row.too_many_cells:
            report.problems.append(Problem(row.line, None, "more cells than columns"))
    try:
        _check_and_store(report, clinic, rows, kb, user)
    except IntegrityError as exc:  # e.g. the same record number saved meanwhile by someone else
        raise ImportFileError(f"the database refused the rows, nothing was stored: {exc}") from None
    report.problems.sort(key=lambda p: p.line)
    return report


def _check_and_store(
    report: ImportReport, clinic: Clinic, rows: list[_Row], kb: Any, user: Any
) -> None:
    kind, dry_run = report.kind, report.dry_run
    with transaction.atomic():
        if kind == "patients":
            found = _check_patients(clinic, rows, report.problems)
            if report.ok and not dry_run:
                for details in found:
                    # An import is a deliberate batch: likely duplicates were the sender's call.
                    register_patient(clinic, user, details, confirm_duplicates=True)
                report.stored = {"patients": len(found)}
        elif kind == "measurements":
            measures = _check_measurements(clinic, rows, report.problems, kb)
            if report.ok:  # a dry run stores too, then rolls back: it answers exactly as a run
                for m in measures:
                    _store(
                        report,
                        m["line"],
                        lambda m=m: services.record_measurements(
                            m["patient"],
                            user,
                            m["measured_on"],
                            {m["instrument"]: m["answers"]},
                            scores={m["instrument"]: m["scores"]},
                            origin=services.CLINIC,
                        ),
                    )
                _stored(report, "measurements", len(measures))
        else:
            sessions = _check_sessions(clinic, rows, report.problems)
            if report.ok:
                # Through the one session service (dates, referral, numbering, session_check);
                # a dry run stores them too, then rolls back, so it answers exactly as a run.
                for s in sessions:
                    record: SessionRecord = s["record"]
                    _store(
                        report,
                        s["line"],
                        lambda s=s, record=record: services.record_session(
                            s["patient"], user, record, number=record.number
                        ),
                    )
                _stored(report, "sessions", len(sessions))


def _store(report: ImportReport, line: int, act: Any) -> None:
    """One row through the care layer; its refusal becomes the row's problem."""
    try:
        with transaction.atomic():
            act()
    except errors.CareError as exc:
        for field, message in exc.problems:
            report.problems.append(Problem(line, _column(field), message))


def _column(field: str | None) -> str | None:
    return {"measured_on": "measured_on", "date": "date"}.get(field or "", field)


def _stored(report: ImportReport, kind: str, count: int) -> None:
    if report.ok and not report.dry_run:
        report.stored = {kind: count}
    else:
        transaction.set_rollback(True)
