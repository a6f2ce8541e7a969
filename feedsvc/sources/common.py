"""What every source format shares: its errors, the import's options, text cleaning, and
the one mapping of a schedule export (frab, pretalx; XML or JSON) to a `Programme`. A format
module only pulls raw strings, each with its place in the file, into a `ScheduleRecord`: times,
ids, persons and HTML are decided here once, so both formats of a schedule import alike.
"""
from __future__ import annotations

import json
import re
import textwrap
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from urllib.parse import urljoin

import lxml.html
import pytz
from inscriptis import get_text
from inscriptis.model.config import ParserConfig
from lxml.html.defs import tags as HTML_TAGS

from ..model import CONFIRMED, Author, Conference, Event, Link, Programme, Session, slugify, type_id, unique

ID_WORDS = 6
SCHEME = re.compile(r"[a-z][a-z0-9+.-]*:", re.I)
# "nymtech.net", "example.org/x"; not a file name such as "slides.pdf"
BARE_HOST = re.compile(r"(?:[a-z0-9-]+\.)+(?!(?:pdf|txt|html?|php|png|jpe?g|gif|svg|zip|mp[34]|webm|odp|pptx?|"
                       r"docx?|xlsx?|csv|js|json|xml|md|key)\b)"
                       r"[a-z]{2,}(?:[/?#]\S*)?$", re.I)
DAY_CHANGE = time(4)  # when a conference day ends, unless the file says (frab's default)
READ_FIELDS = frozenset({"guid", "id", "date", "start", "duration", "room", "title", "subtitle", "type",
                         "track", "language", "abstract", "description", "url", "persons", "links",
                         "attachments"})
BROKEN_BR = re.compile(r"</br\s*>", re.I)
LAYOUT_TAGS = {"p", "div", "ul", "ol", "table", "pre", "blockquote", "h1", "h2", "h3", "h4", "h5", "h6"}
CONTROLS = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f]")  # Unicode's category Cc, but LF
DURATION = re.compile(r"(\d+):([0-5]\d)(?::([0-5]\d))?")  # hours may exceed 23
CLOCK = re.compile(r"([01]?\d|2[0-3]):([0-5]\d)(?::([0-5]\d))?")


class SourceError(ValueError):
    """A source that cannot be imported. The message names the source (and the line of
    an XML file or the JSON path of the value) and says what is wrong: nothing is written."""


@dataclass(frozen=True)
class ImportOptions:
    stamp: datetime  # when the imported events were created or last changed (UTC)
    timezone: str | None = None  # IANA zone for a source that names none (`--timezone`)


def json_object(content: bytes) -> dict:
    """`content` as a JSON object, or {} if it is none: what recognising a JSON format starts with."""
    try:
        document = json.loads(content)
    except (ValueError, RecursionError):  # not JSON; nested too deeply
        return {}
    return document if isinstance(document, dict) else {}


def clean(text: str) -> str:
    """Normalise to NFC and drop control characters, which break calendar clients; a tab is
    a space and a carriage return a line break."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", " ")
    return CONTROLS.sub("", unicodedata.normalize("NFC", text)).strip()


@dataclass(frozen=True)
class Located:
    """A raw value still to be parsed, with its place ("f.xml:12", "f.json: $.…date"),
    so that a bad value is reported where it is, whichever format it came from."""

    text: str
    where: str


@dataclass(frozen=True)
class EventRecord:
    """One event as the file gives it: unparsed strings, "" when absent. Persons are
    Authors with no id yet (name, upstream id); links are labelled as the file labels them."""

    where: str
    day: Located  # the date of the day the file lists the event under
    day_start: Located | None  # when that day begins, if the file says so
    date: Located | None  # ISO 8601 start, with or without offset
    start: Located | None  # HH:MM on the day, for files without `date`
    duration: Located
    guid: str
    upstream_id: str
    title: str
    subtitle: str = ""
    type_label: str = ""
    track: str = ""
    room: str = ""
    language: str = ""
    abstract: str = ""
    description: str = ""
    url: str = ""
    persons: tuple[Author, ...] = ()
    links: tuple[Link, ...] = ()
    extra: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class ScheduleRecord:
    acronym: str
    title: str
    url: str
    time_zone_name: str
    events: tuple[EventRecord, ...]
    base_url: str = ""  # what the file's relative links are relative to


def extras(fields) -> tuple[tuple[str, str], ...]:
    """The event's other plain fields in the file, (name, text), sorted: what a new filter
    (say `level=`) reads without a change to the model or the readers. Fields read
    elsewhere, nested ones and empty ones are left out."""
    found = {}
    for name, value in fields:
        if name in READ_FIELDS or value is None or isinstance(value, (dict, list)):
            continue
        text = ("true" if value else "false") if isinstance(value, bool) else clean(str(value))
        if text:
            found[name] = text
    return tuple(sorted(found.items()))


def zone_of(record: ScheduleRecord, origin: str, options: ImportOptions):
    """The file's zone; --timezone only stands in for a file that names none."""
    named, given = record.time_zone_name.strip(), (options.timezone or "").strip()
    if not named and not given:
        raise SourceError(f"{origin}: the schedule has no time_zone_name; give the conference's "
                          "zone with --timezone ZONE, an IANA name such as Europe/Berlin")
    if named and given and named != given:
        raise SourceError(f"{origin}: the schedule's time_zone_name {named!r} differs from "
                          f"--timezone {given!r}; leave out --timezone or give {named!r}")
    if (named or given) not in pytz.all_timezones_set:
        raise SourceError(f"{origin}: unknown time zone {named or given!r}; "
                          "use an IANA name such as Europe/Berlin")
    return pytz.timezone(named or given)


