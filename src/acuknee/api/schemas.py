"""The API's request and response shapes (the OpenAPI document is generated from them).

Clinical content is returned as the core's own JSON (``Intake``, ``Screening``, ``Plan``,
``SessionRecord``, ``Scores``, ``Evaluation``): the core stays the single schema.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Annotated, Any

from django.db.models import QuerySet
from ninja import Schema
from ninja.pagination import PaginationBase
from pydantic import AfterValidator, Field
from pydantic_core import PydanticCustomError

from acuknee.api.errors import OUT_OF_RANGE
from acuknee.clinical import Intake, SessionRecord
from acuknee.records.ids import DB_INT_MAX

MAX_LIMIT = 200
"""The most items one page may hold; a client pages with ``offset`` beyond that."""


def _storable(value: int) -> int:
    if not -DB_INT_MAX - 1 <= value <= DB_INT_MAX:
        raise PydanticCustomError(
            OUT_OF_RANGE, "too large: at most {limit}", {"limit": str(DB_INT_MAX)}
        )
    return value


Storable = Annotated[
    int, AfterValidator(_storable), Field(json_schema_extra={"maximum": DB_INT_MAX})
]
"""An integer a query may pass to the database (an offset, an id); beyond it, a 400."""


class ErrorItem(Schema):
    field: str | None = Field(
        description="The input the error is about (dotted path), or null for the whole request."
    )
    message: str


class ErrorOut(Schema):
    """The one error shape of every 4xx answer."""

    errors: list[ErrorItem]


class PageParams(Schema):
    limit: int = Field(50, ge=1, le=MAX_LIMIT, description=f"Page size (1-{MAX_LIMIT}).")
    offset: Storable = Field(0, ge=0, description="How many matches to skip.")


class Paged(PaginationBase):
    """ninja's pagination with the API's page shape: ``total`` counts every match, ``items``
    holds the ones on this page (at most ``limit``, after ``offset``)."""

    Input = PageParams  # type: ignore[assignment]  # ninja reads it as a class attribute

    class Output(Schema):
        total: int
        limit: int
        offset: int
        items: list[Any]

    def paginate_queryset(
        self, queryset: Any, pagination: PageParams, request: Any = None, **params: Any
    ) -> dict[str, Any]:
        total = queryset.count() if isinstance(queryset, QuerySet | Mapped) else len(queryset)
        start = pagination.offset
        return {
            "total": total,
            "limit": pagination.limit,
            "offset": start,
            "items": queryset[start : start + pagination.limit],
        }


class Mapped:
    """Rows whose answer is computed per row (an evaluation): only the page's rows are mapped."""

    def __init__(self, rows: QuerySet[Any] | Sequence[Any], build: Callable[[Any], Any]) -> None:
        self.rows, self.build = rows, build

    def count(self) -> int:
        return self.rows.count() if isinstance(self.rows, QuerySet) else len(self.rows)

    def __getitem__(self, chunk: slice) -> list[Any]:
        return [self.build(row) for row in self.rows[chunk]]


class RecordFilters(Schema):
    patient: Storable | None = Field(None, description="Only this patient's records (id).")
    date_from: dt.date | None = Field(None, description="On or after this date (YYYY-MM-DD).")
    date_to: dt.date | None = Field(None, description="On or before this date (YYYY-MM-DD).")
    include_voided: bool = Field(False, description="Include voided records (marked voided).")


class PatientFilters(Schema):
    q: str = Field(
        "", max_length=200, description="A name, a date of birth (YYYY-MM-DD) or a record number."
    )
    patient: Storable | None = Field(None, description="Only this patient (id).")
    include_voided: bool = False


class PatientOut(Schema):
    """Read from a ``Patient`` row."""

    id: int
    record_number: str
    given_name: str
    family_name: str
    date_of_birth: dt.date
    sex: str
    phone: str
    email: str
    synthetic: bool
    voided: bool
    created_at: dt.datetime

    @staticmethod
    def resolve_voided(row: Any) -> bool:
        return bool(row.is_voided)


class RecordOut(Schema):
    """What every clinical record shares, read from its row."""

    id: int
    patient: int
    voided: bool
    created_at: dt.datetime

    @staticmethod
    def resolve_patient(row: Any) -> int:
        return int(row.patient_id)

    @staticmethod
    def resolve_voided(row: Any) -> bool:
        return bool(row.is_voided)


class PatientIn(Schema):
    """Registration, checked by the care layer (``acuknee.care.patients``): a record number
    unique in the clinic, a plausible date of birth (not in the future, an age the intake
    accepts). Likely duplicates (same name and date of birth ignoring case and accents, or a
    record number differing only by case) are answered 409 with the matches until the request
    is repeated with ``confirm_duplicates``."""

    given_name: str = Field(max_length=100)
    family_name: str = Field(max_length=100)
    date_of_birth: dt.date
    sex: str
    record_number: str = Field(max_length=50)
    phone: str = Field("", max_length=50)
    email: str = Field("", max_length=254)
    confirm_duplicates: bool = Field(
        False,
        description="Register even though likely duplicates exist (after a 409 listed them).",
    )


