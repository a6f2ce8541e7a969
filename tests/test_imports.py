"""`flask import` and `flask sync` end to end: hand-written schedule exports (and a generated
one of 1,500 events) through the CLI into a data file, then served, and every feed read back
with both parsers against the source's times; URL sources from a real local HTTP server."""
from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from xml.etree import ElementTree
from pathlib import Path

import icalendar
import pytest

from bench.synthetic import frab_xml, generate
from feedsvc import create_app
from feedsvc.store import load_programme, locked

from .conftest import BASE_URL, ROOT, parse_both
from .serving import fetch, running_server

FIXTURES = Path(__file__).parent / "fixtures"
PRETALX = FIXTURES / "pretalx-schedule.json"
FRAB = FIXTURES / "frab-schedule.xml"
STAMP = "2026-11-27T00:00:00Z"


def run(app, *args: str):
    return app.test_cli_runner().invoke(args=[*args])


@pytest.fixture(scope="module")
def imported(tmp_path_factory) -> Path:
    """Both fixtures as one programme: a pretalx conference over a DST change and a frab one."""
    output = tmp_path_factory.mktemp("imported") / "programme.json"
    result = run(create_app({"TESTING": True}), "import", str(PRETALX), str(FRAB), "--timezone", "Europe/Berlin",
                 "--output", str(output), "--stamp", STAMP)
    assert result.exit_code == 0, result.output
    assert result.output == f"Wrote {output}: 2 session(s), 12 events, 8 authors.\n"
    return output


@pytest.fixture(scope="module")
def served(imported):
    return create_app({"TESTING": True, "BASE_URL": BASE_URL, "DATA": str(imported)}).test_client()


def written_times() -> dict[str, tuple[datetime, datetime]]:
    """Source key to the UTC start and end as the fixtures write them (`date` with its
    offset, plus `duration`), read here with the standard library, not with feedsvc."""
    def span(start: str, duration: str) -> tuple[datetime, datetime]:
        begin = datetime.fromisoformat(start).astimezone(timezone.utc)
        hours, minutes = map(int, duration.split(":")[:2])
        return begin, begin + timedelta(hours=hours, minutes=minutes)
    times = {}
    conference = json.loads(PRETALX.read_bytes())["schedule"]["conference"]
    for day in conference["days"]:
        for events in day["rooms"].values():
            for e in events:
                times[e.get("guid") or f"{conference['acronym']}/{e['id']}"] = span(e["date"], e["duration"])
    for e in ElementTree.parse(FRAB).iter("event"):
        times[e.get("guid")] = span(e.findtext("date"), e.findtext("duration"))
    return times


def source_times(data: Path, ids) -> dict[str, tuple[datetime, datetime]]:
    """UID to the UTC start and end the source files give these events."""
    written, events = written_times(), load_programme(data).events_by_id
    return {f"{i}@feedsvc.org": written[events[i].source_key] for i in ids}


ALL = {"keynote", "fuzzing-for-beginners", "securing-your-supply-chain", "lightning-talks", "keynote-3005",
       "opening-ceremony", "late-night-lightning-talks", "hacking-after-midnight", "group-photo",
       "opening-ceremony-105", "soldering-basics", "talk-20241028-1100"}
FEEDS = [
    ("/calendar.ics", ALL),
    ("/tracks/hardware.ics", {"hacking-after-midnight", "opening-ceremony-105", "soldering-basics"}),
    ("/calendar.ics?track=Security", {"fuzzing-for-beginners", "securing-your-supply-chain"}),
    ("/rooms/saal-2.ics", {"hacking-after-midnight", "opening-ceremony-105", "talk-20241028-1100"}),
    ("/calendar.ics?room=HS%203,saal%202", {"fuzzing-for-beginners", "keynote-3005", "hacking-after-midnight",
                                             "opening-ceremony-105", "talk-20241028-1100"}),
    # the 01:30 workshop stays on the conference day the source lists it under
    ("/days/2024-10-26.ics", {"opening-ceremony", "late-night-lightning-talks", "hacking-after-midnight"}),
    ("/calendar.ics?day=2024-10-27", {"group-photo", "opening-ceremony-105"}),
    ("/languages/de.ics", {"hacking-after-midnight", "securing-your-supply-chain"}),
    ("/authors/jane-doe.ics", {"keynote", "fuzzing-for-beginners", "lightning-talks"}),
    ("/calendar.ics?author=Grace%20Hopper", {"opening-ceremony", "hacking-after-midnight"}),
    ("/types/workshop.ics", {"fuzzing-for-beginners", "hacking-after-midnight", "soldering-basics"}),
    ("/calendar.ics?type=lectures&track=community", {"keynote", "keynote-3005"}),
    ("/sessions/froscon2024.ics", {"keynote", "fuzzing-for-beginners", "securing-your-supply-chain",
                                   "lightning-talks", "keynote-3005"}),
    ("/calendar.ics?q=S%C3%96LDERING", {"soldering-basics"}),  # accents and case ignored
    ("/calendar.ics?q=opening%20remote", {"opening-ceremony-105"}),  # every word must appear
    ("/calendar.ics?q=lovelace&day=2024-10-26", {"opening-ceremony", "late-night-lightning-talks"}),
]


