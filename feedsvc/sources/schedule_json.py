"""schedule.json (c3voc's JSON schema, as pretalx and frab export it) to a `Programme`.

Only the reading is here: the raw values go into a `ScheduleRecord` with the JSON
path of each, and `common.build_programme` makes the programme.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

from ..model import Author, Link, Programme
from .common import (EventRecord, ImportOptions, Located, ScheduleRecord, SourceError, build_programme,
                     extras, json_object)

KINDS = {dict: "an object", list: "an array", str: "a string"}


def recognises(content: bytes) -> bool:
    """A JSON object with a "schedule" object holding a "conference" object."""
    schedule = json_object(content).get("schedule")
    return isinstance(schedule, dict) and isinstance(schedule.get("conference"), dict)


@dataclass(frozen=True)
class At:
    """A JSON value and its path, so that every error says which value is wrong."""

    value: object
    path: str
    origin: str

    def fail(self, reason: str) -> SourceError:
        return SourceError(f"{self.origin}: {self.path}: {reason}")

    def where(self) -> str:
        return f"{self.origin}: {self.path}"

    def expect(self, kind: type) -> At:
        if not isinstance(self.value, kind):
            raise self.fail(f"must be {KINDS[kind]}, not {_kind_of(self.value)}")
        return self

    def get(self, key: str, kind: type, required: bool = True) -> At:
        """The member `key`, which must be of `kind`; absent or null is empty unless required."""
        member = At(self.expect(dict).value.get(key), f"{self.path}.{key}", self.origin)
        if member.value is None:
            if required:
                raise member.fail("missing")
            return At(kind(), member.path, self.origin)
        return member.expect(kind)

    def text(self, key: str) -> str:
        return self.get(key, str, required=False).value

    def located(self, key: str, required: bool = False) -> Located | None:
        member = self.get(key, str, required)
        return Located(member.value, member.where()) if required or member.value.strip() else None

    def ident(self, key: str) -> str:
        """An id, which exports write as a number or as a string."""
        member = At(self.expect(dict).value.get(key), f"{self.path}.{key}", self.origin)
        if member.value is not None and (isinstance(member.value, bool)
                                         or not isinstance(member.value, (int, str))):
            raise member.fail(f"must be a number or a string, not {_kind_of(member.value)}")
        return "" if member.value is None else str(member.value)

    def items(self) -> list[At]:
        return [At(v, f"{self.path}[{i}]", self.origin) for i, v in enumerate(self.expect(list).value)]

    def members(self) -> list[tuple[str, At]]:
        return [(name, At(v, f"{self.path}[{name!r}]", self.origin))
                for name, v in self.expect(dict).value.items()]


def _kind_of(value: object) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    return KINDS.get(type(value), "null")


def _person(person: At) -> Author:
    name = person.text("public_name") or person.text("name") or person.text("full_name")
    return Author("", name, person.text("guid") or person.text("code") or person.ident("id"))


def _link(link: At) -> Link:
    if isinstance(link.value, str):
        return Link(link.value, link.value)
    return Link(link.text("title"), link.get("url", str).value)


def _event(event: At, day: At, room: str) -> EventRecord:
    event.get("title", str)
    return EventRecord(
        where=event.where(), day=day.located("date", required=True), day_start=day.located("day_start"),
        date=event.located("date"), start=event.located("start"),
        duration=event.located("duration", required=True),
        guid=event.text("guid"), upstream_id=event.ident("id"),
        title=event.text("title"), subtitle=event.text("subtitle"), type_label=event.text("type"),
        track=event.text("track"), room=event.text("room").strip() or room,
        language=event.text("language"), abstract=event.text("abstract"),
        description=event.text("description"), url=event.text("url"),
        persons=tuple(_person(p) for p in event.get("persons", list, required=False).items()),
        links=tuple(_link(link) for name in ("links", "attachments")
                    for link in event.get(name, list, required=False).items()),
        extra=extras(event.value.items()))


def _schedule(document: At) -> ScheduleRecord:
    schedule = document.get("schedule", dict)
    conference = schedule.get("conference", dict)
    conference.get("acronym", str)
    if isinstance(schedule.value.get("events"), list):
        raise schedule.fail("lists its events in schedule.events, as c3voc's schedule schema 2 does, "
                            "which feedsvc does not read yet; use the export of schema 1, whose "
                            "events are in conference.days[].rooms")
    events = [_event(event, day, room)
              for day in conference.get("days", list).items()
              for room, listed in day.get("rooms", dict, required=False).members()
              for event in listed.items()]
    return ScheduleRecord(
        acronym=conference.text("acronym"), title=conference.text("title"),
        url=conference.text("url"), time_zone_name=conference.text("time_zone_name"),
        events=tuple(events), base_url=schedule.text("base_url"))


def parse(content: bytes, origin: str, options: ImportOptions) -> Programme:
    try:
        document = json.loads(content)
    except json.JSONDecodeError as error:
        raise SourceError(f"{origin}:{error.lineno}:{error.colno}: not valid JSON: {error.msg}") from error
    except (ValueError, RecursionError) as error:  # not UTF-8 or UTF-16; nested too deep
        raise SourceError(f"{origin}: not valid JSON: {error}") from error
    return build_programme(_schedule(At(document, "$", origin)), origin, options)
