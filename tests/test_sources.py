"""The schedule.xml and schedule.json readers, against hand-written fixtures whose
expected values are read off the files by hand, and every error they can raise."""
from __future__ import annotations

import copy
import json
import re
from datetime import date, datetime, timezone
from pathlib import Path

import pytest

from feedsvc.model import CONFIRMED, Author, Conference, Link
from feedsvc.sources import frab_xml, schedule_json
from feedsvc.sources.common import ImportOptions, SourceError, readable, web

FIXTURES = Path(__file__).resolve().parent / "fixtures"
STAMP = datetime(2024, 10, 1, 12, 0, tzinfo=timezone.utc)
UTC = timezone.utc


def read(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def pretalx():
    return schedule_json.parse(read("pretalx-schedule.json"), "pretalx-schedule.json", ImportOptions(STAMP))


def frab(zone: str | None = "Europe/Berlin"):
    return frab_xml.parse(read("frab-schedule.xml"), "frab-schedule.xml", ImportOptions(STAMP, zone))


def at(text: str) -> datetime:
    """A UTC time written "2024-10-26 08:00"."""
    return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=UTC)


def raises(message: str):
    """The exact message, start to end."""
    return pytest.raises(SourceError, match=f"^{re.escape(message)}$")


# --- pretalx schedule.json: Europe/Berlin over the end of summer time -------------------------

PRETALX_EVENTS = [
    # id, source key, UTC start, UTC end, day, type, type label, track, room, language, title
    ("opening-ceremony", "0b2a6f3e-7d1c-5a0e-8f55-6c1d2e3f4a01", "2024-10-26 08:00", "2024-10-26 08:30",
     date(2024, 10, 26), "talk", "Talk", "Community", "Saal 1", "en", "Opening Ceremony: Welcome to DemoCon"),
    ("late-night-lightning-talks", "0b2a6f3e-7d1c-5a0e-8f55-6c1d2e3f4a02", "2024-10-26 21:30",
     "2024-10-26 23:00", date(2024, 10, 26), "lightning-talks", "Lightning Talks", "Community", "Saal 1",
     "en", "Late Night Lightning Talks"),
    ("hacking-after-midnight", "democon24/103", "2024-10-26 23:30", "2024-10-27 00:15",
     date(2024, 10, 26), "workshop", "Workshop", "Hardware", "Saal 2", "de", "Hacking after Midnight"),
    ("group-photo", "0b2a6f3e-7d1c-5a0e-8f55-6c1d2e3f4a04", "2024-10-27 09:00", "2024-10-27 09:00",
     date(2024, 10, 27), "event", "Event", "", "Saal 1", "en", "Group Photo"),
    ("opening-ceremony-105", "0b2a6f3e-7d1c-5a0e-8f55-6c1d2e3f4a05", "2024-10-27 13:00", "2024-10-27 14:00",
     date(2024, 10, 27), "talk", "Talk", "Hardware", "Saal 2", "en", "Opening Ceremony: Remote Edition"),
    ("soldering-basics", "0b2a6f3e-7d1c-5a0e-8f55-6c1d2e3f4a06", "2024-10-28 08:30", "2024-10-28 10:30",
     date(2024, 10, 28), "workshop", "Workshop", "Hardware", "Saal 1", "en", "Soldering Basics"),
    ("talk-20241028-1100", "0b2a6f3e-7d1c-5a0e-8f55-6c1d2e3f4a07", "2024-10-28 10:00", "2024-10-28 10:15",
     date(2024, 10, 28), "talk", "Talk", "Community", "Saal 2", "en", "???"),
]


def test_pretalx_gives_one_session_for_the_conference():
    programme = pretalx()
    assert programme.conference == Conference("DemoCon 2024", "DemoCon 2024", "Europe/Berlin")
    assert programme.sources == ()
    (session,) = programme.sessions
    assert (session.id, session.title, session.area, session.chairs) == ("democon24", "DemoCon 2024", "", ())
    assert session.url == "https://pretalx.example.org/democon24/schedule/"


def test_pretalx_events_in_order_of_start_with_utc_times_days_and_ids():
    events = pretalx().sessions[0].events
    found = [(e.id, e.source_key, e.start, e.end, e.day, e.type, e.type_label, e.track, e.room,
              e.language, e.title) for e in events]
    assert found == [(i, k, at(s), at(e), *rest) for i, k, s, e, *rest in PRETALX_EVENTS]
    assert all(e.session_id == "democon24" for e in events)


