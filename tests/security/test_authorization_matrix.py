"""Every route of the site x every role x own/other clinic, generated from the URLconf.

A view added anywhere is picked up: without a declared rule it fails
``test_every_route_declares_an_access_rule`` with what to add; with one, it is requested as each
role (see tests/security/matrix.py for the rules and world.py for the data and clients).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import pytest
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.urls import path

from acuknee.accounts.access import public_view
from tests.demo_snapshot import restore_demo
from tests.security.matrix import ROLES, Outcome, missing_rule_message, routes
from tests.security.world import World
from tests.shared_run import once_per_run

# The module's tests read the matrix run once by ``world``; the marker makes pytest-django create
# the test database (it sets up only the databases that some test asks for).
pytestmark = pytest.mark.django_db


def undeclared(request: HttpRequest, report_id: int) -> HttpResponse:
    return HttpResponse("a view someone forgot to protect")


urlpatterns = [path("undeclared/<int:report_id>/", undeclared, name="undeclared")]


@pytest.mark.urls(__name__)
def test_a_view_without_a_rule_is_reported_with_what_to_add() -> None:
    [route] = [r for r in routes() if r.name == "undeclared"]
    assert route.rule is None
    message = missing_rule_message(route)
    assert "/undeclared/<int:report_id>/" in message
    assert "@clinic_view(roles=...)" in message
    assert "@public_view(reason=" in message


def test_a_public_view_must_say_why() -> None:
    with pytest.raises(ValueError, match="reason"):
        public_view(reason=" ")


def test_every_route_declares_an_access_rule() -> None:
    missing = [missing_rule_message(r) for r in routes() if r.rule is None]
    assert not missing, "\n".join(missing)


@dataclass
class MatrixRun:
    """What one run of the whole matrix found (JSON-able, so xdist workers can share it)."""

    outcomes: list[Outcome]
    unfillable: list[str]
    skipped: list[str]
    elapsed: dict[str, float]
    leak_markers: int
    leaks: list[str]


def _run_matrix(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    world = World(lambda day: restore_demo(tmp_path_factory, day))
    for route in routes():
        if route.rule is None:
            continue
        for role in ROLES:
            for variant in world.variants(route):
                world.request(route, route.rule, role, variant)
    return {
        "outcomes": [asdict(o) for o in world.outcomes],
        "unfillable": world.unfillable,
        "skipped": world.skipped,
        "elapsed": world.elapsed,
        "leak_markers": len(world.leak_markers),
        "leaks": world.leaks,
    }


@pytest.fixture(scope="module")
def world(
    django_db_setup: Any, django_db_blocker: Any, tmp_path_factory: pytest.TempPathFactory
) -> MatrixRun:
    """The whole matrix, run once per test run (one xdist worker runs it, inside a transaction
    rolled back after; the others read its findings: tests/shared_run.py)."""

    def run() -> dict[str, Any]:
        with django_db_blocker.unblock(), transaction.atomic():
            found = _run_matrix(tmp_path_factory)
            transaction.set_rollback(True)
        return found

    found = once_per_run(tmp_path_factory, "authorization-matrix", run)
    return MatrixRun(**{**found, "outcomes": [Outcome(**o) for o in found["outcomes"]]})


def _failures(world: MatrixRun, kind: str) -> list[Outcome]:
    def category(o: Outcome) -> str:
        if o.role in {"anonymous", "link_holder"}:
            return "anonymous"
        if o.problem and o.problem.startswith("expected 403"):
            return "role"
        if o.variant in {"other", "mixed"}:
            return "isolation"
        return "allowed"

    return [o for o in world.outcomes if o.problem and category(o) == kind]


def _report(failures: list[Outcome]) -> str:
    return f"{len(failures)} failing cell(s):\n" + "\n".join(str(f) for f in failures)


def test_matrix_covers_every_route_and_role(world: MatrixRun) -> None:
    checked = {(o.route, o.role) for o in world.outcomes}
    declared = [r for r in routes() if r.rule is not None]
    expected = {(r.label, role) for r in declared for role in ROLES}
    missed = sorted(expected - checked)
    assert not world.unfillable, "\n".join(world.unfillable)
    assert not missed, f"never requested: {missed[:20]} (skipped: {world.skipped})"
    slowest = sorted(world.elapsed.items(), key=lambda kv: -kv[1])[:5]
    print(
        f"\nauthorization matrix: {len(declared)} routes x {len(ROLES)} roles, "
        f"{len(world.outcomes)} requests checked; skipped: {sorted(set(world.skipped))}; "
        f"slowest: {[(k, round(v, 1)) for k, v in slowest]}"
    )


def test_anonymous_and_link_holders_are_sent_to_sign_in_or_refused_401(world: MatrixRun) -> None:
    failures = _failures(world, "anonymous")
    assert not failures, _report(failures)


def test_roles_outside_a_views_rule_are_refused_403(world: MatrixRun) -> None:
    failures = _failures(world, "role")
    assert not failures, _report(failures)


def test_another_clinics_records_are_404_never_403_or_200(world: MatrixRun) -> None:
    failures = _failures(world, "isolation")
    assert not failures, _report(failures)


def test_allowed_roles_reach_their_own_clinics_records(world: MatrixRun) -> None:
    failures = _failures(world, "allowed")
    assert not failures, _report(failures)


def test_no_answer_names_another_clinics_patient(world: MatrixRun) -> None:
    assert world.leak_markers, "the other clinic must have patients to leak"
    assert not world.leaks, "\n".join(world.leaks)