@pytest.mark.parametrize("url, ids", FEEDS, ids=[url for url, _ in FEEDS])
def test_every_filter_gives_exactly_its_events_at_the_sources_times(served, imported, url, ids):
    response = served.get(url)
    assert response.status_code == 200, response.data
    assert parse_both(response.data) == source_times(imported, ids)


def test_utc_times_of_the_dst_crossing_as_written_in_the_source(served):
    """Before and after the clocks go back on 27 October 2024 in Berlin (CEST to CET)."""
    times = parse_both(served.get("/calendar.ics?session=democon24").data)
    at = lambda text: datetime.fromisoformat(text).replace(tzinfo=timezone.utc)  # noqa: E731
    assert times["hacking-after-midnight@feedsvc.org"] == (at("2024-10-26T23:30"), at("2024-10-27T00:15"))
    assert times["opening-ceremony-105@feedsvc.org"] == (at("2024-10-27T13:00"), at("2024-10-27T14:00"))
    assert times["group-photo@feedsvc.org"] == (at("2024-10-27T09:00"), at("2024-10-27T09:00"))


def test_the_zone_covers_both_observances_of_the_conference(served):
    calendar = icalendar.Calendar.from_ical(served.get("/days/2024-10-26.ics").data)
    (zone,) = calendar.walk("VTIMEZONE")
    observances = [(c.name, str(c["TZNAME"]), c["TZOFFSETTO"].to_ical()) for c in zone.subcomponents]
    assert observances == [("DAYLIGHT", "CEST", "+0200"), ("STANDARD", "CET", "+0100")]
    # RFC 5545: the onset in the offset before it, 03:00 CEST (01:00 UTC)
    assert zone.walk("STANDARD")[0].decoded("DTSTART") == datetime(2024, 10, 27, 3, 0)


@pytest.mark.parametrize("start, utc_start", [
    ("2024-10-27T02:30:00+02:00", "2024-10-27T00:30"),  # the first 02:30 of the night, CEST
    ("2024-10-27T02:30:00+01:00", "2024-10-27T01:30"),  # the second, CET
])
def test_both_times_of_the_hour_that_happens_twice(app, tmp_path, start, utc_start):
    """A local time with a TZID means the first of the two: the second is written in UTC."""
    source = tmp_path / "schedule.json"
    source.write_bytes(PRETALX.read_bytes().replace(b'"2024-10-27T10:00:00+01:00"', f'"{start}"'.encode()))
    output = tmp_path / "out.json"
    assert run(app, "import", str(source), "--output", str(output)).exit_code == 0
    body = create_app({"TESTING": True, "DATA": str(output)}).test_client().get("/events/group-photo.ics").data
    at = datetime.fromisoformat(utc_start).replace(tzinfo=timezone.utc)
    assert parse_both(body) == {"group-photo@feedsvc.org": (at, at)}


def test_an_event_carries_what_the_schedule_says(served):
    (event,) = icalendar.Calendar.from_ical(served.get("/events/keynote.ics").data).walk("VEVENT")
    assert str(event["SUMMARY"]) == "Keynote: Free Software in 2024"
    assert str(event["LOCATION"]) == "HS 1, DemoCon 2024"  # the first source names the conference
    assert event["CATEGORIES"].cats == ["lecture", "Community", "FrOSCon 2024"]
    assert str(event["URL"]) == "https://programm.froscon.example.org/2024/events/3001.html"
    assert str(event["DESCRIPTION"]) == (
        "Where we stand\nlecture · FrOSCon 2024 · DemoCon 2024\nAuthors: Jane Doe\n\n"
        "Twenty years of FrOSCon.\n\nA look back\nand ahead.\n\nQuestions welcome.\n\n"
        "Event page: https://programm.froscon.example.org/2024/events/3001.html\n"
        "Slides: https://slides.example.org/keynote.pdf")


