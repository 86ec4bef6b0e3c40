"""The ``acuknee`` command: JSON in, JSON out, around the pure clinical core.

Every command reads a JSON file (``-`` for stdin) and writes JSON to stdout; ``--pretty`` renders
a readable Rich view instead. Invalid input exits with status 2 and a message naming the field and
the problem, never a traceback. Formats are documented in docs/formats.md.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar

import typer
from pydantic import BaseModel, ValidationError

from acuknee import __version__, serving
from acuknee.clinical.errors import ClinicalError, InvalidInput, InvalidInputs

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="acuknee: decision support for acupuncture care of knee pain (not a diagnosis).",
)

EXIT_INVALID = 2
M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")

FileArg = Annotated[str, typer.Argument(help="JSON file to read, or - for stdin.")]
PrettyOpt = Annotated[bool, typer.Option("--pretty", help="Show a readable view instead of JSON.")]


def _fail(messages: list[str]) -> NoReturn:
    for message in messages:
        typer.echo(f"error: {message}", err=True)
    raise typer.Exit(EXIT_INVALID)


def _validation_messages(exc: ValidationError, prefix: str = "") -> list[str]:
    messages = []
    for error in exc.errors():
        where = ".".join(str(part) for part in error["loc"]) or "(top level)"
        message = error["msg"].removeprefix("Value error, ")
        messages.append(f"{prefix}{where}: {message}")
    return messages


def read_json(path: str) -> Any:
    """Read JSON from a file or stdin; a bad file is an input error, not a crash."""
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        _fail([f"{path}: cannot read file ({exc.strerror})"])
    except UnicodeDecodeError:
        _fail([f"{path}: file is not UTF-8 text"])
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        _fail([f"{path}: not valid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"])
    except ValueError as exc:  # e.g. an integer longer than Python's digit limit
        _fail([f"{path}: not usable JSON: {exc}"])
    except RecursionError:  # arrays or objects nested deeper than Python's recursion limit
        _fail([f"{path}: not usable JSON: nested too deeply"])


def parse(model: type[M], data: Any) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        _fail(_validation_messages(exc))


def run_core(action: Callable[[], T]) -> T:
    """Call the core; its input errors become exit 2 with the field named."""
    try:
        return action()
    except InvalidInputs as exc:
        _fail([str(e) for e in exc.errors])
    except InvalidInput as exc:
        _fail([str(exc)])
    except ValidationError as exc:
        _fail(_validation_messages(exc))
    except ClinicalError as exc:
        _fail([str(exc)])


def emit(result: BaseModel | list[Any] | dict[str, Any], pretty: bool, view: str) -> None:
    if pretty:
        from acuknee import cli_views

        cli_views.render(view, result)
        return
    data = result.model_dump(mode="json") if isinstance(result, BaseModel) else result
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False))


def _parse_date(value: str | None) -> dt.date:
    if value is None:
        return dt.date.today()
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        _fail([f"--start: {value!r} is not a date (use YYYY-MM-DD)"])


@app.command()
def screen(file: FileArg, pretty: PrettyOpt = False) -> None:
    """Red flags (referrals) and contraindications/precautions for an intake."""
    from acuknee.clinical.intake import Intake
    from acuknee.clinical.screening import screen as do_screen

    intake = parse(Intake, read_json(file))
    emit(run_core(lambda: do_screen(intake)), pretty, "screening")


@app.command()
def assess(file: FileArg, pretty: PrettyOpt = False) -> None:
    """ACR 1986 and NICE NG226 criteria, likely cause and severity for an intake."""
    from acuknee.clinical.assessment import assess as do_assess
    from acuknee.clinical.intake import Intake

    intake = parse(Intake, read_json(file))
    emit(run_core(lambda: do_assess(intake)), pretty, "assessment")


@app.command()
def plan(
    file: FileArg,
    start: Annotated[
        str | None, typer.Option(help="First session date, YYYY-MM-DD (default: today).")
    ] = None,
    pretty: PrettyOpt = False,
) -> None:
    """Screen, assess and plan an intake: a proposed plan, or a refusal with its reasons."""
    from acuknee.clinical.assessment import assess as do_assess
    from acuknee.clinical.intake import Intake
    from acuknee.clinical.planning import plan as do_plan
    from acuknee.clinical.screening import screen as do_screen

    intake = parse(Intake, read_json(file))
    first = _parse_date(start)
    result = run_core(lambda: do_plan(intake, do_screen(intake), do_assess(intake), start=first))
    emit(result, pretty, "plan")


@app.command()
def score(
    instrument: Annotated[str, typer.Argument(help="Instrument id, e.g. koos, pain_nrs, pss4.")],
    file: FileArg,
    pretty: PrettyOpt = False,
) -> None:
    """Score one instrument's answers (an object keyed by item code)."""
    from acuknee.clinical.instruments import score as do_score

    answers = read_json(file)
    if not isinstance(answers, dict):
        _fail([f"{file}: answers must be a JSON object keyed by item code"])
    scores = run_core(lambda: do_score(instrument, answers))
    if pretty:
        emit(scores, pretty, "scores")
        return
    # Each subscale's value at the top level (null when too few items were answered), then the
    # details (answered and required counts, notes) under "subscales".
    flat: dict[str, Any] = {"instrument": scores.instrument}
    flat |= {sid: sub.value for sid, sub in scores.subscales.items()}
    flat["subscales"] = scores.model_dump(mode="json")["subscales"]
    emit(flat, pretty, "scores")


