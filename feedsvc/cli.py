"""Thin command-line wrappers over the imports, the sync and the export."""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from .export import ExportError, export
from .feeds import Catalog
from .imports import Outcome, import_sources, sync
from .sources import ImportOptions, SourceError
from .store import DataFileError


def parse_stamp(text: str | None) -> datetime:
    """`--stamp`, or now: when the imported events were created or last changed."""
    if text is None:
        return datetime.now(timezone.utc).replace(microsecond=0)
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise click.BadParameter(f"{text!r} needs a UTC offset, e.g. 2026-11-27T00:00:00Z")
    return moment.astimezone(timezone.utc)


def data_file(output: Path | None) -> Path:
    return output or Path(current_app.config["DATA"])


def report(outcome: Outcome, output: Path, dry_run: bool) -> None:
    """The change summary, then what happened to the data file."""
    if outcome.changes is not None:
        click.echo(outcome.changes.summary())
    programme = outcome.programme
    if outcome.written:
        click.echo(f"Wrote {output}: {len(programme.sessions)} session(s), "
                   f"{len(programme.events)} events, {len(programme.authors)} authors.")
    elif dry_run:
        click.echo(f"Dry run: {output} left as it was.")
    else:
        click.echo(f"Nothing changed: {output} left as it was.")


def run(update) -> Outcome:
    """`update()`, with any problem of a source or the data file as a one-line error (exit 1)."""
    try:
        return update()
    except (SourceError, DataFileError) as error:
        raise click.ClickException(str(error)) from error


OUTPUT = click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path),
                      help="The data file to write (default: the one the service serves, FEEDSVC_DATA).")
STAMP = click.option("--stamp", help="Time of this import, ISO 8601 with offset (default: now).")
DRY_RUN = click.option("--dry-run", is_flag=True, help="Print what would change; write nothing.")
FRESH = click.option("--fresh", is_flag=True, help="Ignore the existing data file: no history, no cancellations.")


@click.command("import")
@click.argument("sources", nargs=-1, required=True)
@OUTPUT
@STAMP
@FRESH
@DRY_RUN
@click.option("--timezone", help="The conference's IANA zone (e.g. Europe/Berlin), for a source that names none.")
@with_appcontext
def import_command(sources: tuple[str, ...], output: Path | None, stamp: str | None, fresh: bool,
                   dry_run: bool, timezone: str | None):
    """Import SOURCES (files or http(s) URLs of a frab/pretalx schedule.xml, a
    schedule.json or a seed manifest; several make one programme) into the data file.

    Over an existing data file, changed events keep their id and UID and get
    SEQUENCE + 1, events gone from the sources stay as cancelled, returning
    ones are restored; a summary of the changes is printed. Nothing is written
    when nothing changed. The sources are recorded for `sync`. A running
    service picks the new file up by itself.
    """
    output = data_file(output)
    options = ImportOptions(parse_stamp(stamp), timezone)
    limit = current_app.config["MAX_DATA_BYTES"]
    report(run(lambda: import_sources(list(sources), output, options, fresh, dry_run, limit)), output, dry_run)


@click.command("import-seed")
@click.argument("manifest", default="seeds/programme.json")
@OUTPUT
@STAMP
@FRESH
@DRY_RUN
@click.pass_context
def import_seed(context: click.Context, manifest: str, **options):
    """`import MANIFEST` (default seeds/programme.json): the shipped session's importer, as before."""
    context.invoke(import_command, sources=(manifest,), timezone=None, **options)


@click.command("sync")
@OUTPUT
@STAMP
@DRY_RUN
@with_appcontext
def sync_command(output: Path | None, stamp: str | None, dry_run: bool):
    """Import again the sources the data file records (its last `import` named them) and
    print what changed. For a cron line or a systemd timer: exit status 0 whether or not
    anything changed; on any error it is not 0 and the data file stays as it was."""
    output = data_file(output)
    limit = current_app.config["MAX_DATA_BYTES"]
    report(run(lambda: sync(output, ImportOptions(parse_stamp(stamp)), dry_run, limit)), output, dry_run)


@click.command("export")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--base-url", help="The public base of the feeds' URLs, e.g. https://feeds.example.org "
                                 "(default: FEEDSVC_BASE_URL).")
@with_appcontext
def export_feeds(directory: Path, base_url: str | None):
    """Write every feed with a readable URL below DIRECTORY as static files,
    byte for byte what the service sends. They are written beside DIRECTORY
    and renamed into place; an earlier export there is swapped out."""
    base = (base_url or current_app.config["BASE_URL"]).rstrip("/")
    if not base.startswith(("https://", "http://")):
        raise click.UsageError("give the public base URL with --base-url or FEEDSVC_BASE_URL "
                               "(e.g. https://feeds.example.org): the feeds name their own URL")
    try:
        count = export(Catalog.load(current_app.config["DATA"], current_app.config["MAX_DATA_BYTES"]), directory, base)
    except (DataFileError, ExportError) as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"Wrote {count} feeds below {directory} for {base}.")


def register(app: Flask) -> None:
    app.cli.add_command(import_command)
    app.cli.add_command(import_seed)
    app.cli.add_command(sync_command)
    app.cli.add_command(export_feeds)
