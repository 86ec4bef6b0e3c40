"""What the clinic app persists: clinics, staff, patients, and the clinical records of a course.

Clinical content is stored as the core's own validated models, serialised to JSON
(``Intake``, ``Screening``, ``Assessment``, ``Plan``, ``SessionRecord``, instrument answers), so
the core stays the single schema and the database never disagrees with it. Every clinical record
keeps history (django-simple-history), is voided instead of deleted, and carries a ``version``
for optimistic locking: a save based on a stale version is refused (``StaleEdit``).
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import timedelta
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connections, models, transaction
from django.db.models import F
from django.utils import timezone
from simple_history.manager import HistoryManager
from simple_history.models import HistoricalRecords

from acuknee.clinical.vocabulary import Sex
from acuknee.fhir import bulk


class _HistoryManager(HistoryManager):
    """django-simple-history's manager of a record's history, its class built once.

    Every ``Model.history`` access (and every history row written: the library reads the
    manager to write it) built a new manager class, walking the queryset class with
    ``inspect``: about 0.1 ms each, one or two on every clinical write (issue 15). The class is
    the same each time (the same manager and queryset classes), so it is kept."""

    @classmethod
    def from_queryset(cls, queryset_class: type, class_name: str | None = None) -> Any:
        key = (cls, queryset_class, class_name)
        built = _HISTORY_MANAGERS.get(key)
        if built is None:
            built = _HISTORY_MANAGERS[key] = super().from_queryset(queryset_class, class_name)
        return built


_HISTORY_MANAGERS: dict[tuple[type, type, str | None], Any] = {}


def _history(**options: Any) -> HistoricalRecords:
    """A record's history (django-simple-history), read through ``_HistoryManager``."""
    return HistoricalRecords(history_manager=_HistoryManager, **options)


class StaleEdit(Exception):
    """Someone else saved this record after it was opened; the edit is refused, not merged."""


class Role(models.TextChoices):
    PRACTITIONER = "practitioner", "Practitioner"
    FRONT_DESK = "front_desk", "Front desk"
    CLINIC_ADMIN = "clinic_admin", "Clinic admin"
    RESEARCHER = "researcher", "Researcher"


class Clinic(models.Model):
    name = models.CharField(max_length=200)
    slug = models.SlugField(unique=True)
    region = models.CharField(max_length=100, blank=True)
    address = models.TextField(blank=True)
    phone = models.CharField(max_length=50, blank=True)
    time_zone = models.CharField(
        max_length=64,
        blank=True,
        help_text="IANA time zone of the clinic's appointments (Europe/London); blank: the "
        "site's TIME_ZONE",
    )

    def __str__(self) -> str:
        return self.name

    @property
    def zone(self) -> ZoneInfo:
        """The clinic's time zone (``ZoneInfoNotFoundError`` for a name that is not one)."""
        return ZoneInfo(self.time_zone or settings.TIME_ZONE)


