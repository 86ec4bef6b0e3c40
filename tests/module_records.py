"""Records a module's tests share, written once per module instead of once per test.

Building a clinic through the care layer (intakes screened, plans made, sessions checked, FHIR
lines rendered) costs a second or more; a module whose tests only read the same clinic pays it
once. The records are written inside a transaction that is rolled back when the module ends;
each test runs in a savepoint inside it (pytest-django's ``db`` fixture), so what one test
writes is undone before the next. The module's tests must not need ``transactional_db``.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.db import transaction


@contextmanager
def module_records(django_db_blocker: Any) -> Iterator[None]:
    """Inside: write the module's records; they stay until the module's last test is done."""
    with django_db_blocker.unblock(), transaction.atomic():
        yield
        transaction.set_rollback(True)


def from_records(records: str, attribute: str, name: str | None = None) -> Any:
    """A test's fixture ``name`` (default ``attribute``) that hands out ``attribute`` of the
    module's records fixture ``records``: the personas a module's tests ask for by name (``alice``,
    ``patient``) are then the ones its records were built with, not new rows. It names
    ``records`` in its signature, so pytest sets the module's records up before the test's
    savepoint (``db``), not inside it."""

    def handed_out(**fixtures: Any) -> Any:
        return getattr(fixtures[records], attribute)

    keyword = inspect.Parameter.KEYWORD_ONLY
    handed_out.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [inspect.Parameter(records, keyword), inspect.Parameter("db", keyword)]
    )
    return pytest.fixture(name=name or attribute)(handed_out)
