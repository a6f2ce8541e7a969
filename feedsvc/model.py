"""The programme as immutable values, and the lookups every output needs.

Pure on purpose: no Flask, no icalendar. The importer builds these values, the
store reads and writes them, and each renderer (iCalendar, JSON, HTML) only
reads them, so a programme that loaded is the same for every output.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from functools import cached_property
from typing import Callable, TypeVar

T = TypeVar("T")

CONFIRMED = "confirmed"
CANCELLED = "cancelled"


# The marks NFKD splits off letters ("é" is "e" and U+0301), and the Latin letters it
# leaves whole, spelled as people type them without the mark.
MARKS = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")
UNMARKED = str.maketrans({"ł": "l", "ø": "o", "đ": "d", "ħ": "h", "ı": "i", "æ": "ae", "œ": "oe", "þ": "th",
                          "ð": "d", "ŧ": "t"})


def fold(text: str) -> str:
    """Lower-case `text` and strip its accents, for matching what people type:
    "Łukasz Nørgaard" and "lukasz norgaard" fold alike."""
    if text.isascii():  # most text: nothing to strip (measured: 20x faster over abstracts)
        return text.lower()
    unmarked = MARKS.sub("", unicodedata.normalize("NFKD", text))
    return unicodedata.normalize("NFC", unmarked).casefold().translate(UNMARKED)  # "デ" whole again


def slugify(text: str) -> str:
    """A readable id for URLs: ``"J. Zico Kolter"`` becomes ``"j-zico-kolter"``. Letters of
    any script stay, with their marks ("機械学習", "зал-1", "काल"): a track named only in
    them still has an id of its own."""
    folded = fold(text)
    if not folded.isascii():
        folded = "".join(c if c.isalnum() or unicodedata.category(c)[0] == "M" else "-" for c in folded)
    return re.sub(r"[^\w\u0080-\U0010ffff]+|_+", "-", folded).strip("-")


def unique(wanted: str, suffix: str, taken: set[str]) -> str:
    """`wanted`, or `wanted-suffix` if taken, numbered on if that is taken too."""
    stem = "-".join(part for part in (wanted, suffix) if part)
    candidate, number = wanted, 2
    if candidate in taken:
        candidate = stem
    while candidate in taken:
        candidate, number = f"{stem}-{number}", number + 1
    taken.add(candidate)
    return candidate


def type_id(label: str) -> str:
    """The id of an event type as written on a page or typed in a URL: "Q&A" is "qa"."""
    return slugify(label.replace("&", ""))


def plural(label: str) -> str:
    """ "Oral" to "Orals", "Q&A" to "Q&As": names of types in calendar titles."""
    return label if label.endswith("s") else label + "s"


@dataclass(frozen=True, slots=True)
class Author:
    """A person of an event (an author, a speaker). `id` is readable and unique in the
    programme; `upstream` is the source's own id for them (a frab person id, a pretalx code)."""

    id: str
    name: str
    upstream: str = ""


@dataclass(frozen=True, slots=True)
class Link:
    label: str
    url: str


@dataclass(frozen=True, slots=True, weakref_slot=True)
class Event:
    """One slot of a programme: a talk, a Q&A, a break, a workshop.

    `id` is readable ("meshsdf") and stays across re-imports; `source_key` is
    the source's identity for the event (its guid, or its id with the
    conference acronym), by which a re-import finds it again even when its
    title changed. Seed-page events have no source key: their id is their
    identity. `created`, `last_modified` and `sequence` come from the data,
    never from the clock, so the same data always renders to the same bytes.
    """

    id: str
    session_id: str
    type: str  # a type id such as "oral"; `type_label` is the source's spelling
    type_label: str
    title: str
    authors: tuple[Author, ...]
    abstract: str  # plain text: paragraphs, list items and link targets kept
    start: datetime
    end: datetime
    day: date  # the conference day it belongs to: a talk at 01:00 may belong to the day before
    url: str  # the event's own page
    links: tuple[Link, ...] = ()  # every link to write out, labelled, in reading order
    subtitle: str = ""
    description: str = ""  # plain text, like the abstract
    track: str = ""
    room: str = ""
    language: str = ""
    source_key: str = ""
    extra: tuple[tuple[str, str], ...] = ()  # the source's other plain fields, by name (sorted)
    covers: tuple[str, ...] = ()  # ids of the talks a Q&A is about
    status: str = CONFIRMED
    sequence: int = 0
    created: datetime | None = None
    last_modified: datetime | None = None

    @property
    def is_cancelled(self) -> bool:
        return self.status == CANCELLED

    def attribute(self, name: str) -> str:
        """One of the source's other fields ("level", "do_not_record"), "" if it has none:
        what a new filter reads without a change to the model."""
        return dict(self.extra).get(name, "")

    @property
    def identity(self) -> str:
        """What a re-import matches on first."""
        return self.source_key or self.id