def test_times_are_in_the_conference_zone_on_both_sides_of_the_clock_change():
    events = pretalx().events_by_id
    summer, winter = events["hacking-after-midnight"].start, events["group-photo"].start
    assert summer.tzinfo.zone == winter.tzinfo.zone == "Europe/Berlin"
    assert (summer.isoformat(), winter.isoformat()) == ("2024-10-27T01:30:00+02:00", "2024-10-27T10:00:00+01:00")


def test_pretalx_persons_are_shared_across_events_and_keep_their_codes():
    events = pretalx().events_by_id
    ada, grace = Author("ada-lovelace", "Ada Lovelace", "ADA7QX"), Author("grace-hopper", "Grace Hopper", "GRC9HP")
    assert events["opening-ceremony"].authors == (ada, grace)
    assert events["late-night-lightning-talks"].authors == (ada,)
    assert events["hacking-after-midnight"].authors == (grace, Author("linus-example", "Linus Example", "LNS4EX"))
    assert events["opening-ceremony-105"].authors == (ada,)
    # another Grace Hopper (another code) gets her own id; a person with no name is left out
    assert events["soldering-basics"].authors == (Author("grace-hopper-grc2xx", "Grace Hopper", "GRC2XX"),)
    assert events["group-photo"].authors == ()


def test_html_descriptions_become_plain_text_and_plain_text_is_kept():
    events = pretalx().events_by_id
    assert events["opening-ceremony"].description == (
        "DemoCon opens with a tour of the weekend.\n\n"
        "  * the programme & the rooms\n"
        "  * how to [find help](https://democon.example.org/help)\n\n"
        "See you there!")
    assert events["opening-ceremony"].abstract == "Welcome to DemoCon 2024."
    assert events["opening-ceremony-105"].description == "Streamed from Saal 2."
    assert events["late-night-lightning-talks"].description == (
        "**Bring** your slides.\n\n- five minutes\n- one topic, a < b")
    assert (events["group-photo"].abstract, events["hacking-after-midnight"].description) == ("", "")
    assert events["hacking-after-midnight"].subtitle == "Bring a laptop"


def test_pretalx_links_start_with_the_event_page_and_skip_repeats_and_non_web_urls():
    event = pretalx().events_by_id["opening-ceremony"]
    assert event.url == "https://pretalx.example.org/democon24/talk/QW3RTY/"
    assert event.links == (Link("Event page", "https://pretalx.example.org/democon24/talk/QW3RTY/"),
                           Link("Slides", "https://cdn.example.org/democon24/opening.pdf"))


def test_events_are_stamped_confirmed_and_the_same_file_gives_the_same_programme():
    programme = pretalx()
    for event in programme.events:
        assert (event.created, event.last_modified, event.status, event.sequence, event.covers) == (
            STAMP, STAMP, CONFIRMED, 0, ())
    assert pretalx() == programme


# --- frab schedule.xml: no time_zone_name, two rooms, two tracks, shared persons ---------------

FRAB_EVENTS = [
    # id, source key, UTC start, UTC end, day, type, track, room, language
    ("keynote", "6a1f2b3c-4d5e-5f60-8172-839405a6b701", "2024-08-17 08:00", "2024-08-17 08:45",
     date(2024, 8, 17), "lecture", "Community", "HS 1", "en"),
    ("fuzzing-for-beginners", "6a1f2b3c-4d5e-5f60-8172-839405a6b703", "2024-08-17 08:00", "2024-08-17 10:00",
     date(2024, 8, 17), "workshop", "Security", "HS 3", "en"),
    ("securing-your-supply-chain", "6a1f2b3c-4d5e-5f60-8172-839405a6b702", "2024-08-17 09:00",
     "2024-08-17 09:30", date(2024, 8, 17), "lecture", "Security", "HS 1", "de"),
    ("lightning-talks", "6a1f2b3c-4d5e-5f60-8172-839405a6b704", "2024-08-18 08:00", "2024-08-18 08:20",
     date(2024, 8, 18), "lightning-talk", "Community", "HS 1", "en"),
    ("keynote-3005", "6a1f2b3c-4d5e-5f60-8172-839405a6b705", "2024-08-18 14:00", "2024-08-18 14:30",
     date(2024, 8, 18), "lecture", "Community", "HS 3", "en"),
]


