"""One tree of typed errors for every clinical act.

``CareError`` carries ``field`` (the input it concerns, or None for the record as a whole) and a
message a practitioner reads. Adapters map the classes to their own answers in one place:

- ``NotFound`` -> 404; ``PatientVoided`` -> 409 (the record exists but is closed);
- ``StaleEdit`` -> 409 (someone saved after the form was opened);
- ``DuplicateSubmission`` -> 409 with the record already stored;
- ``ReferralOpen``, ``PlanningNotAllowed``, ``NoSignedPlan``, ``AlreadyVoided``,
  ``ConsentMissing`` -> 409 (the clinical state forbids the act); ``LinkGone`` -> 410;
- ``InvalidRecord`` and its subclasses (``InvalidDate``, ``SessionRefused``) -> 422 / a form error.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


class CareError(Exception):
    """A clinical act that was refused; ``problems`` are (field, message) pairs."""

    def __init__(self, message: str, field: str | None = None) -> None:
        self.field = field
        self.message = message
        super().__init__(message)

    @property
    def problems(self) -> list[tuple[str | None, str]]:
        return [(self.field, self.message)]


class NotFound(CareError):
    """No live record with that id in the user's clinic."""


class PatientVoided(CareError):
    """The patient record was voided: nothing more may be recorded for them."""


class StaleEdit(CareError):
    """Someone else saved this record after it was opened; the edit is refused, not merged."""


class DuplicateSubmission(CareError):
    """The same form or request was submitted twice; the first one was stored."""

    def __init__(self, message: str, existing_id: int | None = None) -> None:
        super().__init__(message)
        self.existing_id = existing_id


class ReferralOpen(CareError):
    """A referral stands until its outcome is recorded; planning and sessions wait for it."""


class PlanningNotAllowed(CareError):
    """The screening (or an unanswered red-flag question) forbids planning now."""


class InvalidRecord(CareError):
    """The input is well formed but would make the record contradict itself."""

    def __init__(
        self,
        message: str,
        field: str | None = None,
        *,
        problems: Iterable[tuple[str | None, str]] = (),
    ) -> None:
        super().__init__(message, field)
        self._problems = list(problems)

    @property
    def problems(self) -> list[tuple[str | None, str]]:
        return self._problems or [(self.field, self.message)]


class InvalidDate(InvalidRecord):
    """A clinical date after today (clinic time zone) or before the record it depends on."""


class SessionRefused(InvalidRecord):
    """The session breaks the signed plan or the patient's screening (``session_check``)."""


class LikelyDuplicate(CareError):
    """A new patient looks like one already registered in the clinic (same name and birth
    date, or a record number differing only by case); registered only once confirmed.

    ``matches`` are the existing ``Patient`` rows, for the adapter to show.
    """

    def __init__(self, message: str, matches: Iterable[Any] = ()) -> None:
        super().__init__(message)
        self.matches = list(matches)


class NoSignedPlan(CareError):
    """A session needs the patient's signed plan, and there is none."""


class ConsentMissing(CareError):
    """The first session needs informed consent on record (who gave it, when, which risks were
    explained), and there is none."""


class AlreadyVoided(CareError):
    """The record was already voided (by someone else, or by a repeated submit)."""


class LinkGone(CareError):
    """The self-report link was used or has expired."""