class DuplicatesOut(ErrorOut):
    """409 on registration: patients of the clinic who may be this one. Check them; repeat the
    request with ``confirm_duplicates: true`` only for a different person."""

    matches: list[PatientOut]


class IntakeOut(RecordOut):
    visit_date: dt.date
    data: dict[str, Any] = Field(description="acuknee.clinical.Intake")
    screening: dict[str, Any] = Field(description="acuknee.clinical.Screening")
    assessment: dict[str, Any] = Field(description="acuknee.clinical.Assessment")

    @staticmethod
    def resolve_data(row: Any) -> dict[str, Any]:
        """Re-read through the core's ``Intake`` (as the pages read it), so a record stored
        before a change comes in today's shape: new questions ``null`` (not recorded, never
        ``false``), an old yes/no anticoagulant as ``"unspecified"`` or ``null``. ``screening``
        is the verdict as stored at the visit."""
        return Intake.model_validate(row.data).model_dump(mode="json")


class PlanOut(RecordOut):
    intake: int
    status: str
    start_date: dt.date
    signed_at: dt.datetime | None
    proposed: dict[str, Any] = Field(description="acuknee.clinical.Plan as proposed")
    content: dict[str, Any] = Field(description="acuknee.clinical.Plan as signed or edited")
    overrides: list[Any]

    @staticmethod
    def resolve_intake(row: Any) -> int:
        return int(row.intake_id)


class AmendmentOut(Schema):
    amended_at: dt.datetime
    amended_by: str | None
    reason: str
    changes: list[dict[str, str]] = Field(description="field, before, after, in words")

    @staticmethod
    def resolve_amended_by(row: Any) -> str | None:
        return str(row.amended_by.get_username()) if row.amended_by is not None else None


class SessionOut(RecordOut):
    plan: int
    number: int
    session_date: dt.date
    data: dict[str, Any] = Field(
        description="acuknee.clinical.SessionRecord (adverse events carry a coded kind)"
    )
    signed_at: dt.datetime | None = Field(
        default=None, description="Signed and locked when saved; a change is an amendment"
    )
    amendments: list[AmendmentOut] = Field(description="Changes since signing, oldest first")

    @staticmethod
    def resolve_plan(row: Any) -> int:
        return int(row.plan_id)

    @staticmethod
    def resolve_data(row: Any) -> dict[str, Any]:
        """Read through the core, so a session saved before a format change (an adverse
        event's old free-text ``type``) is sent in today's shape."""
        return SessionRecord.model_validate(row.data).model_dump(mode="json")

    @staticmethod
    def resolve_amendments(row: Any) -> list[Any]:
        return list(row.amendments.all())


class AmendmentIn(Schema):
    """An amendment to a signed session: the whole corrected record, the version it was based
    on, and why."""

    version: int
    reason: str = Field(min_length=1, max_length=1000)
    record: dict[str, Any] = Field(description="acuknee.clinical.SessionRecord, as corrected")


class ConsentOut(RecordOut):
    given_on: dt.date
    taken_by: str | None
    data: dict[str, Any] = Field(description="acuknee.clinical.consent.Consent")

    @staticmethod
    def resolve_taken_by(row: Any) -> str | None:
        return str(row.created_by.get_username()) if row.created_by is not None else None


class MeasurementOut(RecordOut):
    measured_on: dt.date
    instrument: str
    origin: str
    answers: dict[str, Any]
    scores: dict[str, Any] = Field(description="acuknee.clinical.Scores")


class MeasurementIn(Schema):
    """One visit's answers, per instrument then item code (``{"koos": {"P1": 2, ...}}``); each
    answered instrument is scored by the core and stored, all or none."""

    measured_on: dt.date
    answers: dict[str, dict[str, float | None]]


class EvaluationOut(Schema):
    patient: int
    baseline_date: dt.date | None
    follow_up_dates: list[dt.date]
    evaluation: dict[str, Any] | None = Field(
        None, description="acuknee.clinical.Evaluation; null before the first follow-up"
    )
    error: str | None = Field(
        None, description="Why the stored measurements could not be evaluated."
    )


class TokenOut(Schema):
    id: int
    name: str
    user: str
    scopes: list[str] = Field(description="read (GET), write (other methods), export ($export)")
    created_at: dt.datetime
    expires_at: dt.datetime
    last_used_at: dt.datetime | None
    revoked_at: dt.datetime | None
    active: bool = Field(description="Neither revoked nor expired.")

    @staticmethod
    def resolve_user(row: Any) -> str:
        return str(row.user.get_username())

    @staticmethod
    def resolve_scopes(row: Any) -> list[str]:
        return sorted(row.scope_set)
