"""Thin command-line wrappers over the importer, the store and the export."""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from .changes import reconcile
from .export import ExportError, export
from .feeds import Catalog
from .importer import ImporterError, import_programme
from .store import DataFileError, load_programme, write_programme


def parse_stamp(text: str | None) -> datetime:
    """`--stamp`, or now: when the imported events were created or last changed."""
    if text is None:
        return datetime.now(timezone.utc).replace(microsecond=0)
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise click.BadParameter(f"{text!r} needs a UTC offset, e.g. 2026-11-27T00:00:00Z")
    return moment.astimezone(timezone.utc)


@click.command("import-seed")
@click.argument("manifest", default="seeds/programme.json", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path),
              help="The data file to write (default: the one the service serves).")
@click.option("--stamp", help="Time of this import, ISO 8601 with offset (default: now).")
@click.option("--fresh", is_flag=True, help="Ignore the existing data file: no history, no cancellations.")
@click.option("--dry-run", is_flag=True, help="Print what would change; write nothing.")
def import_seed(manifest: Path, output: Path | None, stamp: str | None, fresh: bool, dry_run: bool):
    """Parse the seed pages of MANIFEST into the data file, atomically.

    Over an existing data file, changed events keep their id and get
    SEQUENCE + 1, events gone from the pages stay as cancelled, returning
    ones are restored; a summary of the changes is printed. A running
    service picks the new file up by itself.
    """
    output = output or Path(current_app.config["DATA"])
    moment = parse_stamp(stamp)
    try:
        programme = import_programme(manifest, moment)
        if not fresh and output.exists():
            programme, changes = reconcile(load_programme(output), programme, moment)
            click.echo(changes.summary())
    except (ImporterError, DataFileError) as error:
        raise click.ClickException(str(error)) from error
    if dry_run:
        click.echo(f"Dry run: {output} left as it was.")
        return
    write_programme(programme, output)
    click.echo(f"Wrote {output}: {len(programme.sessions)} session(s), "
               f"{len(programme.events)} events, {len(programme.authors)} authors.")


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
        count = export(Catalog.load(current_app.config["DATA"]), directory, base)
    except (DataFileError, ExportError) as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"Wrote {count} feeds below {directory} for {base}.")


def register(app: Flask) -> None:
    app.cli.add_command(import_seed)
    app.cli.add_command(export_feeds)