class StaffProfile(models.Model):
    """A user's clinic and role. Researchers may have no clinic (network-wide aggregates)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="staff"
    )
    clinic = models.ForeignKey(Clinic, null=True, blank=True, on_delete=models.PROTECT)
    role = models.CharField(max_length=20, choices=Role.choices)
    registration = models.CharField(
        max_length=100, blank=True, help_text="Professional registration, for referral letters."
    )
    training = models.TextField(blank=True, help_text="Training and experience (STRICTA item 5).")

    def __str__(self) -> str:
        return f"{self.user} ({self.get_role_display()})"


class Voidable(models.Model):
    """Clinical records are never hard-deleted: they are voided with a reason and stay visible."""

    voided_at = models.DateTimeField(null=True, blank=True)
    voided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    void_reason = models.TextField(blank=True)
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    updated_at = models.DateTimeField(
        auto_now=True,
        db_index=True,
        help_text="Last change (FHIR meta.lastUpdated; Bulk Data _since)",
    )

    class Meta:
        abstract = True

    @property
    def is_voided(self) -> bool:
        return self.voided_at is not None

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise PermissionError("clinical records are voided, never deleted")

    def void(self, user: Any, reason: str) -> None:
        if not reason.strip():
            raise ValueError("a reason is required to void a record")
        self.voided_at = timezone.now()
        self.voided_by = user
        self.void_reason = reason.strip()
        self.save_versioned(self.version, ["voided_at", "voided_by", "void_reason"])

    def save_versioned(self, expected_version: int, fields: list[str] | None = None) -> None:
        """Save only if nobody saved since ``expected_version`` was read; else ``StaleEdit``."""
        model = type(self)
        with transaction.atomic():
            updated = model.objects.filter(pk=self.pk, version=expected_version).update(
                version=F("version") + 1
            )
            if updated != 1:
                raise StaleEdit(
                    f"This {model._meta.verbose_name} was changed by someone else since you "
                    "opened it; reload to see their changes, then edit again"
                )
            self.version = expected_version + 1
            # updated_at is auto_now, but Django writes it only when it is among update_fields.
            changed = [*fields, "version", "updated_at"] if fields else None
            self.save(update_fields=changed)


class RenderedFhir(models.Model):
    """A record that keeps its FHIR Bulk Data lines, so an export copies bytes instead of
    building resources (``acuknee.fhir.bulk``). The lines are a cache that the care layer
    fills after a write (``acuknee.care.fhir_lines``); any save through the model marks them
    stale (``fhir_version`` blank), and the export renders stale rows afresh, so a line is never
    served for a record that changed after it was rendered."""

    RENDERED: ClassVar[tuple[str, ...]] = ("fhir_version",)
    fhir_version = models.CharField(max_length=32, blank=True, editable=False)

    class Meta:
        abstract = True

    def render_fhir(self) -> None:
        """Fill the rendered fields from the record (``ValueError`` and the like when the
        mapping cannot take it)."""
        raise NotImplementedError

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.fhir_version = ""
        if kwargs.get("update_fields") is not None:
            kwargs["update_fields"] = {*kwargs["update_fields"], "fhir_version"}
        super().save(*args, **kwargs)


class Patient(RenderedFhir, Voidable):
    class Status(models.TextChoices):
        INTAKE = "intake", "Intake"
        IN_COURSE = "in_course", "In course"
        REASSESSMENT_DUE = "reassessment_due", "Reassessment due"
        COMPLETED = "completed", "Completed"
        REFERRED = "referred", "Referred"

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="patients")
    record_number = models.CharField(max_length=50)
    given_name = models.CharField(max_length=100)
    family_name = models.CharField(max_length=100)
    date_of_birth = models.DateField()
    sex = models.CharField(max_length=10, choices=[(s.value, s.value.title()) for s in Sex])
    phone = models.CharField(max_length=50, blank=True)
    email = models.EmailField(blank=True)
    synthetic = models.BooleanField(default=False, help_text="Demo data, not a real person.")
    fhir_line = models.BinaryField(default=b"", editable=False)
    RENDERED: ClassVar[tuple[str, ...]] = ("fhir_version", "fhir_line")
    history = _history(excluded_fields=list(RENDERED))

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["clinic", "record_number"], name="unique_record_number")
        ]
        ordering: ClassVar = ["family_name", "given_name"]

    def __str__(self) -> str:
        return f"{self.family_name}, {self.given_name} ({self.record_number})"

    def render_fhir(self) -> None:
        born = self._meta.get_field("date_of_birth").to_python(self.date_of_birth)
        self.fhir_line = bulk.render_patient(
            self.pk, self.record_number, self.given_name, self.family_name, born, self.sex
        )
        self.fhir_version = bulk.render_version()

    def age_on(self, day: Any) -> int:
        born = self.date_of_birth
        return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


class IntakeRecord(Voidable):
    """The first visit: the core ``Intake`` plus the screening and assessment computed from it."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="intakes")
    visit_date = models.DateField()
    data = models.JSONField(help_text="acuknee.clinical.Intake")
    screening = models.JSONField(help_text="acuknee.clinical.Screening, computed at save")
    assessment = models.JSONField(help_text="acuknee.clinical.Assessment, computed at save")
    refers = models.BooleanField(
        default=False,
        help_text="The screening refers the patient before any needling (set with screening)",
    )
    baseline_on = models.DateField(
        null=True,
        blank=True,
        help_text="The visit whose measurements are the course's baseline, when the practitioner "
        "chose one other than this intake's",
    )
    # Free-text history in the patient's own story. Kept beside the core ``Intake`` (not in it):
    # no rule reads it, and leaving it out of ``data`` keeps it out of the FHIR export and the
    # pooled research data, where free text could identify the patient.
    presenting_complaint = models.TextField(blank=True)
    previous_treatment = models.TextField(blank=True)
    goals = models.TextField(blank=True, help_text="The patient's goals for the course")
    history = _history()

    class Meta:
        ordering: ClassVar = ["-visit_date", "-id"]


