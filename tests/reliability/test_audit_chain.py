"""The audit log's hash chain: every row chained to the one before, and ``acuknee audit verify``
finds a row changed or removed behind the app's back."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import DatabaseError, connection, connections, transaction
from typer.testing import CliRunner

from acuknee.audit import chain, guard
from acuknee.audit.models import AuditChainHead, AuditEvent, verify_log
from acuknee.cli import app


@pytest.fixture
def three(db: Any) -> list[AuditEvent]:
    rows = []
    for n, name in enumerate(("alice", "bob", "carol"), start=1):
        row = AuditEvent(action="read", username=name, path=f"/patients/{n}/", status=200)
        row.save()
        rows.append(row)
    return rows


def _unguarded(sql: str, params: list[Any]) -> None:
    """Run ``sql`` as someone with the database file or owner rights would: triggers off."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            guard.uninstall(connection)
            cursor.execute(sql, params)
            guard.install(connection)
        else:
            cursor.execute("ALTER TABLE audit_auditevent DISABLE TRIGGER USER")
            cursor.execute(sql, params)
            cursor.execute("ALTER TABLE audit_auditevent ENABLE TRIGGER USER")


def _rewrite(event: AuditEvent, username: str) -> None:
    """Change one stored row's username, keeping its seq and hash (a forger's edit)."""
    if connection.vendor == "sqlite":
        fields = AuditEvent._meta.concrete_fields
        columns = [f.column for f in fields]
        values = [
            username
            if f.name == "username"
            else f.get_db_prep_value(getattr(event, f.attname), connection)
            for f in fields
        ]
        placeholders = ", ".join(["%s"] * len(columns))
        _unguarded(
            f"INSERT OR REPLACE INTO audit_auditevent ({', '.join(columns)}) "
            f"VALUES ({placeholders})",
            values,
        )
    else:
        _unguarded("UPDATE audit_auditevent SET username = %s WHERE id = %s", [username, event.pk])


def test_each_event_is_chained_to_the_one_before(three: list[AuditEvent]) -> None:
    first, second, third = (AuditEvent.objects.get(pk=e.pk) for e in three)
    assert [first.seq, second.seq, third.seq] == [1, 2, 3]
    assert first.chain_hash == chain.link(chain.GENESIS, first.chained_values())
    assert third.chain_hash == chain.link(second.chain_hash, third.chained_values())
    head = AuditChainHead.objects.get()
    assert (head.seq, head.chain_hash) == (3, third.chain_hash)


def test_verify_passes_an_untouched_log(three: list[AuditEvent]) -> None:
    verdict = verify_log()
    assert verdict.ok
    assert verdict.rows == 3


def test_verify_names_a_row_rewritten_behind_the_apps_back(three: list[AuditEvent]) -> None:
    _rewrite(three[1], "mallory")
    assert AuditEvent.objects.get(pk=three[1].pk).username == "mallory"  # the forgery took
    verdict = verify_log()
    assert not verdict.ok
    assert (verdict.broken_seq, verdict.broken_id) == (2, three[1].pk)
    assert verdict.rows == 1


def test_the_verify_command_fails_and_names_the_first_broken_row(
    three: list[AuditEvent],
) -> None:
    assert CliRunner().invoke(app, ["audit", "verify"]).exit_code == 0
    _rewrite(three[1], "mallory")
    result = CliRunner().invoke(app, ["audit", "verify"])
    assert result.exit_code == 1
    assert "BROKEN at row 2" in result.output


def test_a_row_removed_behind_the_apps_back_breaks_the_chain(three: list[AuditEvent]) -> None:
    _unguarded("DELETE FROM audit_auditevent WHERE id = %s", [three[1].pk])
    verdict = verify_log()
    assert verdict.broken_seq == 2
    assert "missing" in verdict.problem


def test_removing_the_newest_rows_disagrees_with_the_chain_head(
    three: list[AuditEvent],
) -> None:
    _unguarded("DELETE FROM audit_auditevent WHERE id = %s", [three[2].pk])
    verdict = verify_log()
    assert not verdict.ok
    assert "chain head says 3 rows" in verdict.problem


