"""The simulated practitioners of the load test, run by locust (``benchmarks/loadtest/runner.py``
starts it headless; it is not meant to be run by hand).

Each user signs in as the demo practitioner like a browser (CSRF token from the page), then, with
a think time between requests, mixes reads (patient list, patient page, outcomes, and the charts
those pages link when they are not drawn yet, as a browser fetches them) and writes
(a measurement save, a session save) with the floor, ``GET /healthz/`` sent without cookies (no
database, no session: the cost of a request through the same server and the same client).

Reads and writes touch disjoint patients (``plan["read"]``, ``plan["write"]``), so the pages read
keep the demo's size for the whole run instead of growing with the saves.

Every request is appended to ``samples`` as (endpoint, start time, milliseconds, ok, detail) and
written to ``ACUKNEE_LOADTEST_SAMPLES`` when locust stops: the runner computes exact percentiles
from those rather than from locust's rounded histogram.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import os
import re
import urllib.request
from html import unescape
from http.cookiejar import Cookie, DefaultCookiePolicy
from pathlib import Path
from typing import Any

from locust import HttpUser, between, events, task
from locust.clients import HttpSession

from benchmarks.bench_clinic import LINKED_IMAGE, Form, as_opened_anew, filled, form_with

PLAN: dict[str, Any] = json.loads(Path(os.environ["ACUKNEE_LOADTEST_PLAN"]).read_text())
SAMPLES_FILE = Path(os.environ["ACUKNEE_LOADTEST_SAMPLES"])
THINK = float(PLAN["think_s"])
samples: list[tuple[str, float, float, bool, str]] = []
_turn = itertools.count()


def _send_secure_cookies_over_loopback(
    policy: DefaultCookiePolicy, cookie: Cookie, request: urllib.request.Request
) -> bool:
    """Production settings mark cookies Secure (HTTPS is ended by a proxy in front of gunicorn,
    which the ``X-Forwarded-Proto`` header stands for); on loopback the client still sends them
    over plain HTTP, as that proxy would. Set on the policy class because requests copies each
    session's cookies into a fresh jar per request; this process is only the load client."""
    return True


DefaultCookiePolicy.return_ok_secure = _send_secure_cookies_over_loopback  # type: ignore[method-assign,assignment]


@events.request.add_listener  # type: ignore[untyped-decorator]
def _record(
    name: str,
    response_time: float,
    exception: BaseException | None,
    start_time: float,
    response: Any = None,
    **_: Any,
) -> None:
    detail = ""
    if exception is not None:
        status = getattr(response, "status_code", 0)
        detail = f"HTTP {status}: {exception}"[:300]
    samples.append((name, start_time, response_time, exception is None, detail))


@events.test_stop.add_listener  # type: ignore[untyped-decorator]
def _write(**_: Any) -> None:
    SAMPLES_FILE.write_text(json.dumps(samples))


def _expect(response: Any, status: int, location: str | None = None) -> None:
    """Mark the request failed unless it answered ``status`` (and redirected to ``location``)."""
    if response.status_code != status:
        response.failure(f"expected HTTP {status}, got {response.status_code}")
    elif location is not None and not re.fullmatch(location, response.headers.get("Location", "")):
        response.failure(f"redirected to {response.headers.get('Location')!r}")
    else:
        response.success()


class Practitioner(HttpUser):
    """One practitioner at a browser; ``host`` is the served app on loopback."""

    wait_time = between(THINK * 0.5, THINK * 1.5)

    def on_start(self) -> None:
        origin = str(self.host).replace("http://", "https://")
        headers = {"X-Forwarded-Proto": "https", "Origin": origin, "Referer": origin + "/"}
        self.client.headers.update(headers)
        self.anonymous = HttpSession(self.host, self.environment.events.request, self)
        self.anonymous.headers.update({"X-Forwarded-Proto": "https"})
        page = self.client.get("/login/", name="sign in")
        form = form_with(page.text, "username")
        values = {"username": PLAN["username"], "password": PLAN["password"]}
        token = dict(form.fields)["csrfmiddlewaretoken"]
        with self.client.post(
            "/login/",
            data=filled(form, values, token),
            name="sign in",
            allow_redirects=False,
            catch_response=True,
        ) as answer:
            _expect(answer, 302)
        home = self.client.get("/", name="sign in")
        self.token = dict(form_with(home.text, "csrfmiddlewaretoken").fields)["csrfmiddlewaretoken"]

    def _read_patient(self) -> int:
        ids: list[int] = PLAN["read"]
        return ids[next(_turn) % len(ids)]

    def _write_patient(self) -> int:
        ids: list[int] = PLAN["write"]
        return ids[next(_turn) % len(ids)]

    @task(2)
    def healthz(self) -> None:
        with self.anonymous.get("/healthz/", name="healthz", catch_response=True) as r:
            _expect(r, 200)

    @task(3)
    def patient_list(self) -> None:
        with self.client.get("/", name="patient list", catch_response=True) as r:
            _expect(r, 200)

    @task(3)
    def patient_page(self) -> None:
        path = f"/patients/{self._read_patient()}/"
        with self.client.get(path, name="patient page", catch_response=True) as r:
            _expect(r, 200)
        self._pictures(r.text)

    @task(2)
    def outcomes(self) -> None:
        path = f"/patients/{self._read_patient()}/outcomes/"
        with self.client.get(path, name="outcomes", catch_response=True) as r:
            _expect(r, 200)
        self._pictures(r.text)

    def _pictures(self, page: str) -> None:
        """As a browser: the charts a page linked because they were not drawn yet, each drawn
        by its own request (a patient read, audited); the next view shows them inline."""
        for src in LINKED_IMAGE.findall(page):
            with self.client.get(unescape(src), name="chart", catch_response=True) as r:
                _expect(r, 200)

    @task(1)
    def measurement_save(self) -> None:
        pid = self._write_patient()
        values = {**PLAN["measurement_values"], "measured_on": dt.date.today().isoformat()}
        form = as_opened_anew(filled(_form(PLAN["measurement_form"]), values, self.token))
        with self.client.post(
            f"/patients/{pid}/measurements/new/",
            data=form,
            name="measurement save",
            allow_redirects=False,
            catch_response=True,
        ) as r:
            _expect(r, 302, rf"/patients/{pid}/outcomes/")

    @task(1)
    def session_save(self) -> None:
        pid = self._write_patient()
        form = as_opened_anew(
            filled(_form(PLAN["session_forms"][str(pid)]), PLAN["session_values"], self.token)
        )
        with self.client.post(
            f"/patients/{pid}/sessions/new/",
            data=form,
            name="session save",
            allow_redirects=False,
            catch_response=True,
        ) as r:
            _expect(r, 302, rf"/patients/{pid}/(#sessions)?")


def _form(stored: dict[str, Any]) -> Form:
    return Form(stored["action"], [tuple(pair) for pair in stored["fields"]])
