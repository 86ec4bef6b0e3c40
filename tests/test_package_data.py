"""Every file the app reads at run time from its own folders (templates, static assets, SQL,
knowledge files) is named by ``[tool.setuptools.package-data]``, so an installed wheel has it
too: the accounts' templates were once left out, which only an install from a wheel shows."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "src"
RUN_TIME_FILES = ("jinja2", "templates", "static", "sql", "knowledge")


def _shipped() -> set[Path]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    shipped: set[Path] = set()
    for package, patterns in config["tool"]["setuptools"]["package-data"].items():
        folder = SOURCE / package.replace(".", "/")
        for pattern in patterns:
            shipped |= {p for p in folder.glob(pattern) if p.is_file()}
    return shipped


def test_every_file_read_at_run_time_is_in_the_package_data() -> None:
    needed = {
        path
        for path in SOURCE.glob("acuknee/**/*")
        if path.is_file()
        and "__pycache__" not in path.parts
        and any(part in RUN_TIME_FILES for part in path.relative_to(SOURCE).parts[:-1])
    }
    assert any("jinja2" in p.parts for p in needed)
    missing = sorted(str(p.relative_to(SOURCE)) for p in needed - _shipped())
    assert not missing, missing
