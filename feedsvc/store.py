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
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, replace
from datetime import date, datetime, timezone
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import pytz

from .model import (CANCELLED, CONFIRMED, Author, Conference, Event, Link,
                    Programme, Session, SourceRecord)

if TYPE_CHECKING:
    from hashlib import _Hash as Hash  # a type of typeshed's only

T = TypeVar("T")
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


def event_from_json(raw: dict, session_id: str, zone, share: Callable[[T], T] = lambda value: value) -> Event:
    """`share` returns an equal value to keep instead (`EventsAsParsed.share`): repeated
    strings and people held once."""
    event = Event(
        id=raw["id"], source_key=raw["source_key"], session_id=share(session_id), type=share(raw["type"]),
        type_label=share(raw["type_label"]), title=raw["title"], subtitle=raw["subtitle"],
        authors=tuple(share(Author(a["id"], a["name"], a["upstream"])) for a in raw["authors"]),
        start=_moment(raw["start"], zone), end=_moment(raw["end"], zone), day=date.fromisoformat(raw["day"]),
        track=share(raw["track"]), room=share(raw["room"]), language=share(raw["language"]),
        abstract=raw["abstract"], description=raw["description"],
        url=raw["url"], links=tuple(Link(share(link["label"]), link["url"]) for link in raw["links"]),
        extra=tuple(sorted((share(str(name)), str(value)) for name, value in raw["extra"].items())),
        covers=tuple(raw["covers"]), status=share(raw["status"]), sequence=raw["sequence"],
        created=_moment(raw["created"], timezone.utc), last_modified=_moment(raw["last_modified"], timezone.utc))
    return event


TEXT_FIELDS = ("id", "source_key", "type", "type_label", "title", "subtitle", "abstract", "description", "url",
               "track", "room", "language")