class IntakeDraft(models.Model):
    """An intake being filled in, step by step: one per patient and practitioner, so a
    practitioner can close the browser between steps and resume it.

    A draft is not a clinical record: it holds the form's raw answers (field name -> list of
    submitted strings), is never screened, planned from, exported or shown as an intake, keeps
    no history, and is deleted when the intake is recorded; after ``ACUKNEE_INTAKE_DRAFT_DAYS``
    without a save it is no longer offered and ``expire_drafts`` deletes it. It is a table
    rather than the session because the session ends at sign-out and at the idle timeout, and
    is tied to one browser; the draft must outlive all three."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="intake_drafts")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    step = models.CharField(max_length=20, help_text="The step to resume at")
    data = models.JSONField(default=dict, help_text="form field name -> submitted values")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["patient", "user"], name="one_intake_draft_per_user")
        ]

    @classmethod
    def discard(cls, patient_id: int, user_id: int, using: str = "default") -> None:
        """Delete the draft of ``patient_id`` by ``user_id``, if there is one, with one
        statement: ``QuerySet.delete`` built a filter and a deletion collector for it on every
        intake recorded, most of them with no draft (issue 15, goal 1's thirteenth round). A
        draft keeps no history, and has no delete receiver and nothing that refers to it
        (``tests/records/test_inserts.py`` holds that), so ``delete`` would send and collect
        nothing more."""
        meta = cls._meta
        connection = connections[using]
        quote = connection.ops.quote_name
        patient, user = (quote(meta.get_field(name).column) for name in ("patient", "user"))
        with connection.cursor() as cursor:
            cursor.execute(
                f"DELETE FROM {quote(meta.db_table)} WHERE {patient} = %s AND {user} = %s",
                [patient_id, user_id],
            )


class ReferralOutcome(Voidable):
    """What came of an intake's referral: who saw the patient, when, and whether they cleared
    acupuncture. A referral stands until a live outcome that clears it is recorded."""

    intake = models.ForeignKey(
        IntakeRecord, on_delete=models.PROTECT, related_name="referral_outcomes"
    )
    seen_by = models.CharField(max_length=200)
    seen_on = models.DateField()
    cleared = models.BooleanField(help_text="Acupuncture may go ahead")
    note = models.TextField(blank=True)
    history = _history()

    class Meta:
        ordering: ClassVar = ["-seen_on", "-id"]


class ReferralLetterText(Voidable):
    """The practitioner's text of an intake's referral letter, edited before printing: whom it
    is addressed to and the letter itself. Without one the letter is the generated text; with
    one, the printed letter is this text. Who edited it and when: ``created_by``, ``updated_at``
    and the history."""

    intake = models.OneToOneField(
        IntakeRecord, on_delete=models.PROTECT, related_name="referral_letter"
    )
    recipient = models.TextField(help_text="Who receives the letter: name, service, address")
    body = models.TextField(help_text="The letter from the greeting to the last paragraph")
    edited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    history = _history()


class PlanRecord(Voidable):
    """A proposed plan, edited by the practitioner (overrides recorded), then signed."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        SIGNED = "signed", "Signed"
        REFUSED = "refused", "Refused"

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="plans")
    intake = models.ForeignKey(IntakeRecord, on_delete=models.PROTECT, related_name="plans")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    proposed = models.JSONField(help_text="acuknee.clinical.Plan as proposed by the core")
    content = models.JSONField(help_text="acuknee.clinical.Plan as edited by the practitioner")
    overrides = models.JSONField(default=list, help_text="blocked items added, with reasons")
    start_date = models.DateField()
    visit_time = models.TimeField(
        null=True,
        blank=True,
        help_text="The booked time of day of every visit of the schedule, in the clinic's time "
        "zone (blank: not booked yet)",
    )
    visit_minutes = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="How long each booked visit lasts"
    )
    signed_at = models.DateTimeField(null=True, blank=True)
    signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    history = _history()

    class Meta:
        ordering: ClassVar = ["-created_at"]


