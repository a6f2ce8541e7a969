"""The feed filters, each one unit, all declared in `FILTERS`.

A filter is a query parameter (`track=`), the ids an event has for it, how a
value a person typed becomes those ids, the words a calendar's name uses for
it and, where it has one, the folder of its readable feeds (`/tracks/<id>.ics`)
and of its list (`/api/tracks`). The query parser, the calendars' names, the
alias routes, the export, the JSON lists and the page all read this table:
adding a filter, say `level=`, is one entry here and its test.

Pure: no Flask. Each filter finds its events in an index made once per
programme, so a small part of a big programme costs the size of the part.
"""
from __future__ import annotations

import difflib
import re
from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Callable

from .model import Event, Programme, fold, plural, slugify, type_id

WORD = re.compile(r"\w+")
SHOWN_LENGTH = 60  # characters of a bad value quoted back in an error
LISTED_AT_MOST = 30  # accepted values listed in an error; beyond, the API's list is named


class BadQuery(ValueError):
    """The request is malformed: answered with 400."""


class UnknownName(LookupError):
    """A well-formed name that is not in the programme: answered with 404.

    `folder` names the list that has the accepted names ("authors"): feeds and the API point
    to `/api/<folder>`; the page, whose visitors read no JSON, to its own form.
    """

    def __init__(self, message: str, folder: str = ""):
        super().__init__(message)
        self.folder = folder

    def __str__(self) -> str:
        return self.args[0] + (f"; see /api/{self.folder} for the list" if self.folder else "")


def shown(value: str) -> str:
    """A value quoted for an error message: escaped (no CR, LF or NUL gets
    through) and cut short, so a hostile value cannot shape the answer."""
    return repr(value if len(value) <= SHOWN_LENGTH else value[:SHOWN_LENGTH] + "\u2026")


def closest(value: str, candidates: list[str]) -> list[str]:
    if len(value) > SHOWN_LENGTH:
        return []
    return difflib.get_close_matches(value, candidates, n=3, cutoff=0.6)


def did_you_mean(names: list[str]) -> str:
    return f"; did you mean {', '.join(names)}?" if names else ""


def items(value: str, name: str) -> list[str]:
    """The values of one parameter: comma-separated, blanks dropped."""
    found = [item.strip() for item in value.split(",") if item.strip()]
    if not found:
        raise BadQuery(f"{name}= is empty; give a value or leave the parameter out")
    return found


