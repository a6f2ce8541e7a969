"""The data file: a programme as JSON, read with every field checked, written atomically.

A data file that fails any check is refused whole, naming the file and the
reason, so that nothing half-built is ever served.
"""
from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path

import pytz

from .model import (CANCELLED, CONFIRMED, Author, Conference, Event, Links,
                    Programme, Session)

FORMAT = 1


class DataFileError(ValueError):
    def __init__(self, path: Path | str, reason: str):
        super().__init__(f"{path}: {reason}")
        self.path, self.reason = path, reason


def utc_text(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def event_to_json(event: Event) -> dict:
    return {
        "id": event.id, "type": event.type, "type_label": event.type_label,
        "title": event.title, "authors": [asdict(a) for a in event.authors],
        "start": event.start.isoformat(), "end": event.end.isoformat(),
        "abstract": event.abstract, "links": asdict(event.links),
        "covers": list(event.covers), "status": event.status, "sequence": event.sequence,
        "created": utc_text(event.created), "last_modified": utc_text(event.last_modified),
    }


def programme_to_json(programme: Programme) -> dict:
    return {
        "format": FORMAT,
        "conference": asdict(programme.conference),
        "sessions": [{
            "id": s.id, "title": s.title, "area": s.area, "chairs": list(s.chairs),
            "url": s.url, "events": [event_to_json(e) for e in s.events],
        } for s in programme.sessions],
    }


def dumps(programme: Programme) -> str:
    return json.dumps(programme_to_json(programme), ensure_ascii=False, indent=2) + "\n"


def write_programme(programme: Programme, path: Path) -> None:
    """Replace `path` atomically: readers see the old file or the new one, never half."""
    path = Path(path)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(dumps(programme))
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


def _moment(text: str, zone) -> datetime:
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError(f"{text!r} has no UTC offset")
    return moment.astimezone(zone)


def event_from_json(raw: dict, session_id: str, zone) -> Event:
    event = Event(
        id=raw["id"], session_id=session_id, type=raw["type"], type_label=raw["type_label"],
        title=raw["title"], authors=tuple(Author(a["id"], a["name"]) for a in raw["authors"]),
        abstract=raw["abstract"], start=_moment(raw["start"], zone), end=_moment(raw["end"], zone),
        links=Links(**raw["links"]), covers=tuple(raw["covers"]), status=raw["status"],
        sequence=raw["sequence"], created=_moment(raw["created"], timezone.utc),
        last_modified=_moment(raw["last_modified"], timezone.utc))
    problems = [
        (event.end <= event.start, "ends before it starts"),
        (event.status not in (CONFIRMED, CANCELLED), f"status must be {CONFIRMED} or {CANCELLED}"),
        (not isinstance(event.sequence, int) or event.sequence < 0, "sequence must be a whole number ≥ 0"),
        (not event.id or not event.title, "needs an id and a title"),
        (not event.links.talk, "needs links.talk"),
    ]
    for failed, reason in problems:
        if failed:
            raise ValueError(f"event {event.id!r} {reason}")
    return event


def programme_from_json(raw: dict) -> Programme:
    """A `Programme` from parsed JSON; `ValueError`, `KeyError` or `TypeError` if malformed."""
    if raw.get("format") != FORMAT:
        raise ValueError(f"format must be {FORMAT}, not {raw.get('format')!r}")
    conference = Conference(**raw["conference"])
    zone = pytz.timezone(conference.timezone)
    sessions = tuple(
        Session(s["id"], s["title"], s["area"], tuple(s["chairs"]), s["url"],
                tuple(event_from_json(e, s["id"], zone) for e in s["events"]))
        for s in raw["sessions"])
    programme = Programme(conference, sessions)
    ids = [e.id for s in sessions for e in s.events]
    if not ids:
        raise ValueError("holds no events")
    if len(set(ids)) != len(ids):
        raise ValueError("event ids repeat")
    dangling = {c for e in programme.events for c in e.covers} - set(ids)
    if dangling:
        raise ValueError(f"Q&As cover unknown events {sorted(dangling)}")
    return programme


def load_programme(path: Path | str) -> Programme:
    """The programme in `path`, or `DataFileError` saying what is wrong with the file."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise DataFileError(path, f"cannot read it ({error})") from error
    except UnicodeDecodeError as error:
        raise DataFileError(path, f"not UTF-8 text ({error})") from error
    if not text.strip():
        raise DataFileError(path, "it is empty")
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as error:
        raise DataFileError(path, f"not valid JSON (truncated?): {error}") from error
    try:
        return programme_from_json(raw)
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        reason = f"missing field {error}" if isinstance(error, KeyError) else str(error)
        raise DataFileError(path, f"not a valid programme: {reason}") from error
