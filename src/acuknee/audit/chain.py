"""The audit log's hash chain: every row carries a SHA-256 over itself and the row before it.

The triggers (``guard``) stop ordinary SQL from changing a row; the chain makes any change that
gets past them visible (SQLite's ``INSERT OR REPLACE`` fires no DELETE trigger, a database owner
can drop triggers, a backup file can be edited). Row ``n``'s hash is

    SHA-256( previous hash (64 hex digits; 64 zeros for the first row) + "\\n" + canonical(row) )

where ``canonical`` is compact JSON (sorted keys, UTF-8) of the fields in ``CHAINED_FIELDS``,
datetimes in UTC ISO 8601 and IP addresses as the database stores them. ``seq`` numbers the rows
1, 2, 3 ... without gaps, so a removed row breaks the chain as well as a changed one.

Writers serialise on one row of ``AuditChainHead`` (the last ``seq`` and hash): the first
statement of a chained write is an UPDATE of that row, which takes PostgreSQL's row lock (a
second writer waits for the first to commit, then sees its hash) and SQLite's database write
lock. Two writers therefore never chain onto the same predecessor.

Limits: whoever can write the database *and* recompute SHA-256 can rewrite the whole chain from
the changed row onwards. ``acuknee audit verify`` prints the head (count and last hash); keeping
that line somewhere the database's owner cannot change (a ticket, a signed e-mail, the backup
log) turns a rewrite after that point into a detectable one.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

GENESIS = "0" * 64
"""The "previous hash" of the first row."""

CHAINED_FIELDS = (
    "seq",
    "at",
    "user_id",
    "username",
    "clinic_id",
    "role",
    "action",
    "object_type",
    "object_id",
    "patient_id",
    "subject_user_id",
    "subject_username",
    "ip",
    "user_agent",
    "method",
    "path",
    "status",
)
"""Every column of a row except its database id and its own hash, in a fixed list: adding a
column to ``AuditEvent`` does not change the hash of rows written before it."""


def _value(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            raise ValueError("audit times must be timezone-aware")
        return value.astimezone(dt.UTC).isoformat()
    return value


def canonical(row: Mapping[str, Any]) -> bytes:
    """The bytes hashed for ``row`` (a mapping with every name in ``CHAINED_FIELDS``)."""
    data = {name: _value(row[name]) for name in CHAINED_FIELDS}
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def link(previous: str, row: Mapping[str, Any]) -> str:
    """The hash of ``row`` chained onto ``previous``."""
    digest = hashlib.sha256()
    digest.update(previous.encode("ascii"))
    digest.update(b"\n")
    digest.update(canonical(row))
    return digest.hexdigest()


@dataclass(frozen=True)
class Verdict:
    """What verifying the chain found: ``broken_seq`` is None when every row holds."""

    rows: int
    head_hash: str
    broken_seq: int | None = None
    broken_id: int | None = None
    problem: str = ""

    @property
    def ok(self) -> bool:
        return self.broken_seq is None and not self.problem


def verify(rows: Iterable[Mapping[str, Any]], head: tuple[int, str] | None = None) -> Verdict:
    """Walk ``rows`` (in ``seq`` order, each with ``id``, ``chain_hash`` and the chained fields)
    and report the first row whose hash or position does not follow from the one before.

    ``head`` is the stored chain head (last seq, last hash): rows removed from the end, which
    leave an intact but shorter chain, disagree with it.
    """
    previous, expected_seq, count = GENESIS, 1, 0
    for row in rows:
        if row["seq"] != expected_seq:
            return Verdict(
                count,
                previous,
                expected_seq,
                row["id"],
                f"row {expected_seq} is missing (found {row['seq']} next)",
            )
        if link(previous, row) != row["chain_hash"]:
            return Verdict(
                count,
                previous,
                row["seq"],
                row["id"],
                f"row {row['seq']} (id {row['id']}) was changed: its hash does not match",
            )
        previous, expected_seq, count = row["chain_hash"], expected_seq + 1, count + 1
    if head is not None and head != (count, previous if count else GENESIS):
        head_seq, _ = head
        return Verdict(
            count,
            previous,
            min(count, head_seq) + 1 if head_seq != count else count,
            None,
            f"the chain head says {head_seq} rows ending in {head[1][:12]}..., "
            f"the table holds {count} ending in {previous[:12]}...",
        )
    return Verdict(count, previous)


def stored_rows(queryset: Any) -> Iterator[dict[str, Any]]:
    """The rows of ``queryset`` as verify wants them, read in chunks in ``seq`` order."""
    columns = ("id", "chain_hash", *CHAINED_FIELDS)
    for values in queryset.order_by("seq").values_list(*columns).iterator(chunk_size=2000):
        yield dict(zip(columns, values, strict=True))
