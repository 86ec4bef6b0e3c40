"""One place for command-line code to start Django before it touches the clinic's database."""

from __future__ import annotations

import os


def setup_django() -> None:
    """Configure Django from ``acuknee.site.settings`` (idempotent)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "acuknee.site.settings")
    import django

    django.setup()