@app.command()
def evaluate(file: FileArg, pretty: PrettyOpt = False) -> None:
    """Change per domain, minimal important change and OMERACT-OARSI response over a course."""
    from acuknee.clinical.response import Course
    from acuknee.clinical.response import evaluate as do_evaluate

    course = parse(Course, read_json(file))
    emit(run_core(lambda: do_evaluate(course)), pretty, "evaluation")


@app.command()
def stricta(file: FileArg, pretty: PrettyOpt = False) -> None:
    """STRICTA 2010 items and a methods paragraph for a plan and its sessions."""
    from acuknee.clinical.stricta import StrictaInput
    from acuknee.clinical.stricta import stricta as do_stricta

    given = parse(StrictaInput, read_json(file))
    report = run_core(lambda: do_stricta(given.plan, given.sessions, given.context))
    emit(report, pretty, "stricta")


@app.command()
def points(
    code: Annotated[str | None, typer.Argument(help="A WHO point code, e.g. ST35.")] = None,
    pretty: PrettyOpt = False,
) -> None:
    """Every point in the knowledge base, or one point by code."""
    from acuknee.clinical.knowledge import load_knowledge

    kb = load_knowledge()
    if code is None:
        emit([p.model_dump(mode="json") for p in kb.points.values()], pretty, "points")
        return
    found = kb.points.get(code.upper())
    if found is None:
        _fail([f"code: unknown point {code!r} (try `acuknee points` for the list)"])
    emit(found, pretty, "point")


@app.command()
def protocols(pretty: PrettyOpt = False) -> None:
    """Every protocol in the knowledge base, with its sources."""
    from acuknee.clinical.knowledge import load_knowledge

    kb = load_knowledge()
    emit([p.model_dump(mode="json") for p in kb.protocols.values()], pretty, "protocols")


@app.command()
def schema(
    name: Annotated[
        str, typer.Argument(help="intake, course, stricta, session, or answers-<instrument>.")
    ],
) -> None:
    """The JSON Schema of a command's input."""
    from acuknee.schemas import input_schema, schema_names

    if name not in schema_names():
        _fail([f"name: unknown schema {name!r}; choose one of {', '.join(schema_names())}"])
    typer.echo(json.dumps(input_schema(name), indent=2, ensure_ascii=False))


def _consult(intake: Any, first: dt.date) -> Any:
    from acuknee.clinical import assess as do_assess
    from acuknee.clinical import plan as do_plan
    from acuknee.clinical import screen as do_screen

    screening = do_screen(intake)
    assessment = do_assess(intake)
    return screening, assessment, do_plan(intake, screening, assessment, start=first)


@app.command()
def demo(
    examples: Annotated[
        Path | None, typer.Option(help="Folder of example intakes (default: docs/examples).")
    ] = None,
    start: Annotated[str | None, typer.Option(help="First session date (default: today).")] = None,
) -> None:
    """Screen, assess and plan the example patients and print each plan readably."""
    from acuknee import cli_views
    from acuknee.clinical.intake import Intake

    folder = examples or Path("docs/examples")
    files = sorted(folder.glob("intake-*.json"))
    if not files:
        _fail([f"{folder}: no intake-*.json example files found"])
    first = _parse_date(start)
    for path in files:
        intake = parse(Intake, read_json(str(path)))
        screening, assessment, result = run_core(partial(_consult, intake, first))
        cli_views.render_case(path.stem, screening, assessment, result)


