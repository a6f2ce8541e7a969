"""The data file: a programme as JSON, read with every field checked, written atomically.

A data file that fails any check is refused whole, naming the file and the
reason, so that nothing half-built is ever served.
"""
from __future__ import annotations

import codecs
import fcntl
import json
import os
import re
import stat
import tempfile
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from datetime import date, datetime, timezone
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import pytz

from .model import (CANCELLED, CONFIRMED, Author, Conference, Event, Link,
                    Programme, Session, SourceRecord)

if TYPE_CHECKING:
    from hashlib import _Hash as Hash  # a type of typeshed's only

FORMAT = 2
MAX_DATA_BYTES = 128 * 2**20  # about 45,000 events; a worker needs some ten times a file's size


class DataFileError(ValueError):
    def __init__(self, path: Path | str, reason: str):
        super().__init__(f"{path}: {reason}")
        self.path, self.reason = path, reason


def utc_text(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def event_to_json(event: Event) -> dict:
    return {
        "id": event.id, "source_key": event.source_key, "type": event.type,
        "type_label": event.type_label, "title": event.title, "subtitle": event.subtitle,
        "authors": [asdict(a) for a in event.authors],
        "start": event.start.isoformat(), "end": event.end.isoformat(), "day": event.day.isoformat(),
        "track": event.track, "room": event.room, "language": event.language,
        "abstract": event.abstract, "description": event.description,
        "url": event.url, "links": [asdict(link) for link in event.links], "extra": dict(event.extra),
        "covers": list(event.covers), "status": event.status, "sequence": event.sequence,
        "created": utc_text(event.created), "last_modified": utc_text(event.last_modified),
    }


def programme_to_json(programme: Programme) -> dict:
    return {
        "format": FORMAT,
        "conference": asdict(programme.conference),
        "sources": [asdict(source) for source in programme.sources],
        "sessions": [{
            "id": s.id, "title": s.title, "area": s.area, "chairs": list(s.chairs),
            "url": s.url, "events": [event_to_json(e) for e in s.events],
        } for s in programme.sessions],
    }


def dumps(programme: Programme) -> str:
    return json.dumps(programme_to_json(programme), ensure_ascii=False, indent=2) + "\n"


def encode_programme(programme: Programme, path: Path, max_bytes: int = MAX_DATA_BYTES) -> bytes:
    """The bytes of the data file `path` for `programme`; `DataFileError` if they would not load,
    so that what would not load is never written."""
    try:
        check_programme(programme)
    except ValueError as error:
        raise DataFileError(path, f"not written: the programme is not valid: {error}") from error
    text = dumps(programme).encode("utf-8")
    if len(text) > max_bytes:
        raise DataFileError(path, f"not written: it would be {len(text):,} bytes, over the limit of "
                                  f"{max_bytes:,} (FEEDSVC_MAX_DATA_BYTES) that the service loads")
    return text


def write_programme(programme: Programme, path: Path, max_bytes: int = MAX_DATA_BYTES) -> None:
    """Replace the data file `path` atomically with `programme`."""
    path = Path(path)
    write_atomically(path, [encode_programme(programme, path, max_bytes)])


def write_atomically(path: Path, chunks: Iterable[bytes], like: Path | None = None) -> None:
    """Replace `path` with the bytes of `chunks`, atomically: readers see the old file or the
    new one, never half. The new file keeps the mode and owner of `like` (the file it replaces
    unless told: a service running as another user must still read it), or gets the usual
    0644 under the umask when there is none. Written as chunks: a sidecar of pieces is never
    joined into one more copy."""
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as out:
            out.writelines(chunks)
            out.flush()
            _take_mode(out.fileno(), like or path)
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


def _take_mode(descriptor: int, path: Path) -> None:
    try:
        old = os.stat(path)
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        os.fchmod(descriptor, 0o666 & ~umask)
        return
    os.fchmod(descriptor, stat.S_IMODE(old.st_mode))
    if (old.st_uid, old.st_gid) != (os.getuid(), os.getgid()):
        try:
            os.fchown(descriptor, old.st_uid, old.st_gid)
        except PermissionError:  # only root may give a file away; the mode still holds
            pass


@contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold an exclusive lock for the data file at `path` while an import reads and rewrites
    it: a second import waits for the first, then reads its result. The lock is on the
    file's directory, which outlives every replaced file and leaves nothing behind."""
    path.parent.mkdir(parents=True, exist_ok=True)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        fcntl.flock(directory, fcntl.LOCK_EX)
        yield
    finally:
        os.close(directory)


def _moment(text: str, zone) -> datetime:
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError(f"{text!r} has no UTC offset")
    return moment.astimezone(zone)


def event_from_json(raw: dict, session_id: str, zone) -> Event:
    event = Event(
        id=raw["id"], source_key=raw["source_key"], session_id=session_id, type=raw["type"],
        type_label=raw["type_label"], title=raw["title"], subtitle=raw["subtitle"],
        authors=tuple(Author(a["id"], a["name"], a["upstream"]) for a in raw["authors"]),
        start=_moment(raw["start"], zone), end=_moment(raw["end"], zone), day=date.fromisoformat(raw["day"]),
        track=raw["track"], room=raw["room"], language=raw["language"],
        abstract=raw["abstract"], description=raw["description"],
        url=raw["url"], links=tuple(Link(link["label"], link["url"]) for link in raw["links"]),
        extra=tuple(sorted((str(name), str(value)) for name, value in raw["extra"].items())),
        covers=tuple(raw["covers"]), status=raw["status"], sequence=raw["sequence"],
        created=_moment(raw["created"], timezone.utc), last_modified=_moment(raw["last_modified"], timezone.utc))
    return event


def check_event(event: Event) -> None:
    problems = [
        (event.end < event.start, "ends before it starts"),
        (event.status not in (CONFIRMED, CANCELLED), f"status must be {CONFIRMED} or {CANCELLED}"),
        (not isinstance(event.sequence, int) or event.sequence < 0, "sequence must be a whole number ≥ 0"),
        (not event.id or not event.title, "needs an id and a title"),
    ]
    for failed, reason in problems:
        if failed:
            raise ValueError(f"event {event.id!r} {reason}")


def from_format_1(raw: dict) -> dict:
    """A data file of the seed-only importer in today's form, so that upgrading keeps serving
    it and the next import keeps its history (SEQUENCE, cancellations): its sessions are the
    rooms and their areas the tracks, as the seed reader makes them now."""
    def event(e: dict, session: dict) -> dict:
        labelled = [("Talk", "talk"), ("Paper", "paper"), ("Preprint", "preprint"), ("Code", "code")]
        links = ([{"label": label, "url": e["links"][key]} for label, key in labelled if e["links"][key]]
                 if e["authors"] else [{"label": "Session", "url": e["links"]["talk"]}])
        return {**e, "source_key": "", "subtitle": "", "description": "", "language": "", "extra": {},
                "authors": [{**a, "upstream": ""} for a in e["authors"]], "day": e["start"][:10],
                "track": session["area"], "room": session["title"], "url": e["links"]["talk"], "links": links}
    sessions = [{**s, "events": [event(e, s) for e in s["events"]]} for s in raw["sessions"]]
    return {**raw, "format": FORMAT, "sources": [], "sessions": sessions}


def taken(parsed: list) -> Iterator:
    """The items of `parsed`, each dropped from it as it is taken: a worker reloading its data
    keeps the old programme meanwhile, so the parsed file and the new programme are never
    held whole at the same time."""
    parsed.reverse()
    while parsed:
        yield parsed.pop()


def programme_from_json(raw: dict) -> Programme:
    """A `Programme` from parsed JSON (its sessions are taken out of `raw` as they are read);
    `ValueError`, `KeyError` or `TypeError` if malformed."""
    if raw.get("format") == 1:
        raw = from_format_1(raw)
    if raw.get("format") != FORMAT:
        raise ValueError(f"format must be {FORMAT}, not {raw.get('format')!r} "
                         "(re-import the sources with `flask --app feedsvc import`)")
    conference = Conference(**raw["conference"])
    zone = pytz.timezone(conference.timezone)
    sessions = tuple(
        Session(s["id"], s["title"], s["area"], tuple(s["chairs"]), s["url"],
                tuple(event_from_json(e, s["id"], zone) for e in s["events"]))
        for s in taken(raw["sessions"]))
    programme = Programme(conference, sessions, tuple(SourceRecord(**r) for r in raw["sources"]))
    check_programme(programme)
    return programme


def check_programme(programme: Programme) -> None:
    """The invariants every output relies on; `ValueError` naming the first one broken."""
    ids = [e.id for s in programme.sessions for e in s.events]
    if not ids:
        raise ValueError("holds no events")
    for event in programme.events:
        check_event(event)
    for what, values in (("event ids", ids), ("session ids", [s.id for s in programme.sessions]),
                         ("source keys", [e.source_key for e in programme.events if e.source_key])):
        repeated = sorted({v for v, count in Counter(values).items() if count > 1})
        if repeated:
            raise ValueError(f"{what} repeat: {', '.join(repeated[:5])}")
    dangling = {c for e in programme.events for c in e.covers} - set(ids)
    if dangling:
        raise ValueError(f"Q&As cover unknown events {sorted(dangling)}")


def read_utf8(path: Path | str, digest: Hash | None = None) -> str:
    """The file's text, decoded a megabyte at a time: decoding 40 MB at once holds the
    interpreter for a tenth of a second, in which a reloading worker answers nothing.
    `digest`, if given, is updated with the bytes read: the key of the very bytes parsed
    (pieces.py), without reading the file twice."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    parts = []
    with open(path, "rb") as file:
        for chunk in iter(partial(file.read, 2**20), b""):
            if digest:
                digest.update(chunk)
            parts.append(decoder.decode(chunk))
    parts.append(decoder.decode(b"", final=True))
    return "".join(parts)


_DECODER = json.JSONDecoder()
_SPACE = re.compile(r"[ \t\n\r]*")
NESTING_PARSED_PIECEWISE = 4  # file, sessions, a session, its events: each event one call of the parser


def parse_piecewise(text: str) -> object:
    """`json.loads(text)`, the outer objects and arrays taken apart here and each event
    parsed by itself. One call into the parser holds the interpreter until it returns:
    for a 40 MB file over a second, in which a worker reloading its data (live.py)
    answered no request."""
    value, end = _value(text, 0, NESTING_PARSED_PIECEWISE)
    end = _SPACE.match(text, end).end()
    if end != len(text):
        raise json.JSONDecodeError("Extra data", text, end)
    return value


def _value(text: str, start: int, depth: int) -> tuple[object, int]:
    start = _SPACE.match(text, start).end()
    if depth and text.startswith("{", start):
        return _members(text, start + 1, depth - 1, {})
    if depth and text.startswith("[", start):
        return _members(text, start + 1, depth - 1, [])
    try:
        return _DECODER.raw_decode(text, start)
    except StopIteration:  # what raw_decode raises at the end of the text
        raise json.JSONDecodeError("Expecting value", text, start) from None


def _members(text: str, start: int, depth: int, into: dict | list) -> tuple[dict | list, int]:
    """An object's members or an array's elements, from after its opening bracket."""
    closing, position = ("}" if isinstance(into, dict) else "]"), _SPACE.match(text, start).end()
    if text.startswith(closing, position):
        return into, position + 1
    while True:
        if isinstance(into, dict):
            key, position = _value(text, position, 0)
            if not isinstance(key, str):
                raise json.JSONDecodeError("Expecting property name enclosed in double quotes", text, position)
            position = _SPACE.match(text, position).end()
            if not text.startswith(":", position):
                raise json.JSONDecodeError("Expecting ':' delimiter", text, position)
            into[key], position = _value(text, position + 1, depth)
        else:
            value, position = _value(text, position, depth)
            into.append(value)
        position = _SPACE.match(text, position).end()
        if text.startswith(closing, position):
            return into, position + 1
        if not text.startswith(",", position):
            raise json.JSONDecodeError("Expecting ',' delimiter", text, position)
        position += 1


def load_programme(path: Path | str, max_bytes: int = MAX_DATA_BYTES, digest: Hash | None = None) -> Programme:
    """The programme in `path`, or `DataFileError` saying what is wrong with the file.
    A file over `max_bytes` is refused unread: loading it could cost a worker its memory,
    and a killed worker takes its requests with it. `digest` is updated with the file's bytes."""
    try:
        size = os.stat(path).st_size
        if size > max_bytes:
            raise DataFileError(path, f"it is {size:,} bytes, over the limit of {max_bytes:,} "
                                      "(FEEDSVC_MAX_DATA_BYTES); not loaded")
        text = read_utf8(path, digest)
    except OSError as error:
        raise DataFileError(path, f"cannot read it ({error})") from error
    except UnicodeDecodeError as error:
        raise DataFileError(path, f"not UTF-8 text ({error})") from error
    if not text or text.isspace():  # not strip(): a copy of the whole text
        raise DataFileError(path, "it is empty")
    try:
        raw = parse_piecewise(text)
        del text  # 40 MB at 15,000 events, no longer needed while the programme is built
    except json.JSONDecodeError as error:
        raise DataFileError(path, f"not valid JSON (truncated?): {error}") from error
    try:
        return programme_from_json(raw)
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        reason = f"missing field {error}" if isinstance(error, KeyError) else str(error)
        raise DataFileError(path, f"not a valid programme: {reason}") from error
