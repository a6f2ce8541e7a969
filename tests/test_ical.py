"""The iCalendar renderer: RFC 5545/7986 properties, compact zones, and that
feeds assembled from pre-rendered events equal the library's whole calendar."""
from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta, timezone
from collections import Counter

import icalendar
import pytest
import pytz
from icalendar.parser import Contentline

from bench.synthetic import generate
from feedsvc import SHIPPED_DATA, create_app
from feedsvc.feeds import Catalog
from feedsvc.ical import build_calendar, build_timezone, fold
from feedsvc.query import parse_feed_query

from .conftest import BASE_URL, expected_times, parse_both

FILTERS = [
    [],
    [("type", "oral")],
    [("type", "spotlight"), ("author", "kolter")],
    [("type", "qa,break"), ("alarm", "10")],
    [("event", "meshsdf"), ("event", "h-mem"), ("alarm", "0")],
    [("type", "oral"), ("author", "Remelli")],  # matches nothing
]


@pytest.fixture(scope="module")
def catalog():
    return Catalog.load(SHIPPED_DATA)


@pytest.fixture(scope="module")
def conference():
    """Many sessions, accented names, cancelled talks: what the shipped session lacks."""
    return Catalog(generate(240))


def calendar_of(catalog, args) -> icalendar.Calendar:
    query = parse_feed_query(args, catalog.programme)
    return icalendar.Calendar.from_ical(catalog.feed(query, BASE_URL).body())


@pytest.mark.parametrize("args", FILTERS, ids=str)
def test_render_equals_library_whole_calendar(catalog, args):
    query = parse_feed_query(args, catalog.programme)
    events = query.filter.select(catalog.programme)
    whole = build_calendar(catalog.feed_meta(query, BASE_URL), catalog.programme, events, query.alarm)
    assert catalog.feed(query, BASE_URL).body() == whole.to_ical()


def conference_filters(programme) -> dict[str, list[tuple[str, str]]]:
    sessions = [s.id for s in programme.sessions]
    busiest, _ = Counter(a.id for e in programme.events for a in e.authors).most_common(1)[0]
    return {"whole": [], "type": [("type", "spotlight")], "session": [("session", sessions[2])],
            "sessions, types, alarm": [("session", f"{sessions[0]},{sessions[15]}"),
                                       ("type", "qa,oral"), ("alarm", "5")],
            "author": [("author", busiest)]}


@pytest.mark.parametrize("kind", ["whole", "type", "session", "sessions, types, alarm", "author"])
def test_conference_render_equals_library_whole_calendar(conference, kind):
    query = parse_feed_query(conference_filters(conference.programme)[kind], conference.programme)
    events = query.filter.select(conference.programme)
    assert len(events) > 1
    whole = build_calendar(conference.feed_meta(query, BASE_URL), conference.programme, events, query.alarm)
    assert conference.feed(query, BASE_URL).body() == whole.to_ical()


def tricky_lines() -> list[str]:
    """Lines whose fold points land on escapes and on 2-, 3- and 4-octet characters."""
    rng = random.Random(8)
    alphabet = ["a", "\\,", "\\;", "\\n", "^", "^n", "é", "€", "𝔼", " ", ":"]
    lines = [f"DESCRIPTION:{'x' * n}{tail}" for n in range(55, 80)
             for tail in ("\\nmore text" * 4, "é" * 40, "€" * 30, "𝔼" * 25, "^^^" * 20)]
    lines += ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 400))) for _ in range(500)]
    return lines + ["", "SUMMARY:short"]


def test_fold_equals_library_fold():
    for line in tricky_lines():
        assert fold(line) == Contentline(line).to_ical(), line


def test_single_event_equals_library_whole_calendar(catalog):
    event = catalog.programme.events_by_id["meshsdf"]
    whole = build_calendar(catalog.event_meta(event, 30, BASE_URL), catalog.programme, (event,), 30)
    assert catalog.single("meshsdf", 30, BASE_URL).body() == whole.to_ical()


