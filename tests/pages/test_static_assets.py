"""Every asset a template names ships with the package: a renamed or missing file is a page
without its styles or scripts, which no other test sees (nothing is fetched at run time)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.contrib.staticfiles import finders

SRC = Path(__file__).resolve().parents[2] / "src" / "acuknee"
STATIC = re.compile(r"""\{%\s*static\s+['"]([^'"]+)['"]|\bstatic\(\s*['"]([^'"]+)['"]\s*\)""")
"""``{% static 'p' %}`` in a Django template, ``{{ static('p') }}`` in a Jinja2 one."""


def named_assets() -> list[tuple[str, str]]:
    return [
        (path.relative_to(SRC).as_posix(), name)
        for path in sorted([*SRC.rglob("templates/**/*.html"), *SRC.rglob("jinja2/**/*.html")])
        for match in STATIC.finditer(path.read_text(encoding="utf-8"))
        for name in [match.group(1) or match.group(2)]
    ]


def test_templates_name_static_assets() -> None:
    assert len(named_assets()) >= 10


@pytest.mark.parametrize(("template", "asset"), named_assets())
def test_every_static_asset_a_template_names_exists(template: str, asset: str) -> None:
    assert finders.find(asset), f"{template} links {asset}, which no app ships"
