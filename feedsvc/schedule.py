"""What the page's schedule shows: of the events a choice keeps, one day's part at a time.

Pure: no Flask, so a view is a value the page renders and a test reads. A view costs its
own few events, whatever the size of the programme: what it needs of the whole programme
(each filter's events sorted into days) is made once and kept with the programme.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from .feeds import Bounded
from .filters import FILTERS, LISTED_AT_MOST, BadQuery, shown
from .model import Event, Programme
from .query import EventFilter, FeedQuery

SHOWN_AT_MOST = 30  # events per view: about 150 KB of HTML, at any size of conference
BY_DAY_BYTES, POSITION_BYTES = 4 * 2**20, 8  # filters' events by day, kept per programme and process


@dataclass(frozen=True)
class DayTab:
    ident: str  # "2020-12-08"
    label: str  # "Tue 8 Dec"
    count: int  # of the chosen events on that day


@dataclass(frozen=True)
class View:
    """Of the `count` events the filters keep, part `number` (of `parts`) of one day's."""

    count: int
    days: tuple[DayTab, ...]  # the days with chosen events
    day: str  # the day shown, "" when no event is chosen
    events: tuple[Event, ...]
    number: int
    parts: int
    on_day: int  # the chosen events on the day shown

    @property
    def first(self) -> int:
        """The number of the first event shown, from 1."""
        return (self.number - 1) * SHOWN_AT_MOST + 1


def browsed(query: FeedQuery) -> EventFilter:
    """What the schedule lists: the feed's filters but "my talks", which mark events instead
    (a tick in the schedule must not make the other events vanish)."""
    return EventFilter(tuple(c for c in query.filter.chosen if c[0] != "event"))


def make_view(programme: Programme, query: FeedQuery, on: str | None, page: str, today: str) -> View:
    """The view of `query` on day `on` (else today's, else the first), part `page` (from "1")."""
    days = by_day(programme, browsed(query))
    tabs = tuple(DayTab(day, short_day(day), len(days[day]))
                 for day in FILTERS["day"].labels(programme) if days.get(day))
    day = chosen_day(programme, on, [t.ident for t in tabs], today)
    on_day = days.get(day, ())
    parts = max(1, -(-len(on_day) // SHOWN_AT_MOST))
    number = page_number(page, parts)
    start = (number - 1) * SHOWN_AT_MOST
    return View(sum(map(len, days.values())), tabs, day,
                tuple(map(programme.events.__getitem__, on_day[start:start + SHOWN_AT_MOST])),
                number, parts, len(on_day))


def feed_count(programme: Programme, query: FeedQuery, view: View) -> int:
    """What the feed holds: the events listed, unless "my talks" are ticked."""
    if not query.filter.values("event"):
        return view.count
    return len(query.filter.positions(programme))


def by_day(programme: Programme, chosen: EventFilter) -> dict[str, Sequence[int]]:
    """The filter's events on each day, kept with the programme (within a budget): a search
    (`q=`) reads every event's text, and sorting thousands into days costs milliseconds, where
    a view asked for again should cost its own few events. Everything: the days' own index."""
    if not chosen.chosen:
        return FILTERS["day"].index(programme)
    kept: Bounded = programme.derived("schedule filters by day", lambda p: Bounded(BY_DAY_BYTES))
    found = kept.get(chosen)
    if found is None:
        days, found = days_of(programme), {}
        for position in chosen.positions(programme):
            found.setdefault(days[position], []).append(position)
        kept.put(chosen, found, POSITION_BYTES * sum(map(len, found.values())))
    return found


def days_of(programme: Programme) -> tuple[str, ...]:
    """Each event's conference day, by position."""
    return programme.derived("schedule days", lambda p: tuple(e.day.isoformat() for e in p.events))


def chosen_day(programme: Programme, asked: str | None, days: list[str], today: str) -> str:
    """The day asked for (`on=`) if it has chosen events (a form submitted on a day keeps it),
    else today while the conference runs, else the first day that has some."""
    known = FILTERS["day"].labels(programme)
    if asked is not None and asked not in known:
        listed = ", ".join(list(known)[:LISTED_AT_MOST])
        raise BadQuery(f"on={shown(asked)} is not a day of the programme; accepted: {listed}")
    return asked if asked in days else first_view_day(days, today)


def first_view_day(days: list[str], today: str) -> str:
    """Of the days with chosen events, today's if it is one, else the first; "" for none."""
    return today if today in days else (days[0] if days else "")


def page_number(value: str, parts: int) -> int:
    if not (value.isascii() and value.isdigit() and 1 <= int(value) <= parts):
        raise BadQuery(f"page={shown(value)} is not valid; accepted: 1 to {parts}, a part of the day's events")
    return int(value)


def short_day(day: str) -> str:
    """ "Tue 8 Dec", for a day's tab."""
    moment = date.fromisoformat(day)
    return f"{moment:%a} {moment.day} {moment:%b}"
