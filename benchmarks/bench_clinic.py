"""The clinic app served for real: latency of its main pages under concurrent clients.

A fresh SQLite data directory gets ``migrate`` and ``load_demo``; gunicorn then serves
``acuknee.site.wsgi:application`` as production does (``acuknee.serving``: 2 sync workers)
with production settings (DEBUG off, the
secret key and hosts from the environment) on a free loopback port, as a subprocess stopped at
the end. Each client is a thread with its own login as the demo practitioner, made over HTTP
with CSRF like a browser, and a new connection per request (sync workers close it after each
response). Requests carry ``X-Forwarded-Proto: https``, which the production settings trust.

Jobs, each at every concurrency of ``Settings.clients`` (1, 10 and 50 clients):

- patient list: ``GET /``;
- patient page: ``GET /patients/<id>/`` of a demo patient in course (sessions, measurements);
- plan page, outcomes page (with its charts) and worklist: ``GET`` of the same patient's signed
  plan and outcomes, and ``/worklist/``. The patient and outcomes pages are opened as a browser
  opens them (``Client.browse``): the page is timed, then the charts it links because they were
  not drawn yet are fetched, untimed; the next view shows them inline;
- intake form and session form: ``GET`` of the same patient's intake (its first step) and
  session form, the pages a practitioner opens at every visit;
- patient page, outcomes page and session form, long history: the same pages of another demo
  patient in course, for whom ``LONG_HISTORY`` (100) more sessions are logged over HTTP before
  the run (untimed), so a page costing more with every session of the history shows;
- intake page and reassessment form: ``GET`` of the same patient's intake (the page a saved
  intake opens on) and of the reassessment form (every instrument's questions, KOOS's 42 as
  radio groups);
- intake save: ``POST`` of the intake form with a full baseline (42 KOOS items, pain, PSS-4,
  sleep, performance tests), screened and assessed by the core; answered by a redirect;
- session save: ``POST`` of the session form as pre-filled from a signed plan, with pain before
  and after, and a new form token each time as a form opened anew (a token posted again is a
  repeated submit, answered by the same redirect without a save); answered by a redirect;
- outcomes after a reassessment: the outcomes page a reassessment save opens on, the first view
  after new measurements (``POST`` of the reassessment form with new pain scores, untimed, then
  the timed ``GET`` of the page it redirects to): its new charts are not drawn yet. Measured
  between the reads and the other saves, whose intakes dated today would start a new course.

Each save must store its row: a run whose timed saves stored fewer intakes or sessions than
there were requests fails (``unstored_saves``), so a figure never times another path.

Floor: ``GET /healthz/`` (no database, no login, no session cookie) on the same server, at the
same concurrency, in the same run. In each round the floor and every job get one burst in turn
(each client sends ``k`` requests), so a change in load touches all of them alike.

Every concurrency starts a fresh server on the same database (a snapshot taken after the
logins), and measures the reads before the writes: the saves add hundreds of intakes and
sessions, and the pages would otherwise show those rather than the demo's records. The
reassessments come between the two.

Times are per request as a client sees them (connect, send, whole response read); p50 and p95
are nearest-rank over every request of an endpoint at one concurrency. ops/s is the measured
throughput of those bursts. The load comes from the same machine as the server. Any failed
request (no answer, or a status other than the expected one) fails the run.
"""

from __future__ import annotations

import contextlib
import http.client
import http.cookies
import itertools
import json
import math
import os
import re
import secrets
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.parse
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from html import unescape
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from acuknee import serving
from benchmarks.harness import Result, Settings, Timing, format_ns, percentile

HOST = "127.0.0.1"
WORKERS = serving.WORKERS
THREADS = serving.THREADS
USERNAME, PASSWORD = "practitioner", "demo-practitioner-2026"  # public demo login (load_demo)
PER_BURST = 10  # requests per burst to aim for when ``Settings.number`` is not given
MIN_ROUNDS = 3  # bursts per endpoint and concurrency, at least, so that rounds alternate
TIMEOUT_S = 120.0
FLOOR = "GET /healthz/ (no database, no login), same server and clients"

