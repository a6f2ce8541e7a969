"""schedule.xml (frab, pretalx, Pentabarf, c3voc) to a `Programme`.

Only the reading is here: the raw values go into a `ScheduleRecord` with the line of
each, and `common.build_programme` makes the programme. A DTD is refused outright:
a schedule never needs one, and entities are how XML files read other files
(``<!ENTITY x SYSTEM "file:///etc/passwd">``) or blow up in memory (billion laughs).
"""
from __future__ import annotations

import codecs
import re

from lxml import etree

from ..model import Author, Link, Programme
from .common import (EventRecord, ImportOptions, Located, ScheduleRecord, SourceError, build_programme,
                     extras)

# What may stand before the root element: whitespace, the XML declaration, comments, PIs.
PROLOG = re.compile(rb"(?:[ \t\r\n]+|<\?.*?\?>|<!--.*?-->)*", re.S)


def _after_prolog(content: bytes) -> bytes:
    body = content.removeprefix(codecs.BOM_UTF8)
    return body[PROLOG.match(body).end():]


def recognises(content: bytes) -> bool:
    """Any XML document, told by its first bytes, unparsed: `parse` then refuses one with a
    DOCTYPE, or whose root is not <schedule>, saying so (UTF-16 ones included)."""
    return content.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or _after_prolog(content).startswith(b"<")


def _refused(origin: str) -> SourceError:
    return SourceError(f"{origin}: refused: the XML has a DOCTYPE (DTDs and entities are not "
                       "accepted in a schedule)")


def _root(content: bytes, origin: str) -> etree._Element:
    if _after_prolog(content).startswith(b"<!DOCTYPE"):
        raise _refused(origin)
    try:
        parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
        root = etree.fromstring(content, parser)  # a parser per call: lxml parsers are not thread-safe
    except etree.XMLSyntaxError as error:
        raise SourceError(f"{origin}:{error.lineno}: not well-formed XML: {error.msg}") from error
    info = root.getroottree().docinfo
    if info.doctype or info.internalDTD is not None or info.externalDTD is not None:
        raise _refused(origin)  # a DOCTYPE the byte check missed, as in a UTF-16 file
    if root.tag != "schedule":
        raise SourceError(f"{origin}:{root.sourceline}: the root element is <{root.tag}>, not <schedule>")
    return root


class Reader:
    """The values of one file's elements, each error naming the file and the line."""

    def __init__(self, origin: str):
        self.origin = origin

    def where(self, element: etree._Element) -> str:
        return f"{self.origin}:{element.sourceline}"

    def child(self, parent: etree._Element, name: str) -> etree._Element:
        found = parent.find(name)
        if found is None:
            raise SourceError(f"{self.where(parent)}: <{parent.tag}> has no <{name}>")
        return found

    def text(self, parent: etree._Element, name: str) -> str:
        found = parent.find(name)
        return "" if found is None else "".join(found.itertext())

    def located(self, parent: etree._Element, name: str) -> Located | None:
        """An optional time value; an empty element counts as absent."""
        text = self.text(parent, name)
        return Located(text, self.where(parent.find(name))) if text.strip() else None

    def required(self, parent: etree._Element, name: str) -> Located:
        found = self.child(parent, name)
        return Located("".join(found.itertext()), self.where(found))

    def event(self, element: etree._Element, day: etree._Element, room: str) -> EventRecord:
        self.child(element, "title")
        day_start = day.get("start", "")
        return EventRecord(
            where=self.where(element), day=Located(day.get("date", ""), self.where(day)),
            day_start=Located(day_start, self.where(day)) if day_start.strip() else None,
            date=self.located(element, "date"), start=self.located(element, "start"),
            duration=self.required(element, "duration"),
            guid=element.get("guid", ""), upstream_id=element.get("id", ""),
            title=self.text(element, "title"), subtitle=self.text(element, "subtitle"),
            type_label=self.text(element, "type"), track=self.text(element, "track"),
            room=self.text(element, "room").strip() or room, language=self.text(element, "language"),
            abstract=self.text(element, "abstract"), description=self.text(element, "description"),
            url=self.text(element, "url"),
            persons=tuple(Author("", "".join(p.itertext()), p.get("guid") or p.get("code") or p.get("id", ""))
                          for p in element.iterfind("persons/person")),
            links=tuple(Link("".join(link.itertext()), link.get("href", "")) for path in ("links/link", "attachments/attachment")
                        for link in element.iterfind(path)),
            extra=extras((child.tag, "".join(child.itertext())) for child in element
                         if isinstance(child.tag, str) and not len(child)))

    def schedule(self, root: etree._Element) -> ScheduleRecord:
        conference = self.child(root, "conference")
        self.child(conference, "acronym")
        events = []
        for day in root.iterfind("day"):
            if not day.get("date", "").strip():
                raise SourceError(f"{self.where(day)}: <day> has no date attribute")
            for room in day.iterfind("room"):
                events += [self.event(e, day, room.get("name", "")) for e in room.iterfind("event")]
        return ScheduleRecord(
            acronym=self.text(conference, "acronym"), title=self.text(conference, "title"),
            url=self.text(conference, "url").strip() or self.text(conference, "base_url"),
            time_zone_name=self.text(conference, "time_zone_name"), events=tuple(events),
            base_url=self.text(conference, "base_url") or self.text(root, "base_url"))


def parse(content: bytes, origin: str, options: ImportOptions) -> Programme:
    return build_programme(Reader(origin).schedule(_root(content, origin)), origin, options)