LISTS = [
    ("/api/tracks", [("community", "Community", 6), ("security", "Security", 2), ("hardware", "Hardware", 3)]),
    ("/api/rooms", [("hs-1", "HS 1", 3), ("hs-3", "HS 3", 2), ("saal-1", "Saal 1", 4), ("saal-2", "Saal 2", 3)]),
    ("/api/days", [("2024-08-17", "Saturday 17 August 2024", 3), ("2024-08-18", "Sunday 18 August 2024", 2),
                   ("2024-10-26", "Saturday 26 October 2024", 3), ("2024-10-27", "Sunday 27 October 2024", 2),
                   ("2024-10-28", "Monday 28 October 2024", 2)]),
    ("/api/languages", [("en", "en", 10), ("de", "de", 2)]),
]


@pytest.mark.parametrize("url, expected", LISTS, ids=[url for url, _ in LISTS])
def test_lists_name_each_value_with_its_count_and_feed(served, url, expected):
    (listed,) = served.get(url).json.values()
    assert [(v["id"], v["label"], v["count"]) for v in listed] == expected
    name = {"tracks": "track", "rooms": "room", "days": "day", "languages": "language"}[url.split("/")[-1]]
    assert [v["feed_url"] for v in listed] == [f"{BASE_URL}/calendar.ics?{name}={i}" for i, _, _ in expected]


@pytest.mark.parametrize("url, status, message", [
    ("/calendar.ics?track=Cooking", 400, "unknown track 'Cooking'; accepted: community, security, hardware"),
    ("/calendar.ics?day=2024-10-29", 400, "unknown day '2024-10-29'; accepted: 2024-08-17, 2024-08-18, "
                                          "2024-10-26, 2024-10-27, 2024-10-28"),
    ("/rooms/saal-3.ics", 400, "unknown room 'saal-3'; accepted: hs-1, hs-3, saal-1, saal-2"),
    ("/calendar.ics?q=%20,", 400, "q= is empty; give a value or leave the parameter out"),
    ("/api/events?language=fr", 400, "unknown language 'fr'; accepted: en, de"),
])
def test_unknown_values_list_what_is_accepted(served, url, status, message):
    response = served.get(url)
    assert response.status_code == status
    assert message in response.get_data(as_text=True)


def test_the_page_lists_the_programme_with_its_filters(served):
    html = served.get("/?track=hardware&day=2024-10-26").get_data(as_text=True)
    assert "3 events" not in html and "1 event" in html  # the hardware talk of the 26th
    for title in ("Tracks", "Rooms", "Days", "Languages"):
        assert f"<legend>{title}</legend>" in html
    assert html.count('class="event ') == 1  # only the chosen events are listed (issue 11)
    assert "1 of 12 events" in html
    assert 'value="hardware" checked' in html and 'value="2024-10-26" checked' in html
    assert "Saturday 26 October 2024 – Monday 28 October 2024" in html  # a conference of several days
    assert "Chairs:" not in html and 'href=""' not in html  # schedules name no chairs


def test_a_schedule_without_a_zone_needs_timezone(app, tmp_path):
    output = tmp_path / "out.json"
    result = run(app, "import", str(FRAB), "--output", str(output))
    assert result.exit_code == 1
    assert ("the schedule has no time_zone_name; give the conference's zone with --timezone ZONE"
            in result.output)
    assert not output.exists()


def test_a_conference_in_utc(app, tmp_path):
    output = tmp_path / "utc.json"
    assert run(app, "import", str(FRAB), "--timezone", "UTC", "--output", str(output)).exit_code == 0
    client = create_app({"TESTING": True, "BASE_URL": BASE_URL, "DATA": str(output)}).test_client()
    body = client.get("/calendar.ics").data
    assert b"DTSTART:20240817T080000Z\r\n" in body  # UTC times in UTC form
    assert parse_both(body) == source_times(output, ["keynote", "fuzzing-for-beginners", "securing-your-supply-chain",
                                                     "lightning-talks", "keynote-3005"])