# The baseline an intake save carries; synthetic values inside each field's form bounds.
BASELINE = {
    "side": "left",
    "duration_weeks": "12",
    "m__pain_nrs__current": "6",
    "m__pain_nrs__average_last_week": "5",
    "m__pain_nrs__worst_last_week": "7",
    "m__patient_global__global": "6",
    "m__pss4__1": "2",
    "m__pss4__2": "2",
    "m__pss4__3": "2",
    "m__pss4__4": "2",
    "m__sleep_quality__rating": "5",
    "m__chair_stand_30s__stands": "9",
    "m__timed_up_and_go__time_s": "11.5",
    "m__walk_40m__time_s": "32",
    "m__knee_rom__flexion_deg": "115",
    "m__knee_rom__extension_deg": "0",
}
KOOS_ANSWER = "2"
LINKED_IMAGE = re.compile(r'<img\b[^>]*\bsrc="(/(?!static/)[^"]+)"')
"""A picture a page links on its own server (not a static file, which a browser keeps)."""
SESSION_PAIN = {"pain_before": "6", "pain_after": "4"}

LONG_HISTORY = 100
"""Sessions logged for one demo patient before the run (untimed): its pages are timed beside
the others, so a page that costs more with every session of the history shows (issue 15)."""
PAIN_SCORES = ("pain_nrs__current", "pain_nrs__average_last_week")  # a reassessment's new values


class BenchmarkError(RuntimeError):
    """The served app could not be set up, or a request failed: no figures are valid."""


# --- HTML forms ----------------------------------------------------------------------------------


@dataclass
class Form:
    """One ``<form>`` as a browser would submit it untouched: (name, value) pairs in order."""

    action: str
    fields: list[tuple[str, str]] = field(default_factory=list)
    controls: set[str] = field(default_factory=set)
    """Every named control, submitted or not (an unticked radio group too)."""

    def names(self) -> set[str]:
        return {name for name, _ in self.fields}


class _FormParser(HTMLParser):
    """Every form of a page with its successful controls: inputs (checked boxes only), the
    selected option of each select (else its first), and textareas."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self._select: tuple[str, list[str], list[str]] | None = None  # name, options, selected
        self._option: list[str] | None = None  # text of an option without a value
        self._textarea: tuple[str, list[str]] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append(Form(action=a.get("action", "")))
        if not self.forms:
            return
        fields = self.forms[-1].fields
        name = a.get("name", "")
        if name and tag in {"input", "select", "textarea"}:
            self.forms[-1].controls.add(name)
        if tag == "input" and name and "disabled" not in a:
            kind = a.get("type", "text").lower()
            if kind in {"checkbox", "radio"}:
                if "checked" in a:
                    fields.append((name, a.get("value", "on")))
            elif kind not in {"submit", "button", "image", "reset", "file"}:
                fields.append((name, a.get("value", "")))
        elif tag == "select" and name:
            self._select = (name, [], [])
        elif tag == "option" and self._select is not None:
            if "value" in a:
                self._select[1].append(a["value"])
                if "selected" in a:
                    self._select[2].append(a["value"])
            else:
                self._option = []
                if "selected" in a:
                    self._select[2].append("\0")  # filled with the text at </option>
        elif tag == "textarea" and name:
            self._textarea = (name, [])

    def handle_data(self, data: str) -> None:
        if self._option is not None:
            self._option.append(data)
        if self._textarea is not None:
            self._textarea[1].append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "option" and self._select is not None and self._option is not None:
            text = "".join(self._option).strip()
            self._select[1].append(text)
            selected = self._select[2]
            if selected and selected[-1] == "\0":
                selected[-1] = text
            self._option = None
        elif tag == "select" and self._select is not None:
            name, options, selected = self._select
            for value in selected or options[:1]:
                self.forms[-1].fields.append((name, value))
            self._select = None
        elif tag == "textarea" and self._textarea is not None:
            name, parts = self._textarea
            self.forms[-1].fields.append((name, "".join(parts).removeprefix("\n")))
            self._textarea = None


def form_with(html: str, field_name: str) -> Form:
    """The page's form that holds ``field_name`` (pages also carry a logout form)."""
    parser = _FormParser()
    parser.feed(html)
    parser.close()
    for form in parser.forms:
        if field_name in form.names():
            return form
    raise BenchmarkError(f"no form with a field {field_name!r} on the page")


