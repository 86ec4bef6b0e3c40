"""The audit log's one table: who did what to which patient's record, when, and from where.

Rows are append-only. Every path that could change one is closed: ``save`` refuses an existing
row, ``delete`` raises, the manager's querysets refuse ``update`` and ``delete``, no admin is
registered, and the database itself rejects ``UPDATE`` and ``DELETE`` with triggers (migration
0002, on SQLite and PostgreSQL), so raw SQL cannot either.

Who and where are snapshots (plain columns, no foreign keys): the row stays true after a user is
renamed or a clinic reorganised, and it never blocks deleting anything else.
"""

from __future__ import annotations

from typing import Any, ClassVar, NoReturn

from django.db import models
from django.utils import timezone


class AuditImmutable(Exception):
    """An attempt to change or remove an audit event: the log is append-only."""


class Action(models.TextChoices):
    READ = "read", "Read"
    CREATE = "create", "Create"
    UPDATE = "update", "Update"
    VOID = "void", "Void"
    DELETE = "delete", "Delete"
    EXPORT = "export", "Export"
    LOGIN = "login", "Login"
    LOGIN_FAILED = "login_failed", "Login failed"
    LOGOUT = "logout", "Logout"


class AppendOnlyQuerySet(models.QuerySet["AuditEvent"]):
    """Filtering and reading only: bulk changes are refused before any SQL is sent."""

    def update(self, **kwargs: Any) -> NoReturn:
        raise AuditImmutable("audit events are append-only: update refused")

    def delete(self) -> NoReturn:
        raise AuditImmutable("audit events are append-only: delete refused")

    def bulk_update(self, objs: Any, fields: Any, batch_size: Any = None) -> NoReturn:
        raise AuditImmutable("audit events are append-only: bulk_update refused")

    def update_or_create(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise AuditImmutable("audit events are append-only: update_or_create refused")

    def _raw_delete(self, using: Any) -> NoReturn:
        raise AuditImmutable("audit events are append-only: delete refused")


class AuditEvent(models.Model):
    at = models.DateTimeField(default=timezone.now, db_index=True)
    # who (snapshots)
    user_id = models.BigIntegerField(null=True, blank=True)
    username = models.CharField(max_length=150, blank=True)
    clinic_id = models.BigIntegerField(null=True, blank=True)
    role = models.CharField(max_length=20, blank=True)
    # what
    action = models.CharField(max_length=20, choices=Action.choices)
    object_type = models.CharField(max_length=50, blank=True)
    object_id = models.CharField(max_length=100, blank=True)
    patient_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    # from where
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    method = models.CharField(max_length=10, blank=True)
    path = models.CharField(max_length=1000, blank=True)
    # outcome
    status = models.PositiveSmallIntegerField(null=True, blank=True)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        ordering: ClassVar = ["-at", "-id"]
        indexes: ClassVar = [models.Index(fields=["clinic_id", "at"], name="audit_clinic_at")]

    def __str__(self) -> str:
        who = self.username or "anonymous"
        return f"{self.at:%Y-%m-%d %H:%M:%S} {who} {self.action} {self.path}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        """Insert only: saving a row that already exists is refused."""
        if not self._state.adding or kwargs.get("update_fields") or kwargs.get("force_update"):
            raise AuditImmutable("audit events are append-only: update refused")
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise AuditImmutable("audit events are append-only: delete refused")
