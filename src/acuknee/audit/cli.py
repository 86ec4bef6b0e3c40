"""``acuknee audit ...``: check that the audit log is the one that was written."""

from __future__ import annotations

import typer

app = typer.Typer(no_args_is_help=True, help="Audit log: verify its hash chain.")

EXIT_BROKEN = 1


@app.command("verify")
def verify() -> None:
    """Recompute every audit row's chained SHA-256; name the first row that does not hold.

    Exit 0 and the chain head (rows, last hash: keep it somewhere else to detect a later
    rewrite) when the chain holds; exit 1 and the first broken row when it does not.
    """
    from acuknee.django_setup import setup_django

    setup_django()
    from acuknee.audit.models import verify_log

    verdict = verify_log()
    if verdict.ok:
        typer.echo(f"audit chain intact: {verdict.rows} rows, head {verdict.head_hash}")
        return
    typer.echo(f"audit chain BROKEN at row {verdict.broken_seq}: {verdict.problem}", err=True)
    typer.echo(f"the {verdict.rows} rows before it hold (last hash {verdict.head_hash})", err=True)
    raise typer.Exit(EXIT_BROKEN)