def filled(form: Form, values: dict[str, str], token: str) -> list[tuple[str, str]]:
    """The form's pairs with ``values`` replacing (or adding) fields and this client's token."""
    values = {**values, "csrfmiddlewaretoken": token}
    pairs = [(n, values.get(n, v)) for n, v in form.fields]
    pairs += [(n, v) for n, v in values.items() if n not in form.names()]
    return pairs


def as_opened_anew(pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The pairs as a browser sends them from a form opened anew (a session, a reassessment):
    the page gives each form its own ``form_token``, and a token posted again is answered as a
    repeated submit (stored once, the same redirect), not as a save."""
    return [(n, uuid.uuid4().hex if n == "form_token" else v) for n, v in pairs]


# --- HTTP clients --------------------------------------------------------------------------------


@dataclass
class Response:
    status: int
    location: str
    body: str
    elapsed_ns: int


class Client:
    """One browser: its own cookies (session and CSRF), a new connection per request."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.cookies: dict[str, str] = {}
        self.token = ""

    def request(
        self,
        method: str,
        path: str,
        form: Sequence[tuple[str, str]] | None = None,
        *,
        anonymous: bool = False,
    ) -> Response:
        origin = f"https://{HOST}:{self.port}"
        headers = {
            "Host": f"{HOST}:{self.port}",
            "X-Forwarded-Proto": "https",
            "Connection": "close",
            "User-Agent": "acuknee-bench",
        }
        if self.cookies and not anonymous:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers["Origin"] = origin
            headers["Referer"] = origin + path
        start = time.perf_counter_ns()
        conn = http.client.HTTPConnection(HOST, self.port, timeout=TIMEOUT_S)
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            data = response.read()
        finally:
            conn.close()
        elapsed = time.perf_counter_ns() - start
        if not anonymous:
            for raw in response.headers.get_all("Set-Cookie") or []:
                cookie: http.cookies.SimpleCookie = http.cookies.SimpleCookie()
                cookie.load(raw)
                for name, morsel in cookie.items():
                    if morsel["max-age"] == "0":  # deleted, as a browser drops it
                        self.cookies.pop(name, None)
                    else:
                        self.cookies[name] = morsel.value
        location = response.headers.get("Location", "")
        return Response(response.status, location, data.decode("utf-8", "replace"), elapsed)

    def get(self, path: str, *, anonymous: bool = False) -> Response:
        return self.request("GET", path, anonymous=anonymous)

    def post(self, path: str, form: Sequence[tuple[str, str]]) -> Response:
        return self.request("POST", path, form)

    def submit(self, path: str, form: Sequence[tuple[str, str]]) -> Response:
        """A form as a browser submits it: the POST (its time is the figure), then, untimed, the
        page its redirect opens on, as a browser follows it. That page shows the save's message
        and drops it from the ``messages`` cookie; without it every save of a run would carry
        all the earlier saves' messages (up to Django's 2 kB cookie) and re-sign them."""
        answer = self.post(path, form)
        if answer.status == 302 and answer.location.startswith("/"):
            shown = self.get(urllib.parse.urldefrag(answer.location).url)
            if shown.status != 200:
                return Response(
                    shown.status,
                    answer.location,
                    f"{answer.location}: HTTP {shown.status}",
                    answer.elapsed_ns,
                )
        return answer

    def browse(self, path: str) -> Response:
        """A page as a browser opens it: the page (its time is the figure), then, untimed, each
        picture it links on this server (a chart not drawn yet is one), which must answer 200."""
        page = self.get(path)
        for src in LINKED_IMAGE.findall(page.body):
            image = self.get(unescape(src))
            if image.status != 200:
                return Response(image.status, "", f"{src}: HTTP {image.status}", page.elapsed_ns)
        return page

    def log_in(self) -> None:
        """As a browser: the login page (CSRF cookie and token), the post, then the home page,
        whose forms carry the token this session uses from then on."""
        page = self.get("/login/")
        form = form_with(page.body, "username")
        token = dict(form.fields)["csrfmiddlewaretoken"]
        answer = self.post(
            "/login/", filled(form, {"username": USERNAME, "password": PASSWORD}, token)
        )
        if answer.status != 302:
            raise BenchmarkError(f"login refused: HTTP {answer.status}")
        home = self.get("/")
        self.token = dict(form_with(home.body, "csrfmiddlewaretoken").fields)["csrfmiddlewaretoken"]


# --- the served app ------------------------------------------------------------------------------


def _environment(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ACUKNEE_")}
    env.update(
        ACUKNEE_DATA_DIR=str(data_dir),
        ACUKNEE_PRODUCTION="1",
        ACUKNEE_SECRET_KEY=secrets.token_urlsafe(50),
        ACUKNEE_ALLOWED_HOSTS=HOST,
        DJANGO_SETTINGS_MODULE="acuknee.site.settings",
    )
    return env


def _manage(env: dict[str, str], *args: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "acuknee.manage", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if done.returncode != 0:
        raise BenchmarkError(f"manage {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")


@contextlib.contextmanager
def demo_data() -> Iterator[dict[str, str]]:
    """A fresh temporary data directory with the demo loaded; yields the server's environment
    (one secret key for the whole run, so sessions survive a restart)."""
    with tempfile.TemporaryDirectory(prefix="acuknee-bench-") as tmp:
        env = _environment(Path(tmp))
        _manage(env, "migrate", "--noinput", "--verbosity", "0")
        _manage(env, "load_demo")
        yield env


def _database(env: dict[str, str]) -> Path:
    return Path(env["ACUKNEE_DATA_DIR"]) / "acuknee.sqlite3"


def snapshot(env: dict[str, str]) -> Path:
    """A consistent copy of the live database (SQLite's backup API), to start every
    concurrency level from the same records."""
    database = _database(env)
    copy = database.with_name("snapshot.sqlite3")
    with (
        contextlib.closing(sqlite3.connect(database)) as live,
        contextlib.closing(sqlite3.connect(copy)) as target,
    ):
        live.backup(target)
    return copy


def restore(env: dict[str, str], copy: Path) -> None:
    database = _database(env)
    for suffix in ("-wal", "-shm"):
        database.with_name(database.name + suffix).unlink(missing_ok=True)
    shutil.copyfile(copy, database)


SAVED_IN = {
    "intake save": "clinic_intakerecord",
    "session save": "clinic_treatmentsession",
    "outcomes after a reassessment": "clinic_measurement",
    "measurement save": "clinic_measurement",  # the load test's
}
"""The table each save adds a row to: a save answered without storing one is not a save."""


def stored_rows(env: dict[str, str]) -> dict[str, int]:
    """Rows in each save's table now (read beside the server, as SQLite allows)."""
    with contextlib.closing(sqlite3.connect(_database(env))) as db:
        return {
            name: db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            for name, table in SAVED_IN.items()
        }


def unstored_saves(
    before: Mapping[str, int], after: Mapping[str, int], answered: Mapping[str, int]
) -> list[str]:
    """An error for each save endpoint (``SAVED_IN``) whose requests answered as saved stored
    fewer rows than they were (a warm-up stores some more): the figure would time another
    path, such as a repeated submit answered by the same redirect. ``answered``: requests per
    endpoint (this benchmark's timed ones, or the load test's answered as saved)."""
    out = []
    for name, count in answered.items():
        stored = after[name] - before[name] if name in SAVED_IN else count
        if stored < count:
            out.append(f"{name}: {count} requests answered as saved stored only {stored} rows")
    return out


def _listening_port(process: subprocess.Popen[bytes], log: Path) -> int:
    """The port gunicorn bound (it was asked for port 0: any free one), from its log."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        found = re.search(r"Listening at: http://[\d.]+:(\d+)", log.read_text(errors="replace"))
        if found:
            return int(found.group(1))
        if process.poll() is not None:
            break
        time.sleep(0.05)
    raise BenchmarkError(f"gunicorn did not start:\n{log.read_text(errors='replace')[-3000:]}")


def _wait_ready(port: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError, http.client.HTTPException):
            if Client(port).get("/healthz/", anonymous=True).status == 200:
                return
        time.sleep(0.05)
    raise BenchmarkError("the served app never answered /healthz/")


@contextlib.contextmanager
def served(env: dict[str, str], workers: int = WORKERS, threads: int = THREADS) -> Iterator[int]:
    """gunicorn serving the app on a free loopback port, stopped on exit; yields the port. The
    options are production's (``acuknee.serving``, as ``acuknee serve`` runs it)."""
    log = Path(env["ACUKNEE_DATA_DIR"]) / "gunicorn.log"
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        *serving.gunicorn_args(workers, threads),
        f"--bind={HOST}:0",
        "--no-control-socket",
        "--graceful-timeout=5",
        f"--timeout={int(TIMEOUT_S)}",
    ]
    with log.open("wb") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            port = _listening_port(process, log)
            _wait_ready(port)
            yield port
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


# --- what is measured ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Endpoint:
    """One measured request: how a client sends it, and what it must answer."""

    name: str
    call: Callable[[Client, int], Response]  # (client, a running number for rotation)
    ok: Callable[[Response], bool]
    detail: str


@dataclass(frozen=True)
class Endpoints:
    floor: Endpoint
    reads: list[Endpoint]
    writes: list[Endpoint]
    follow_ups: list[Endpoint]
    """Saves whose page is timed: measured after the reads and before the writes, whose new
    intakes (dated today) would make today's measurements part of a new baseline."""


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    wall_ns: int = 0

    def rate(self) -> float:
        return len(self.latencies) / (self.wall_ns / 1e9)

    def timing(self) -> Timing:
        return Timing(
            n=len(self.latencies),
            median_ns=percentile(self.latencies, 0.5),
            p95_ns=percentile(self.latencies, 0.95),
        )


def _patient_ids(html: str) -> list[int]:
    return sorted({int(i) for i in re.findall(r'href="/patients/(\d+)/"', html)})


def _redirect_to(pattern: str) -> Callable[[Response], bool]:
    return lambda r: r.status == 302 and re.fullmatch(pattern, r.location) is not None


def endpoints(setup: Client) -> Endpoints:
    """The floor and the jobs, with the demo patients and forms they use, found over HTTP."""
    patients = _patient_ids(setup.get("/").body)
    sessions: dict[int, Form] = {}
    for pid in patients:
        page = setup.get(f"/patients/{pid}/sessions/new/")
        if page.status == 200:  # 409: no signed plan
            sessions[pid] = form_with(page.body, "session_date")
    if len(sessions) < 2 or len(patients) < 3:
        raise BenchmarkError(f"the demo has too few patients ({patients}, signed {list(sessions)})")
    shown = min(sessions)  # the patient page: in course, never written to
    session_ids = [p for p in sessions if p != shown]
    long_id = max(session_ids)  # a long history: LONG_HISTORY more sessions, logged here
    for _ in range(LONG_HISTORY):
        logged = setup.submit(
            f"/patients/{long_id}/sessions/new/",
            as_opened_anew(filled(sessions[long_id], SESSION_PAIN, setup.token)),
        )
        if logged.status != 302:
            raise BenchmarkError(f"a session of the long history was refused: {logged.status}")
    intake_ids = [p for p in patients if p != shown]
    plans = re.findall(
        rf'href="(/patients/{shown}/plans/\d+/)"', setup.get(f"/patients/{shown}/").body
    )
    if not plans:
        raise BenchmarkError(f"the patient page of {shown} links no plan")
    plan_page = plans[0]
    intakes = re.findall(
        rf'href="(/patients/{shown}/intakes/\d+/)"', setup.get(f"/patients/{shown}/").body
    )
    if not intakes:
        raise BenchmarkError(f"the patient page of {shown} links no intake")
    intake_page = intakes[0]
    intake = form_with(setup.get(f"/patients/{shown}/intake/new/?step=all").body, "visit_date")
    koos = {n: KOOS_ANSWER for n in intake.controls if n.startswith("m__koos__")}
    if len(koos) != 42 or not BASELINE.keys() <= intake.controls:
        raise BenchmarkError("the intake form lacks fields this benchmark fills")
    intake_values = {**BASELINE, **koos}

    def save_intake(client: Client, i: int) -> Response:
        pid = intake_ids[i % len(intake_ids)]
        form = filled(intake, intake_values, client.token)
        return client.submit(f"/patients/{pid}/intake/new/", form)

    reassessment = form_with(setup.get(f"/patients/{shown}/measurements/new/").body, "measured_on")
    if not set(PAIN_SCORES) <= reassessment.controls:
        raise BenchmarkError("the reassessment form lacks the pain scores this benchmark fills")

    def outcomes_after_reassessment(client: Client, i: int) -> Response:
        """New pain scores for a patient in course (untimed), then the page the save opens on:
        consecutive saves of one patient differ, so its pain charts are new each time."""
        pid = session_ids[i % len(session_ids)]
        scores = dict(zip(PAIN_SCORES, (str(i % 11), str(i // 11 % 11)), strict=True))
        saved = client.post(
            f"/patients/{pid}/measurements/new/",
            as_opened_anew(filled(reassessment, scores, client.token)),
        )
        return client.browse(saved.location) if saved.status == 302 else saved

    def save_session(client: Client, i: int) -> Response:
        pid = session_ids[i % len(session_ids)]
        form = as_opened_anew(filled(sessions[pid], SESSION_PAIN, client.token))
        return client.submit(f"/patients/{pid}/sessions/new/", form)

    points = sum(1 for n, v in sessions[session_ids[0]].fields if n.endswith("-code") and v)
    return Endpoints(
        floor=Endpoint(
            "GET /healthz/",
            lambda c, _: c.get("/healthz/", anonymous=True),
            lambda r: r.status == 200 and r.body == "ok",
            "no database, no login",
        ),
        reads=[
            Endpoint(
                "patient list",
                lambda c, _: c.get("/"),
                lambda r: r.status == 200,
                f"GET /, {len(patients)} demo patients listed",
            ),
            Endpoint(
                "patient page",
                lambda c, _: c.browse(f"/patients/{shown}/"),
                lambda r: r.status == 200,
                f"GET /patients/{shown}/, a demo patient in course",
            ),
            Endpoint(
                "plan page",
                lambda c, _: c.get(plan_page),
                lambda r: r.status == 200,
                f"GET {plan_page}, the signed plan of the same patient",
            ),
            Endpoint(
                "outcomes page",
                lambda c, _: c.browse(f"/patients/{shown}/outcomes/"),
                lambda r: r.status == 200,
                f"GET /patients/{shown}/outcomes/, with its charts",
            ),
            Endpoint(
                "patient page, long history",
                lambda c, _: c.browse(f"/patients/{long_id}/"),
                lambda r: r.status == 200,
                f"GET /patients/{long_id}/, a demo patient with {LONG_HISTORY} more sessions",
            ),
            Endpoint(
                "outcomes page, long history",
                lambda c, _: c.browse(f"/patients/{long_id}/outcomes/"),
                lambda r: r.status == 200,
                f"GET /patients/{long_id}/outcomes/, the same patient",
            ),
            Endpoint(
                "session form, long history",
                lambda c, _: c.get(f"/patients/{long_id}/sessions/new/"),
                lambda r: r.status == 200 and 'name="session_date"' in r.body,
                f"GET /patients/{long_id}/sessions/new/, the same patient",
            ),
            Endpoint(
                "worklist",
                lambda c, _: c.get("/worklist/"),
                lambda r: r.status == 200,
                "GET /worklist/, the clinic's open tasks",
            ),
            Endpoint(
                "intake form",
                lambda c, _: c.get(f"/patients/{shown}/intake/new/"),
                lambda r: r.status == 200 and 'name="visit_date"' in r.body,
                f"GET /patients/{shown}/intake/new/, the intake's first step",
            ),
            Endpoint(
                "session form",
                lambda c, _: c.get(f"/patients/{shown}/sessions/new/"),
                lambda r: r.status == 200 and 'name="session_date"' in r.body,
                f"GET /patients/{shown}/sessions/new/, pre-filled from the signed plan",
            ),
            Endpoint(
                "intake page",
                lambda c, _: c.get(intake_page),
                lambda r: r.status == 200 and "Screening verdict" in r.body,
                f"GET {intake_page}, the page a saved intake opens on (screening, assessment)",
            ),
            Endpoint(
                "reassessment form",
                lambda c, _: c.get(f"/patients/{shown}/measurements/new/"),
                lambda r: r.status == 200 and 'name="measured_on"' in r.body,
                f"GET /patients/{shown}/measurements/new/, every instrument's questions",
            ),
        ],
        writes=[
            Endpoint(
                "intake save",
                save_intake,
                _redirect_to(r"/patients/\d+/intakes/\d+/"),
                f"POST, 42 KOOS items and {len(BASELINE) - 2} other baseline answers, "
                f"over {len(intake_ids)} patients",
            ),
            Endpoint(
                "session save",
                save_session,
                _redirect_to(r"/patients/\d+/(#sessions)?"),
                f"POST, pre-filled from a signed plan ({points} points on the first), "
                f"over {len(session_ids)} patients",
            ),
        ],
        follow_ups=[
            Endpoint(
                "outcomes after a reassessment",
                outcomes_after_reassessment,
                lambda r: r.status == 200 and 'id="outcomes-heading"' in r.body,
                "GET of the outcomes page a reassessment save opened on (the POST untimed), "
                f"its pain charts new, over {len(session_ids)} patients",
            ),
        ],
    )


def _burst(
    pool: ThreadPoolExecutor,
    clients: list[Client],
    endpoint: Endpoint,
    per_client: int,
    counter: Iterator[int],
    tally: Tally,
) -> None:
    """Every client sends ``per_client`` requests at once; latencies of good answers only."""

    def one(client: Client) -> list[tuple[int, str | None]]:
        out: list[tuple[int, str | None]] = []
        for _ in range(per_client):
            try:
                response = endpoint.call(client, next(counter))
            except (OSError, http.client.HTTPException) as exc:
                out.append((0, f"{endpoint.name}: {type(exc).__name__}: {exc}"))
                continue
            if endpoint.ok(response):
                out.append((response.elapsed_ns, None))
            else:
                where = f" -> {response.location}" if response.location else ""
                out.append((0, f"{endpoint.name}: HTTP {response.status}{where}"))
        return out

    start = time.perf_counter_ns()
    answers = list(pool.map(one, clients))
    tally.wall_ns += time.perf_counter_ns() - start
    for elapsed, error in itertools.chain.from_iterable(answers):
        if error is None:
            tally.latencies.append(float(elapsed))
        else:
            tally.errors.append(error)


def sizes(settings: Settings, clients: int) -> tuple[int, int]:
    """(requests per client per burst, rounds): about ``PER_BURST x repeat`` requests per
    endpoint at each concurrency, or exactly ``number`` per client x ``repeat`` rounds."""
    if settings.number is not None:
        return settings.number, settings.repeat
    per_client = max(1, math.ceil(PER_BURST / clients))
    rounds = max(MIN_ROUNDS, math.ceil(PER_BURST * settings.repeat / (clients * per_client)))
    return per_client, rounds


def phase(
    clients: list[Client], floor: Endpoint, jobs: list[Endpoint], settings: Settings
) -> tuple[Tally, dict[str, Tally]]:
    """Warm up, then rounds in which the floor and every job get one burst each, in turn."""
    per_client, rounds = sizes(settings, len(clients))
    counter = itertools.count()
    floor_tally, tallies = Tally(), {job.name: Tally() for job in jobs}
    with ThreadPoolExecutor(len(clients)) as pool:
        warm = Tally()
        for _ in range(settings.warmup):
            for endpoint in [floor, *jobs]:
                _burst(pool, clients[:WORKERS], endpoint, 1, counter, warm)
        floor_tally.errors += warm.errors
        for _ in range(rounds):
            _burst(pool, clients, floor, per_client, counter, floor_tally)
            for job in jobs:
                _burst(pool, clients, job, per_client, counter, tallies[job.name])
    return floor_tally, tallies


def _results(n: int, floor: Tally, jobs: list[Endpoint], tallies: dict[str, Tally]) -> list[Result]:
    out = []
    for job in jobs:
        tally = tallies[job.name]
        out.append(
            Result(
                name=f"served {job.name}, {n} client{'s' if n > 1 else ''}",
                job=tally.timing(),
                floor_name=FLOOR,
                floor=floor.timing(),
                note=(
                    f"{len(tally.latencies)} requests, {len(tally.errors)} errors; floor "
                    f"{len(floor.latencies)} requests, p95 {floor.timing().p95_ns / 1e6:.3g} ms; "
                    f"{job.detail}"
                ),
                throughput=tally.rate(),
            )
        )
    return out


def run(settings: Settings) -> list[Result]:
    """Every concurrency starts on the same database (the demo as loaded, with the clients'
    logins) and a fresh server. Reads are measured before any write of their level, so the
    pages show the demo's records and not the ones the saves pile up."""
    clients = [Client(0) for _ in range(max(settings.clients))]
    results: list[Result] = []
    errors: list[str] = []
    with demo_data() as env:
        copy: Path | None = None
        for n in settings.clients:
            if copy is not None:
                restore(env, copy)
            with served(env) as port:
                for client in clients:
                    client.port = port
                if copy is None:
                    with ThreadPoolExecutor(WORKERS * 2) as pool:
                        list(pool.map(Client.log_in, clients))
                    found = endpoints(clients[0])
                    copy = snapshot(env)
                for jobs in (found.reads, found.follow_ups, found.writes):
                    before = stored_rows(env)
                    floor, tallies = phase(clients[:n], found.floor, jobs, settings)
                    errors += floor.errors + [e for t in tallies.values() for e in t.errors]
                    answered = {name: len(t.latencies) for name, t in tallies.items()}
                    errors += unstored_saves(before, stored_rows(env), answered)
                    if not errors:
                        results += _results(n, floor, jobs, tallies)
            if errors:
                break
    if errors:
        shown = "\n".join(sorted(set(errors))[:10])
        raise BenchmarkError(f"{len(errors)} requests failed; the figures are void:\n{shown}")
    return results


def markdown(rows: list[dict[str, Any]]) -> str:
    """The served rows of a ``--json`` report as the README's table: one line per endpoint and
    concurrency, with requests, errors, p50, p95, throughput and the floor beside them."""
    lines = [
        "| endpoint | clients | requests | errors | p50 | p95 | req/s | floor p50 | floor p95"
        " | p50 ratio |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for row in rows:
        found = re.fullmatch(r"served (.+), (\d+) clients?", row["name"])
        errors = re.search(r"(\d+) errors", row["note"])
        if found is None or errors is None:
            continue
        cells = [
            found.group(1),
            found.group(2),
            f"{row['n']:,}",
            errors.group(1),
            format_ns(row["median_ns"]),
            format_ns(row["p95_ns"]),
            f"{row['per_second']:,.0f}",
            format_ns(row["floor_median_ns"]),
            format_ns(row["floor_p95_ns"]),
            f"{row['ratio']:.1f}x",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


if __name__ == "__main__":  # python -m benchmarks.bench_clinic results.json: the README table
    print(markdown(json.loads(Path(sys.argv[1]).read_text())["results"]))
