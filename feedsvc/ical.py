"""A programme as iCalendar (RFC 5545, RFC 7986), built with the `icalendar` library.

The only module that knows iCalendar. Each event's VEVENT is rendered once
per data file (and kept beside it, `pieces.py`); a feed is the calendar's head (rendered per feed, it
names the filter) followed by those ready pieces. `build_calendar` builds the
same calendar whole with the library, and the tests check that both give the
same bytes.
"""
from __future__ import annotations

import hashlib
import sys
from array import array
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cached_property, lru_cache
from typing import Protocol

import pytz
from icalendar import Alarm, Calendar, Component, Event, Timezone, vDDDTypes, vDuration, vText

from .model import Event as ProgrammeEvent
from .model import Programme, plural

PRODID = "-//feedsvc//Conference session feeds 1.0//EN"
UID_DOMAIN = "feedsvc.org"  # fixed: a UID never depends on the request's host
REFRESH = timedelta(hours=6)
END_EVENT = b"END:VEVENT\r\n"
END_CALENDAR = b"END:VCALENDAR\r\n"
PART_BYTES = 64 * 2**10  # a body's parts as sent or compressed close once this big (64-130 KiB: a run of pieces)
FOLD_OCTETS = 74
FEED_OBJECT_BYTES = 800  # a feed's instance, its ETag, its cache key and slots (measured: 500-1,300)
ESCAPE_STARTS = b"\\^"  # TEXT escapes (\, \; \n) and RFC 6868 parameter escapes (^n)


def fold(line: str) -> bytes:
    """`line` folded exactly as the `icalendar` library folds it, 74 octets at a time.

    The library folds one character at a time in Python, which was most of
    the time spent rendering events (measured: about 60%). The rule is the
    same: a line holds at most 74 octets (75 with the continuation's space),
    never splits a UTF-8 character, and never ends on the backslash or caret
    that starts an escape. `tests/test_ical.py` compares it with the library.
    """
    data = line.encode("utf-8")
    chunks, start = [], 0
    while len(data) - start > FOLD_OCTETS:
        end = start + FOLD_OCTETS
        while data[end] & 0xC0 == 0x80:  # a UTF-8 continuation byte: split before its character
            end -= 1
        if data[end - 1] in ESCAPE_STARTS:
            end -= 1
        chunks.append(data[start:end])
        start = end
    chunks.append(data[start:])
    return b"\r\n ".join(chunks)


