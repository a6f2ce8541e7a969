"""The benchmark's synthetic programmes: valid data files, and feeds of many sessions
that both parsers read, with the session named in every event."""
from __future__ import annotations

import re
from collections import Counter
from datetime import timezone

import icalendar
import pytest

from bench.synthetic import TIMETABLE, generate
from feedsvc import create_app
from feedsvc.filters import FILTERS
from feedsvc.model import fold, slugify
from feedsvc.query import EventFilter
from feedsvc.store import dumps, load_programme, write_programme

from .conftest import BASE_URL, parse_both

EVENTS = 302  # 20 whole sessions and one cut short


@pytest.fixture(scope="module")
def programme():
    return generate(EVENTS)


@pytest.fixture(scope="module")
def data_file(programme, tmp_path_factory):
    path = tmp_path_factory.mktemp("synthetic") / "programme.json"
    write_programme(programme, path)
    return path


@pytest.fixture(scope="module")
def client(data_file):
    return create_app({"DATA": str(data_file), "BASE_URL": BASE_URL}).test_client()


def times_of(events) -> dict:
    return {f"{e.id}@feedsvc.org": (e.start.astimezone(timezone.utc), e.end.astimezone(timezone.utc))
            for e in events}


def test_generator_is_deterministic_and_sized(programme):
    assert dumps(generate(EVENTS)) == dumps(programme)
    assert dumps(generate(EVENTS, seed=1)) != dumps(programme)
    assert len(programme.events) == EVENTS
    assert [len(s.events) for s in programme.sessions] == [len(TIMETABLE)] * 20 + [2]


def test_generated_programme_is_shaped_like_the_seed(programme):
    assert Counter(e.type for e in programme.sessions[0].events) == {
        "oral": 3, "spotlight": 8, "qa": 2, "break": 2}
    talks = [e for e in programme.events if e.authors]
    assert all(600 <= len(t.abstract) <= 2200 and 2 <= len(t.title.split()) for t in talks)
    talks_per_author = Counter(a.id for t in talks for a in t.authors)
    assert max(talks_per_author.values()) >= 5  # shared authors make big author feeds
    starts = Counter(s.events[0].start for s in programme.sessions)
    assert max(starts.values()) > 1  # parallel tracks


def test_generated_programme_loads_through_the_store(programme, data_file):
    assert load_programme(data_file) == programme


def test_whole_feed_parses_with_both_parsers(client, programme):
    response = client.get("/calendar.ics")
    assert response.status_code == 200
    assert parse_both(response.data) == times_of(programme.events)


def test_session_feed_holds_that_session_named_in_each_event(client, programme):
    session = programme.sessions[7]
    response = client.get(f"/sessions/{session.id}.ics")
    assert response.data == client.get(f"/calendar.ics?session={session.id}").data
    assert parse_both(response.data) == times_of(session.events)
    calendar = icalendar.Calendar.from_ical(response.data)
    assert str(calendar["NAME"]) == f"NeurIPS 2020 \u2014 Talks in {session.title}"
    for event in calendar.walk("VEVENT"):
        source = programme.events_by_id[str(event["UID"]).removesuffix("@feedsvc.org")]
        assert event["CATEGORIES"].cats == [source.type_label, session.area, session.title]
        assert str(event["LOCATION"]) == f"{source.room}, NeurIPS 2020 (virtual)"


def test_sessions_combine_with_other_filters(client, programme):
    first, second = programme.sessions[0], programme.sessions[20]
    response = client.get(f"/calendar.ics?session={first.id}&session={second.id}&type=oral")
    orals = [e for e in first.events + second.events if e.type == "oral"]
    assert parse_both(response.data) == times_of(orals)


def test_busiest_author_feed_parses_with_both_parsers(client, programme):
    author, _ = Counter(a.id for e in programme.events for a in e.authors).most_common(1)[0]
    response = client.get(f"/authors/{author}.ics")
    talks = [e for e in programme.events if author in {a.id for a in e.authors}]
    assert parse_both(response.data) == times_of(talks)


# Each filter's values of an event, written out again for a scan of every event.
SCANNED = {
    "session": lambda e: {e.session_id}, "type": lambda e: {e.type}, "author": lambda e: {a.id for a in e.authors},
    "event": lambda e: {e.id}, "track": lambda e: {slugify(e.track)}, "room": lambda e: {slugify(e.room)},
    "day": lambda e: {e.day.isoformat()}, "language": lambda e: {e.language},
}


def scanned(chosen: EventFilter, programme) -> tuple:
    def keeps(event) -> bool:
        text = fold(" ".join([event.title, event.subtitle, *(a.name for a in event.authors), event.abstract]))
        return all(any(all(re.search(r"(?<!\w)" + re.escape(w), text) for w in v.split()) for v in values)
                   if name == "q"
                   else SCANNED[name](event) & values for name, values in chosen.chosen)
    return tuple(e for e in programme.events if keeps(e))


def test_indexed_selection_equals_matching_every_event(programme):
    sessions, authors = [s.id for s in programme.sessions], [a.id for a in programme.authors]
    some_events = {e.id for e in programme.events[::7]}
    days = sorted({e.day.isoformat() for e in programme.events})
    rooms = sorted({slugify(e.room) for e in programme.events if e.day.isoformat() == days[1]})
    filters = [EventFilter(), EventFilter.of(type={"spotlight"}),
               EventFilter.of(session=sessions[:3], type={"qa", "oral"}),
               EventFilter.of(author=authors[:40]),
               EventFilter.of(author=authors[:400], session=sessions[5:6]),
               EventFilter.of(event=some_events, type={"spotlight"}),
               EventFilter.of(event=some_events, author=authors[:2]),
               EventFilter.of(day=days[1:2], room=rooms[:2], language={"en"}),
               EventFilter.of(track={"deep-learning", "optimization"}, type={"oral"}),
               EventFilter.of(q={"lottery tickets", "hebbian"}, day=days[:1])]
    assert set(SCANNED) | {"q"} == set(FILTERS)  # a new filter needs its scan here
    for chosen in filters:
        assert chosen.select(programme) == scanned(chosen, programme)
    assert [len(f.select(programme)) > 0 for f in filters[-3:]] == [True, True, True]


def test_author_names_find_what_a_scan_of_every_id_finds(programme):
    """Any trailing part of an id, such as a surname, names every author whose id ends with it."""
    ids = list(programme.authors_by_id)
    for ident in ids:
        for tail in {ident.split("-")[-1], "-".join(ident.split("-")[-2:])}:
            expected = {a for a in ids if a == tail or a.endswith("-" + tail)}
            assert FILTERS["author"].resolve(tail.replace("-", " "), programme) == expected
