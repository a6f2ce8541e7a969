"""The programme as immutable values, and the lookups every output needs.

Pure on purpose: no Flask, no icalendar. The importer builds these values, the
store reads and writes them, and each renderer (iCalendar, JSON, HTML) only
reads them, so a programme that loaded is the same for every output.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property

CONFIRMED = "confirmed"
CANCELLED = "cancelled"


def fold(text: str) -> str:
    """Lower-case `text` and strip its accents, for matching what people type."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def slugify(text: str) -> str:
    """A readable, URL-safe id: ``"J. Zico Kolter"`` becomes ``"j-zico-kolter"``."""
    return re.sub(r"[^a-z0-9]+", "-", fold(text)).strip("-")


def type_id(label: str) -> str:
    """The id of an event type as written on a page or typed in a URL: "Q&A" is "qa"."""
    return slugify(label.replace("&", ""))


def plural(label: str) -> str:
    """ "Oral" to "Orals", "Q&A" to "Q&As": names of types in calendar titles."""
    return label if label.endswith("s") else label + "s"


@dataclass(frozen=True)
class Author:
    id: str
    name: str


@dataclass(frozen=True)
class Links:
    """Where to read more; `talk` is the event's main link."""

    talk: str
    paper: str = ""
    preprint: str = ""
    code: str = ""

    def labelled(self) -> list[tuple[str, str]]:
        """The links that are set, with a label each, in reading order."""
        labels = (("Talk", self.talk), ("Paper", self.paper),
                  ("Preprint", self.preprint), ("Code", self.code))
        return [(label, url) for label, url in labels if url]


@dataclass(frozen=True)
class Event:
    """One slot of a session: a talk, a Q&A or a break.

    `created`, `last_modified` and `sequence` come from the data, never from
    the clock, so that the same data always renders to the same bytes.
    """

    id: str
    session_id: str
    type: str  # a type id such as "oral"; `type_label` is the page's spelling
    type_label: str
    title: str
    authors: tuple[Author, ...]
    abstract: str
    start: datetime
    end: datetime
    links: Links
    covers: tuple[str, ...] = ()  # ids of the talks a Q&A is about
    status: str = CONFIRMED
    sequence: int = 0
    created: datetime | None = None
    last_modified: datetime | None = None

    @property
    def is_cancelled(self) -> bool:
        return self.status == CANCELLED


@dataclass(frozen=True)
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
class Programme:
    """A conference's sessions; one seed page gives one session."""

    conference: Conference
    sessions: tuple[Session, ...]

    @cached_property
    def events(self) -> tuple[Event, ...]:
        """Every event, sorted by start time (then by session order)."""
        ordered = [e for s in self.sessions for e in s.events]
        return tuple(sorted(ordered, key=lambda e: e.start))

    @cached_property
    def positions(self) -> dict[str, dict[str, tuple[int, ...]]]:
        """For "session", "type", "author" and "event": each id to the positions in
        `events` of the events that have it. An index, so that finding a small
        part of a big programme costs the size of the part, not of the programme."""
        index: dict[str, dict[str, list[int]]] = {"session": {}, "type": {}, "author": {}, "event": {}}
        for position, event in enumerate(self.events):
            keys = [("session", event.session_id), ("type", event.type), ("event", event.id)]
            for name, key in keys + [("author", a.id) for a in event.authors]:
                index[name].setdefault(key, []).append(position)
        return {name: {key: tuple(found) for key, found in ids.items()} for name, ids in index.items()}

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

    @cached_property
    def types(self) -> dict[str, str]:
        """Type id to the page's label, in order of first appearance."""
        found: dict[str, str] = {}
        for event in self.events:
            found.setdefault(event.type, event.type_label)
        return found

    @property
    def title(self) -> str:
        """The name a calendar of this programme goes by."""
        if len(self.sessions) == 1:
            return self.sessions[0].title
        return self.conference.name
