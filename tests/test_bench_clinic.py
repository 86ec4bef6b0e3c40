"""The served clinic benchmark: a tiny real run (gunicorn on the demo data), and its parts.

Structure only, never timing: the figures come from ``make bench``.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
from typing import Any

import pytest

from benchmarks import bench_clinic
from benchmarks.__main__ import main, modules
from benchmarks.bench_clinic import Client, Endpoint, Response, Tally, filled, form_with, sizes
from benchmarks.harness import QUICK, Result, Settings, Timing
from tests.shared_run import background, output

REPEAT, NUMBER, WARMUP, CLIENTS = 1, 1, 0, (1, 2)
JOBS = (
    "patient list",
    "patient page",
    "plan page",
    "outcomes page",
    "patient page, long history",
    "outcomes page, long history",
    "session form, long history",
    "worklist",
    "intake form",
    "session form",
    "intake page",
    "reassessment form",
    "intake save",
    "session save",
    "outcomes after a reassessment",
)


SERVED_RUN = background(
    "bench-served-run",
    "tests/test_bench_clinic.py",
    "-m",
    "benchmarks",
    "--quick",
    f"--repeat={REPEAT}",
    f"--number={NUMBER}",
    f"--warmup={WARMUP}",
    f"--clients={','.join(map(str, CLIENTS))}",
    "--json={out}",
    *(f"--skip={m.removeprefix('benchmarks.bench_')}" for m in modules(["clinic"])),
)
"""One tiny served run through the command line, every other benchmark left out; one per test
session, started in the background when the session starts (tests/shared_run.py)."""


@pytest.fixture(scope="module")
def served_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The served run's JSON report."""
    _, report = output(tmp_path_factory, SERVED_RUN)
    shared: dict[str, Any] = json.loads(report.read_text())
    return shared


