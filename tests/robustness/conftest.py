"""Personas for the bad-input tests: the clinic app's (alice, bob, carol, dana, ...), and one world
of open forms that a module's tests share (``shared_world``)."""

from collections.abc import Iterator
from typing import Any

import pytest

from acuknee.records.models import Role
from tests.module_records import module_records
from tests.pages import conftest as personas
from tests.pages.conftest import *  # noqa: F403
from tests.robustness.web import World, build_world


@pytest.fixture(scope="module")
def shared_world(django_db_setup: Any, django_db_blocker: Any) -> Iterator[World]:
    """One world for a module's tests (tests/module_records.py): each test's posts are undone
    before the next, as a fresh world per test would be."""
    with module_records(django_db_blocker):
        northside = personas.northside_clinic()
        alice = personas.staff("alice", northside, Role.PRACTITIONER)
        yield build_world(personas.ada(northside, alice), alice)
