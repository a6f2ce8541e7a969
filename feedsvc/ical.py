"""A programme as iCalendar (RFC 5545, RFC 7986), built with the `icalendar` library.

The only module that knows iCalendar. Each event's VEVENT is rendered once,
when the data loads; a feed is the calendar's head (rendered per feed, it
names the filter) followed by those ready pieces. `build_calendar` builds the
same calendar whole with the library, and the tests check that both give the
same bytes.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cached_property, lru_cache

import pytz
from icalendar import Alarm, Calendar, Event, Timezone, vDuration, vText

from .model import Event as ProgrammeEvent
from .model import Programme, plural

PRODID = "-//feedsvc//Conference session feeds 1.0//EN"
UID_DOMAIN = "feedsvc.org"  # fixed: a UID never depends on the request's host
REFRESH = timedelta(hours=6)
END_EVENT = b"END:VEVENT\r\n"
END_CALENDAR = b"END:VCALENDAR\r\n"


@dataclass(frozen=True)
class FeedMeta:
    """What the calendar says about itself; everything but the events."""

    name: str
    description: str
    source: str  # the feed's own URL
    url: str  # a page about what the feed holds


def uid(event: ProgrammeEvent) -> str:
    return f"{event.id}@{UID_DOMAIN}"


def describe_event(event: ProgrammeEvent, programme: Programme, with_abstract: bool = True) -> str:
    """Plain text for DESCRIPTION: Google Calendar ignores URL, so every link is written out.

    Without the abstract it is short enough to travel inside a link (Google's event template).
    """
    session = programme.sessions_by_id[event.session_id]
    parts = [f"{event.type_label} · {session.title} · {programme.conference.name}"]
    if event.authors:
        parts[0] += "\nAuthors: " + ", ".join(a.name for a in event.authors)
    if event.covers:
        talks = [programme.events_by_id[i] for i in event.covers]
        kinds = " and ".join(dict.fromkeys(plural(t.type_label).lower() for t in talks))
        parts.append(f"Questions on these {kinds}:\n" + "\n".join(
            f"- {t.title} ({t.authors[0].name}{' et al.' if len(t.authors) > 1 else ''})"
            for t in talks))
    if event.abstract and with_abstract:
        parts.append(event.abstract)
    links = event.links.labelled() if event.authors else [("Session", event.links.talk)]
    parts.append("\n".join(f"{label}: {url}" for label, url in links))
    return "\n\n".join(parts)


def event_location(event: ProgrammeEvent, programme: Programme) -> str:
    return f"{programme.sessions_by_id[event.session_id].title}, {programme.conference.venue}"


def build_event(event: ProgrammeEvent, programme: Programme, alarm: int | None = None) -> Event:
    session = programme.sessions_by_id[event.session_id]
    categories = [event.type_label, session.area]
    if len(programme.sessions) > 1:
        categories.append(session.title)
    component = Event()
    component.add("uid", uid(event))
    component.add("dtstamp", event.last_modified)
    component.add("created", event.created)
    component.add("last-modified", event.last_modified)
    component.add("sequence", event.sequence)
    component.add("dtstart", event.start)
    component.add("dtend", event.end)
    # Not every client shows STATUS:CANCELLED (Google Calendar ignores it), so say it in words too.
    component.add("summary", f"Cancelled: {event.title}" if event.is_cancelled else event.title)
    component.add("description", describe_event(event, programme))
    component.add("url", event.links.talk)
    component.add("categories", categories)
    component.add("location", event_location(event, programme))
    component.add("status", event.status.upper())
    component.add("transp", "TRANSPARENT")
    component.add("class", "PUBLIC")
    if alarm is not None:
        component.add_component(build_alarm(alarm))
    return component


def build_alarm(minutes: int) -> Alarm:
    alarm = Alarm()
    alarm.add("action", "DISPLAY")
    alarm.add("description", f"Starts in {minutes} minutes" if minutes else "Starting now")
    alarm.add("trigger", timedelta(minutes=-minutes))
    return alarm


@lru_cache(maxsize=1441)
def alarm_bytes(minutes: int | None) -> bytes:
    return b"" if minutes is None else build_alarm(minutes).to_ical()


@lru_cache(maxsize=64)
def build_timezone(zone_name: str, first: date, last: date) -> Timezone:
    """A VTIMEZONE covering only `first` to `last`, not the library's 1970–2038."""
    return Timezone.from_tzinfo(pytz.timezone(zone_name), tzid=zone_name,
                                first_date=first, last_date=last)


def build_head(meta: FeedMeta, programme: Programme, events: tuple[ProgrammeEvent, ...]) -> Calendar:
    """The calendar without its events: properties and the one VTIMEZONE."""
    zone = programme.conference.timezone
    dated = events or programme.events  # an empty feed still carries its zone
    first = min(e.start for e in dated).date()
    last = max(e.end for e in dated).date() + timedelta(days=1)
    calendar = Calendar()
    calendar.add("version", "2.0")
    calendar.add("prodid", PRODID)
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("name", meta.name)
    calendar.add("x-wr-calname", vText(meta.name))
    calendar.add("description", meta.description)
    calendar.add("x-wr-caldesc", vText(meta.description))
    calendar.add("x-wr-timezone", zone)
    calendar.add("refresh-interval", REFRESH, parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", vDuration(REFRESH))
    calendar.add("source", meta.source, parameters={"VALUE": "URI"})
    calendar.add("url", meta.url, parameters={"VALUE": "URI"})
    calendar.add_component(build_timezone(zone, first, last))
    return calendar


def build_calendar(meta: FeedMeta, programme: Programme, events: tuple[ProgrammeEvent, ...],
                   alarm: int | None = None) -> Calendar:
    """The whole calendar built with the library: the reference `render_feed` must equal."""
    calendar = build_head(meta, programme, events)
    for event in events:
        calendar.add_component(build_event(event, programme, alarm))
    return calendar


@dataclass(frozen=True)
class RenderedFeed:
    """A feed's validators, and its body assembled only when asked for."""

    head: bytes
    pieces: tuple[bytes, ...]  # each event's VEVENT up to, not including, END:VEVENT
    digests: tuple[bytes, ...]  # a SHA-256 of each piece, made at load
    alarm: bytes
    last_modified: datetime

    @cached_property
    def etag(self) -> str:
        """Strong: any change to any byte of the body changes it; computed without the body."""
        digest = hashlib.sha256(self.head)
        digest.update(self.alarm)
        for piece in self.digests:
            digest.update(piece)
        return digest.hexdigest()[:32]

    def body(self) -> bytes:
        """Assembled on each call and not kept, so a cached feed stays small."""
        events = (self.alarm + END_EVENT).join(self.pieces)
        tail = self.alarm + END_EVENT if self.pieces else b""
        return b"".join((self.head, events, tail, END_CALENDAR))


class FeedRenderer:
    """Renders every event once for a programme, then any feed from those pieces."""

    def __init__(self, programme: Programme):
        self.programme = programme
        self._pieces = {e.id: build_event(e, programme).to_ical().removesuffix(END_EVENT)
                        for e in programme.events}
        self._digests = {i: hashlib.sha256(p).digest() for i, p in self._pieces.items()}

    def render(self, meta: FeedMeta, events: tuple[ProgrammeEvent, ...],
               alarm: int | None = None) -> RenderedFeed:
        head = build_head(meta, self.programme, events).to_ical().removesuffix(END_CALENDAR)
        stamps = [e.last_modified for e in events or self.programme.events]
        return RenderedFeed(head, tuple(self._pieces[e.id] for e in events),
                            tuple(self._digests[e.id] for e in events),
                            alarm_bytes(alarm), max(stamps))