def _rows(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {row["name"]: row for row in report["results"]}


# --- the served run ------------------------------------------------------------------------------


def test_every_endpoint_has_a_row_at_every_concurrency(served_run: dict[str, Any]) -> None:
    expected = {f"served {job}, 1 client" for job in JOBS}
    expected |= {f"served {job}, 2 clients" for job in JOBS}
    assert set(_rows(served_run)) == expected


def test_every_request_of_the_tiny_run_is_counted(served_run: dict[str, Any]) -> None:
    for name, row in _rows(served_run).items():
        clients = 2 if name.endswith("2 clients") else 1
        assert row["n"] == clients * NUMBER * REPEAT
        assert row["floor_n"] == clients * NUMBER * REPEAT


def test_the_served_run_reports_zero_errors(served_run: dict[str, Any]) -> None:
    for row in _rows(served_run).values():
        assert ", 0 errors;" in row["note"]


def test_every_served_row_has_the_healthz_floor(served_run: dict[str, Any]) -> None:
    for row in _rows(served_run).values():
        assert row["floor"] == bench_clinic.FLOOR
        assert row["p95_ns"] >= row["median_ns"] > 0
        assert row["floor_p95_ns"] >= row["floor_median_ns"] > 0


def test_the_run_records_its_concurrencies(served_run: dict[str, Any]) -> None:
    assert served_run["settings"]["clients"] == list(CLIENTS)


def test_the_readme_table_has_a_line_per_served_row(served_run: dict[str, Any]) -> None:
    lines = bench_clinic.markdown(served_run["results"]).splitlines()
    assert lines[0].startswith("| endpoint | clients | requests | errors | p50 | p95 |")
    assert len(lines) == 2 + len(JOBS) * len(CLIENTS)
    assert all(line.split(" | ")[3] == "0" for line in lines[2:])


# --- the parts, without a server -----------------------------------------------------------------

PAGE = """
<form method="post" action="/logout/"><input type="hidden" name="csrfmiddlewaretoken" value="t">
</form>
<form method="post">
  <input type="hidden" name="csrfmiddlewaretoken" value="t">
  <input type="date" name="visit_date" value="2026-11-24">
  <input type="checkbox" name="ticked" checked><input type="checkbox" name="unticked">
  <input type="checkbox" name="where" value="medial" checked>
  <input type="checkbox" name="where" value="lateral">
  <select name="side"><option value="">---</option><option value="left">Left</option></select>
  <select name="depth_unit"><option value="mm">mm</option>
    <option value="cun" selected>cun</option></select>
  <textarea name="note">
first line</textarea>
  <input type="submit" value="Save">
</form>
"""


def test_the_form_holding_a_field_is_chosen_over_the_logout_form() -> None:
    assert form_with(PAGE, "visit_date").action == ""
    with pytest.raises(bench_clinic.BenchmarkError):
        form_with(PAGE, "no_such_field")


def test_a_form_is_read_as_a_browser_submits_it() -> None:
    assert form_with(PAGE, "visit_date").fields == [
        ("csrfmiddlewaretoken", "t"),
        ("visit_date", "2026-11-24"),
        ("ticked", "on"),
        ("where", "medial"),
        ("side", ""),
        ("depth_unit", "cun"),
        ("note", "first line"),
    ]


def test_filled_replaces_and_adds_values_and_carries_the_clients_token() -> None:
    pairs = filled(form_with(PAGE, "visit_date"), {"side": "left", "extra": "1"}, "mine")
    assert dict(pairs)["side"] == "left"
    assert dict(pairs)["extra"] == "1"
    assert dict(pairs)["csrfmiddlewaretoken"] == "mine"
    assert [n for n, _ in pairs].count("side") == 1


def test_sizes_aim_at_ten_requests_a_burst_and_ten_times_repeat_per_endpoint() -> None:
    full = Settings()
    assert sizes(full, 1) == (10, 21)
    assert sizes(full, 10) == (1, 21)
    assert sizes(full, 50) == (1, 5)
    assert sizes(Settings(repeat=1), 50) == (1, bench_clinic.MIN_ROUNDS)


def test_an_explicit_number_fixes_requests_per_client_and_rounds() -> None:
    assert sizes(Settings(repeat=3, number=2), 50) == (2, 3)


def _endpoint(answer: Response | Exception) -> Endpoint:
    def call(client: Client, i: int) -> Response:
        if isinstance(answer, Exception):
            raise answer
        return answer

    return Endpoint("probe", call, lambda r: r.status == 200, "")


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        (Response(500, "", "", 1000), "probe: HTTP 500"),
        (Response(302, "/login/?next=/", "", 1000), "probe: HTTP 302 -> /login/?next=/"),
        (ConnectionResetError("reset"), "probe: ConnectionResetError: reset"),
    ],
)
def test_a_failed_request_is_an_error_and_not_a_latency(
    answer: Response | Exception, error: str
) -> None:
    tally = Tally()
    with bench_clinic.ThreadPoolExecutor(2) as pool:
        bench_clinic._burst(
            pool, [Client(0), Client(0)], _endpoint(answer), 1, iter(range(9)), tally
        )
    assert tally.errors == [error, error]
    assert tally.latencies == []


def test_a_good_answer_is_a_latency() -> None:
    tally = Tally()
    with bench_clinic.ThreadPoolExecutor(1) as pool:
        bench_clinic._burst(
            pool, [Client(0)], _endpoint(Response(200, "", "", 1234)), 3, iter(range(9)), tally
        )
    assert tally.latencies == [1234.0, 1234.0, 1234.0]
    assert not tally.errors


def test_the_quick_run_uses_fewer_clients() -> None:
    assert max(QUICK.clients) < max(Settings().clients)


def test_skip_leaves_the_served_benchmark_out() -> None:
    assert "benchmarks.bench_clinic" in modules()
    assert "benchmarks.bench_clinic" not in modules(["clinic"])


def test_an_unknown_skip_or_client_count_is_refused() -> None:
    with contextlib.redirect_stderr(io.StringIO()):
        for argv in (["--skip=nosuch"], ["--clients=1,0"], ["--clients=a"], ["--warmup=-1"]):
            with pytest.raises(SystemExit):
                main(argv)