@pytest.mark.parametrize("name", ["hostile-billion-laughs.xml", "hostile-external-entity.xml", "hostile-doctype.xml"])
def test_hostile_xml_is_refused_and_nothing_written(app, tmp_path, name):
    output = tmp_path / "out.json"
    result = run(app, "import", str(FIXTURES / name), "--output", str(output))
    assert result.exit_code == 1
    assert f"{FIXTURES / name}: refused: the XML has a DOCTYPE" in result.output
    assert list(tmp_path.iterdir()) == []


def test_the_same_event_in_two_sources_fails_naming_both(app, tmp_path):
    copy = tmp_path / "copy.json"
    copy.write_bytes(PRETALX.read_bytes())
    result = run(app, "import", str(PRETALX), str(copy), "--output", str(tmp_path / "out.json"))
    assert result.exit_code == 1
    assert f"'session democon24' is in both {PRETALX} and {copy}" in result.output
    assert not (tmp_path / "out.json").exists()


def test_an_unrecognised_source_says_what_is_accepted(app, tmp_path):
    source = tmp_path / "notes.txt"
    source.write_text("just some notes\n")
    result = run(app, "import", str(source), "--output", str(tmp_path / "out.json"))
    assert result.exit_code == 1
    assert f"{source}: not a schedule feedsvc can read; accepted: a frab/pretalx/Pentabarf schedule.xml" in result.output


def test_the_data_file_keeps_its_mode_and_a_new_one_gets_0644(app, tmp_path):
    output = tmp_path / "out.json"
    umask = os.umask(0o022)
    try:
        assert run(app, "import", str(PRETALX), "--output", str(output), "--stamp", STAMP).exit_code == 0
        assert stat.S_IMODE(output.stat().st_mode) == 0o644
        output.chmod(0o640)
        assert run(app, "import", str(FRAB), "--timezone", "Europe/Berlin", "--output", str(output)).exit_code == 0
        assert stat.S_IMODE(output.stat().st_mode) == 0o640
    finally:
        os.umask(umask)


def test_a_second_import_waits_for_the_first(tmp_path):
    """Two processes: while one holds the data file's lock, another's import waits, then
    reconciles with what the first left (here: nothing changed, so it writes nothing)."""
    output = tmp_path / "out.json"
    command = [sys.executable, "-m", "flask", "--app", "feedsvc", "import", str(PRETALX), "--output", str(output),
               "--stamp", STAMP]
    with locked(output):
        second = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        time.sleep(1.5)
        assert second.poll() is None and not output.exists()  # waiting
        output.write_bytes(b"")  # what the first wrote is what the second must read
    out, _ = second.communicate(timeout=60)
    assert second.returncode == 1 and f"{output}: it is empty" in out  # it read the file only after the lock
    output.unlink()
    first = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    second = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    wrote, waited = sorted((process.communicate(timeout=60)[0] for process in (first, second)),
                           key=lambda text: not text.startswith("Wrote"))
    assert wrote == f"Wrote {output}: 1 session(s), 7 events, 4 authors.\n"
    assert waited.endswith(f"unchanged: 7\nNothing changed: {output} left as it was.\n")


def test_a_generated_schedule_of_1500_events_through_the_whole_pipeline(app, tmp_path):
    programme = generate(1500)
    source = tmp_path / "schedule.xml"
    source.write_bytes(frab_xml(programme))
    output = tmp_path / "programme.json"
    result = run(app, "import", str(source), "--output", str(output), "--stamp", STAMP)
    assert result.exit_code == 0, result.output
    imported = load_programme(output)
    assert len(imported.events) == 1500 and len({e.id for e in imported.events}) == 1500
    client = create_app({"TESTING": True, "BASE_URL": BASE_URL, "DATA": str(output)}).test_client()
    whole = parse_both(client.get("/calendar.ics").data)
    utc = timezone.utc
    assert sorted(whole.values()) == sorted((e.start.astimezone(utc), e.end.astimezone(utc))
                                            for e in programme.events)
    track = programme.events[0].track
    on_track = parse_both(client.get(f"/calendar.ics?track={track}").data)
    assert sorted(on_track.values()) == sorted((e.start.astimezone(utc), e.end.astimezone(utc))
                                               for e in programme.events if e.track == track)
    again = run(app, "import", str(source), "--output", str(output), "--stamp", "2030-01-01T00:00:00Z")
    assert again.output.endswith(f"unchanged: 1500\nNothing changed: {output} left as it was.\n")


