"""Seed manifests (a session's web page saved as text, and what it lacks) to a `Programme`.

The page has no year, no zone name beyond "PST" and no links; those come from
the manifest and the links table beside it. Everything is checked, and any
problem stops the import with the file, the line and the reason: a programme
is built whole or not at all.
"""
from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytz

from ..model import (Author, Conference, Event, Link, Programme, Session,
                     slugify, type_id)
from .common import ImportOptions, SourceError, clean, json_object

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun",
          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
# A line that starts like "Tue 8 ..." is meant as a time line; if the strict
# pattern then fails, that is an error, not a line of abstract.
LOOKS_LIKE_TIME = re.compile(r"^(?:%s)[a-z]*\.?\s+\d" % "|".join(WEEKDAYS))
TIME_LINE = re.compile(
    r"^(?P<weekday>%s)[a-z]*\.?\s+(?P<day>\d{1,2})\s+(?P<month>%s)[a-z]*\.?\s+"
    r"(?P<start>\d{1,2}:\d{2})\s*[-\u2013]\s*(?P<end>\d{1,2}:\d{2})\s+(?P<zone>[A-Z]{2,5})$"
    % ("|".join(WEEKDAYS), "|".join(MONTHS)))
AUTHOR_SEPARATOR = " \u00b7 "
TALK_ID_WORDS = 6


class ImporterError(SourceError):
    """Base of the seed importer's errors; the message names the file and what to fix."""


class SeedFormatError(ImporterError):
    def __init__(self, source: str, line: int, reason: str):
        super().__init__(f"{source}:{line}: {reason}")
        self.source, self.line, self.reason = source, line, reason


class LinksError(ImporterError):
    pass


class ManifestError(ImporterError):
    pass


@dataclass(frozen=True)
class SessionSource:
    page: Path
    url: str
    links: Path


@dataclass(frozen=True)
class Manifest:
    """What the pages do not say: the conference, the year, the zone, the links."""

    conference: str
    venue: str
    year: int
    timezone: str
    sessions: tuple[SessionSource, ...]


@dataclass(frozen=True)
class Block:
    """One event as it stands on the page, before ids and links."""

    line: int
    start: datetime
    end: datetime
    type_label: str
    title: str
    authors: tuple[str, ...]
    abstract: str


def recognises(content: bytes) -> bool:
    """A seed manifest: a JSON object whose sessions name the pages they come from."""
    sessions = json_object(content).get("sessions")
    return isinstance(sessions, list) and all(isinstance(s, dict) and "page" in s for s in sessions)


def read_manifest(content: bytes, path: Path) -> Manifest:
    """The manifest in `content`, read from `path`: its pages and tables lie beside it."""
    try:
        raw = json.loads(content)
        sessions = tuple(
            SessionSource(path.parent / s["page"], s["url"], path.parent / s["links"])
            for s in raw["sessions"])
        manifest = Manifest(raw["conference"], raw["venue"], int(raw["year"]),
                            raw["timezone"], sessions)
    except (ValueError, KeyError, TypeError) as error:
        raise ManifestError(f"{path}: not a usable manifest ({error!r}); it needs "
                            "conference, venue, year, timezone and sessions "
                            "[{page, url, links}]") from error
    if manifest.timezone not in pytz.all_timezones_set:
        raise ManifestError(f"{path}: unknown timezone {manifest.timezone!r}; "
                            "use an IANA name such as 'America/Los_Angeles'")
    if not sessions:
        raise ManifestError(f"{path}: lists no sessions")
    return manifest