def test_frab_without_a_zone_asks_for_timezone():
    with raises("frab-schedule.xml: the schedule has no time_zone_name; give the conference's zone "
                "with --timezone ZONE, an IANA name such as Europe/Berlin"):
        frab(None)


def test_frab_with_timezone_gives_utc_times_rooms_and_tracks():
    programme = frab()
    assert programme.conference == Conference("FrOSCon 2024", "FrOSCon 2024", "Europe/Berlin")
    (session,) = programme.sessions
    assert (session.id, session.title, session.url) == (
        "froscon2024", "FrOSCon 2024", "https://programm.froscon.example.org/2024/")
    found = [(e.id, e.source_key, e.start, e.end, e.day, e.type, e.track, e.room, e.language)
             for e in session.events]
    assert found == [(i, k, at(s), at(e), *rest) for i, k, s, e, *rest in FRAB_EVENTS]
    assert session.events[3].type_label == "Lightning Talk"
    assert session.events[0].subtitle == "Where we stand"


def test_frab_persons_are_shared_and_a_namesake_gets_an_id_of_their_own():
    events = frab().events_by_id
    jane, max_ = Author("jane-doe", "Jane Doe", "11"), Author("max-mustermann", "Max Mustermann", "12")
    assert events["keynote"].authors == (jane,)
    assert events["fuzzing-for-beginners"].authors == (jane, max_)
    assert events["securing-your-supply-chain"].authors == (max_,)
    assert events["lightning-talks"].authors == (jane, Author("erika-musterfrau", "Erika Musterfrau", "13"))
    assert events["keynote-3005"].authors == (Author("jane-doe-42", "Jane Doe", "42"),)


def test_frab_links_descriptions_and_a_missing_url():
    events = frab().events_by_id
    assert events["keynote"].links == (
        Link("Event page", "https://programm.froscon.example.org/2024/events/3001.html"),
        Link("Slides", "https://slides.example.org/keynote.pdf"))  # the ftp: transcript is left out
    assert events["lightning-talks"].links == (
        Link("Event page", "https://programm.froscon.example.org/2024/events/3004.html"),)
    assert (events["fuzzing-for-beginners"].url, events["fuzzing-for-beginners"].links) == ("", ())
    assert events["keynote"].description == "A look back\nand ahead.\n\nQuestions welcome."
    assert events["securing-your-supply-chain"].description == "Signed builds, reproducible builds.\nLine two."


def test_pentabarf_times_come_from_the_day_and_start_and_pass_midnight():
    programme = frab_xml.parse(read("pentabarf-schedule.xml"), "fosdem.xml", ImportOptions(STAMP, "Europe/Brussels"))
    found = [(e.id, e.source_key, e.start, e.end, e.day, e.type_label, e.room) for e in programme.sessions[0].events]
    assert found == [
        ("consensus-as-a-service", "fosdem2025/6245", at("2025-02-01 09:00"), at("2025-02-01 09:50"),
         date(2025, 2, 1), "keynote", "Janson"),
        ("the-late-show", "fosdem2025/6299", at("2025-02-01 23:30"), at("2025-02-02 00:35"),
         date(2025, 2, 1), "maintrack", "Janson"),
        ("day-long-hackathon", "fosdem2025/7001", at("2025-02-02 08:30"), at("2025-02-03 09:30"),
         date(2025, 2, 2), "Event", "K.1.105"),
    ]
    assert programme.sessions[0].url == ""
    assert programme.events[0].links == (
        Link("Submit feedback", "https://submission.fosdem.example.org/feedback/6245.php"),)


# --- zones ------------------------------------------------------------------------------------

def test_timezone_may_repeat_the_schedules_zone_but_not_contradict_it():
    same = schedule_json.parse(read("pretalx-schedule.json"), "p.json", ImportOptions(STAMP, "Europe/Berlin"))
    assert same == pretalx()
    with raises("p.json: the schedule's time_zone_name 'Europe/Berlin' differs from --timezone "
                "'Europe/London'; leave out --timezone or give 'Europe/Berlin'"):
        schedule_json.parse(read("pretalx-schedule.json"), "p.json", ImportOptions(STAMP, "Europe/London"))


