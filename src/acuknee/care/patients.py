"""The patient record: register, edit and void a patient, and the checks that keep the record
from contradicting itself or becoming a dead end.

- A birth date is refused when it is in the future or gives an age the core ``Intake`` refuses
  (``MAX_AGE_YEARS``): a patient registered so cannot have an intake, so the record would be a
  dead end.
- Likely duplicates (same name, ignoring case and accents, and same birth date; or a record
  number differing only by case) are raised as ``LikelyDuplicate`` before a new patient is
  saved; the adapter shows them and registers only when the user confirms.
- An edit and a void check the version the form was opened at (``StaleEdit``); every change is
  kept by django-simple-history with who made it and, for identity details, why.
- A patient recorded as male cannot be recorded as pregnant (``check_intake_against_patient``,
  called when an intake is recorded, and on an edit of the sex).

No HTTP here: adapters turn the ``CareError`` subclasses into their own answers.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from dataclasses import dataclass, field, fields, replace
from typing import Any, cast

from annotated_types import Le
from django.db import IntegrityError, transaction
from django.utils import timezone

from acuknee.care.errors import InvalidRecord, LikelyDuplicate, PatientVoided, StaleEdit
from acuknee.care.queries import latest_intake
from acuknee.clinical import Intake
from acuknee.clinical.vocabulary import Sex
from acuknee.records.models import Clinic, Patient
from acuknee.records.models import StaleEdit as ModelStaleEdit


def _intake_age_limit() -> int:
    """The oldest age the core ``Intake`` accepts (its ``age`` field's upper bound)."""
    for constraint in Intake.model_fields["age"].metadata:
        if isinstance(constraint, Le):
            return int(cast(int, constraint.le))
    raise RuntimeError("acuknee.clinical.Intake.age has no upper bound")  # pragma: no cover


MAX_AGE_YEARS = _intake_age_limit()
"""The oldest age a patient may be registered at: the core ``Intake``'s limit (120 years), read
from it so registration never accepts a patient the intake then refuses. 120 is below the
longest verified human lifespan, 122 years 164 days (Jeanne Calment, 1875-1997; Robine & Allard
1998, Science 279:1834, as summarised in en.wikipedia.org/wiki/Jeanne_Calment), and above every
other verified one, so it refuses typing errors (1890 for 1990) rather than real patients."""

REASON_MAX_LENGTH = 100
"""django-simple-history keeps a change reason in a 100-character column."""

IDENTITY_FIELDS = ("given_name", "family_name", "date_of_birth", "sex", "record_number")
"""Details that say who the patient is: changing one needs a reason (kept in the history)."""

_MAX_LENGTHS = {
    name: Patient._meta.get_field(name).max_length
    for name in ("given_name", "family_name", "record_number", "phone", "email")
}


@dataclass(frozen=True)
class PatientDetails:
    """What registration and the edit page ask for; adapters fill it from their input."""

    given_name: str
    family_name: str
    date_of_birth: dt.date
    sex: str
    record_number: str
    phone: str = ""
    email: str = ""

    @classmethod
    def of(cls, patient: Patient) -> PatientDetails:
        return cls(**{f.name: getattr(patient, f.name) for f in fields(cls)})


@dataclass(frozen=True)
class Change:
    """One entry of a patient's history, for the edit page."""

    when: dt.datetime
    who: str
    kind: str
    reason: str
    changes: list[tuple[str, str, str]] = field(default_factory=list)


# --- checks ---------------------------------------------------------------------------------------


def name_key(text: str) -> str:
    """A name compared without case, accents or spacing (``Zoë  O'Brien`` ~ ``zoe o'brien``)."""
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(bare.casefold().split())


def age_on(born: dt.date, day: dt.date) -> int:
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def birth_date_problem(born: dt.date, today: dt.date | None = None) -> str | None:
    """Why a birth date is implausible (in the future, or older than ``MAX_AGE_YEARS``), or
    None."""
    today = today or timezone.localdate()
    if born > today:
        return f"The date of birth {born.isoformat()} is in the future (today is {today})."
    age = age_on(born, today)
    if age > MAX_AGE_YEARS:
        return (
            f"The date of birth {born.isoformat()} gives an age of {age} years; acuknee records "
            f"ages up to {MAX_AGE_YEARS} (the intake's limit, just under the longest verified "
            "lifespan). Check the year."
        )
    return None


def check_details(
    clinic: Clinic,
    details: PatientDetails,
    *,
    exclude: Patient | None = None,
    today: dt.date | None = None,
) -> PatientDetails:
    """The details stripped of stray spaces, or ``InvalidRecord`` listing every problem by
    field: a required detail missing or too long, an unknown sex, an implausible birth date, a
    record number another patient of the clinic has."""
    clean = replace(
        details,
        given_name=details.given_name.strip(),
        family_name=details.family_name.strip(),
        record_number=details.record_number.strip(),
        phone=details.phone.strip(),
        email=details.email.strip(),
    )
    problems: list[tuple[str | None, str]] = []
    for name, label in (
        ("given_name", "given name"),
        ("family_name", "family name"),
        ("record_number", "record number"),
    ):
        if not getattr(clean, name):
            problems.append((name, f"The {label} is required."))
    for name, limit in _MAX_LENGTHS.items():
        if limit is not None and len(getattr(clean, name)) > limit:
            problems.append((name, f"At most {limit} characters."))
    if clean.sex not in {s.value for s in Sex}:
        allowed = ", ".join(s.value for s in Sex)
        problems.append(("sex", f"Choose one of: {allowed}."))
    born = birth_date_problem(clean.date_of_birth, today)
    if born is not None:
        problems.append(("date_of_birth", born))
    if clean.record_number:
        taken = Patient.objects.filter(clinic=clinic, record_number=clean.record_number)
        if exclude is not None:
            taken = taken.exclude(pk=exclude.pk)
        if taken.exists():
            problems.append(
                ("record_number", "Another patient of this clinic has this record number.")
            )
    if problems:
        raise InvalidRecord(problems[0][1], problems[0][0], problems=problems)
    return clean


def likely_duplicates(
    clinic: Clinic, details: PatientDetails, *, exclude: Patient | None = None
) -> list[Patient]:
    """Live patients of the clinic who may be this one: the same name (ignoring case, accents
    and spacing) and birth date, or a record number equal but for case."""
    live = Patient.objects.filter(clinic=clinic, voided_at__isnull=True)
    if exclude is not None:
        live = live.exclude(pk=exclude.pk)
    given, family = name_key(details.given_name), name_key(details.family_name)
    found: dict[int, Patient] = {}
    for p in live.filter(date_of_birth=details.date_of_birth):
        if name_key(p.given_name) == given and name_key(p.family_name) == family:
            found[p.pk] = p
    number = details.record_number.strip()
    if number:
        for p in live.filter(record_number__iexact=number):
            if p.record_number != number and p.record_number.casefold() == number.casefold():
                found[p.pk] = p
    return sorted(found.values(), key=lambda p: p.pk)


def _pregnant_but_male(sex: str, intake: Intake) -> bool:
    return intake.health.pregnant and Sex.MALE in (sex, intake.sex)


def check_intake_against_patient(patient: Patient, intake: Intake) -> None:
    """Refuse an intake that contradicts the patient record: pregnancy recorded for a patient
    recorded as male. Called wherever an intake is recorded (page, API, import)."""
    if _pregnant_but_male(patient.sex, intake):
        raise InvalidRecord(
            "The patient is recorded as male, so pregnancy cannot be recorded. If the recorded "
            "sex is wrong, correct it on the patient's details page first.",
            "health.pregnant",
        )


# --- services -------------------------------------------------------------------------------------


def _refuse_voided(patient: Patient) -> None:
    if patient.is_voided:
        raise PatientVoided("This patient record is voided: it cannot be changed.")


def _check_version(patient: Patient, version: int) -> None:
    if patient.version != version:
        raise StaleEdit(
            "This patient record was changed by someone else since you opened it; reload to "
            "see their changes, then edit again."
        )


def _history(patient: Patient, user: Any, reason: str) -> None:
    """Who made the next save and why, for django-simple-history (no request needed)."""
    patient._history_user = user
    patient._change_reason = reason[:REASON_MAX_LENGTH] or None


def register_patient(
    clinic: Clinic,
    user: Any,
    details: PatientDetails,
    *,
    confirm_duplicates: bool = False,
    synthetic: bool = False,
    today: dt.date | None = None,
) -> Patient:
    """Register a patient in ``clinic``. ``InvalidRecord`` for bad details; ``LikelyDuplicate``
    (with the matches) unless ``confirm_duplicates``."""
    clean = check_details(clinic, details, today=today)
    if not confirm_duplicates:
        matches = likely_duplicates(clinic, clean)
        if matches:
            raise LikelyDuplicate(
                f"{len(matches)} patient(s) of this clinic may be this person (same name and "
                "date of birth, or the same record number but for case). Open them to check; "
                "register only if this is someone else.",
                matches,
            )
    patient = Patient(clinic=clinic, created_by=user, synthetic=synthetic, **vars(clean))
    _history(patient, user, "")
    try:
        with transaction.atomic():
            patient.save()
    except IntegrityError as exc:  # the same number registered meanwhile
        raise InvalidRecord(
            "Another patient of this clinic has this record number.", "record_number"
        ) from exc
    return patient


def edit_patient(
    patient: Patient, user: Any, details: PatientDetails, *, version: int, reason: str = ""
) -> Patient:
    """Change a patient's details if nobody saved since ``version``; a change of identity
    details (name, birth date, sex, record number) needs a ``reason``, kept in the history.
    A sex of male is refused while the latest intake records a pregnancy."""
    _refuse_voided(patient)
    _check_version(patient, version)
    clean = check_details(patient.clinic, details, exclude=patient)
    reason = reason.strip()
    changed = [f.name for f in fields(clean) if getattr(clean, f.name) != getattr(patient, f.name)]
    if not changed:
        return patient
    problems: list[tuple[str | None, str]] = []
    if any(name in IDENTITY_FIELDS for name in changed) and not reason:
        problems.append(("reason", "Say why the name, date of birth, sex or number changes."))
    if len(reason) > REASON_MAX_LENGTH:
        problems.append(("reason", f"At most {REASON_MAX_LENGTH} characters."))
    if "sex" in changed:
        latest = latest_intake(patient)
        if latest is not None and _pregnant_but_male(clean.sex, Intake.model_validate(latest.data)):
            problems.append(
                (
                    "sex",
                    f"The intake of {latest.visit_date} records a pregnancy; a patient recorded "
                    "as pregnant cannot be recorded as male. Void or correct that intake first.",
                )
            )
    if problems:
        raise InvalidRecord(problems[0][1], problems[0][0], problems=problems)
    for name in changed:
        setattr(patient, name, getattr(clean, name))
    _history(patient, user, reason)
    try:
        patient.save_versioned(version, changed)
    except ModelStaleEdit as exc:
        patient.refresh_from_db()
        raise StaleEdit(str(exc)) from exc
    except IntegrityError as exc:
        patient.refresh_from_db()
        raise InvalidRecord(
            "Another patient of this clinic has this record number.", "record_number"
        ) from exc
    return patient


def void_patient(patient: Patient, user: Any, reason: str, *, version: int) -> Patient:
    """Void the patient record (kept, marked voided) if nobody saved since ``version``."""
    _refuse_voided(patient)
    _check_version(patient, version)
    reason = reason.strip()
    if not reason:
        raise InvalidRecord("A reason is required to void a patient record.", "reason")
    _history(patient, user, f"voided: {reason}")
    try:
        patient.void(user, reason)
    except ModelStaleEdit as exc:
        patient.refresh_from_db()
        raise StaleEdit(str(exc)) from exc
    return patient


# --- history --------------------------------------------------------------------------------------

_SHOWN = (*[f.name for f in fields(PatientDetails)], "void_reason")
_LABELS = {name: Patient._meta.get_field(name).verbose_name for name in _SHOWN}
_KINDS = {"+": "registered", "~": "changed", "-": "deleted"}


def _shown(value: Any) -> str:
    return "" if value is None else str(value)


def patient_changes(patient: Patient) -> list[Change]:
    """The patient's history, newest first: who, when, why, and each detail's old and new
    value (bookkeeping fields such as the version are left out)."""
    rows = list(patient.history.select_related("history_user").order_by("history_date", "pk"))
    out: list[Change] = []
    previous = None
    for row in rows:
        changes: list[tuple[str, str, str]] = []
        if previous is not None:
            delta = row.diff_against(previous, included_fields=list(_SHOWN))
            changes = [(str(_LABELS[c.field]), _shown(c.old), _shown(c.new)) for c in delta.changes]
            if row.voided_at and not previous.voided_at:
                changes.insert(0, ("record", "live", "voided"))
        user = row.history_user
        out.append(
            Change(
                when=row.history_date,
                who=user.get_username() if user is not None else "",
                kind=_KINDS.get(row.history_type, row.history_type),
                reason=row.history_change_reason or "",
                changes=changes,
            )
        )
        previous = row
    return [c for c in reversed(out) if c.kind == "registered" or c.changes]
