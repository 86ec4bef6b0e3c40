"""``acuknee research ...``: synthetic cohorts, pooled analytics and de-identified export."""

from __future__ import annotations

import typer

app = typer.Typer(no_args_is_help=True, help="Research network: synth, report, export.")


@app.command("synth")
def synth(
    patients: int = typer.Option(..., "--patients", help="Number of synthetic patients (courses)."),
    clinics: int = typer.Option(
        ..., "--clinics", help="Number of synthetic clinics (<= patients)."
    ),
    seed: int = typer.Option(..., "--seed", help="Random seed: the same seed gives the same rows."),
    parquet: str | None = typer.Option(
        None, "--parquet", help="Write research_course/research_adverse_event Parquet files here."
    ),
    database: bool = typer.Option(
        False, "--database", help="Write into the app's database (SQLite or PostgreSQL)."
    ),
) -> None:
    """Generate a synthetic, reproducible cohort (rates and sources: acuknee.research.synth)."""
    import time
    from pathlib import Path

    from acuknee.research.synth import SynthError, iter_cohort

    if (parquet is None) == (not database):
        typer.echo("Choose exactly one of --parquet DIR or --database.", err=True)
        raise typer.Exit(2)
    try:
        chunks = iter_cohort(patients, clinics, seed)
        first = next(chunks)
    except SynthError as exc:
        typer.echo(f"Error: {exc}", err=True)
        raise typer.Exit(2) from None
    from itertools import chain

    started = time.perf_counter()
    if parquet is not None:
        from acuknee.research.writers import write_parquet

        summary = write_parquet(chain([first], chunks), Path(parquet))
        where = ", ".join(str(p) for p in summary.files)
    else:
        from acuknee.django_setup import setup_django

        setup_django()
        from acuknee.research.writers import write_database

        summary = write_database(chain([first], chunks))
        where = f"the database ({summary.clinics} synthetic clinics created or updated)"
    elapsed = time.perf_counter() - started
    typer.echo(
        f"Wrote {summary.courses} courses and {summary.adverse_events} adverse events "
        f"for {clinics} clinics (seed {seed}) to {where} in {elapsed:.1f} s."
    )


@app.command("report")
def report(
    by: str = typer.Option(
        "",
        "--by",
        help="Breakdowns, comma-separated (clinic, region, cause, severity_band, age_band, sex, "
        "diabetes, anticoagulated, cardiac_device, knee_prosthesis, protocol, method, "
        "sessions_band); all by default.",
    ),
    fmt: str = typer.Option("table", "--format", help="table, json or csv."),
    parquet: str | None = typer.Option(
        None, "--parquet", help="Report on the Parquet files in this folder, not the database."
    ),
    refresh: bool = typer.Option(
        False, "--refresh", help="Rebuild the research tables from the clinic records first."
    ),
) -> None:
    """Pooled outcomes by breakdown (aggregates only; counts under 5 shown as "<5")."""
    from pathlib import Path

    from acuknee.research import analytics

    if fmt not in analytics.FORMATS:
        typer.echo(f"Error: --format {fmt!r}: choose one of table, json, csv.", err=True)
        raise typer.Exit(2)
    if parquet is not None and refresh:
        typer.echo("Error: --refresh rebuilds the database tables; drop --parquet.", err=True)
        raise typer.Exit(2)
    try:
        analytics.parse_by(by)
        if parquet is not None:
            engine: analytics.Engine = analytics.DuckDBEngine.from_parquet(Path(parquet))
        else:
            from acuknee.django_setup import setup_django

            setup_django()
            if refresh:
                from acuknee.research.refresh import refresh as rebuild

                typer.echo(rebuild().text(), err=True)
            engine = analytics.django_engine()
        typer.echo(analytics.render(analytics.report(engine, by=by), fmt))
    except analytics.ReportError as exc:
        typer.echo(f"Error: {exc}", err=True)
        raise typer.Exit(2) from None


@app.command("export")
def export(
    out: str = typer.Option(..., "--out", help="Folder for the exported files."),
    deidentify: bool = typer.Option(
        False, "--deidentify", help="Required: only de-identified exports are offered."
    ),
    fmt: str = typer.Option("parquet", "--format", help="parquet, csv or both."),
    k: int = typer.Option(5, "--k", help="k-anonymity on age band, sex and clinic region."),
    secret_file: str | None = typer.Option(
        None,
        "--secret-file",
        help="Key for date offsets and pseudonyms (keep it; the same key gives the same offsets "
        "in every export). Default: $ACUKNEE_EXPORT_SECRET, else a random key, forgotten.",
    ),
    refresh: bool = typer.Option(
        False, "--refresh", help="Rebuild the research tables from the clinic records first."
    ),
) -> None:
    """De-identified export of the research tables for pooling, with a data dictionary."""
    import os
    from pathlib import Path

    if not deidentify:
        typer.echo("Error: add --deidentify: only de-identified exports are offered.", err=True)
        raise typer.Exit(2)
    secret: bytes | None = None
    if secret_file is not None:
        try:
            secret = Path(secret_file).read_bytes()
        except OSError as exc:
            typer.echo(f"Error: --secret-file {secret_file}: {exc.strerror}", err=True)
            raise typer.Exit(2) from None
    elif os.environ.get("ACUKNEE_EXPORT_SECRET"):
        secret = os.environ["ACUKNEE_EXPORT_SECRET"].encode()
    if secret is not None and len(secret) < 16:
        typer.echo("Error: the export secret must be at least 16 bytes.", err=True)
        raise typer.Exit(2)
    from acuknee.django_setup import setup_django

    setup_django()
    from acuknee.research.deidentify import ExportError
    from acuknee.research.deidentify import export as run_export

    if refresh:
        try:
            from acuknee.research.refresh import refresh as rebuild
        except ImportError:
            typer.echo(
                "Error: --refresh: no refresh of the research tables is available.", err=True
            )
            raise typer.Exit(2) from None
        typer.echo(rebuild().text(), err=True)
    try:
        done = run_export(Path(out), k=k, fmt=fmt, secret=secret)  # type: ignore[arg-type]
    except ExportError as exc:
        typer.echo(f"Error: {exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(
        f"Exported {done.courses_written} of {done.courses_read} courses and "
        f"{done.adverse_events_written} of {done.adverse_events_read} adverse events to {out}; "
        f"k = {k}: {len(done.suppressed)} quasi-identifier groups under {k} suppressed "
        f"({done.suppressed_courses} courses, listed in export_report.json)."
    )
    for group in done.suppressed[:20]:
        typer.echo(
            f"  suppressed: age band {group.age_band}, sex {group.sex}, "
            f"region {group.clinic_region}: {group.courses} courses"
        )
    if len(done.suppressed) > 20:
        typer.echo(f"  ... and {len(done.suppressed) - 20} more groups in export_report.json")
    if not done.secret_given:
        typer.echo("No secret given: date offsets used a random key that was not kept.", err=True)
