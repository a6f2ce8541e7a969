"""Import sources into the data file, or sync it with the sources it records.

Pure of Flask and click (`cli.py` wraps these). An import reads every source
(a file or an http(s) URL), makes one programme of them, reconciles it with
the data file subscribers already have (`changes.py`) and writes the result
atomically, under a lock, only if something changed: an unchanged source
leaves the file, and so every feed's ETag, as it was. Before the file, it
writes its events' rendered pieces beside it (`pieces.py`), so that the
workers' next load takes seconds, not half a minute.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

from .changes import Changes, reconcile
from .model import Programme, SourceRecord
from .pieces import prepare
from .sources import ImportOptions, combine, parse_source
from .sources.fetch import is_url, read_source
from .store import MAX_DATA_BYTES, DataFileError, encode_programme, load_programme, locked, write_atomically


@dataclass(frozen=True)
class Outcome:
    programme: Programme
    changes: Changes | None  # None for a first import: everything is new
    written: bool


def recorded(location: str, output: Path) -> str:
    """How the data file names a source: a URL as it is, a file relative to the data file,
    so that `sync` finds it from any working directory and the repository stays movable."""
    return location if is_url(location) else os.path.relpath(Path(location).resolve(), output.resolve().parent)


def located(record: SourceRecord, output: Path) -> str:
    """Where a recorded source is read from now."""
    return record.location if is_url(record.location) else str((output.resolve().parent / record.location).resolve())


def import_sources(locations: list[str], output: Path, options: ImportOptions, fresh: bool = False,
                   dry_run: bool = False, max_bytes: int = MAX_DATA_BYTES) -> Outcome:
    """Import `locations` into `output`; `SourceError` or `DataFileError` if any is unusable,
    and then nothing is written."""
    records = [SourceRecord(recorded(location, output), options.timezone or "") for location in locations]
    return _update(records, output, options.stamp, fresh, dry_run, max_bytes)


def sync(output: Path, options: ImportOptions, dry_run: bool = False, max_bytes: int = MAX_DATA_BYTES) -> Outcome:
    """Import again the sources the data file records, as its last import named them."""
    previous = load_programme(output, max_bytes)
    if not previous.sources:
        raise DataFileError(output, "records no sources; import them first with "
                                    f"`flask --app feedsvc import SOURCE … --output {output}`")
    return _update(list(previous.sources), output, options.stamp, False, dry_run, max_bytes)


def _update(records: list[SourceRecord], output: Path, stamp, fresh: bool, dry_run: bool,
            max_bytes: int) -> Outcome:
    with locked(output):  # a second import waits: both read, both write, and one's update would be lost
        previous = None if fresh or not output.exists() else load_programme(output, max_bytes)
        kept = {r.location: r for r in previous.sources} if previous else {}
        fetched = [_fetch(r, kept.get(r.location), output) for r in records]
        if previous and _plain(records) == _plain(previous.sources) and all(c is None for c, _ in fetched):
            return Outcome(previous, Changes(unchanged=len(previous.events)), False)  # the same sources, 304
        fetched = [(content, r) if content is not None else _fetch(r, None, output) for content, r in fetched]
        parts = [(where, parse_source(content, where, ImportOptions(stamp, r.timezone or None)))
                 for content, r in fetched for where in (located(r, output),)]
        programme = replace(combine(parts), sources=tuple(r for _, r in fetched))
        changes = None
        if previous:
            programme, changes = reconcile(previous, programme, stamp)
        written = not dry_run and programme != previous  # new validators too: the next sync asks with them
        if written:
            data = encode_programme(programme, output, max_bytes)
            prepare(data, output)  # first: the workers' next load finds the events rendered
            write_atomically(output, [data])
        return Outcome(programme, changes, written)


def _plain(records) -> list[SourceRecord]:
    """The sources as the import names them, without the validators of their last download."""
    return [replace(r, etag="", last_modified="") for r in records]


def _fetch(record: SourceRecord, last: SourceRecord | None, output: Path) -> tuple[bytes | None, SourceRecord]:
    """The source's content (None if it answered 304 to the last download's validators),
    and its record with the validators of this download."""
    etag, modified = (last.etag, last.last_modified) if last else ("", "")
    got = read_source(located(record, output), etag, modified)
    return got.content, replace(record, etag=got.etag, last_modified=got.last_modified)