def parse_time_line(text: str, line: int, source: str, year: int, zone) -> tuple[datetime, datetime]:
    """Both ends of a slot as aware datetimes, after checking weekday and zone."""
    def fail(reason: str):
        raise SeedFormatError(source, line, f"{reason}: {text!r}")

    match = TIME_LINE.match(text)
    if not match:
        fail("a time line must read like 'Tue 8 Dec. 6:00 - 6:15 PST'")
    month = MONTHS.index(match["month"]) + 1
    times = []
    for clock in (match["start"], match["end"]):
        hour, minute = map(int, clock.split(":"))
        try:
            naive = datetime(year, month, int(match["day"]), hour, minute)
            times.append(zone.localize(naive, is_dst=None))
        except ValueError as error:  # pytz's ambiguous/non-existent times are ValueErrors too
            fail(f"no such time in {year} ({error})")
    start, end = times
    if WEEKDAYS[start.weekday()] != match["weekday"]:
        fail(f"{start:%d %b %Y} is a {WEEKDAYS[start.weekday()]}, not a {match['weekday']}")
    if start.tzname() != match["zone"]:
        fail(f"the zone {zone.zone} is {start.tzname()} on that date, not {match['zone']}")
    if end <= start:
        fail("the slot ends before it starts")
    return start, end


def split_lines(text: str) -> list[tuple[int, str]]:
    return [(number, clean(line)) for number, line in enumerate(text.splitlines(), 1)]


def parse_header(lines: list[tuple[int, str]], source: str) -> tuple[str, tuple[str, ...]]:
    """The session title and chairs: the first two non-empty lines after "Session"."""
    filled = [(n, t) for n, t in lines if t]
    for index, (_, text) in enumerate(filled):
        if text == "Session" and len(filled) > index + 2:
            title, chairs = filled[index + 1][1], filled[index + 2][1]
            return title, tuple(c.strip() for c in chairs.split(AUTHOR_SEPARATOR.strip()))
    line = filled[0][0] if filled else 1
    raise SeedFormatError(source, line, "no header: expected a line 'Session', "
                          "then the session title, then the chairs")


def parse_block(time_line: tuple[int, str], body: list[tuple[int, str]], source: str,
                year: int, zone) -> Block:
    """Type, title, authors and abstract paragraphs of one slot."""
    number, text = time_line
    start, end = parse_time_line(text, number, source, year, zone)
    filled = [t for _, t in body if t]
    if len(filled) < 2:
        raise SeedFormatError(source, number, "the block after this time line has no "
                              "title (expected a type line, then a title line)")
    authors = tuple(a.strip() for a in filled[2].split(AUTHOR_SEPARATOR)) if len(filled) > 2 else ()
    return Block(number, start, end, filled[0], filled[1], authors, paragraphs(body[_after(body, 3):]))


def _after(body: list[tuple[int, str]], count: int) -> int:
    """The index in `body` just past its first `count` non-empty lines."""
    seen = 0
    for index, (_, text) in enumerate(body):
        seen += bool(text)
        if seen == count:
            return index + 1
    return len(body)


def paragraphs(body: list[tuple[int, str]]) -> str:
    """Text with the page's paragraphs kept, one blank line between them."""
    result, current = [], []
    for _, text in body + [(0, "")]:
        if text:
            current.append(text)
        elif current:
            result.append("\n".join(current))
            current = []
    return "\n\n".join(result)


def parse_page(text: str, source: str, year: int, zone) -> tuple[str, tuple[str, ...], list[Block]]:
    """Title, chairs and blocks of a seed page, in page order."""
    lines = split_lines(text)
    starts = [i for i, (_, t) in enumerate(lines) if LOOKS_LIKE_TIME.match(t)]
    if not starts:
        raise SeedFormatError(source, 1, "no time lines such as 'Tue 8 Dec. 6:00 - 6:15 PST'")
    title, chairs = parse_header(lines[:starts[0]], source)
    ends = starts[1:] + [len(lines)]
    blocks = [parse_block(lines[s], lines[s + 1:e], source, year, zone) for s, e in zip(starts, ends)]
    return title, chairs, blocks