def check_event(event: Event) -> None:
    untyped = [name for name in TEXT_FIELDS if type(getattr(event, name)) is not str]
    texts = {"authors": [text for a in event.authors for text in (a.id, a.name, a.upstream)],
             "links": [text for link in event.links for text in (link.label, link.url)]}
    untyped += [name for name, values in texts.items() if any(type(text) is not str for text in values)]
    problems = [
        (bool(untyped), f"{', '.join(untyped)} must be text"),
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
    """The items of `parsed`, each dropped from it as it is taken: the parsed file and the new
    programme are never held whole at the same time."""
    parsed.reverse()
    while parsed:
        yield parsed.pop()


def programme_from_json(raw: dict) -> Programme:
    """A `Programme` from parsed JSON (its sessions are taken out of `raw` as they are read);
    `ValueError`, `KeyError` or `TypeError` if malformed. Events may already be `Event`s,
    converted as they were parsed (`EventsAsParsed`)."""
    if raw.get("format") == 1:
        raw = from_format_1(raw)
    if raw.get("format") != FORMAT:
        raise ValueError(f"format must be {FORMAT}, not {raw.get('format')!r} "
                         "(re-import the sources with `flask --app feedsvc import`)")
    conference = Conference(**raw["conference"])
    zone = pytz.timezone(conference.timezone)
    sessions = tuple(
        Session(s["id"], s["title"], s["area"], tuple(s["chairs"]), s["url"],
                tuple(_event(e, s["id"], zone) for e in s["events"]))
        for s in taken(raw["sessions"]))
    programme = Programme(conference, sessions, tuple(SourceRecord(**r) for r in raw["sources"]))
    check_programme(programme)
    return programme


def _event(raw: dict | Event, session_id: str, zone) -> Event:
    if not isinstance(raw, Event):
        return event_from_json(raw, session_id, zone)
    if raw.session_id != session_id:  # the session's id given again after its events
        return replace(raw, session_id=session_id)
    return raw


class EventsAsParsed:
    """Turns each event into an `Event` as soon as the parser has read it, so that the parsed
    dictionaries of 15,000 events (some 45 MB) are never held at once, and an event equal to
    one of the `previous` programme is that very object: a worker reloading its data holds
    the old programme and the new, and they share all that did not change.

    It can only when the file gives its format and conference before its sessions, and a
    session its id before its events, as `dumps` writes them; in any other order the events
    stay dictionaries, converted by `programme_from_json` as before. Repeated strings
    (types, rooms, tracks, labels) and people are shared too.
    """

    def __init__(self, previous: Programme | None = None):
        self.previous = {} if previous is None else previous.events_by_id
        self.previous_zone = None if previous is None else previous.conference.timezone
        self.top: dict = {}
        self.zone = None
        self.session_id: tuple | None = None  # (its index, its id)
        self.shared: dict = {} if previous is None else {author: author for author in previous.authors}

    def __call__(self, path: tuple, value: object) -> object:
        match path:
            case ("format" | "conference" as key,):
                self.top[key] = value
                self.zone = self._zone()
            case ("sessions", int(index), "id"):
                self.session_id = (index, value)
            case ("sessions", int(index), "events", int()) if self.zone and self.session_id \
                    and self.session_id[0] == index and isinstance(value, dict):
                return self.event(value, self.session_id[1])
        return value

    def _zone(self):
        """The conference's zone once both are read and the format is today's; a second
        conference after events were converted would change what they mean: refused."""
        if self.zone is not None:
            raise ValueError("the file gives its format or conference twice")
        conference = self.top.get("conference")
        if self.top.get("format") == FORMAT and isinstance(conference, dict) \
                and isinstance(conference.get("timezone"), str):
            try:
                return pytz.timezone(conference["timezone"])
            except pytz.UnknownTimeZoneError:
                return None  # refused with its reason by programme_from_json
        return None

    def event(self, raw: dict, session_id: str) -> Event:
        """An old event is kept only in the same zone: times equal in another zone compare
        equal, and would be written in the old one."""
        event = event_from_json(raw, session_id, self.zone, self.share)
        old = self.previous.get(event.id)
        return old if old == event and self.zone.zone == self.previous_zone else event

    def share(self, value: T) -> T:
        """An equal string or person already held; anything else as it is (a value of the wrong
        type is refused after, with its reason)."""
        if type(value) is str or (type(value) is Author and type(value.id) is type(value.name) is type(value.upstream) is str):
            return self.shared.setdefault(value, value)
        return value


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


def utf8_parts(path: Path | str, digest: Hash | None = None) -> Iterator[str]:
    """The file's text, a megabyte at a time: decoding 40 MB at once holds the interpreter for
    a tenth of a second, in which a reloading worker answers nothing, and the text whole is
    never needed (`parse_piecewise`). `digest`, if given, is updated with the bytes read: the
    key of the very bytes parsed (pieces.py), without reading the file twice."""
    decoder, offset = codecs.getincrementaldecoder("utf-8")(), 0
    with open(path, "rb") as file:
        for chunk in iter(partial(file.read, READ_BYTES), b""):
            if digest:
                digest.update(chunk)
            yield _decoded_chunk(decoder, chunk, offset)
            offset += len(chunk)
    yield _decoded_chunk(decoder, b"", offset, final=True)


def _decoded_chunk(decoder, chunk: bytes, offset: int, final: bool = False) -> str:
    """`chunk`, read at `offset` in the file, decoded; an error says where in the file."""
    try:
        return decoder.decode(chunk, final=final)
    except UnicodeDecodeError as error:
        raise UnicodeDecodeError(error.encoding, error.object, error.start, error.end,
                                 f"{error.reason}, at byte {offset + error.start:,} of the file") from None


READ_BYTES = 2**20
_DECODER = json.JSONDecoder()
_SPACE = re.compile(r"[ \t\n\r]*")
NESTING_PARSED_PIECEWISE = 4  # file, sessions, a session, its events: each event one call of the parser


class EmptyText(json.JSONDecodeError):
    """Nothing but white space to parse."""


def parse_piecewise(parts: Iterable[str], on_value: Callable[[tuple, object], object] | None = None) -> object:
    """`json.loads("".join(parts))`, the outer objects and arrays taken apart here and each
    event parsed by itself, holding only the text not yet parsed.

    One call into the parser holds the interpreter until it returns: for a 40 MB file over
    a second, in which a worker reloading its data (live.py) answered no request. And the
    text whole is 40 MB more, twice while it is joined. `on_value(path, value)`, if given,
    is called with each value parsed piecewise (the file's, its sessions', their events'),
    its path of keys and indexes, and returns what to keep in its place (`EventsAsParsed`).
    """
    return _Parser(parts, on_value or (lambda path, value: value)).parse()


class _Parser:
    """A window on the text: the parts not yet parsed, joined only where a value spans two."""

    def __init__(self, parts: Iterable[str], on_value: Callable[[tuple, object], object]):
        self.parts = iter(parts)
        self.on_value = on_value
        self.text = ""  # the window: the whole text from `offset` on, as far as read
        self.offset = 0  # characters before the window
        self.lines = 0  # newlines before it
        self.line_start = 0  # where the line of the window's first character starts
        self.ended = False  # all parts read

    def parse(self) -> object:
        position = self._space(0)
        if position == len(self.text):
            raise EmptyText("Expecting value", "", 0)
        value, position = self._value(position, NESTING_PARSED_PIECEWISE, ())
        position = self._space(position)
        if position != len(self.text):
            raise self._error("Extra data", position)
        return value

    def _more(self, position: int) -> int:
        """Drop the window before `position` and read on, at least as much again as is left
        (a value spanning parts is parsed again from its start, so a big one is not parsed
        once per part); `position`'s place in the new window, 0. Needs not `self.ended`."""
        last_newline = self.text.rfind("\n", 0, position)
        if last_newline >= 0:
            self.lines += self.text.count("\n", 0, position)
            self.line_start = self.offset + last_newline + 1
        self.offset += position
        left, added, wanted = self.text[position:], [], max(len(self.text) - position, 1)
        while wanted > 0:
            part = next(self.parts, None)
            if part is None:
                self.ended = True
                break
            added.append(part)
            wanted -= len(part)
        self.text = left + "".join(added)
        return 0

    def _space(self, position: int) -> int:
        """The position after any white space from `position`, reading on if it ends the window."""
        while True:
            position = _SPACE.match(self.text, position).end()
            if position < len(self.text) or self.ended:
                return position
            position = self._more(position)

    def _decoded(self, position: int) -> tuple[object, int]:
        """The value at `position` by one call of the parser, reading on while the window
        cuts it: a number may go on beyond the window (after "1", "1." or "1e+")."""
        while True:
            try:
                value, end = _DECODER.raw_decode(self.text, position)
            except json.JSONDecodeError as error:
                if self.ended:
                    raise self._error(error.msg, error.pos) from None
            else:
                if end + 2 < len(self.text) or self.ended:
                    return value, end
            position = self._more(position)

    def _error(self, message: str, position: int) -> json.JSONDecodeError:
        """`json.loads`' error, placed in the whole text; it keeps none of the text."""
        newline = self.text.rfind("\n", 0, position)
        line = self.lines + self.text.count("\n", 0, position) + 1
        column = position - newline if newline >= 0 else self.offset + position - self.line_start + 1
        error = json.JSONDecodeError(message, "", 0)
        error.pos, error.lineno, error.colno = self.offset + position, line, column
        error.args = (f"{message}: line {line} column {column} (char {error.pos})",)
        return error

    def _value(self, position: int, depth: int, path: tuple) -> tuple[object, int]:
        position = self._space(position)
        if depth and self.text.startswith("{", position):
            value, position = self._members(position + 1, depth - 1, {}, path)
        elif depth and self.text.startswith("[", position):
            value, position = self._members(position + 1, depth - 1, [], path)
        else:
            value, position = self._decoded(position)
        return self.on_value(path, value), position

    def _members(self, position: int, depth: int, into: dict | list, path: tuple) -> tuple[dict | list, int]:
        """An object's members or an array's elements, from after its opening bracket."""
        closing, position = ("}" if isinstance(into, dict) else "]"), self._space(position)
        if self.text.startswith(closing, position):
            return into, position + 1
        while True:
            if isinstance(into, dict):
                key_at = self._space(position)
                key, position = self._decoded(key_at) if self.text.startswith('"', key_at) else (None, key_at)
                if not isinstance(key, str):
                    raise self._error("Expecting property name enclosed in double quotes", position)
                position = self._space(position)
                if not self.text.startswith(":", position):
                    raise self._error("Expecting ':' delimiter", position)
                into[key], position = self._value(position + 1, depth, (*path, key))
            else:
                value, position = self._value(position, depth, (*path, len(into)))
                into.append(value)
            position = self._space(position)
            if self.text.startswith(closing, position):
                return into, position + 1
            if not self.text.startswith(",", position):
                raise self._error("Expecting ',' delimiter", position)
            position += 1


def load_programme(path: Path | str, max_bytes: int = MAX_DATA_BYTES, digest: Hash | None = None,
                   previous: Programme | None = None) -> Programme:
    """The programme in `path`, or `DataFileError` saying what is wrong with the file.
    A file over `max_bytes` is refused unread: loading it could cost a worker its memory,
    and a killed worker takes its requests with it. `digest` is updated with the file's bytes.
    Events equal to those of `previous` (the programme being replaced) are its own objects."""
    try:
        size = os.stat(path).st_size
        if size > max_bytes:
            raise DataFileError(path, f"it is {size:,} bytes, over the limit of {max_bytes:,} "
                                      "(FEEDSVC_MAX_DATA_BYTES); not loaded")
        raw = parse_piecewise(utf8_parts(path, digest), EventsAsParsed(previous))
        return programme_from_json(raw)
    except OSError as error:
        raise DataFileError(path, f"cannot read it ({error})") from error
    except UnicodeDecodeError as error:
        raise DataFileError(path, f"not UTF-8 text ({error})") from error
    except EmptyText as error:
        raise DataFileError(path, "it is empty") from error
    except RecursionError as error:  # as json.loads: nested deeper than the interpreter goes
        raise DataFileError(path, "not valid JSON: nested too deeply") from error
    except json.JSONDecodeError as error:
        raise DataFileError(path, f"not valid JSON (truncated?): {error}") from error
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        reason = f"missing field {error}" if isinstance(error, KeyError) else str(error)
        raise DataFileError(path, f"not a valid programme: {reason}") from error
