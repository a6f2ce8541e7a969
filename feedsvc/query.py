"""Request arguments to a validated, canonical filter, and the matching itself.

Pure: takes (name, value) pairs, knows nothing of Flask. Every way of asking
for the same events gives the same `FeedQuery`, so the same bytes and ETag.
"""
from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlencode

from .model import Event, Programme, plural, slugify, type_id

FILTERS = ("session", "type", "author", "event")
FEED_PARAMETERS = FILTERS + ("alarm",)
MAX_VALUES = 100  # per request; a calendar URL never needs more
SHOWN_LENGTH = 60  # characters of a bad value quoted back in an error


class BadQuery(ValueError):
    """The request is malformed: answered with 400."""


class UnknownName(LookupError):
    """A well-formed name that is not in the programme: answered with 404."""


@dataclass(frozen=True)
class EventFilter:
    """Which events a feed holds. Fields combine with AND, values within one with OR."""

    sessions: frozenset[str] = frozenset()
    types: frozenset[str] = frozenset()
    authors: frozenset[str] = frozenset()
    events: frozenset[str] = frozenset()

    def matches(self, event: Event) -> bool:
        return ((not self.sessions or event.session_id in self.sessions)
                and (not self.types or event.type in self.types)
                and (not self.authors or any(a.id in self.authors for a in event.authors))
                and (not self.events or event.id in self.events))

    def fields(self) -> list[tuple[str, frozenset[str]]]:
        return list(zip(FILTERS, (self.sessions, self.types, self.authors, self.events)))

    def positions(self, programme: Programme) -> Sequence[int]:
        """Where the matching events stand in `programme.events`, ascending. Only the
        events that the narrowest field names are looked at, found in the programme's index."""
        given = [(name, values) for name, values in self.fields() if values]
        if not given:
            return range(len(programme.events))
        index = programme.positions
        name, values = min(given, key=lambda field: sum(len(index[field[0]].get(v, ())) for v in field[1]))
        if len(values) == 1:  # already in order
            candidates = index[name].get(next(iter(values)), ())
        else:
            candidates = sorted({p for value in values for p in index[name].get(value, ())})
        if len(given) == 1:
            return candidates
        return [p for p in candidates if self.matches(programme.events[p])]

    def select(self, programme: Programme) -> tuple[Event, ...]:
        """The matching events, in programme order."""
        return tuple(map(programme.events.__getitem__, self.positions(programme)))

    def pairs(self) -> list[tuple[str, str]]:
        """The canonical query: fixed order of names, sorted values."""
        return [(name, value) for name, values in self.fields() for value in sorted(values)]

    def describe(self, programme: Programme) -> str:
        """What the filter keeps, in words for a calendar's name: "Orals by J. Zico Kolter"."""
        if not any((self.sessions, self.types, self.authors, self.events)):
            return "All events"
        words = []
        if self.events:
            words.append(f"My selection ({len(self.events)} events)")
        elif self.types:
            words.append(_and([plural(programme.types[t]) for t in programme.types if t in self.types]))
        else:
            words.append("Talks")
        if self.authors:
            words.append("by " + _and([programme.authors_by_id[a].name for a in sorted(self.authors)]))
        if self.sessions:
            words.append("in " + _and([programme.sessions_by_id[s].title for s in sorted(self.sessions)]))
        return " ".join(words)


@dataclass(frozen=True)
class FeedQuery:
    """A feed request: the events to hold and how to render them."""

    filter: EventFilter = EventFilter()
    alarm: int | None = None  # minutes before the start, for a display reminder

    def pairs(self) -> list[tuple[str, str]]:
        alarm = [] if self.alarm is None else [("alarm", str(self.alarm))]
        return self.filter.pairs() + alarm

    def query_string(self) -> str:
        return urlencode(self.pairs())


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def shown(value: str) -> str:
    """A value quoted for an error message: escaped (no CR, LF or NUL gets
    through) and cut short, so a hostile value cannot shape the answer."""
    return repr(value if len(value) <= SHOWN_LENGTH else value[:SHOWN_LENGTH] + "\u2026")