class TreatmentSession(Voidable):
    """One treatment visit, recorded to STRICTA items 2a-2g (the core ``SessionRecord``)."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="sessions")
    plan = models.ForeignKey(PlanRecord, on_delete=models.PROTECT, related_name="sessions")
    number = models.PositiveIntegerField()
    session_date = models.DateField()
    data = models.JSONField(help_text="acuknee.clinical.SessionRecord")
    submission_key = models.CharField(
        max_length=64,
        null=True,
        blank=True,
        editable=False,
        help_text="The form token or Idempotency-Key it was saved under: a repeat is refused",
    )
    signed_at = models.DateTimeField(
        null=True, blank=True, help_text="Signed and locked when saved; a change is an amendment"
    )
    signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    history = _history()

    class Meta:
        ordering: ClassVar = ["session_date", "number"]
        # Live sessions only: a session voided as entered in error frees its number for the
        # visit that really happened, so the numbers of given sessions stay 1..n.
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["patient", "number"],
                condition=models.Q(voided_at__isnull=True),
                name="unique_live_session_number",
            ),
            models.UniqueConstraint(
                fields=["patient", "submission_key"],
                condition=models.Q(submission_key__isnull=False),
                name="unique_session_submission",
            ),
        ]


class SessionAmendment(models.Model):
    """A change to a signed session: who, when, why and what changed, with the record as it
    stood before, so the original stays readable. Amendments are only ever added."""

    session = models.ForeignKey(
        TreatmentSession, on_delete=models.PROTECT, related_name="amendments"
    )
    amended_at = models.DateTimeField(default=timezone.now)
    amended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    reason = models.TextField()
    changes = models.JSONField(help_text="[{field, before, after}] in words a person reads")
    before = models.JSONField(help_text="acuknee.clinical.SessionRecord before the change")

    class Meta:
        ordering: ClassVar = ["amended_at", "id"]


class TreatmentConsent(Voidable):
    """Informed consent to acupuncture, recorded before the first session (the core
    ``Consent``); ``created_by`` is who took it."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="consents")
    given_on = models.DateField()
    data = models.JSONField(help_text="acuknee.clinical.consent.Consent")
    history = _history()

    class Meta:
        ordering: ClassVar = ["-given_on", "-id"]


class Measurement(RenderedFhir, Voidable):
    """One instrument's answers at one visit, with the scores computed at save."""

    class Origin(models.TextChoices):
        CLINIC = "clinic", "Recorded in clinic"
        SELF_REPORT = "self_report", "Patient self-report"

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="measurements")
    measured_on = models.DateField()
    instrument = models.CharField(max_length=50)
    answers = models.JSONField()
    scores = models.JSONField(help_text="acuknee.clinical.Scores")
    origin = models.CharField(max_length=20, choices=Origin.choices, default=Origin.CLINIC)
    submission_key = models.CharField(
        max_length=64,
        null=True,
        blank=True,
        editable=False,
        help_text="The form token or Idempotency-Key of its visit: a repeat is refused",
    )
    fhir_response = models.BinaryField(default=b"", editable=False)
    fhir_observations = models.BinaryField(default=b"", editable=False)
    fhir_observation_count = models.PositiveSmallIntegerField(default=0, editable=False)
    RENDERED: ClassVar[tuple[str, ...]] = (
        "fhir_version",
        "fhir_response",
        "fhir_observations",
        "fhir_observation_count",
    )
    history = _history(excluded_fields=list(RENDERED))

    class Meta:
        ordering: ClassVar = ["measured_on", "instrument"]
        # FHIR search by patient and date, and the outcomes page's series, read by this pair.
        indexes: ClassVar = [models.Index(fields=["patient", "measured_on"])]
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["patient", "instrument", "submission_key"],
                condition=models.Q(submission_key__isnull=False),
                name="unique_measurement_submission",
            ),
        ]

    def render_fhir(self) -> None:
        day = self._meta.get_field("measured_on").to_python(self.measured_on)
        self.fhir_response, self.fhir_observations, self.fhir_observation_count = (
            bulk.render_measurement(
                self.pk, self.patient_id, day, self.instrument, self.answers, self.scores
            )
        )
        self.fhir_version = bulk.render_version()