@dataclass(frozen=True, slots=True)
class Session:
    id: str
    title: str
    area: str
    chairs: tuple[str, ...]
    url: str
    events: tuple[Event, ...]


@dataclass(frozen=True)
class Conference:
    name: str
    venue: str
    timezone: str  # IANA name; every event time is in this zone


@dataclass(frozen=True)
class SourceRecord:
    """Where a programme was imported from, and what `sync` needs to ask for it again:
    the zone it was given, and the validators of its last download (a conditional GET)."""

    location: str  # a file path or an http(s) URL
    timezone: str = ""  # the zone given with --timezone, for a source that names none
    etag: str = ""
    last_modified: str = ""


@dataclass(frozen=True)
class Programme:
    """A conference's sessions: one seed page or one schedule export gives one session."""

    conference: Conference
    sessions: tuple[Session, ...]
    sources: tuple[SourceRecord, ...] = ()
    _derived: dict = field(default_factory=dict, init=False, compare=False, repr=False)

    @cached_property
    def events(self) -> tuple[Event, ...]:
        """Every event, sorted by start time (then by session order)."""
        ordered = [e for s in self.sessions for e in s.events]
        return tuple(sorted(ordered, key=lambda e: e.start))

    def derived(self, name: str, build: Callable[[Programme], T]) -> T:
        """`build(self)`, made once per programme and `name`: the indexes that filters and
        outputs need, kept with the data they are made of (a reload makes new ones)."""
        found = self._derived.get(name, self._derived)
        if found is self._derived:
            found = self._derived[name] = build(self)
        return found

    @cached_property
    def events_by_id(self) -> dict[str, Event]:
        return {e.id: e for e in self.events}

    @cached_property
    def sessions_by_id(self) -> dict[str, Session]:
        return {s.id: s for s in self.sessions}

    @cached_property
    def authors(self) -> tuple[Author, ...]:
        """Every author once, sorted by name as people look them up."""
        unique = {a.id: a for e in self.events for a in e.authors}
        return tuple(sorted(unique.values(), key=lambda a: (fold(a.name), a.id)))

    @cached_property
    def authors_by_id(self) -> dict[str, Author]:
        return {a.id: a for a in self.authors}

    @cached_property
    def authors_by_tail(self) -> dict[str, tuple[str, ...]]:
        """Each trailing part of an author id ("kolter", "zico-kolter", "j-zico-kolter")
        to the ids that end with it: a surname finds an author without a scan."""
        tails: dict[str, list[str]] = {}
        for ident in self.authors_by_id:
            parts = ident.split("-")
            for start in range(len(parts)):
                tails.setdefault("-".join(parts[start:]), []).append(ident)
        return {tail: tuple(idents) for tail, idents in tails.items()}

    def with_ids(self, renames: dict[str, str]) -> Programme:
        """This programme with events renamed (old id to new), and the Q&As' references to them."""
        if not renames:
            return self

        def renaming(event: Event) -> Event:
            if event.id not in renames and not any(c in renames for c in event.covers):
                return event
            return replace(event, id=renames.get(event.id, event.id),
                           covers=tuple(renames.get(c, c) for c in event.covers))
        return replace(self, sessions=tuple(replace(s, events=tuple(map(renaming, s.events)))
                                            for s in self.sessions))

    @property
    def title(self) -> str:
        """The name a calendar of this programme goes by."""
        if len(self.sessions) == 1:
            return self.sessions[0].title
        return self.conference.name
