"""What the schedule shows, as values: no Flask, no HTML."""
from __future__ import annotations

import pytest

from bench.synthetic import generate
from feedsvc.filters import BadQuery
from feedsvc.query import EventFilter, FeedQuery
from feedsvc.schedule import first_view_day, make_view

DAYS = ["2020-12-07", "2020-12-08", "2020-12-09", "2020-12-10", "2020-12-11"]


@pytest.fixture(scope="module")
def programme():
    return generate(1500)


@pytest.mark.parametrize("days, today, shown", [
    (DAYS, "2020-12-09", "2020-12-09"),  # while the conference runs: today
    (DAYS, "2020-12-06", "2020-12-07"),  # before it: the first day
    (DAYS, "2026-12-02", "2020-12-07"),  # after it
    (DAYS[2:], "2020-12-07", "2020-12-09"),  # no chosen event today: the first day that has one
    ([], "2020-12-07", ""),
])
def test_the_first_view_shows_today_while_the_conference_runs(days, today, shown):
    assert first_view_day(days, today) == shown


def test_a_view_is_one_days_part(programme):
    view = make_view(programme, FeedQuery(EventFilter.of(type={"oral"})), "2020-12-08", "2", "2026-12-02")
    orals = [e for e in programme.events if e.type == "oral" and e.day.isoformat() == "2020-12-08"]
    assert (view.count, view.day, view.on_day, view.number, view.parts, view.first) == (300, "2020-12-08", 60, 2, 2, 31)
    assert view.events == tuple(orals[30:60])
    assert [(t.ident, t.label, t.count) for t in view.days] == [
        ("2020-12-07", "Mon 7 Dec", 60), ("2020-12-08", "Tue 8 Dec", 60), ("2020-12-09", "Wed 9 Dec", 60),
        ("2020-12-10", "Thu 10 Dec", 60), ("2020-12-11", "Fri 11 Dec", 60)]


def test_my_talks_mark_events_and_do_not_hide_the_others(programme):
    ticked = FeedQuery(EventFilter.of(type={"oral"}, event={"meshsdf"}))
    assert make_view(programme, ticked, None, "1", "2026-12-02").count == 300


@pytest.mark.parametrize("on, page, message", [
    ("2020-12-06", "1", "on='2020-12-06' is not a day of the programme; accepted: 2020-12-07, 2020-12-08, "
                        "2020-12-09, 2020-12-10, 2020-12-11"),
    ("2020-12-08", "3", "page='3' is not valid; accepted: 1 to 2, a part of the day's events"),
    ("2020-12-08", "two", "page='two' is not valid; accepted: 1 to 2, a part of the day's events"),
])
def test_a_day_or_part_that_is_not_there(programme, on, page, message):
    with pytest.raises(BadQuery) as refused:
        make_view(programme, FeedQuery(EventFilter.of(type={"oral"})), on, page, "2026-12-02")
    assert str(refused.value) == message