def test_unknown_zones_are_refused():
    with raises("frab-schedule.xml: unknown time zone 'Mars/Olympus'; use an IANA name such as Europe/Berlin"):
        frab("Mars/Olympus")
    content = read("pretalx-schedule.json").replace(b'"Europe/Berlin"', b'"CEST"')
    with raises("p.json: unknown time zone 'CEST'; use an IANA name such as Europe/Berlin"):
        schedule_json.parse(content, "p.json", ImportOptions(STAMP))


# --- recognising the format -------------------------------------------------------------------

MANIFEST = b'{"conference": "NeurIPS 2020", "sessions": [{"page": "a.txt", "url": "https://x", "links": "a.tsv"}]}'


@pytest.mark.parametrize("content, is_xml, is_json", [
    (read("frab-schedule.xml"), True, False),
    (read("pentabarf-schedule.xml"), True, False),  # a comment before the root
    (read("pretalx-schedule.json"), False, True),
    (b"\xef\xbb\xbf\n  <schedule><conference/></schedule>", True, False),  # BOM, no declaration
    (read("hostile-billion-laughs.xml"), True, False),  # so that parse refuses it by name
    (MANIFEST, False, False),
    (b'{"schedule": {"version": "1"}}', False, False),
    (b"<html><body>schedule</body></html>", True, False),  # XML: parse names its root
    (b"\x00\xff garbage", False, False),
    (b"", False, False),
    (b"[" * 100_000, False, False),
])
def test_recognises_by_content(content, is_xml, is_json):
    assert (frab_xml.recognises(content), schedule_json.recognises(content)) == (is_xml, is_json)


# --- hostile and broken XML -------------------------------------------------------------------

REFUSED = "{}: refused: the XML has a DOCTYPE (DTDs and entities are not accepted in a schedule)"


@pytest.mark.parametrize("name", ["hostile-billion-laughs.xml", "hostile-external-entity.xml", "hostile-doctype.xml"])
def test_a_doctype_is_refused(name):
    with raises(REFUSED.format(name)):
        frab_xml.parse(read(name), name, ImportOptions(STAMP))