def test_insert_or_replace_over_a_stored_row_is_refused_on_sqlite(
    three: list[AuditEvent],
) -> None:
    if connection.vendor != "sqlite":
        pytest.skip("INSERT OR REPLACE is SQLite's; PostgreSQL's ON CONFLICT UPDATE is an UPDATE")
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(
            "INSERT OR REPLACE INTO audit_auditevent (id, at, username, action, object_type,"
            " object_id, user_agent, method, path, role, seq, chain_hash)"
            " VALUES (%s, '2025-01-01 00:00:00', 'mallory', 'read', '', '', '', 'GET', '/',"
            " '', %s, '')",
            [three[0].pk, three[0].seq],
        )
    assert AuditEvent.objects.get(pk=three[0].pk).username == "alice"
    assert verify_log().ok


def test_bulk_create_chains_each_event(db: Any) -> None:
    AuditEvent.objects.bulk_create([AuditEvent(action="read", path=f"/{n}/") for n in range(3)])
    assert verify_log().rows == 3


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_do_not_fork_the_chain() -> None:
    """Each writer holds its transaction open after chaining, so the others must wait for it
    (the head's row lock) and chain onto its hash, never onto the same predecessor."""
    if connection.vendor != "postgresql":
        pytest.skip("SQLite has one writer at a time (IMMEDIATE transactions) by construction")
    writers, each = 4, 10
    start = threading.Barrier(writers)
    errors: list[BaseException] = []

    def write(n: int) -> None:
        try:
            start.wait()
            for k in range(each):
                with transaction.atomic():
                    AuditEvent(action="read", username=f"w{n}", path=f"/{n}/{k}/").save()
                    # a slow request: other writers pile up on the head meanwhile
                    with connection.cursor() as cursor:
                        cursor.execute("SELECT pg_sleep(0.002)")
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    verdict = verify_log()
    assert verdict.ok, verdict.problem
    assert verdict.rows == writers * each


def test_an_event_is_stored_as_the_orm_stores_it(db: Any) -> None:
    """The event's INSERT is written once per connection (issue 15): each column must hold what
    Django's own insert stores for the same event, and the save signals still fire."""
    import datetime as dt

    from django.db.models import Model, signals

    values = {
        "at": dt.datetime(2026, 3, 29, 0, 30, 15, 123456, tzinfo=dt.UTC),
        "user_id": 7,
        "username": "ada",
        "clinic_id": 3,
        "role": "practitioner",
        "action": "read",
        "object_type": "patient",
        "object_id": "12",
        "patient_id": 12,
        "ip": "2001:0db8:0000:0000:0000:0000:0000:0001",  # stored normalised
        "user_agent": "Mozilla/5.0 (synthetic) «ünïcode»",
        "method": "GET",
        "path": "/patients/12/?q=a'b\"c",
        "status": 200,
    }
    before: list[Any] = []
    after: list[Any] = []

    def pre(sender: Any, instance: AuditEvent, **kwargs: Any) -> None:
        before.append(instance.pk)

    def post(sender: Any, instance: AuditEvent, created: bool, **kwargs: Any) -> None:
        after.append((instance.pk, created))

    signals.pre_save.connect(pre, sender=AuditEvent)
    signals.post_save.connect(post, sender=AuditEvent)
    try:
        ours = AuditEvent(**values)
        ours.save()
    finally:
        signals.pre_save.disconnect(pre, sender=AuditEvent)
        signals.post_save.disconnect(post, sender=AuditEvent)
    assert before == [None]
    assert after == [(ours.pk, True)]
    assert not ours._state.adding
    theirs = AuditEvent(**values, seq=ours.seq + 10**9, chain_hash=ours.chain_hash)
    with transaction.atomic():  # Django's own insert, beside the chain (a test only)
        Model.save(theirs, force_insert=True)
    columns = [f.attname for f in AuditEvent._meta.concrete_fields if f.name not in ("id", "seq")]

    def stored(pk: int) -> tuple[Any, ...]:
        return tuple(AuditEvent.objects.filter(pk=pk).values_list(*columns).get())

    assert stored(ours.pk) == stored(theirs.pk)
    assert AuditEvent.objects.get(pk=ours.pk).ip == "2001:db8::1"
