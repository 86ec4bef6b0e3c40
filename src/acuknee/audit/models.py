"""The audit log's one table: who did what to which patient's record, when, and from where.

Rows are append-only. Every path that could change one is closed: ``save`` refuses an existing
row, ``delete`` raises, the manager's querysets refuse ``update`` and ``delete``, no admin is
registered, and the database itself rejects ``UPDATE`` and ``DELETE`` with triggers (migration
0002, on SQLite and PostgreSQL), so raw SQL cannot either. And each row carries a SHA-256 chained
to the row before it (``chain``), so a change that gets past all of these (SQLite's ``INSERT OR
REPLACE``, a dropped trigger, an edited backup) is found by ``acuknee audit verify``.

Who and where are snapshots (plain columns, no foreign keys): the row stays true after a user is
renamed or a clinic reorganised, and it never blocks deleting anything else.
"""

from __future__ import annotations

from typing import Any, ClassVar, NoReturn

from django.db import connections, models, transaction
from django.db.models import F, signals
from django.utils import timezone

from acuknee.audit import chain
from acuknee.records.inserts import insert


class AuditImmutable(Exception):
    """An attempt to change or remove an audit event: the log is append-only."""


class Action(models.TextChoices):
    READ = "read", "Read"
    CREATE = "create", "Create"
    UPDATE = "update", "Update"
    VOID = "void", "Void"
    DELETE = "delete", "Delete"
    EXPORT = "export", "Export"
    SEARCH = "search", "Search"
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

    def bulk_create(self, objs: Any, *args: Any, **kwargs: Any) -> list[AuditEvent]:
        """One chained insert per event, in order (a bulk INSERT would skip the chain)."""
        created = list(objs)
        for obj in created:
            obj.save()
        return created


class AuditChainHead(models.Model):
    """The chain's last link (one row, id 1): what the next event chains onto.

    Its UPDATE is the lock every chained write takes first (see ``acuknee.audit.chain``)."""

    seq = models.BigIntegerField(default=0)
    chain_hash = models.CharField(max_length=64, default=chain.GENESIS)

    ONE = 1

    def __str__(self) -> str:
        return f"audit chain head: {self.seq} rows, {self.chain_hash[:12]}..."


_TAKE_HEAD = (
    f"UPDATE {AuditChainHead._meta.db_table} SET seq = seq + 1 WHERE id = %s "
    "RETURNING seq, chain_hash"
)
"""Advance and read the head in one statement (SQLite 3.35+ and PostgreSQL both have
``RETURNING``): every audited request runs it, so it skips the ORM's query compilation."""

_MOVE_HEAD = f"UPDATE {AuditChainHead._meta.db_table} SET chain_hash = %s WHERE id = %s"


def _lock_head(using: str) -> AuditChainHead:
    """Advance the head's ``seq`` under its row lock and return it (created if missing)."""
    with connections[using].cursor() as cursor:
        cursor.execute(_TAKE_HEAD, [AuditChainHead.ONE])
        row = cursor.fetchone()
    if row is None:
        # a flushed or brand-new database: make the head, then take it like everyone else
        heads = AuditChainHead.objects.using(using).filter(pk=AuditChainHead.ONE)
        AuditChainHead.objects.using(using).bulk_create(
            [AuditChainHead(pk=AuditChainHead.ONE)], ignore_conflicts=True
        )
        heads.update(seq=F("seq") + 1)
        return heads.get()
    return AuditChainHead(pk=AuditChainHead.ONE, seq=row[0], chain_hash=row[1])


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
    # whom it concerned, when that is another user (an API token's owner, a failed sign-in's
    # named user): snapshots as well
    subject_user_id = models.BigIntegerField(null=True, blank=True)
    subject_username = models.CharField(max_length=150, blank=True)
    # from where
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    method = models.CharField(max_length=10, blank=True)
    path = models.CharField(max_length=1000, blank=True)
    # outcome
    status = models.PositiveSmallIntegerField(null=True, blank=True)
    # the chain (see acuknee.audit.chain)
    seq = models.BigIntegerField(null=True, blank=True, unique=True, editable=False)
    chain_hash = models.CharField(max_length=64, blank=True, editable=False)

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
        using = kwargs.get("using") or "default"
        with transaction.atomic(using=using):
            head = _lock_head(using)
            self.seq = head.seq
            self.chain_hash = chain.link(head.chain_hash, self.chained_values())
            _insert(self, using)
            with connections[using].cursor() as cursor:
                cursor.execute(_MOVE_HEAD, [self.chain_hash, head.pk])

    def chained_values(self) -> dict[str, Any]:
        """The chained fields as the database will store them (an IPv6 address normalised)."""
        values: dict[str, Any] = {}
        for name in chain.CHAINED_FIELDS:
            field = self._meta.get_field(name)
            values[name] = field.get_prep_value(getattr(self, field.attname))
        return values

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise AuditImmutable("audit events are append-only: delete refused")


def _insert(event: AuditEvent, using: str) -> None:
    """``Model.save(force_insert=True)`` for an event, with its INSERT written once per
    connection (``records.inserts.insert``): every audited request stores one event, and the
    ORM's insert (compiled per call) was about 0.3 ms of it (issue 15). The save signals are
    sent as ``Model.save`` sends them."""
    signals.pre_save.send(
        sender=AuditEvent, instance=event, raw=False, using=using, update_fields=None
    )
    insert([event], using)
    signals.post_save.send(
        sender=AuditEvent, instance=event, created=True, update_fields=None, raw=False, using=using
    )


def verify_log(using: str = "default") -> chain.Verdict:
    """Walk the whole log in chain order and compare it with the stored head."""
    head = AuditChainHead.objects.using(using).filter(pk=AuditChainHead.ONE).first()
    stored = (head.seq, head.chain_hash) if head is not None else (0, chain.GENESIS)
    return chain.verify(chain.stored_rows(AuditEvent.objects.using(using).all()), stored)