# --- URL sources and sync ---------------------------------------------------------------------

def schedule_with(moved_minutes: int = 0, dropped: str = "") -> bytes:
    """The pretalx fixture with "Soldering Basics" moved and one event (by guid) dropped."""
    raw = json.loads(PRETALX.read_bytes())
    for day in raw["schedule"]["conference"]["days"]:
        for room, events in day["rooms"].items():
            for event in events:
                if event["title"] == "Soldering Basics" and moved_minutes:
                    event["date"] = event["date"].replace("T09:30", f"T{9 + (30 + moved_minutes) // 60:02d}:"
                                                                    f"{(30 + moved_minutes) % 60:02d}")
            day["rooms"][room] = [e for e in events if e.get("guid") != dropped]
    return json.dumps(raw).encode()


@pytest.fixture
def published(source_server):
    """The schedule at a URL with an ETag, answering 304 to it; `published.body` can change."""
    source_server.body = schedule_with()

    @source_server.route("/democon24/schedule/export/schedule.json")
    def answer(handler):
        etag = f'"{hash(source_server.body) & 0xffffffff:x}"'
        if handler.headers["If-None-Match"] == etag:
            handler.reply(304, ETag=etag)
        else:
            handler.reply(200, source_server.body, ETag=etag, Content_Type="application/json")
    source_server.schedule_url = source_server.url("/democon24/schedule/export/schedule.json")
    return source_server


def test_a_url_source_imported_then_synced_unchanged_then_changed_reaches_a_running_service(published, tmp_path):
    output = tmp_path / "programme.json"
    app = create_app({"TESTING": True})
    url = published.schedule_url
    first = run(app, "import", url, "--output", str(output), "--stamp", STAMP)
    assert first.exit_code == 0 and first.output == f"Wrote {output}: 1 session(s), 7 events, 4 authors.\n"
    assert json.loads(output.read_text())["sources"][0]["location"] == url

    before = output.stat()
    unchanged = run(app, "sync", "--output", str(output))
    assert unchanged.exit_code == 0, unchanged.output
    assert unchanged.output.endswith(f"Nothing changed: {output} left as it was.\n")
    assert published.seen[-1][1]["If-None-Match"] is not None  # a conditional GET, answered 304
    assert (output.stat().st_ino, output.stat().st_mtime_ns) == (before.st_ino, before.st_mtime_ns)

    env = {"FEEDSVC_DATA": str(output), "FEEDSVC_RELOAD_SECONDS": "0.1", "FEEDSVC_BASE_URL": BASE_URL}
    with running_server(env) as base:
        old_etag = fetch(f"{base}/rooms/saal-2.ics")[1]["ETag"]
        published.body = schedule_with(moved_minutes=15, dropped="0b2a6f3e-7d1c-5a0e-8f55-6c1d2e3f4a07")
        changed = run(app, "sync", "--output", str(output), "--stamp", "2026-11-28T00:00:00Z")
        assert changed.exit_code == 0, changed.output
        assert changed.output == ("added: none\nchanged: soldering-basics (time)\ncancelled: talk-20241028-1100\n"
                                  "restored: none\nunchanged: 5\n"
                                  f"Wrote {output}: 1 session(s), 7 events, 4 authors.\n")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:  # until every worker has reloaded: ten answers in a row
            etags = {fetch(f"{base}/rooms/saal-2.ics")[1]["ETag"] for _ in range(10)}
            if old_etag not in etags:
                break
            time.sleep(0.1)
        assert old_etag not in etags
        body = fetch(f"{base}/calendar.ics")[2]
    events = {str(e["UID"]): e for e in icalendar.Calendar.from_ical(body).walk("VEVENT")}
    moved, gone = events["soldering-basics@feedsvc.org"], events["talk-20241028-1100@feedsvc.org"]
    assert parse_both(body)["soldering-basics@feedsvc.org"] == (
        datetime(2024, 10, 28, 8, 45, tzinfo=timezone.utc), datetime(2024, 10, 28, 10, 45, tzinfo=timezone.utc))
    assert (moved["SEQUENCE"], str(moved["STATUS"])) == (1, "CONFIRMED")
    assert (gone["SEQUENCE"], str(gone["STATUS"]), str(gone["SUMMARY"])) == (1, "CANCELLED", "Cancelled: ???")