def test_an_external_entity_is_never_read_even_past_the_byte_check(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    for text, encoding in [("UTF-8", "utf-8"), ("UTF-16", "utf-16")]:
        content = (f'<?xml version="1.0" encoding="{text}"?>\n<!DOCTYPE schedule [<!ENTITY s SYSTEM '
                   f'"{secret.as_uri()}">]>\n<schedule><conference><acronym>&s;</acronym>'
                   "</conference></schedule>").encode(encoding)
        with raises(REFUSED.format("s.xml")):
            frab_xml.parse(content, "s.xml", ImportOptions(STAMP, "UTC"))


MINI_XML = """<?xml version="1.0" encoding="UTF-8"?>
<schedule>
  <conference>
    <acronym>mini</acronym>
    <time_zone_name>Europe/Berlin</time_zone_name>
  </conference>
  <day date="2024-10-26">
    <room name="Saal 1">
      <event id="1" guid="g-1">
        <date>2024-10-26T10:00:00+02:00</date>
        <start>10:00</start>
        <duration>00:30</duration>
        <title>Talk</title>
      </event>
      <event id="2" guid="g-2">
        <date>2024-10-26T11:00:00+02:00</date>
        <duration>00:30</duration>
        <title>Talk</title>
      </event>
    </room>
  </day>
</schedule>
"""


def mini_xml(*edits: tuple[str, str], zone: str | None = None):
    text = MINI_XML
    for old, new in edits:
        assert old in text
        text = text.replace(old, new, 1)
    return frab_xml.parse(text.encode(), "mini.xml", ImportOptions(STAMP, zone))


def test_mini_xml_reads():
    events = mini_xml().events
    assert [(e.id, e.source_key, e.start) for e in events] == [
        ("talk", "g-1", at("2024-10-26 08:00")), ("talk-2", "g-2", at("2024-10-26 09:00"))]
    assert [e.room for e in events] == ["Saal 1", "Saal 1"]  # no <room> in the event: the enclosing one


def test_after_midnight_without_a_day_start_is_the_next_morning_of_the_same_day():
    """Pentabarf gives no `date` and, often, no day start: before 04:00 is the next morning."""
    events = mini_xml(("<date>2024-10-26T10:00:00+02:00</date>", ""), ("<start>10:00</start>", "<start>00:30</start>")).events
    assert [(e.source_key, e.start, e.day) for e in events] == [
        ("g-2", at("2024-10-26 09:00"), date(2024, 10, 26)), ("g-1", at("2024-10-26 22:30"), date(2024, 10, 26))]


def test_an_event_without_guid_is_known_by_acronym_and_id():
    events = mini_xml((' guid="g-1"', ""), (' guid="g-2"', "")).events
    assert [e.source_key for e in events] == ["mini/1", "mini/2"]


@pytest.mark.parametrize("edits, message", [
    ([("<title>Talk</title>", "<title>Talk</titel>")],
     "mini.xml:13: not well-formed XML: Opening and ending tag mismatch: title line 13 and titel, "
     "line 13, column 28"),
    ([("<schedule>", "<programme>"), ("</schedule>", "</programme>")],
     "mini.xml:2: the root element is <programme>, not <schedule>"),
    ([("<title>Talk</title>", "")], "mini.xml:9: <event> has no <title>"),
    ([("<duration>00:30</duration>", "")], "mini.xml:9: <event> has no <duration>"),
    ([("<date>2024-10-26T10:00:00+02:00</date>", ""), ("<start>10:00</start>", "")],
     "mini.xml:9: the event has neither a date nor a start time"),
    ([('<day date="2024-10-26">', "<day>")], "mini.xml:7: <day> has no date attribute"),
    ([("<acronym>mini</acronym>", "")], "mini.xml:3: <conference> has no <acronym>"),
    ([("<acronym>mini</acronym>", "<acronym>!!</acronym>")],
     "mini.xml: the conference acronym '!!' gives no id; it needs letters or digits"),
    ([("<duration>00:30</duration>", "<duration>1h</duration>")],
     "mini.xml:12: '1h' is not a duration HH:MM or HH:MM:SS"),
    ([("2024-10-26T10:00:00+02:00", "26.10.2024 10:00")],
     "mini.xml:10: '26.10.2024 10:00' is not an ISO 8601 datetime such as 2024-10-26T23:30:00+02:00"),
    ([("2024-10-26T10:00:00+02:00", "2024-10-27T02:30:00")],
     "mini.xml:10: 2024-10-27 02:30 happens twice in Europe/Berlin (the clocks change); "
     "give the time with its UTC offset"),
    ([("2024-10-26T10:00:00+02:00", "2024-03-31T02:30:00")],
     "mini.xml:10: 2024-03-31 02:30 happens never in Europe/Berlin (the clocks change); "
     "give the time with its UTC offset"),
    ([("<title>Talk</title>", "<title> </title>")], "mini.xml:9: the event's title is empty"),
    ([("<schedule>", "<!DOCTYPE schedule [<!ENTITY x 'y'>]>\n<schedule>")],
     "mini.xml: refused: the XML has a DOCTYPE (DTDs and entities are not accepted in a schedule)"),
    ([("<date>2024-10-26T10:00:00+02:00</date>", ""), ("<start>10:00</start>", "<start>25:00</start>")],
     "mini.xml:11: '25:00' is not a start time HH:MM or HH:MM:SS"),
    ([("<date>2024-10-26T10:00:00+02:00</date>", ""), ('date="2024-10-26"', 'date="Saturday"')],
     "mini.xml:7: 'Saturday' is not an ISO 8601 date such as 2024-10-26"),
    ([('guid="g-2"', 'guid="g-1"')],
     "mini.xml:15: the event key 'g-1' is also that of the event at mini.xml:9; "
     "each event needs its own guid or id"),
    ([(' id="1" guid="g-1"', "")], "mini.xml:9: the event has neither a guid nor an id"),
])
def test_xml_errors_name_the_line(edits, message):
    with raises(message):
        mini_xml(*edits)


def test_empty_xml_is_not_well_formed():
    with raises("e.xml:1: not well-formed XML: Document is empty, line 1, column 1"):
        frab_xml.parse(b"", "e.xml", ImportOptions(STAMP))


# --- broken JSON ------------------------------------------------------------------------------

MINI_JSON = {"schedule": {"version": "1", "conference": {
    "acronym": "mini", "title": "Mini", "time_zone_name": "Europe/Berlin", "days": [{
        "index": 1, "date": "2024-10-26", "rooms": {"Saal 1": [
            {"id": n, "guid": f"g-{n}", "date": f"2024-10-26T1{n}:00:00+02:00", "start": f"1{n}:00",
             "duration": "00:30", "title": f"Talk {n}", "persons": [], "links": []}
            for n in range(3)]}}]}}}
EVENT_2 = "$.schedule.conference.days[0].rooms['Saal 1'][2]"


def mini_json(change=None, zone: str | None = None):
    document = copy.deepcopy(MINI_JSON)
    if change:
        change(document, document["schedule"]["conference"]["days"][0]["rooms"]["Saal 1"][2])
    return schedule_json.parse(json.dumps(document).encode(), "mini.json", ImportOptions(STAMP, zone))


def test_mini_json_reads():
    assert [(e.id, e.start) for e in mini_json().events] == [
        ("talk-0", at("2024-10-26 08:00")), ("talk-1", at("2024-10-26 09:00")), ("talk-2", at("2024-10-26 10:00"))]


def test_invalid_json_names_line_and_column():
    with raises("bad.json:3:19: not valid JSON: Expecting value"):
        schedule_json.parse(b'{\n  "schedule": {\n    "conference": ,\n  }\n}', "bad.json", ImportOptions(STAMP))
    with raises("bad.json: not valid JSON: 'utf-8' codec can't decode byte 0xff in position 7: invalid start byte"):
        schedule_json.parse(b'{"a": "\xff"}', "bad.json", ImportOptions(STAMP))


@pytest.mark.parametrize("change, message", [
    (lambda d, e: e.pop("duration"), f"{EVENT_2}.duration: missing"),
    (lambda d, e: e.update(duration=30), f"{EVENT_2}.duration: must be a string, not a number"),
    (lambda d, e: e.pop("title"), f"{EVENT_2}.title: missing"),
    (lambda d, e: e.update(title=None), f"{EVENT_2}.title: missing"),
    (lambda d, e: e.update(id=[2]), f"{EVENT_2}.id: must be a number or a string, not an array"),
    (lambda d, e: e.update(persons=["Ada"]), f"{EVENT_2}.persons[0]: must be an object, not a string"),
    (lambda d, e: e.update(links={"url": "https://x"}), f"{EVENT_2}.links: must be an array, not an object"),
    (lambda d, e: e.update(duration="half an hour"),
     f"{EVENT_2}.duration: 'half an hour' is not a duration HH:MM or HH:MM:SS"),
    (lambda d, e: e.update(date="", start=""), f"{EVENT_2}: the event has neither a date nor a start time"),
    (lambda d, e: e.update(guid="g-0"),
     f"{EVENT_2}: the event key 'g-0' is also that of the event at "
     "mini.json: $.schedule.conference.days[0].rooms['Saal 1'][0]; each event needs its own guid or id"),
    (lambda d, e: d["schedule"]["conference"]["days"][0].pop("date"), "$.schedule.conference.days[0].date: missing"),
    (lambda d, e: d["schedule"]["conference"].pop("days"), "$.schedule.conference.days: missing"),
    (lambda d, e: d["schedule"]["conference"].pop("acronym"), "$.schedule.conference.acronym: missing"),
    (lambda d, e: d.update(schedule=[]), "$.schedule: must be an object, not an array"),
])
def test_json_errors_name_the_path(change, message):
    with raises(f"mini.json: {message}"):
        mini_json(change)


def test_json_events_without_date_use_the_day_and_its_start():
    def pentabarf_like(document, event):
        day = document["schedule"]["conference"]["days"][0]
        day["day_start"] = "2024-10-26T09:00:00+02:00"
        for listed in day["rooms"]["Saal 1"]:
            listed.pop("date")
        event.update(start="00:30", guid="", abstract="\x0b<p>Bell\x07 <em>text</em></p>\x00",
                     links=[{"url": "https://x.example.org/", "title": ""}, "https://y.example.org/"])

    event = mini_json(pentabarf_like).events[-1]
    assert (event.start, event.day, event.source_key) == (at("2024-10-26 22:30"), date(2024, 10, 26), "mini/2")
    assert event.links == (Link("https://x.example.org/", "https://x.example.org/"),
                           Link("https://y.example.org/", "https://y.example.org/"))
    assert event.abstract == "Bell text"  # control characters dropped before the HTML is read


# --- what real exports hold (voc/schedule's examples, frab's Camp 2019, pretalx's rC3) ---------

@pytest.mark.parametrize("html, text", [
    # plain paragraphs with one link in them: the line breaks are the layout
    ("Para one\r\nline two\r\n\r\nSee <a href=\"https://x.org\">this</a>.\r\n\r\nThree",
     "Para one\nline two\n\nSee [this](https://x.org).\n\nThree"),
    ("One</br>\r\n\r\nTwo <b>bold</b>", "One\n\nTwo bold"),  # "</br>", as browsers read it
    ("<p>One\nstill one</p><p>Two</p>", "One still one\n\nTwo"),  # paragraphs: HTML's line breaks
    ("<ul><li>a &amp; b</li><li>c</li></ul>", "* a & b\n* c"),  # a list alone: no indent
    ("<div><div>Hello</div></div>", "Hello"),
    ("Title\tand\rmore", "Title and\nmore"),  # a tab is a space, a lone CR a line break
    ("a < b and **Markdown**\n\nstays", "a < b and **Markdown**\n\nstays"),
])
def test_html_becomes_readable_text_keeping_its_layout(html, text):
    assert readable(html) == text


@pytest.mark.parametrize("url, base, found", [
    ("https://x.org/a", "", "https://x.org/a"),
    ("/system/slides.pdf", "https://frab.example.org/camp/", "https://frab.example.org/system/slides.pdf"),
    ("nymtech.net", "", "https://nymtech.net"),
    ("example.org/talk?id=1", "", "https://example.org/talk?id=1"),
    ("javascript:alert(1)", "https://x.org/", ""),
    ("file:///etc/passwd", "", ""),
    ("", "https://x.org/", ""),
    ("slides.pdf", "", ""),  # relative, with nothing to be relative to
    ("nymtech.net", "https://frab.example.org/camp/", "https://nymtech.net"),
    ("paper.docx", "", ""),
    ("https://x.org/a\nb", "", ""),  # a URL has no line break (icalendar refuses one)
])
def test_links_become_absolute_web_addresses_or_nothing(url, base, found):
    assert web(url, base) == found


def test_attachments_are_links_and_a_description_equal_to_the_abstract_is_said_once():
    document = json.loads(read("pretalx-schedule.json"))
    document["schedule"]["base_url"] = "https://pretalx.example.org/"
    event = document["schedule"]["conference"]["days"][0]["rooms"]["Saal 1"][0]
    event["attachments"] = [{"url": "/media/opening.pdf", "title": "Opening slides"}]
    event["description"] = event["abstract"]
    opening = schedule_json.parse(json.dumps(document).encode(), "s.json",
                                  ImportOptions(STAMP)).events_by_id["opening-ceremony"]
    assert opening.links[-1] == Link("Opening slides", "https://pretalx.example.org/media/opening.pdf")
    assert (opening.abstract, opening.description) == ("Welcome to DemoCon 2024.", "")


def test_a_schema_2_file_is_refused_saying_so():
    """c3voc's schedule schema 2 (the CCC hub's) lists events apart from the days."""
    document = {"schedule": {"version": "2", "conference": {"acronym": "38c3", "title": "38C3", "days": []},
                             "events": [{"guid": "g", "start": "2024-12-27T10:30:00+01:00"}]}}
    with raises("s.json: $.schedule: lists its events in schedule.events, as c3voc's schedule schema 2 does, "
                "which feedsvc does not read yet; use the export of schema 1, whose events are in "
                "conference.days[].rooms"):
        schedule_json.parse(json.dumps(document).encode(), "s.json", ImportOptions(STAMP))


def test_the_sources_other_plain_fields_are_kept_by_name():
    """What a new filter can read: here pretalx's and frab's slugs, feedback URLs, do_not_record."""
    assert pretalx().events_by_id["opening-ceremony"].extra == (
        ("do_not_record", "false"), ("feedback_url", "https://pretalx.example.org/democon24/talk/QW3RTY/feedback/"),
        ("slug", "democon24-101-opening-ceremony"))
    assert frab().events_by_id["keynote"].extra == (("slug", "froscon2024-3001-keynote-free-software-in-2024"),)