def _closest(value: str, candidates: list[str]) -> list[str]:
    if len(value) > SHOWN_LENGTH:
        return []
    return difflib.get_close_matches(value, candidates, n=3, cutoff=0.6)


def _did_you_mean(names: list[str]) -> str:
    return f"; did you mean {', '.join(names)}?" if names else ""


def resolve_types(value: str, programme: Programme) -> set[str]:
    accepted = ", ".join(programme.types)
    found = set()
    for item in _items(value, "type", accepted):
        if type_id(item) not in programme.types:
            raise BadQuery(f"unknown type {shown(item)}; accepted: {accepted}")
        found.add(type_id(item))
    return found


def resolve_author(value: str, programme: Programme) -> set[str]:
    """Authors whose id, full name or surname (any trailing part of the name)
    is `value`, ignoring case and accents: "kolter", "Zico Kolter", "j-zico-kolter"."""
    wanted = slugify(value)
    found = set(programme.authors_by_tail.get(wanted, ()))
    if not found:
        tails = _closest(wanted, list(programme.authors_by_tail))  # "koltr" is close to "kolter"
        close = list(dict.fromkeys(ident for tail in tails for ident in programme.authors_by_tail[tail]))[:3]
        raise UnknownName(f"no author {shown(value)}" + _did_you_mean(close) + "; see /api/authors for the list")
    return found


def lookup_id(value: str, name: str, known: dict) -> str:
    """`value` as one of the `known` ids (ignoring case), or `UnknownName` with suggestions."""
    ident = value.strip().lower()
    if ident not in known:
        raise UnknownName(f"no {name} {shown(value)}" + _did_you_mean(_closest(ident, list(known))))
    return ident


def resolve_ids(value: str, name: str, known: dict) -> set[str]:
    return {lookup_id(item, name, known) for item in _items(value, name, "ids, comma-separated or repeated")}


def parse_alarm(value: str) -> int:
    if not (value.isascii() and value.isdigit() and int(value) <= 1440):
        raise BadQuery(f"alarm={shown(value)} is not valid; accepted: whole minutes "
                       "before the start, 0 to 1440 (e.g. alarm=15)")
    return int(value)


def _items(value: str, name: str, accepted: str) -> list[str]:
    items = [item.strip() for item in value.split(",") if item.strip()]
    if not items:
        raise BadQuery(f"{name}= is empty; accepted: {accepted}")
    return items


def parse_feed_query(args: list[tuple[str, str]], programme: Programme,
                     allowed: tuple[str, ...] = FEED_PARAMETERS) -> FeedQuery:
    """Validate request arguments (name, value pairs, repeats allowed) into a `FeedQuery`.

    Raises `BadQuery` for anything malformed, including a name not in `allowed`
    (a typo such as ``types=`` must not silently give the whole feed), and
    `UnknownName` for an author, event or session that does not exist.
    """
    if len(args) > MAX_VALUES:
        raise BadQuery(f"too many query parameters ({len(args)}); at most {MAX_VALUES}")
    found: dict[str, set[str]] = {name: set() for name in FILTERS}
    alarm = None
    for name, value in args:
        if name not in allowed:
            raise BadQuery(f"unknown parameter {shown(name)}; accepted: {', '.join(allowed) or 'none'}")
        if not value.strip():
            raise BadQuery(f"{name}= is empty; give a value or leave the parameter out")
        if name == "alarm":
            if alarm is not None:
                raise BadQuery("alarm= is given more than once; give it once")
            alarm = parse_alarm(value)
        elif name == "type":
            found["type"] |= resolve_types(value, programme)
        elif name == "author":
            found["author"] |= resolve_author(value, programme)
        elif name == "event":
            found["event"] |= resolve_ids(value, "event", programme.events_by_id)
        else:
            found["session"] |= resolve_ids(value, "session", programme.sessions_by_id)
    chosen = EventFilter(*(frozenset(found[name]) for name in FILTERS))
    return FeedQuery(chosen, alarm)