def test_sync_fails_clearly_and_keeps_the_data_when_a_source_is_down(published, tmp_path):
    output = tmp_path / "programme.json"
    app = create_app({"TESTING": True})
    assert run(app, "import", published.schedule_url, "--output", str(output)).exit_code == 0
    kept = output.read_bytes()
    published.routes["/democon24/schedule/export/schedule.json"] = lambda h: h.reply(503)
    result = run(app, "sync", "--output", str(output))
    assert result.exit_code == 1
    assert f"{published.schedule_url}: HTTP 503 Service Unavailable" in result.output
    assert output.read_bytes() == kept


def test_sync_without_recorded_sources_says_how_to_import(app, tmp_path):
    output = tmp_path / "programme.json"
    output.write_bytes((ROOT / "data" / "programme.json").read_bytes().replace(
        b'"sources": [\n    {\n      "location": "../seeds/programme.json",\n      "timezone": "",\n'
        b'      "etag": "",\n      "last_modified": ""\n    }\n  ]', b'"sources": []'))
    result = run(app, "sync", "--output", str(output))
    assert result.exit_code == 1
    assert f"{output}: records no sources; import them first with `flask --app feedsvc import" in result.output


# --- what a review found ----------------------------------------------------------------------

def pretalx_variant(tmp_path: Path, name: str, *edits: tuple[bytes, bytes]) -> Path:
    """A copy of the pretalx fixture with byte-level edits."""
    content = PRETALX.read_bytes()
    for old, new in edits:
        assert old in content
        content = content.replace(old, new)
    path = tmp_path / name
    path.write_bytes(content)
    return path


def test_a_programme_that_would_not_load_is_not_written(app, tmp_path):
    empty = tmp_path / "empty.json"
    empty.write_text(json.dumps({"schedule": {"version": "1", "conference": {
        "acronym": "x", "title": "X", "time_zone_name": "UTC", "days": []}}}))
    output = tmp_path / "out.json"
    result = run(app, "import", str(empty), "--output", str(output))
    assert result.exit_code == 1
    assert f"{output}: not written: the programme is not valid: holds no events" in result.output
    assert not output.exists()


def test_readable_ids_stay_unique_across_sources(app, tmp_path):
    """The second source's "opening-ceremony" would become "opening-ceremony-105" by its session's
    suffix rule if that were free; here it is taken, so it is numbered on."""
    other = pretalx_variant(tmp_path, "ws.json", (b'"acronym": "democon24"', b'"acronym": "105"'),
                            (b"0b2a6f3e-7d1c-5a0e-8f55-6c1d2e3f4a0", b"1b2a6f3e-7d1c-5a0e-8f55-6c1d2e3f4a0"))
    output = tmp_path / "out.json"
    result = run(app, "import", str(PRETALX), str(other), "--output", str(output))
    assert result.exit_code == 0, result.output
    ids = [e.id for e in load_programme(output).events]
    assert len(ids) == len(set(ids)) == 14
    assert {"opening-ceremony", "opening-ceremony-105", "opening-ceremony-105-2"} <= set(ids)


def test_a_track_named_in_another_script_has_an_id(app, tmp_path):
    source = pretalx_variant(tmp_path, "s.json", (b'"track": "Hardware"', "\"track\": \"機械学習\"".encode()))
    output = tmp_path / "out.json"
    assert run(app, "import", str(source), "--output", str(output)).exit_code == 0
    client = create_app({"TESTING": True, "BASE_URL": BASE_URL, "DATA": str(output)}).test_client()
    tracks = client.get("/api/tracks").json["tracks"]
    assert [(t["id"], t["label"], t["count"]) for t in tracks] == [("community", "Community", 3), ("機械学習", "機械学習", 3)]
    assert client.get("/tracks/%E6%A9%9F%E6%A2%B0%E5%AD%A6%E7%BF%92.ics").status_code == 200


