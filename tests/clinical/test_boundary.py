"""The clinical core stays pure: importing it loads no web, ORM, database or HTTP module."""

from __future__ import annotations

import subprocess
import sys

FORBIDDEN = ("django", "ninja", "sqlalchemy", "psycopg", "requests", "httpx", "sqlite3", "fhir")


def test_importing_the_clinical_core_loads_no_web_or_database_module() -> None:
    code = (
        "import sys, pkgutil, importlib, acuknee.clinical as c\n"
        "for m in pkgutil.walk_packages(c.__path__, 'acuknee.clinical.'):\n"
        "    importlib.import_module(m.name)\n"
        "from acuknee.clinical.knowledge import load_knowledge\n"
        "load_knowledge()\n"
        "print('\\n'.join(sorted(sys.modules)))\n"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True
    ).stdout.split()
    leaks = [m for m in loaded if m.split(".")[0] in FORBIDDEN]
    assert leaks == []