def read_links(path: Path) -> dict[str, tuple[int, tuple[Link, ...]]]:
    """Title to (line, links), from the tab-separated links table."""
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            rows = list(csv.DictReader(handle, delimiter="\t"))
    except OSError as error:
        raise LinksError(f"{path}: cannot read ({error.strerror})") from error
    columns = {"title", "talk_url", "paper_url", "arxiv_url", "code_url"}
    if rows and not columns <= set(rows[0]):
        raise LinksError(f"{path}: needs the columns {', '.join(sorted(columns))}")
    table = {}
    for line, row in enumerate(rows, 2):
        if not (row["talk_url"] or "").startswith("https://"):
            raise LinksError(f"{path}:{line}: talk_url must be an https:// URL")
        labelled = (("Talk", row["talk_url"]), ("Paper", row["paper_url"]),
                    ("Preprint", row["arxiv_url"]), ("Code", row["code_url"]))
        table[clean(row["title"])] = (line, tuple(Link(label, url) for label, url in labelled if url))
    return table


def event_id(block: Block) -> str:
    """Talks are named after their title (the part before a colon, at most six
    words); Q&As and breaks, which repeat titles, after their type and start."""
    if not block.authors:
        return f"{type_id(block.type_label)}-{block.start:%Y%m%d-%H%M}"
    short = block.title.split(":")[0] if ":" in block.title else block.title
    return "-".join(slugify(short).split("-")[:TALK_ID_WORDS])


def covered_talks(previous: list[Event], qa_title: str) -> tuple[str, ...]:
    """The talks a Q&A is about: those since the last Q&A or break, narrowed to
    the types its title names ("… Preceeding Spotlights") when it names any."""
    since = []
    for event in reversed(previous):
        if not event.authors:
            break
        since.insert(0, event)
    named = {e.type for e in since if e.type in qa_title.casefold()}
    return tuple(e.id for e in since if not named or e.type in named)


def build_session(source: SessionSource, manifest: Manifest, stamp: datetime) -> Session:
    """The session of one page. A page names no rooms or tracks: each event is in the
    session's own room (its stream) and in the track of its area."""
    zone = pytz.timezone(manifest.timezone)
    try:
        text = source.page.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ImporterError(f"{source.page}: cannot read the page ({error})") from error
    title, chairs, blocks = parse_page(text, str(source.page), manifest.year, zone)
    links = read_links(source.links)
    session_id = slugify(title)
    area = title.rsplit(": ", 1)[-1]
    events: list[Event] = []
    for block in blocks:
        if block.authors and block.title not in links:
            raise LinksError(f"{source.page}:{block.line}: the talk {block.title!r} has "
                             f"no row in {source.links}")
        ident = event_id(block)
        if any(e.id == ident for e in events):
            raise SeedFormatError(str(source.page), block.line, f"two events would share the id {ident!r}")
        events.append(Event(
            id=ident, session_id=session_id, type=type_id(block.type_label),
            type_label=block.type_label, title=block.title,
            authors=tuple(Author(slugify(name), name) for name in block.authors),
            abstract=block.abstract, start=block.start, end=block.end, day=block.start.date(),
            url=links[block.title][1][0].url if block.authors else source.url,
            links=links[block.title][1] if block.authors else (Link("Session", source.url),),
            room=title, track=area,
            covers=covered_talks(events, block.title) if type_id(block.type_label) == "qa" else (),
            created=stamp, last_modified=stamp))
    talks = {b.title for b in blocks if b.authors}
    for unused, (line, _) in sorted(links.items(), key=lambda item: item[1][0]):
        if unused not in talks:
            raise LinksError(f"{source.links}:{line}: no talk titled {unused!r} on {source.page}")
    return Session(session_id, title, area, chairs, source.url, tuple(events))


def parse(content: bytes, origin: str, options: ImportOptions) -> Programme:
    """The programme a seed manifest describes, every event stamped `options.stamp`."""
    if "://" in origin:
        raise ManifestError(f"{origin}: a seed manifest names pages beside it: give it as a local file")
    manifest = read_manifest(content, Path(origin))
    sessions = tuple(build_session(s, manifest, options.stamp) for s in manifest.sessions)
    return Programme(Conference(manifest.conference, manifest.venue, manifest.timezone), sessions)