def numbers(value: Located, pattern: re.Pattern, expected: str) -> list[int]:
    match = pattern.fullmatch(value.text.strip())
    if not match:
        raise SourceError(f"{value.where}: {value.text!r} is not {expected}")
    return [int(part or 0) for part in match.groups()]


def iso(value: Located, kind: type[date] | type[datetime]):
    try:
        return kind.fromisoformat(value.text.strip())
    except ValueError as error:
        example = "2024-10-26T23:30:00+02:00" if kind is datetime else "2024-10-26"
        raise SourceError(f"{value.where}: {value.text!r} is not an ISO 8601 {kind.__name__} "
                          f"such as {example}") from error


def localize(naive: datetime, zone, where: str) -> datetime:
    try:
        return zone.localize(naive, is_dst=None)
    except pytz.exceptions.InvalidTimeError as error:
        happens = "twice" if isinstance(error, pytz.exceptions.AmbiguousTimeError) else "never"
        raise SourceError(f"{where}: {naive:%Y-%m-%d %H:%M} happens {happens} in {zone.zone} "
                          "(the clocks change); give the time with its UTC offset") from error


def moment(value: Located, zone) -> datetime:
    found = iso(value, datetime)
    return found.astimezone(zone) if found.tzinfo else localize(found, zone, value.where)


def starts(event: EventRecord, zone) -> datetime:
    """From `date` if given; else the day's date and the clock time, which is on the next
    calendar date if it is earlier than the day's start (a talk at 00:30 of a long day),
    or, for a day that gives no start, earlier than frab's default day change, 04:00."""
    if event.date is not None:
        return moment(event.date, zone)
    if event.start is None:
        raise SourceError(f"{event.where}: the event has neither a date nor a start time")
    clock = time(*numbers(event.start, CLOCK, "a start time HH:MM or HH:MM:SS"))
    naive = datetime.combine(iso(event.day, date), clock)
    day_start = (moment(event.day_start, zone).replace(tzinfo=None) if event.day_start is not None
                 else datetime.combine(naive.date(), DAY_CHANGE))
    if naive < day_start:
        naive += timedelta(days=1)
    return localize(naive, zone, event.start.where)


def readable(text: str) -> str:
    """Plain text of an abstract: HTML (elements lxml knows as HTML; "a < b" or Markdown is
    not) to paragraphs, list items and link targets; plain text only cleaned. Text whose
    layout is its own line breaks, with a link or a <br> in it, keeps its line breaks."""
    text = BROKEN_BR.sub("<br>", clean(text))  # first: lxml refuses control characters; "</br>", as browsers read it
    tags = {e.tag for e in lxml.html.fragment_fromstring(text, create_parent="div").iterdescendants()
            if isinstance(e.tag, str)} if text else set()
    if tags & HTML_TAGS:
        if not tags & LAYOUT_TAGS:
            text = text.replace("\n", "<br>\n")
        text = textwrap.dedent(get_text(text, ParserConfig(display_links=True))).strip()
    lines = "\n".join(line.rstrip() for line in text.split("\n"))
    return re.sub(r"\n{3,}", "\n\n", lines)