def test_warmup_zero_is_kept_and_an_unset_option_keeps_the_quick_default() -> None:
    from benchmarks.__main__ import _settings

    parsed = argparse.Namespace(
        quick=True, repeat=None, number=None, warmup=0, synthetic=None, clients=None
    )
    assert _settings(parsed).warmup == 0
    assert _settings(argparse.Namespace(**{**vars(parsed), "warmup": None})).warmup == 1


def test_measured_throughput_replaces_one_over_the_median() -> None:
    timing = Timing(n=1, median_ns=1e7, p95_ns=1e7)
    assert Result("r", timing, "f", timing).per_second == pytest.approx(100.0)
    assert Result("r", timing, "f", timing, throughput=250.0).per_second == 250.0


def test_a_session_form_is_sent_as_opened_anew_with_a_new_token_each_time() -> None:
    pairs = [("csrfmiddlewaretoken", "t"), ("form_token", "old"), ("session_date", "2026-11-24")]
    first, second = bench_clinic.as_opened_anew(pairs), bench_clinic.as_opened_anew(pairs)
    assert dict(first)["form_token"] not in {"old", dict(second)["form_token"]}
    assert [n for n, _ in first] == [n for n, _ in pairs]
    assert dict(first)["session_date"] == "2026-11-24"


def test_timed_saves_that_stored_fewer_rows_than_requests_void_the_run() -> None:
    tallies = {
        "intake save": bench_clinic.Tally(latencies=[1.0] * 3),
        "session save": bench_clinic.Tally(latencies=[1.0] * 3),
        "patient page": bench_clinic.Tally(latencies=[1.0] * 3),
    }
    answered = {name: len(tally.latencies) for name, tally in tallies.items()}
    before = {"intake save": 10, "session save": 5}
    after = {"intake save": 14, "session save": 8}
    assert bench_clinic.unstored_saves(before, after, answered) == []
    after = {"intake save": 14, "session save": 6}
    problems = bench_clinic.unstored_saves(before, after, answered)
    assert problems == ["session save: 3 requests answered as saved stored only 1 rows"]


class _Recorded(Client):
    """A client whose requests are answered from a table and recorded, with no server."""

    def __init__(self, answers: dict[tuple[str, str], Response]) -> None:
        super().__init__(0)
        self.answers = answers
        self.sent: list[tuple[str, str]] = []

    def request(
        self,
        method: str,
        path: str,
        form: Any = None,
        *,
        anonymous: bool = False,
    ) -> Response:
        self.sent.append((method, path))
        return self.answers[(method, path)]


def test_a_submitted_form_is_timed_alone_and_its_redirect_followed_as_a_browser_does() -> None:
    saved = Response(302, "/patients/3/#sessions", "", 4321)
    client = _Recorded(
        {
            ("POST", "/patients/3/sessions/new/"): saved,
            ("GET", "/patients/3/"): Response(200, "", "ok", 99),
        }
    )
    answer = client.submit("/patients/3/sessions/new/", [("a", "1")])
    assert answer is saved  # the figure is the POST's time and answer
    assert client.sent == [("POST", "/patients/3/sessions/new/"), ("GET", "/patients/3/")]


def test_a_redirect_that_does_not_open_is_an_error_of_the_save() -> None:
    client = _Recorded(
        {
            ("POST", "/patients/3/intake/new/"): Response(302, "/patients/3/intakes/9/", "", 5),
            ("GET", "/patients/3/intakes/9/"): Response(500, "", "boom", 7),
        }
    )
    answer = client.submit("/patients/3/intake/new/", [])
    assert (answer.status, answer.elapsed_ns) == (500, 5)
    assert "/patients/3/intakes/9/: HTTP 500" in answer.body


def test_a_refused_form_is_not_followed_anywhere() -> None:
    client = _Recorded({("POST", "/patients/3/sessions/new/"): Response(400, "", "errors", 5)})
    assert client.submit("/patients/3/sessions/new/", []).status == 400
    assert client.sent == [("POST", "/patients/3/sessions/new/")]