def test_calendar_properties(catalog):
    calendar = calendar_of(catalog, [("type", "oral")])
    name = "Orals & Spotlights Track 08: Deep Learning \u2014 Orals"
    assert str(calendar["VERSION"]) == "2.0"
    assert str(calendar["PRODID"]) == "-//feedsvc//Conference session feeds 1.0//EN"
    assert (str(calendar["CALSCALE"]), str(calendar["METHOD"])) == ("GREGORIAN", "PUBLISH")
    assert str(calendar["NAME"]) == str(calendar["X-WR-CALNAME"]) == name
    assert calendar["X-WR-CALDESC"].to_ical() == calendar["DESCRIPTION"].to_ical()  # escaped as TEXT
    assert str(calendar["DESCRIPTION"]) == (
        "Orals & Spotlights Track 08: Deep Learning, NeurIPS 2020. "
        "Chairs: Graham Taylor, Mario Lucic. This feed: Orals.")
    assert str(calendar["X-WR-TIMEZONE"]) == "America/Los_Angeles"
    assert str(calendar["SOURCE"]) == f"{BASE_URL}/calendar.ics?type=oral"
    assert str(calendar["URL"]) == "https://neurips.cc/virtual/2020/public/session_oral_21071.html"


def test_calendar_refresh_hints_are_durations(catalog):
    body = catalog.feed(parse_feed_query([], catalog.programme), BASE_URL).body()
    assert b"\r\nREFRESH-INTERVAL;VALUE=DURATION:PT6H\r\n" in body
    assert b"\r\nX-PUBLISHED-TTL:PT6H\r\n" in body


@pytest.mark.parametrize("args", FILTERS, ids=str)
def test_calendar_has_one_compact_timezone(catalog, args):
    calendar = calendar_of(catalog, args)
    (zone,) = calendar.walk("VTIMEZONE")
    assert str(zone["TZID"]) == "America/Los_Angeles"
    assert [(c.name, str(c["TZNAME"])) for c in zone.subcomponents] == [("STANDARD", "PST")]
    for event in calendar.walk("VEVENT"):
        assert event["DTSTART"].params["TZID"] == event["DTEND"].params["TZID"] == "America/Los_Angeles"


def test_event_properties(catalog):
    (event,) = calendar_of(catalog, [("event", "multiscale-deep-equilibrium-models")]).walk("VEVENT")
    assert str(event["UID"]) == "multiscale-deep-equilibrium-models@feedsvc.org"
    assert str(event["SUMMARY"]) == "Multiscale Deep Equilibrium Models"
    assert event["DTSTAMP"].to_ical() == event["LAST-MODIFIED"].to_ical() == b"20261127T000000Z"
    assert event["CREATED"].to_ical() == b"20261127T000000Z"
    assert event["SEQUENCE"] == 0
    assert str(event["URL"]) == "https://neurips.cc/virtual/2020/public/poster_3812f9a59b634c2a9c574610eaba5bed.html"
    assert event["CATEGORIES"].cats == ["Oral", "Deep Learning"]
    assert str(event["LOCATION"]) == "Orals & Spotlights Track 08: Deep Learning, NeurIPS 2020 (virtual)"
    assert (str(event["STATUS"]), str(event["TRANSP"]), str(event["CLASS"])) == ("CONFIRMED", "TRANSPARENT", "PUBLIC")
    description = str(event["DESCRIPTION"])
    assert description.startswith("Oral · Orals & Spotlights Track 08: Deep Learning · NeurIPS 2020\n"
                                  "Authors: Shaojie Bai, Vladlen Koltun, J. Zico Kolter\n\nWe propose a new class")
    assert description.endswith(
        "\n\nTalk: https://neurips.cc/virtual/2020/public/poster_3812f9a59b634c2a9c574610eaba5bed.html\n"
        "Paper: https://proceedings.neurips.cc/paper/2020/hash/3812f9a59b634c2a9c574610eaba5bed-Abstract.html\n"
        "Preprint: https://arxiv.org/abs/2006.08656\nCode: https://github.com/locuslab/mdeq")
    assert not event.walk("VALARM")


def test_meshsdf_description_keeps_paragraphs(catalog):
    (event,) = calendar_of(catalog, [("event", "meshsdf")]).walk("VEVENT")
    assert str(event["DESCRIPTION"]).count("\n\n") == 5  # header, 4 paragraphs, links