def joined(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def positions_by(programme: Programme, keys: Callable[[Event], list[str]]) -> dict[str, tuple[int, ...]]:
    """Each key to the positions, ascending, of the events that have it."""
    index: dict[str, list[int]] = {}
    for position, event in enumerate(programme.events):
        for key in keys(event):
            index.setdefault(key, []).append(position)
    return {key: tuple(found) for key, found in index.items()}


class Indexed:
    """A filter whose values are ids an event has (`keys`), found in an index of them."""

    name: str

    def keys(self, event: Event) -> list[str]:
        raise NotImplementedError

    def index(self, programme: Programme) -> dict[str, tuple[int, ...]]:
        return programme.derived(self.name, lambda p: positions_by(p, self.keys))

    def prepare(self, programme: Programme) -> None:
        """Build what requests will look up, when the data loads rather than on a request."""
        self.index(programme)

    def positions(self, programme: Programme, values: frozenset[str]) -> Sequence[int]:
        index = self.index(programme)
        if len(values) == 1:  # already in order
            return index.get(next(iter(values)), ())
        return sorted({p for value in values for p in index.get(value, ())})


@dataclass(frozen=True)
class Labelled(Indexed):
    """A filter on something with an id and a name (a type, a track, a room, a day, …).

    A value matches by id or by name, ignoring case and accents; "orals" finds "oral",
    "lightning talk" finds "Lightning Talks".
    An unknown value is a 400 listing the accepted ids when `listed` (short lists),
    else a 404 suggesting the closest ones.
    """

    name: str  # the query parameter
    folder: str  # of the alias feeds and the API's list: /tracks/<id>.ics, /api/tracks
    key: Callable[[Event], str]  # the event's id for it; "" for none
    label: Callable[[Event, Programme], str]
    words: Callable[[list[str]], str]  # for a calendar's name: ["Security"] to "in track Security"
    title: str = ""  # of its ticks on the page: "Tracks"
    normal: Callable[[str], str] = slugify
    listed: bool = True

    def keys(self, event: Event) -> list[str]:
        key = self.key(event)
        return [key] if key else []

    def prepare(self, programme: Programme) -> None:
        self._lookup(programme)

    def labels(self, programme: Programme) -> dict[str, str]:
        """Id to name, in order of first appearance (events are in time order)."""
        return programme.derived(f"{self.name} labels", lambda p: {
            key: self.label(p.events[found[0]], p) for key, found in self.index(p).items()})

    def _lookup(self, programme: Programme) -> dict[str, str]:
        def build(p: Programme) -> dict[str, str]:
            names = {self.normal(label): key for key, label in self.labels(p).items()}
            return {**names, **{self.normal(key): key for key in self.labels(p)}}
        return programme.derived(f"{self.name} lookup", build)

    def resolve(self, value: str, programme: Programme) -> set[str]:
        lookup = self._lookup(programme)
        found = set()
        for item in items(value, self.name):
            wanted = self.normal(item)
            key = lookup.get(wanted) or lookup.get(wanted.removesuffix("s")) or lookup.get(wanted + "s")
            if key is None:
                raise self._unknown(item, list(self.labels(programme)))
            found.add(key)
        return found

    def _unknown(self, item: str, ids: list[str]) -> Exception:
        if self.listed and len(ids) <= LISTED_AT_MOST:
            return BadQuery(f"unknown {self.name} {shown(item)}; accepted: {', '.join(ids)}")
        return UnknownName(f"no {self.name} {shown(item)}" + did_you_mean(closest(self.normal(item), ids)),
                           self.folder)

    def describe(self, programme: Programme, values: frozenset[str]) -> str:
        labels = self.labels(programme)
        return self.words([labels[key] for key in labels if key in values])


@dataclass(frozen=True)
class Authors(Indexed):
    """`author=`: an author id, a full name or a surname (any trailing part of the name)."""

    name: str = "author"
    folder: str = "authors"

    def keys(self, event: Event) -> list[str]:
        return [a.id for a in event.authors]

    def resolve(self, value: str, programme: Programme) -> set[str]:
        found = set()
        for item in items(value, self.name):
            wanted = slugify(item)
            matched = set(programme.authors_by_tail.get(wanted, ()))
            if not matched:
                tails = closest(wanted, list(programme.authors_by_tail))  # "koltr" is close to "kolter"
                near = list(dict.fromkeys(i for tail in tails for i in programme.authors_by_tail[tail]))[:3]
                raise UnknownName(f"no author {shown(item)}" + did_you_mean(near), self.folder)
            found |= matched
        return found

    def describe(self, programme: Programme, values: frozenset[str]) -> str:
        return "by " + joined([programme.authors_by_id[a].name for a in sorted(values)])


@dataclass(frozen=True)
class Chosen:
    """`event=`: a personal "my talks" feed of chosen event ids."""

    name: str = "event"
    folder: str = ""  # one event is a download of its own: /events/<id>.ics

    def resolve(self, value: str, programme: Programme) -> set[str]:
        return {lookup_id(item, "event", programme.events_by_id) for item in items(value, self.name)}

    def prepare(self, programme: Programme) -> None:
        event_positions(programme)

    def positions(self, programme: Programme, values: frozenset[str]) -> Sequence[int]:
        index = event_positions(programme)
        return sorted(index[value] for value in values)

    def describe(self, programme: Programme, values: frozenset[str]) -> str:
        return f"My selection ({len(values)} events)"


def event_positions(programme: Programme) -> dict[str, int]:
    """Each event's position in `programme.events`, by id."""
    return programme.derived("event positions", lambda p: {e.id: i for i, e in enumerate(p.events)})


def lookup_id(value: str, name: str, known: dict) -> str:
    """`value` as one of the `known` ids (ignoring case), or `UnknownName` with suggestions."""
    ident = value.strip().lower()
    if ident not in known:
        raise UnknownName(f"no {name} {shown(value)}" + did_you_mean(closest(ident, list(known))), f"{name}s")
    return ident


@dataclass(frozen=True)
class Words:
    """`q=`: words that must all appear in the title, subtitle, persons or abstract, ignoring
    case and accents; a word matches the start of a word ("learn" finds "learning", "go" does
    not find "algorithm"). Each value is one search; any of them matches."""

    name: str = "q"
    folder: str = ""

    def resolve(self, value: str, programme: Programme) -> set[str]:
        searches = set()
        for item in items(value, self.name):
            words = WORD.findall(fold(item))
            if not words:
                raise BadQuery(f"q={shown(item)} has no words; give words to look for, e.g. q=deep learning")
            searches.add(" ".join(words))
        return searches

    def prepare(self, programme: Programme) -> None:
        self._texts(programme)

    def _texts(self, programme: Programme) -> tuple[str, ...]:
        """Each event's searchable text, folded part by part (most parts are ASCII, which
        folds fast: 0.16 s for 15,000 events, against 2.2 s for whole texts)."""
        return programme.derived(self.name, lambda p: tuple("\n".join(map(fold, (
            e.title, e.subtitle, *(a.name for a in e.authors), e.abstract))) for e in p.events))

    def positions(self, programme: Programme, values: frozenset[str]) -> Sequence[int]:
        searches = [search.split() for search in values]
        return [i for i, text in enumerate(self._texts(programme))
                if any(all(starts_word(text, word) for word in words) for words in searches)]

    def describe(self, programme: Programme, values: frozenset[str]) -> str:
        return "matching " + " or ".join(f"\u201c{v}\u201d" for v in sorted(values))


def starts_word(text: str, word: str) -> bool:
    """Whether `word` starts a word of `text`: found where no letter or digit comes before it.
    A search of the text, then a look at one character, not a regular expression over it
    (about 30 ms over 15,000 events, against 300 ms)."""
    found = text.find(word)
    while found > 0 and (text[found - 1].isalnum() or text[found - 1] == "_"):
        found = text.find(word, found + 1)
    return found != -1


def name_words(programme: Programme) -> tuple[list[str], list[int], list[int]]:
    """Every word of every author's folded name, sorted, and beside each the author's position in
    `programme.authors`: the names with a word that starts with some letters are one bisection
    away (a scan with `starts_word` took 37 ms per keystroke at 19,000 authors). Then how many
    words each name has."""
    named = [WORD.findall(fold(a.name)) for a in programme.authors]
    pairs = sorted((word, i) for i, words in enumerate(named) for word in words)
    return [word for word, _ in pairs], [i for _, i in pairs], [len(words) for words in named]


def find_authors(programme: Programme, text: str) -> list[int]:
    """Positions in `programme.authors` of the people whose name has every word of `text` at the
    start of one of its words, ignoring case and accents, as `q=` matches: "kolt" and "zico" find
    "J. Zico Kolter", "lukasz" finds "Łukasz". What a person picker suggests as they type, so
    the closest first: names with fewer words (typing "ana lefevre" shows "Ana Lefèvre" before
    the dozen "Ana B. Lefèvre"), then by name (`author_rank`)."""
    words, owners, _ = programme.derived("author words", name_words)
    found: set[int] | None = None
    for word in set(WORD.findall(fold(text))):
        start, end = bisect_left(words, word), bisect_left(words, word + "\U0010ffff")
        found = set(owners[start:end]) if found is None else found.intersection(owners[start:end])
    if found is None:
        raise BadQuery(f"q={shown(text)} has no letters or digits; give part of a name, e.g. q=kolter")
    return sorted(found, key=author_rank(programme))


def author_rank(programme: Programme) -> Callable[[int], tuple[int, int]]:
    """The order of `find_authors`, by an author's position: fewer words in the name first."""
    counts = programme.derived("author words", name_words)[2]
    return lambda position: (counts[position], position)


def day_label(day: date) -> str:
    """ "Tuesday 8 December 2020"."""
    return f"{day:%A} {day.day} {day:%B %Y}"


# The order is the canonical order of parameters in a feed's URL (and so of its ETag).
FILTERS = {f.name: f for f in (
    Labelled("session", "sessions", key=lambda e: e.session_id,
             label=lambda e, p: p.sessions_by_id[e.session_id].title,
             words=lambda titles: "in " + joined(titles), title="Sessions", listed=False),
    Labelled("type", "types", key=lambda e: e.type, label=lambda e, p: e.type_label,
             words=lambda labels: joined([plural(label) for label in labels]), normal=type_id,
             title="Event types"),
    Authors(),
    Chosen(),
    Labelled("track", "tracks", key=lambda e: slugify(e.track), label=lambda e, p: e.track,
             words=lambda names: "in track " + joined(names), title="Tracks"),
    Labelled("room", "rooms", key=lambda e: slugify(e.room), label=lambda e, p: e.room,
             words=lambda names: "in room " + joined(names), title="Rooms"),
    Labelled("day", "days", key=lambda e: e.day.isoformat(), label=lambda e, p: day_label(e.day),
             words=lambda names: "on " + joined(names), title="Days"),
    Labelled("language", "languages", key=lambda e: slugify(e.language), label=lambda e, p: e.language,
             words=lambda names: "in " + joined(names), title="Languages"),
    Words(),
)}
# The filters that say what kind of events a feed holds, first found first: the head of its name.
HEADS = ("event", "type")
# The filters with readable feeds, `/<folder>/<id>.ics`.
ALIASED = tuple(f for f in FILTERS.values() if f.folder)
