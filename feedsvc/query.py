"""Request arguments to a validated, canonical feed query, and the events it selects.

Pure: takes (name, value) pairs, knows nothing of Flask. Every way of asking
for the same events gives the same `FeedQuery`, so the same bytes and ETag.
What each parameter means is its filter's business (`filters.py`).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlencode

from .filters import FILTERS, HEADS, BadQuery, shown
from .model import Event, Programme

FEED_PARAMETERS = (*FILTERS, "alarm")
MAX_VALUES = 100  # per request; a calendar URL never needs more


@dataclass(frozen=True)
class EventFilter:
    """Which events a feed holds: filter name to the values chosen, in the order of
    `FILTERS`. Different filters combine with AND, values of one with OR."""

    chosen: tuple[tuple[str, frozenset[str]], ...] = ()

    @classmethod
    def of(cls, **values: set[str] | frozenset[str]) -> EventFilter:
        """`EventFilter.of(type={"oral"}, author={"j-zico-kolter"})`."""
        return cls(tuple((name, frozenset(values[name])) for name in FILTERS if values.get(name)))

    def values(self, name: str) -> frozenset[str]:
        return dict(self.chosen).get(name, frozenset())

    def positions(self, programme: Programme) -> Sequence[int]:
        """Where the matching events stand in `programme.events`, ascending. The
        narrowest filter's events are kept where every other filter has them too."""
        if not self.chosen:
            return range(len(programme.events))
        found = sorted((FILTERS[name].positions(programme, values) for name, values in self.chosen), key=len)
        narrowest, others = found[0], [set(f) for f in found[1:]]
        if not others:
            return narrowest
        return [p for p in narrowest if all(p in other for other in others)]

    def select(self, programme: Programme) -> tuple[Event, ...]:
        """The matching events, in programme order."""
        return tuple(map(programme.events.__getitem__, self.positions(programme)))

    def pairs(self) -> list[tuple[str, str]]:
        """The canonical query: fixed order of names, sorted values."""
        return [(name, value) for name, values in self.chosen for value in sorted(values)]

    def describe(self, programme: Programme) -> str:
        """What the filter keeps, in words for a calendar's name: "Orals by J. Zico Kolter"."""
        if not self.chosen:
            return "All events"
        chosen = dict(self.chosen)
        head = next((name for name in HEADS if name in chosen), None)
        words = [FILTERS[head].describe(programme, chosen[head]) if head else "Talks"]
        words += [FILTERS[name].describe(programme, values) for name, values in self.chosen
                  if name not in HEADS]
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


def parse_alarm(value: str) -> int:
    if not (value.isascii() and value.isdigit() and int(value) <= 1440):
        raise BadQuery(f"alarm={shown(value)} is not valid; accepted: whole minutes "
                       "before the start, 0 to 1440 (e.g. alarm=15)")
    return int(value)


def refuse_unknown(name: str, allowed: tuple[str, ...]) -> None:
    """A parameter not in `allowed` is a 400, not silently ignored: `types=` must not give everything."""
    if name not in allowed:
        raise BadQuery(f"unknown parameter {shown(name)}; accepted: {', '.join(allowed) or 'none'}")


def parse_feed_query(args: list[tuple[str, str]], programme: Programme,
                     allowed: tuple[str, ...] = FEED_PARAMETERS) -> FeedQuery:
    """Validate request arguments (name, value pairs, repeats allowed) into a `FeedQuery`.

    Raises `BadQuery` for anything malformed, including a name not in `allowed`
    (a typo such as ``types=`` must not silently give the whole feed), and
    `UnknownName` for an author, event or session that does not exist.
    """
    values = sum(value.count(",") + 1 for _, value in args)
    if values > MAX_VALUES:
        raise BadQuery(f"too many values ({values}, counting comma-separated ones); at most {MAX_VALUES}")
    found: dict[str, set[str]] = {}
    alarm = None
    for name, value in args:
        refuse_unknown(name, allowed)
        if name == "alarm":
            if alarm is not None:
                raise BadQuery("alarm= is given more than once; give it once")
            alarm = parse_alarm(value)
        else:
            found.setdefault(name, set()).update(FILTERS[name].resolve(value, programme))
    return FeedQuery(EventFilter.of(**found), alarm)