@app.command()
def serve(
    bind: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1:8000",
    workers: Annotated[
        int, typer.Option(min=1, max=64, help="gunicorn worker processes (about one per core).")
    ] = serving.WORKERS,
    threads: Annotated[
        int, typer.Option(min=1, max=64, help="threads per worker (docs/deployment.md).")
    ] = serving.THREADS,
) -> None:
    """Serve the clinic app with production settings (gunicorn, DEBUG off).

    Needs ACUKNEE_SECRET_KEY and ACUKNEE_ALLOWED_HOSTS (and usually ACUKNEE_DATABASE_URL); fails
    loudly, naming the variable, when one is missing.
    """
    import os

    from acuknee.config import ConfigError, load

    os.environ["ACUKNEE_PRODUCTION"] = "1"
    try:
        load()
    except ConfigError as exc:
        _fail([str(exc)])
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "acuknee.site.settings")
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", "--noinput", verbosity=0)
    call_command("collectstatic", "--noinput", verbosity=0)
    args = gunicorn_args(bind, workers, threads)
    os.execv(args[0], args)


def gunicorn_args(bind: str, workers: int, threads: int = serving.THREADS) -> list[str]:
    """The production server's command line; its access log redacts link tokens and search
    text (``acuknee.site.access_log``)."""
    gunicorn = Path(sys.executable).with_name("gunicorn")
    args = [str(gunicorn), *serving.gunicorn_args(workers, threads), "--bind", bind]
    args += ["--access-logfile", "-"]
    return [*args, "--logger-class", "acuknee.site.access_log.RedactingLogger"]


@app.command(name="import")
def import_(
    file: Annotated[Path, typer.Argument(help="CSV file (UTF-8; a REDCap export works too).")],
    clinic: Annotated[str, typer.Option(help="The clinic's slug.")],
    kind: Annotated[
        str | None,
        typer.Option(help="patients, measurements or sessions (default: from the columns)."),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Check every row and store nothing.")
    ] = False,
) -> None:
    """Import patients, measurements or sessions from CSV into a clinic: all rows or none.

    Every bad row is listed with its line, column and problem (exit 2). Columns are in
    docs/formats.md.
    """
    import os

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "acuknee.site.settings")
    import django

    django.setup()
    from django.db import DatabaseError

    from acuknee.importing import KINDS, ImportFileError, import_csv
    from acuknee.records.models import Clinic

    if kind is not None and kind not in KINDS:
        _fail([f"--kind: {kind!r} is not one of {', '.join(KINDS)}"])
    try:
        data = file.read_bytes()
    except OSError as exc:
        _fail([f"{file}: cannot read file ({exc.strerror})"])
    try:
        found = Clinic.objects.filter(slug=clinic).first()
        if found is None:
            _fail([f"--clinic: no clinic with the slug {clinic!r}"])
        report = import_csv(data, found, kind, dry_run=dry_run, name=str(file))
    except ImportFileError as exc:
        _fail([str(exc)])
    except DatabaseError as exc:
        _fail([f"database: {exc} (is it migrated? `python -m acuknee.manage migrate`)"])
    for warning in report.warnings:
        typer.echo(f"warning: {warning}", err=True)
    if not report.ok:
        _fail([str(problem) for problem in report.problems])
    typer.echo(json.dumps(report.summary(), indent=2, ensure_ascii=False))


@app.command()
def backup(
    file: Annotated[Path, typer.Argument(help="Backup file to write.")],
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
) -> None:
    """Back up the configured database to FILE, consistently while the app runs.

    SQLite: the online backup API; PostgreSQL: pg_dump (custom format). See docs/reliability.md.
    """
    from acuknee import backup as backups
    from acuknee.config import ConfigError, load

    try:
        size = backups.backup(file, load().database, force=force)
    except (ConfigError, backups.BackupError) as exc:
        _fail([str(exc)])
    typer.echo(f"backed up to {file} ({size} bytes)")


@app.command()
def restore(
    file: Annotated[Path, typer.Argument(help="Backup file made by `acuknee backup`.")],
    force: Annotated[
        bool, typer.Option("--force", help="Replace a database that holds data.")
    ] = False,
) -> None:
    """Replace the configured database with the backup in FILE: all of it or nothing.

    Refused without --force when the database holds data (the message says what it holds).
    """
    from acuknee import backup as backups
    from acuknee.config import ConfigError, load

    try:
        replaced = backups.restore(file, load().database, force=force)
    except (ConfigError, backups.BackupError) as exc:
        _fail([str(exc)])
    typer.echo(f"restored {file}; replaced {replaced.describe()}")


@app.command()
def version() -> None:
    """Print the acuknee version."""
    typer.echo(__version__)


def _register_groups() -> None:
    """The layers' own command groups (each module owns its commands)."""
    from acuknee.audit.cli import app as audit_app
    from acuknee.reports.cli import app as report_app
    from acuknee.research.cli import app as research_app

    app.add_typer(audit_app, name="audit")
    app.add_typer(report_app, name="report")
    app.add_typer(research_app, name="research")


_register_groups()


def main() -> None:
    app()
