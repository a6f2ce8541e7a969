"""The filter registry: a filter over something the sources already say is one entry."""
from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

from feedsvc.filters import FILTERS, Labelled, joined
from feedsvc.model import slugify
from feedsvc.query import EventFilter
from feedsvc.sources import ImportOptions, parse_source

PRETALX = Path(__file__).parent / "fixtures" / "pretalx-schedule.json"
STAMP = datetime(2026, 11, 27, tzinfo=timezone.utc)


def with_levels() -> bytes:
    """The pretalx fixture with a field no reader knows, as some exports add: "level"."""
    document = json.loads(PRETALX.read_bytes())
    for day in document["schedule"]["conference"]["days"]:
        for events in day["rooms"].values():
            for event in events:
                event["level"] = "Beginner" if "Ceremony" in event["title"] else "Advanced"
    return json.dumps(document).encode()


LEVEL = Labelled("level", "levels", key=lambda e: slugify(e.attribute("level")),
                 label=lambda e, p: e.attribute("level"), words=lambda names: "at level " + joined(names),
                 title="Levels")  # the whole of `level=`, as it would stand in FILTERS


def test_a_new_filter_over_a_field_of_the_source_needs_no_change_but_its_entry():
    """`level=` as it would stand in FILTERS: the field is kept by the readers already."""
    programme = parse_source(with_levels(), "s.json", ImportOptions(STAMP))
    assert programme.events_by_id["opening-ceremony"].attribute("level") == "Beginner"
    LEVEL.prepare(programme)
    assert LEVEL.resolve("beginner", programme) == {"beginner"}
    assert [programme.events[i].id for i in LEVEL.positions(programme, frozenset({"beginner"}))] == [
        "opening-ceremony", "opening-ceremony-105"]
    assert LEVEL.labels(programme) == {"beginner": "Beginner", "advanced": "Advanced"}
    assert LEVEL.describe(programme, frozenset({"advanced"})) == "at level Advanced"


def test_every_filter_is_a_parameter_with_its_folder_and_the_events_it_selects():
    assert list(FILTERS) == ["session", "type", "author", "event", "track", "room", "day", "language", "q"]
    assert [f.folder for f in FILTERS.values() if f.folder] == [
        "sessions", "types", "authors", "tracks", "rooms", "days", "languages"]
    programme = parse_source(PRETALX.read_bytes(), "s.json", ImportOptions(STAMP))
    for chosen in FILTERS.values():
        chosen.prepare(programme)
    picked = EventFilter.of(track={"hardware"}, day={"2024-10-27"})
    assert [e.id for e in picked.select(programme)] == ["opening-ceremony-105"]