def test_a_namesake_who_comes_first_does_not_take_over_a_persons_id(app, tmp_path):
    output = tmp_path / "out.json"
    assert run(app, "import", str(PRETALX), "--output", str(output), "--stamp", STAMP).exit_code == 0
    newcomer = pretalx_variant(tmp_path, "s.json", (  # the 26th's first talk is now by another Ada Lovelace
        b'{"id": 7, "code": "ADA7QX", "name": "Ada Lovelace", "public_name": "Ada Lovelace", '
        b'"biography": "Writes programs.", "answers": []},',
        b'{"id": 70, "code": "ADA0NE", "name": "Ada Lovelace", "public_name": "Ada Lovelace", '
        b'"biography": "Another one.", "answers": []},'))
    result = run(app, "import", str(newcomer), "--output", str(output), "--stamp", "2026-11-28T00:00:00Z")
    assert result.exit_code == 0, result.output
    assert "changed: opening-ceremony (authors)\n" in result.output
    authors = load_programme(output).authors_by_id
    assert (authors["ada-lovelace"].upstream, authors["ada-lovelace-ada0ne"].upstream) == ("ADA7QX", "ADA0NE")


def test_a_re_created_event_keeps_its_uid_and_takes_its_new_guid(app, tmp_path):
    output = tmp_path / "out.json"
    assert run(app, "import", str(PRETALX), "--output", str(output), "--stamp", STAMP).exit_code == 0
    recreated = pretalx_variant(tmp_path, "s.json", (b"0b2a6f3e-7d1c-5a0e-8f55-6c1d2e3f4a06", b"new-guid-of-soldering"))
    result = run(app, "import", str(recreated), "--output", str(output), "--stamp", "2026-11-28T00:00:00Z")
    assert result.output.startswith("added: none\nchanged: none\ncancelled: none\nrestored: none\nunchanged: 7\n")
    soldering = load_programme(output).events_by_id["soldering-basics"]
    assert (soldering.source_key, soldering.sequence) == ("new-guid-of-soldering", 0)


def test_leaving_out_an_unchanged_source_cancels_its_events(published, tmp_path):
    output = tmp_path / "programme.json"
    app = create_app({"TESTING": True})
    url = published.schedule_url
    assert run(app, "import", url, str(FRAB), "--timezone", "Europe/Berlin", "--output", str(output)).exit_code == 0
    result = run(app, "import", url, "--timezone", "Europe/Berlin", "--output", str(output))
    assert result.exit_code == 0, result.output
    assert ("cancelled: keynote, fuzzing-for-beginners, securing-your-supply-chain, lightning-talks, keynote-3005\n"
            in result.output)
    assert [s["location"] for s in json.loads(output.read_text())["sources"]] == [url]


@pytest.mark.parametrize("content, message", [
    (b"[" * 100_000, "not a schedule feedsvc can read"),
    (PRETALX.read_bytes().replace(b'"duration": "00:30"', b'"duration": "99999999:00"', 1), "cannot be read"),
])
def test_absurd_input_is_an_error_not_a_traceback(app, tmp_path, content, message):
    source = tmp_path / "source"
    source.write_bytes(content)
    result = run(app, "import", str(source), "--output", str(tmp_path / "out.json"))
    assert result.exit_code == 1 and f"{source}: {message}" in result.output


def test_import_keeps_to_the_configured_size_limit(tmp_path):
    """What the service would refuse to load is not written (FEEDSVC_MAX_DATA_BYTES)."""
    output = tmp_path / "out.json"
    app = create_app({"TESTING": True})
    app.config["MAX_DATA_BYTES"] = 1000  # the service's own limit: the shipped data is larger
    result = run(app, "import", str(PRETALX), "--output", str(output))
    assert result.exit_code == 1 and "over the limit of 1,000 (FEEDSVC_MAX_DATA_BYTES)" in result.output
    assert not output.exists()


def test_persons_of_two_sources_with_the_same_upstream_id_stay_apart(app, tmp_path):
    """frab counts person ids per instance: id 11 of one conference is not id 11 of another."""
    other = tmp_path / "other.xml"
    other.write_bytes(FRAB.read_bytes().replace(b"<acronym>froscon2024</acronym>", b"<acronym>ws2024</acronym>")
                      .replace(b"6a1f2b3c", b"7a1f2b3c").replace(b">Jane Doe<", b">John Roe<"))
    output = tmp_path / "out.json"
    args = ["import", str(FRAB), str(other), "--timezone", "Europe/Berlin", "--output", str(output)]
    assert run(app, *args).exit_code == 0
    again = run(app, *args)
    assert again.output.startswith("added: none\nchanged: none\n"), again.output
    names = {a.id: a.name for a in load_programme(output).authors}
    assert names["jane-doe"] == "Jane Doe" and names["john-roe"] == "John Roe"