def to_ical(component: Component) -> bytes:
    """`component.to_ical()`, with the library's content lines and the faster `fold`."""
    return b"".join(fold(line) + b"\r\n" for line in component.content_lines() if line)


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

    Without the abstract and description it is short enough to travel inside a link
    (Google's event template).
    """
    session = programme.sessions_by_id[event.session_id]
    kind = " · ".join(dict.fromkeys((event.type_label, session.title, programme.conference.name)))
    parts = ["\n".join(filter(None, (event.subtitle, kind)))]
    if event.authors:
        parts[0] += "\nAuthors: " + ", ".join(a.name for a in event.authors)
    if event.covers:
        talks = [programme.events_by_id[i] for i in event.covers]
        kinds = " and ".join(dict.fromkeys(plural(t.type_label).lower() for t in talks))
        parts.append(f"Questions on these {kinds}:\n" + "\n".join(
            f"- {t.title} ({t.authors[0].name}{' et al.' if len(t.authors) > 1 else ''})"
            for t in talks))
    if with_abstract:
        parts += filter(None, (event.abstract, event.description))
    parts.append("\n".join(f"{link.label}: {link.url}" for link in event.links))
    return "\n\n".join(filter(None, parts))


def event_location(event: ProgrammeEvent, programme: Programme) -> str:
    """The room, then the venue: "Saal 1, 38C3"."""
    return ", ".join(dict.fromkeys(filter(None, (event.room, programme.conference.venue))))


def build_event(event: ProgrammeEvent, programme: Programme, alarm: int | None = None) -> Event:
    session = programme.sessions_by_id[event.session_id]
    categories = list(dict.fromkeys(filter(None, (event.type_label, event.track))))
    if len(programme.sessions) > 1:
        categories.append(session.title)
    component = Event()
    component.add("uid", uid(event))
    component.add("dtstamp", event.last_modified)
    component.add("created", event.created)
    component.add("last-modified", event.last_modified)
    component.add("sequence", event.sequence)
    component.add("dtstart", unambiguous(event.start))
    if event.end > event.start:  # RFC 5545: DTEND is later than DTSTART; without it, an instant
        component.add("dtend", unambiguous(event.end))
    # Not every client shows STATUS:CANCELLED (Google Calendar ignores it), so say it in words too.
    component.add("summary", f"Cancelled: {event.title}" if event.is_cancelled else event.title)
    component.add("description", describe_event(event, programme))
    if event.url:
        component.add("url", event.url)
    component.add("categories", categories)
    component.add("location", event_location(event, programme))
    component.add("status", event.status.upper())
    component.add("transp", "TRANSPARENT")
    component.add("class", "PUBLIC")
    if alarm is not None:
        component.add_component(build_alarm(alarm))
    return component


def unambiguous(moment: datetime) -> datetime:
    """`moment`, or in UTC if its wall-clock time happens twice (the hour the clocks go back):
    a local time with a TZID means the first of the two (RFC 5545, 3.3.5)."""
    zone = getattr(moment.tzinfo, "zone", None)  # a fixed offset, such as UTC, repeats no hour
    return moment.astimezone(pytz.utc) if zone and repeated(zone, moment.replace(tzinfo=None)) else moment


@lru_cache(maxsize=4096)
def repeated(zone_name: str, wall_clock: datetime) -> bool:
    """Whether `wall_clock` happens twice in the zone; kept, since a programme's events
    share a few hundred start times."""
    try:
        pytz.timezone(zone_name).localize(wall_clock, is_dst=None)
    except pytz.exceptions.AmbiguousTimeError:
        return True
    except pytz.exceptions.NonExistentTimeError:  # the hour that is skipped happens never
        pass
    return False


def build_alarm(minutes: int) -> Alarm:
    alarm = Alarm()
    alarm.add("action", "DISPLAY")
    alarm.add("description", f"Starts in {minutes} minutes" if minutes else "Starting now")
    alarm.add("trigger", timedelta(minutes=-minutes))
    return alarm


@lru_cache(maxsize=1441)
def alarm_bytes(minutes: int | None) -> bytes:
    return b"" if minutes is None else to_ical(build_alarm(minutes))


@lru_cache(maxsize=64)
def build_timezone(zone_name: str, first: date, last: date) -> Timezone:
    """A VTIMEZONE covering only `first` to `last`, not the library's 1970–2038.

    RFC 5545 (3.6.5) reads an observance's DTSTART in the offset before it,
    TZOFFSETFROM: Berlin leaves summer time at 03:00 CEST. The library writes
    the local time after the change (02:00) for pytz zones, which puts the
    change an hour early for a strict client; each DTSTART is moved back to
    the offset before. `tests/test_ical.py` checks every change's instant
    against the zone's own rules.
    """
    component = Timezone.from_tzinfo(pytz.timezone(zone_name), tzid=zone_name,
                                     first_date=first, last_date=last)
    for observance in component.subcomponents:
        before, after = observance["TZOFFSETFROM"].td, observance["TZOFFSETTO"].td
        observance["DTSTART"] = vDDDTypes(observance.decoded("DTSTART") + before - after)
    return component


@lru_cache(maxsize=64)
def timezone_bytes(zone_name: str, first: date, last: date) -> bytes:
    return to_ical(build_timezone(zone_name, first, last))


def zone_span(programme: Programme, first: datetime, last: datetime) -> tuple[str, date, date]:
    """The zone and the days its VTIMEZONE must cover for events from `first` to `last`."""
    return programme.conference.timezone, first.date(), last.date() + timedelta(days=1)


def build_properties(meta: FeedMeta, programme: Programme) -> Calendar:
    """The calendar's own properties, without the VTIMEZONE and the events."""
    calendar = Calendar()
    calendar.add("version", "2.0")
    calendar.add("prodid", PRODID)
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("name", meta.name)
    calendar.add("x-wr-calname", vText(meta.name))
    calendar.add("description", meta.description)
    calendar.add("x-wr-caldesc", vText(meta.description))
    calendar.add("x-wr-timezone", programme.conference.timezone)
    calendar.add("refresh-interval", REFRESH, parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", vDuration(REFRESH))
    calendar.add("source", meta.source, parameters={"VALUE": "URI"})
    calendar.add("url", meta.url, parameters={"VALUE": "URI"})
    return calendar


def build_head(meta: FeedMeta, programme: Programme, events: tuple[ProgrammeEvent, ...]) -> Calendar:
    """The calendar without its events: properties and the one VTIMEZONE."""
    dated = events or programme.events  # an empty feed still carries its zone
    first, last = min(e.start for e in dated), max(e.end for e in dated)
    calendar = build_properties(meta, programme)
    calendar.add_component(build_timezone(*zone_span(programme, first, last)))
    return calendar


def build_calendar(meta: FeedMeta, programme: Programme, events: tuple[ProgrammeEvent, ...],
                   alarm: int | None = None) -> Calendar:
    """The whole calendar built with the library: the reference `render_feed` must equal."""
    calendar = build_head(meta, programme, events)
    for event in events:
        calendar.add_component(build_event(event, programme, alarm))
    return calendar


class Pieces(Protocol):
    """Each event's VEVENT, END:VEVENT included, in the order of `programme.events`: held in
    memory (`HeldPieces`) or left in the sidecar (`pieces.StoredPieces`)."""

    lengths: Sequence[int]
    digests: Sequence[bytes]  # each piece's `piece_digest`, made as it was read or rendered

    def __len__(self) -> int: ...

    def read(self, positions: Sequence[int]) -> Iterator[bytes | memoryview]:
        """The pieces at `positions`, one by one."""

    def runs(self, positions: Sequence[int]) -> Iterator[bytes]:
        """The same bytes, consecutive pieces together where that saves work (reading a file):
        what a feed without an alarm is made of."""


def piece_digest(piece: bytes | memoryview) -> bytes:
    """What a feed's ETag is made of for one piece: its SHA-256 without its END:VEVENT, as
    before pieces held it, so that no ETag changed when they did."""
    return hashlib.sha256(piece[:-len(END_EVENT)]).digest()


class HeldPieces:
    """Pieces held in memory: rendered with no sidecar to keep them in (a read-only directory).
    A piece equal to one of `previous` is that object: the old data and the new, both held
    while a worker reloads, share what did not change."""

    def __init__(self, pieces: tuple[bytes, ...], previous: tuple[bytes, ...] = ()):
        kept = {piece: piece for piece in previous}
        self.pieces = tuple(kept.get(piece, piece) for piece in pieces)
        self.lengths = tuple(map(len, self.pieces))
        self.digests = tuple(map(piece_digest, self.pieces))

    def __len__(self) -> int:
        return len(self.pieces)

    def read(self, positions: Sequence[int]) -> Iterator[bytes]:
        return map(self.pieces.__getitem__, positions)

    runs = read


@dataclass(frozen=True)
class RenderedFeed:
    """A feed's validators, and its body assembled only when asked for."""

    head: bytes
    store: Pieces  # the renderer's: each event's VEVENT
    positions: Sequence[int]  # of this feed's events in `store`, in order
    digests: bytes  # the SHA-256 of each of those pieces, made at load, one after another
    alarm: bytes
    last_modified: datetime

    @property
    def footprint(self) -> int:
        """The bytes this feed and its cache entry keep alive, for the caches' budgets (its pieces
        are the renderer's; checked with tracemalloc)."""
        return sum(map(sys.getsizeof, (self.head, self.digests, self.positions))) + FEED_OBJECT_BYTES

    @cached_property
    def etag(self) -> str:
        """Strong: any change to any byte of the body changes it; computed without the body."""
        return hashlib.sha256(self.head + self.alarm + self.digests).hexdigest()[:32]

    @cached_property
    def size(self) -> int:
        """The body's length, known without assembling it: whether to compress it."""
        pieces = sum(map(self.store.lengths.__getitem__, self.positions))
        return len(self.head) + pieces + len(self.alarm) * len(self.positions) + len(END_CALENDAR)

    def events(self) -> Iterator[bytes | memoryview]:
        """The body between head and end: the pieces as they are read, consecutive ones together;
        with an alarm, each piece cut before its END:VEVENT to put the alarm in."""
        if not self.alarm:
            return self.store.runs(self.positions)
        closing = self.alarm + END_EVENT
        return (part for piece in self.store.read(self.positions) for part in (piece[:-len(END_EVENT)], closing))

    def body(self) -> bytes:
        """Assembled on each call and not kept, so a cached feed stays small (the catalog keeps
        the most recently sent bodies, within a budget). One join: a conference's whole feed
        is tens of megabytes."""
        return b"".join([self.head, *self.events(), END_CALENDAR])

    def parts(self, size: int = PART_BYTES) -> Iterator[bytes]:
        """The body in parts of about `size` bytes, each joined as it is asked for: a body sent
        or compressed this way is never held whole (at 15,000 events the whole feed is 31 MB,
        and the server copies a body it is given whole once per response)."""
        part, length = [self.head], len(self.head)
        for piece in self.events():
            part.append(piece)
            length += len(piece)
            if length >= size:
                yield b"".join(part)
                part, length = [], 0
        part.append(END_CALENDAR)
        yield b"".join(part)


def render_pieces(programme: Programme) -> tuple[bytes, ...]:
    """Each event's VEVENT, END:VEVENT included (a feed's alarm goes before it: `RenderedFeed.events`),
    in the order of `programme.events`. The library's bytes: about 28 s for 15,000 events,
    so `pieces.py` keeps them on disk beside the data file."""
    return tuple(to_ical(build_event(e, programme)) for e in programme.events)


class FeedRenderer:
    """Renders every event once for a programme, then any feed from those pieces.

    What a feed needs of each event (piece, digest, end, stamp) is kept in
    tuples in the order of `programme.events`, and a feed is asked for by
    positions in it: at 15,000 events, reaching every event object for each
    feed cost more than all the rest (52 ms for the whole feed, cold). The
    whole programme's feed reaches none: its pieces, digests, last end and
    stamp are the programme's own, kept whole (a pass over 15,000 scattered
    objects costs about 2 ms once they no longer fit the CPU's caches).
    """

    def __init__(self, programme: Programme, pieces: Pieces | None = None):
        """`pieces`: `render_pieces(programme)`'s, if already known (left in their sidecar)."""
        self.programme = programme
        events = programme.events
        self.pieces = HeldPieces(render_pieces(programme)) if pieces is None else pieces
        self._everything = range(len(events))
        self._digests = self.pieces.digests
        self._ends = tuple(e.end for e in events)
        self._stamps = tuple(e.last_modified for e in events)
        self._all_digests = b"".join(self._digests)
        self._last_end, self.last_modified = max(self._ends), max(self._stamps)

    def render(self, meta: FeedMeta, positions: Sequence[int], alarm: int | None = None) -> RenderedFeed:
        """The feed of the events at `positions` (ascending) in `programme.events`."""
        last, stamp = self._last_end, self.last_modified  # an empty feed still carries them
        if positions == self._everything:
            positions, digests = self._everything, self._all_digests
        else:
            digests = b"".join(map(self._digests.__getitem__, positions))
            if positions:
                last, stamp = max(map(self._ends.__getitem__, positions)), max(map(self._stamps.__getitem__, positions))
            positions = array("I", positions)  # 4 bytes each, kept with the feed
        first = self.programme.events[positions[0] if positions else 0].start  # events are in order of start
        properties = to_ical(build_properties(meta, self.programme)).removesuffix(END_CALENDAR)
        head = properties + timezone_bytes(*zone_span(self.programme, first, last))
        return RenderedFeed(head, self.pieces, positions, digests, alarm_bytes(alarm), stamp)