class SelfReportLink(models.Model):
    """A single-use, expiring link a patient opens on a phone, without an account.

    Only a hash of the token is stored, so a database reader cannot use live links.
    """

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="links")
    token_hash = models.CharField(max_length=64, unique=True)
    instruments = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    @staticmethod
    def hash_token(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()

    @classmethod
    def issue(
        cls, patient: Patient, user: Any, instruments: list[str], valid_for: timedelta
    ) -> tuple[SelfReportLink, str]:
        """Create a link; returns it and the token, which is shown once and never stored."""
        token = secrets.token_urlsafe(32)
        link = cls.objects.create(
            patient=patient,
            token_hash=cls.hash_token(token),
            instruments=instruments,
            created_by=user,
            expires_at=timezone.now() + valid_for,
        )
        return link, token

    @property
    def usable(self) -> bool:
        return self.used_at is None and timezone.now() < self.expires_at


class TokenScope(models.TextChoices):
    """What a token may do: read (GET), write (POST, PUT, DELETE), export (bulk ``$export``)."""

    READ = "read", "Read (look up and search)"
    WRITE = "write", "Write (register, record, revoke)"
    EXPORT = "export", "Bulk export ($export)"


class InvalidToken(ValueError):
    """A token asked for with no scope, an unknown scope, or a lifetime outside the limits."""


class ApiToken(models.Model):
    """A personal REST/FHIR API token (``Authorization: Bearer <token>``), scoped and expiring.

    Only a SHA-256 hash is stored: the token is shown once at creation and cannot be recovered
    from the database. A revoked or expired token stays listed (who had access, and until when).
    Only its owner creates one, signed in with a session (``api.web``), never with a token.
    """

    DEFAULT_LIFETIME = timedelta(days=90)
    MAX_LIFETIME = timedelta(days=365)
    ALL_SCOPES = (TokenScope.READ, TokenScope.WRITE, TokenScope.EXPORT)

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="api_tokens"
    )
    name = models.CharField(max_length=100)
    token_hash = models.CharField(max_length=64, unique=True)
    scopes = models.CharField(
        max_length=40, default=TokenScope.READ, help_text="space-separated TokenScope values"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering: ClassVar = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.user})"

    @staticmethod
    def hash_token(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()

    @classmethod
    def issue(
        cls,
        user: Any,
        name: str,
        scopes: Any = ALL_SCOPES,
        lifetime: timedelta = DEFAULT_LIFETIME,
    ) -> tuple[ApiToken, str]:
        """Create a token; returns it and the secret, which is shown once and never stored."""
        wanted = sorted({TokenScope(scope) for scope in scopes} if scopes else set())
        if not wanted:
            raise InvalidToken("scopes: choose at least one of read, write, export")
        if not timedelta(0) < lifetime <= cls.MAX_LIFETIME:
            raise InvalidToken(f"lifetime: at most {cls.MAX_LIFETIME.days} days")
        secret = "ak_" + secrets.token_urlsafe(32)
        token = cls.objects.create(
            user=user,
            name=name,
            token_hash=cls.hash_token(secret),
            scopes=" ".join(str(scope) for scope in wanted),
            expires_at=timezone.now() + lifetime,
        )
        return token, secret

    @property
    def scope_set(self) -> frozenset[str]:
        return frozenset(self.scopes.split())

    @property
    def expired(self) -> bool:
        return timezone.now() >= self.expires_at

    @property
    def active(self) -> bool:
        return self.revoked_at is None and not self.expired

    def revoke(self) -> None:
        if self.revoked_at is None:
            self.revoked_at = timezone.now()
            self.save(update_fields=["revoked_at"])


class ExportJob(models.Model):
    """One FHIR Bulk Data ``$export`` request and where its NDJSON files are.

    The job runs in a background thread started at kick-off (or ``run_export <id>`` in another
    process); its files live under ``data_dir / "exports" / <id>`` and are served only to the
    user who asked, within their clinic.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        COMPLETED = "completed", "Completed"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"
        EXPIRED = "expired", "Expired (files removed)"

    class Level(models.TextChoices):
        SYSTEM = "system", "System"
        GROUP = "group", "Group"
        PATIENT = "patient", "Patient"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="export_jobs"
    )
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="export_jobs")
    level = models.CharField(max_length=10, choices=Level.choices)
    types = models.JSONField(default=list, help_text="resource types asked for (_type)")
    since = models.DateTimeField(null=True, blank=True, help_text="_since")
    request_url = models.TextField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    progress = models.CharField(max_length=200, blank=True)
    transaction_time = models.DateTimeField()
    output = models.JSONField(default=list, help_text="[{type, file, count}] once completed")
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    heartbeat_at = models.DateTimeField(
        null=True, blank=True, help_text="last sign of life from the worker running it"
    )
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering: ClassVar = ["-created_at"]

    def __str__(self) -> str:
        return f"export {self.id} ({self.status})"
