"""``acuknee research ...``: synthetic cohorts, pooled analytics and de-identified export."""

from __future__ import annotations

import typer

app = typer.Typer(no_args_is_help=True, help="Research network: synth, report, export.")
