"""Crash safety: kill the real server with SIGKILL mid-burst and lose nothing it acknowledged.

The app is served by gunicorn (two sync workers, the app preloaded, production settings) in its
own process group, on a fresh database: a SQLite file (WAL) copied from the test database, or in the
PostgreSQL pass a new database ``acuknee_crash_<pid>`` made from it (dropped after). Six
client threads then send REST API writes with a Bearer token, as fast as they can: patient
registrations and visits of two instruments each (one request, two measurements, all or
none). Once enough writes have been acknowledged, the whole process group gets SIGKILL while
requests are in flight. The server is started again and the database read directly:

- every acknowledged write (a 2xx received) is present and whole: every field equal to what
  was sent and to what the server answered, with its history row;
- no half-written record exists: every visit has both instruments, every measurement has
  scores and history, every patient has history;
- every committed write has its audit event (they share one transaction), and no more.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import http.client
import itertools
import json
import os
import random
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection

from acuknee.records.models import ApiToken, Clinic, Patient, Role, StaffProfile
from tests.reliability import databases

pytestmark = pytest.mark.django_db(transaction=True)

HOST = "127.0.0.1"
CLIENTS = 6
ACKS_BEFORE_KILL = 45
MAX_BURST_S = 12.0
READY_TIMEOUT_S = 90.0
INSTRUMENTS = ("pain_nrs", "pss4")


@dataclass
class Ack:
    kind: str  # "patient" or "visit"
    sent: dict[str, Any]
    answer: Any


@dataclass
class Burst:
    acks: list[Ack] = field(default_factory=list)
    sent: int = 0
    failed: int = 0  # no answer: the server died under the request
    lock: threading.Lock = field(default_factory=threading.Lock)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def _request(port: int, method: str, path: str, token: str, body: Any = None) -> tuple[int, Any]:
    conn = http.client.HTTPConnection(HOST, port, timeout=30)
    headers = {
        "Host": f"{HOST}:{port}",
        "X-Forwarded-Proto": "https",
        "Connection": "close",
        "Authorization": f"Bearer {token}",
        "Content-Type": "application/json",
        "User-Agent": "acuknee-crash-test",
    }
    try:
        conn.request(method, path, body=None if body is None else json.dumps(body), headers=headers)
        response = conn.getresponse()
        data = response.read()
    finally:
        conn.close()
    return response.status, json.loads(data) if data else None


@contextlib.contextmanager
def served(env: dict[str, str]) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    """gunicorn in its own process group on a free port, ready; stopped (its group) after."""
    port = _free_port()
    gunicorn = Path(sys.executable).with_name("gunicorn")
    args = [str(gunicorn), "acuknee.site.wsgi:application", "--bind", f"{HOST}:{port}"]
    args += ["--workers", "2", "--preload", "--log-level", "warning"]
    process = subprocess.Popen(
        args, env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"gunicorn exited: {process.stderr.read().decode()[-2000:]}")  # type: ignore[union-attr]
            with contextlib.suppress(OSError):
                conn = http.client.HTTPConnection(HOST, port, timeout=5)
                conn.request("GET", "/healthz/", headers={"X-Forwarded-Proto": "https"})
                if conn.getresponse().status == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError("gunicorn did not answer /healthz/ in time")
            time.sleep(0.2)
        yield process, port
    finally:
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
        if process.stderr is not None:
            process.stderr.close()


def _environment(data_dir: Path, database_url: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ACUKNEE_")}
    env |= {
        "ACUKNEE_DATA_DIR": str(data_dir),
        "ACUKNEE_PRODUCTION": "1",
        "ACUKNEE_SECRET_KEY": secrets.token_urlsafe(50),
        "ACUKNEE_ALLOWED_HOSTS": HOST,
        "DJANGO_SETTINGS_MODULE": "acuknee.site.settings",
    }
    if database_url:
        env["ACUKNEE_DATABASE_URL"] = database_url
    return env


def _visit(n: int) -> dict[str, Any]:
    """The n-th visit: a distinct date, answers that vary with n (within each item's range)."""
    return {
        "measured_on": (dt.date(2001, 1, 1) + dt.timedelta(days=n)).isoformat(),
        "answers": {
            "pain_nrs": {"current": n % 11, "average_last_week": (n + 3) % 11},
            "pss4": {"1": n % 5, "2": (n + 1) % 5, "3": (n + 2) % 5, "4": (n + 3) % 5},
        },
    }


def _registration(n: int) -> dict[str, Any]:
    return {
        "given_name": f"Crash{n}",
        "family_name": "Synthetic",
        "date_of_birth": (dt.date(1950, 1, 1) + dt.timedelta(days=n)).isoformat(),
        "sex": "female" if n % 2 else "male",
        "record_number": f"CRASH-{n:05d}",
        "phone": f"+44 {n:04d}",
    }


def _client(port: int, token: str, patient_id: int, burst: Burst, stop: threading.Event,
            numbers: Iterator[int]) -> None:  # fmt: skip
    while not stop.is_set():
        n = next(numbers)
        if n % 4 == 0:
            kind, path, body = "patient", "/api/v1/patients", _registration(n)
        else:
            kind, path, body = "visit", f"/api/v1/patients/{patient_id}/measurements", _visit(n)
        with burst.lock:
            burst.sent += 1
        try:
            status, answer = _request(port, "POST", path, token, body)
        except (OSError, http.client.HTTPException, ValueError):
            with burst.lock:
                burst.failed += 1
            return  # the server is gone
        if not 200 <= status < 300:
            raise AssertionError(f"{path}: HTTP {status} {answer}")
        with burst.lock:
            burst.acks.append(Ack(kind, body, answer))


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def _same_numbers(stored: dict[str, Any], sent: dict[str, Any]) -> bool:
    return {k: float(v) for k, v in stored.items() if v is not None} == {
        k: float(v) for k, v in sent.items()
    }


def test_acknowledged_writes_survive_sigkill_whole(tmp_path: Path) -> None:
    clinic = Clinic.objects.create(name="Crash Clinic", slug="crash")
    user = User.objects.create_user(username="crash", password="unused-password-2026")
    StaffProfile.objects.create(user=user, clinic=clinic, role=Role.PRACTITIONER)
    patient = Patient.objects.create(
        clinic=clinic,
        record_number="CRASH-SEED",
        given_name="Seed",
        family_name="Synthetic",
        date_of_birth=dt.date(1960, 1, 1),
        sex="female",
        synthetic=True,
    )
    _, token = ApiToken.issue(user, "crash test")
    vendor = connection.vendor

    with contextlib.ExitStack() as stack:
        if vendor == "sqlite":
            where = str(databases.sqlite_copy(tmp_path / "acuknee.sqlite3"))
            env = _environment(tmp_path, None)
        else:
            where = stack.enter_context(databases.pg_database("crash", template=True))
            env = _environment(tmp_path, databases.pg_url(where))

        burst = Burst()
        stop = threading.Event()
        numbers = itertools.count(1)
        with served(env) as (process, port):
            threads = [
                threading.Thread(
                    target=_client, args=(port, token, patient.pk, burst, stop, numbers)
                )
                for _ in range(CLIENTS)
            ]
            for thread in threads:
                thread.start()
            deadline = time.monotonic() + MAX_BURST_S
            while len(burst.acks) < ACKS_BEFORE_KILL and time.monotonic() < deadline:
                time.sleep(0.01)
            time.sleep(random.uniform(0, 0.1))  # not just after an answer: anywhere in a request
            os.killpg(process.pid, signal.SIGKILL)  # mid-burst: clients are still sending
            stop.set()
            for thread in threads:
                thread.join(timeout=60)
        assert burst.acks, "no write was acknowledged before the kill"

        with served(env) as (_, port):  # restart: recovery, then the app works again
            status, _ = _request(port, "GET", f"/api/v1/patients/{patient.pk}", token)
            assert status == 200
        _check(vendor, where, patient.pk, burst)


def _check(vendor: str, where: str, seed_patient: int, burst: Burst) -> None:
    with contextlib.closing(databases.open_database(vendor, where)) as db:
        cursor = db.cursor()
        cursor.execute(
            "SELECT id, patient_id, measured_on, instrument, answers, scores "
            "FROM clinic_measurement"
        )
        measurements = {row[0]: row for row in cursor.fetchall()}
        cursor.execute("SELECT id, answers, scores FROM clinic_historicalmeasurement")
        measurement_history = {row[0]: row for row in cursor.fetchall()}
        cursor.execute(
            "SELECT id, record_number, given_name, family_name, date_of_birth, sex, phone "
            "FROM clinic_patient"
        )
        patients = {row[1]: row for row in cursor.fetchall()}
        cursor.execute("SELECT id FROM clinic_historicalpatient")
        patient_history = {row[0] for row in cursor.fetchall()}
        cursor.execute("SELECT path, status FROM audit_auditevent WHERE method = 'POST'")
        audited = Counter(
            ("visit" if path.endswith("/measurements") else "patient", status)
            for path, status in cursor.fetchall()
        )

    # every acknowledged write is present and whole
    acked = Counter(ack.kind for ack in burst.acks)
    for ack in burst.acks:
        if ack.kind == "visit":
            assert {m["instrument"] for m in ack.answer} == set(INSTRUMENTS)
            for answered in ack.answer:
                row = measurements.get(answered["id"])
                assert row is not None, f"acknowledged measurement {answered['id']} is missing"
                _, patient_id, measured_on, instrument, answers, scores = row
                assert patient_id == seed_patient
                assert str(measured_on) == ack.sent["measured_on"]
                assert _same_numbers(_json(answers), ack.sent["answers"][instrument])
                assert _json(answers) == answered["answers"]
                assert _json(scores) == answered["scores"]
                history = measurement_history.get(answered["id"])
                assert history is not None, f"measurement {answered['id']} has no history"
                assert _json(history[1]) == _json(answers)
        else:
            row = patients.get(ack.sent["record_number"])
            assert row is not None, f"acknowledged patient {ack.sent['record_number']} is missing"
            assert row[0] == ack.answer["id"]
            assert (row[2], row[3], str(row[4]), row[5], row[6]) == (
                ack.sent["given_name"],
                ack.sent["family_name"],
                ack.sent["date_of_birth"],
                ack.sent["sex"],
                ack.sent["phone"],
            )

    # no half-written record
    visits: dict[tuple[int, str], set[str]] = defaultdict(set)
    for _, patient_id, measured_on, instrument, _, scores in measurements.values():
        visits[(patient_id, str(measured_on))].add(instrument)
        assert _json(scores), "a measurement without scores"
    assert all(found == set(INSTRUMENTS) for found in visits.values()), visits
    assert set(measurements) <= set(measurement_history)
    assert {row[0] for row in patients.values()} <= patient_history

    # a write and its audit event share a transaction: one each, acknowledged or not
    created_patients = len(patients) - 1  # the seed was made before the server ran
    assert audited[("visit", 201)] == len(visits)
    assert audited[("patient", 201)] == created_patients
    print(
        f"\ncrash test ({vendor}): "
        f"{burst.sent} writes sent, {len(burst.acks)} acknowledged "
        f"({acked['visit']} visits, {acked['patient']} patients), all {len(burst.acks)} found "
        f"whole; {len(visits) + created_patients} committed "
        f"({len(visits) + created_patients - len(burst.acks)} committed but unanswered); "
        f"{burst.failed} requests cut off by the kill"
    )