def authors(persons: tuple[Author, ...], known: dict[str, Author],
            taken: set[str]) -> tuple[Author, ...]:
    """One Author per upstream person (per name if it has no upstream id) in every event;
    a different person whose slug is taken gets their upstream id added to it."""
    for person in persons:
        name, upstream = clean(person.name), person.upstream.strip()
        if name and (upstream or name) not in known:
            wanted = slugify(name) or slugify(upstream) or "person"
            known[upstream or name] = Author(unique(wanted, slugify(upstream), taken), name, upstream)
    found = (known[p.upstream.strip() or clean(p.name)] for p in persons if clean(p.name))
    return tuple(dict.fromkeys(found))


def event_slug(title: str, label: str, start: datetime) -> str:
    short = title.split(":")[0] if ":" in title else title
    slug = "-".join(slugify(short).split("-")[:ID_WORDS])
    return slug or f"{type_id(label)}-{start:%Y%m%d-%H%M}"


def web(url: str, base: str = "") -> str:
    """`url` as an absolute http(s) URL, or "": calendars must not link to javascript: or
    file:. Exports hold relative links ("/system/slides.pdf", against the file's base URL)
    and bare hosts ("nymtech.net"), which people meant as web pages."""
    url = url.strip()
    if not url or any(c.isspace() or not c.isprintable() for c in url):  # a URL has neither
        return ""
    if BARE_HOST.match(url):
        url = "https://" + url
    elif base and not SCHEME.match(url):
        url = urljoin(base, url)
    return url if url.lower().startswith(("http://", "https://")) else ""


def links_of(event: EventRecord, base: str) -> tuple[Link, ...]:
    """The event page first, then the source's links and attachments; each URL once."""
    kept: dict[str, Link] = {}
    for link in [Link("Event page", event.url)] + list(event.links):
        url = web(link.url, base)
        if url and url not in kept:
            kept[url] = Link(clean(link.label) or url, url)
    return tuple(kept.values())


def source_keys(record: ScheduleRecord) -> list[str]:
    """Each event's identity: its guid, else its id with the acronym; never shared."""
    seen: dict[str, str] = {}
    for event in record.events:
        upstream = event.upstream_id.strip()
        key = event.guid.strip() or (f"{record.acronym.strip()}/{upstream}" if upstream else "")
        if not key:
            raise SourceError(f"{event.where}: the event has neither a guid nor an id")
        if key in seen:
            raise SourceError(f"{event.where}: the event key {key!r} is also that of the event at "
                              f"{seen[key]}; each event needs its own guid or id")
        seen[key] = event.where
    return list(seen)


def build_programme(record: ScheduleRecord, origin: str, options: ImportOptions) -> Programme:
    """One session of the file's events in order of start (then file order); ids are given
    in that order, so the same file always gives the same ids."""
    session_id = slugify(record.acronym)
    if not session_id:
        raise SourceError(f"{origin}: the conference acronym {record.acronym!r} gives no id; "
                          "it needs letters or digits")
    base = web(record.base_url)
    zone = zone_of(record, origin, options)
    keys = source_keys(record)
    timed = sorted(((starts(e, zone), e, key) for e, key in zip(record.events, keys)), key=lambda t: t[0])
    ids, names, known, events = set(), set(), {}, []
    for start, raw, key in timed:
        label, title = clean(raw.type_label) or "Event", clean(raw.title)
        if not title:
            raise SourceError(f"{raw.where}: the event's title is empty")
        abstract, description = readable(raw.abstract), readable(raw.description)  # often the same text
        hours, minutes, seconds = numbers(raw.duration, DURATION, "a duration HH:MM or HH:MM:SS")
        events.append(Event(
            id=unique(event_slug(title, label, start), slugify(raw.upstream_id or raw.guid), ids),
            session_id=session_id, type=type_id(label), type_label=label, title=title,
            authors=authors(raw.persons, known, names), abstract=abstract,
            description="" if description == abstract else description, start=start,
            end=zone.normalize(start + timedelta(hours=hours, minutes=minutes, seconds=seconds)),
            day=iso(raw.day, date), url=web(raw.url, base), links=links_of(raw, base),
            subtitle=clean(raw.subtitle), track=clean(raw.track), room=clean(raw.room),
            language=clean(raw.language), source_key=key, extra=raw.extra, status=CONFIRMED, sequence=0,
            created=options.stamp, last_modified=options.stamp))
    title = clean(record.title) or clean(record.acronym)
    session = Session(session_id, title, "", (), web(record.url), tuple(events))
    return Programme(Conference(name=title, venue=title, timezone=zone.zone), (session,))