def test_qa_names_the_spotlights_it_covers(catalog):
    (event,) = calendar_of(catalog, [("event", "qa-20201208-0830")]).walk("VEVENT")
    assert str(event["DESCRIPTION"]) == (
        "Q&A · Orals & Spotlights Track 08: Deep Learning · NeurIPS 2020\n\n"
        "Questions on these spotlights:\n"
        "- H-Mem: Harnessing synaptic plasticity with Hebbian Memory Networks (Thomas Limbacher et al.)\n"
        "- ExpandNets: Linear Over-parameterization to Train Compact Convolutional Networks (Shuxuan Guo et al.)\n"
        "- The phase diagram of approximation rates for deep neural networks (Dmitry Yarotsky et al.)\n"
        "- Optimal Lottery Tickets via Subset Sum: Logarithmic Over-Parameterization is Sufficient "
        "(Ankit Pensia et al.)\n\n"
        "Session: https://neurips.cc/virtual/2020/public/session_oral_21071.html")


@pytest.mark.parametrize("minutes, trigger, text", [(15, b"-PT15M", "Starts in 15 minutes"),
                                                     (0, b"P0D", "Starting now"),
                                                     (1440, b"-P1D", "Starts in 1440 minutes")])
def test_alarm_adds_display_reminder_to_each_event(catalog, minutes, trigger, text):
    events = calendar_of(catalog, [("alarm", str(minutes))]).walk("VEVENT")
    assert len(events) == 15
    for event in events:
        (alarm,) = event.walk("VALARM")
        assert (str(alarm["ACTION"]), alarm["TRIGGER"].to_ical(), str(alarm["DESCRIPTION"])) == (
            "DISPLAY", trigger, text)


@pytest.mark.parametrize("args", FILTERS, ids=str)
def test_feeds_parse_with_both_parsers(catalog, args):
    query = parse_feed_query(args, catalog.programme)
    selected = {e.id for e in query.filter.select(catalog.programme)}
    assert parse_both(catalog.feed(query, BASE_URL).body()) == expected_times(selected)


def test_render_is_byte_identical_across_instances(tmp_path):
    """Two apps loading the same data send the same bytes: nothing comes from the clock."""
    first = create_app({"BASE_URL": BASE_URL}).test_client()
    second = create_app({"BASE_URL": BASE_URL}).test_client()
    for url in ("/calendar.ics", "/calendar.ics?type=spotlight&alarm=5", "/events/h-mem.ics"):
        one, two = first.get(url), second.get(url)
        assert one.data == two.data and one.headers["ETag"] == two.headers["ETag"]


@pytest.mark.parametrize("zone_name, first, last", [
    ("Europe/Berlin", date(2024, 10, 25), date(2024, 10, 29)),  # the last Sunday of October
    ("America/New_York", date(2024, 3, 1), date(2024, 11, 30)),  # both changes
    ("Australia/Lord_Howe", date(2024, 3, 1), date(2024, 11, 30)),  # half-hour changes
    ("America/Los_Angeles", date(2020, 12, 8), date(2020, 12, 9)),  # none: the seed's
    ("UTC", date(2024, 8, 17), date(2024, 8, 19)),
])
def test_each_observance_starts_when_the_zone_changes(zone_name, first, last):
    """RFC 5545: an observance's DTSTART is local time in its TZOFFSETFROM. Read that way,
    every onset is an instant at which the zone's own offset changes to TZOFFSETTO, and every
    change in the range has its onset."""
    zone = pytz.timezone(zone_name)
    onsets = []
    for observance in build_timezone(zone_name, first, last).subcomponents:
        before, after = observance["TZOFFSETFROM"].td, observance["TZOFFSETTO"].td
        onset = (observance.decoded("DTSTART") - before).replace(tzinfo=timezone.utc)
        assert onset.astimezone(zone).utcoffset() == after
        if before != after:
            assert (onset - timedelta(seconds=1)).astimezone(zone).utcoffset() == before
            onsets.append(onset)
    quarters = [datetime.combine(first, time(), timezone.utc) + timedelta(minutes=15 * q)
                for q in range((last - first).days * 96)]
    changes = [later for earlier, later in zip(quarters, quarters[1:])
               if earlier.astimezone(zone).utcoffset() != later.astimezone(zone).utcoffset()]
    assert onsets == changes and len(changes) == {"America/New_York": 2, "Australia/Lord_Howe": 2,
                                                  "Europe/Berlin": 1}.get(zone_name, 0)
