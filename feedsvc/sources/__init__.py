"""Where programmes come from: one module per source format, and several sources made one.

Each format module has `recognises(content) -> bool` and
`parse(content, origin, options) -> Programme`. The format is recognised from
the content, never from the file name: exports are served under any name
(pretalx's `/schedule/export/schedule.json`, a frab `schedule.xml`, a
`programme.json` manifest). Adding a format is one module and one entry in `FORMATS`.
"""
from __future__ import annotations

from dataclasses import replace

from ..model import Programme, unique
from . import frab_xml, schedule_json, seedpage
from .common import ImportOptions, SourceError

__all__ = ["FORMATS", "ImportOptions", "SourceError", "combine", "parse_source"]

FORMATS = {
    "a frab/pretalx/Pentabarf schedule.xml": frab_xml,
    "a c3voc/pretalx schedule.json": schedule_json,
    "a seed manifest such as seeds/programme.json": seedpage,
}


def parse_source(content: bytes, origin: str, options: ImportOptions) -> Programme:
    """The programme in `content`, read from `origin` (a path or URL, for messages)."""
    for module in FORMATS.values():
        if module.recognises(content):
            try:
                return module.parse(content, origin, options)
            except (RecursionError, OverflowError) as error:  # nested too deeply; a date past year 9999
                raise SourceError(f"{origin}: cannot be read: {error}") from error
    raise SourceError(f"{origin}: not a schedule feedsvc can read; accepted: {'; '.join(FORMATS)}")


def combine(parts: list[tuple[str, Programme]]) -> Programme:
    """Several sources' programmes as one, e.g. a main schedule and a workshop schedule.

    Sources must agree on the zone, and no event or session may be claimed by
    two of them (the error names both). Readable ids are per source, so two
    sources may both have an "opening": the later one becomes "opening-<its session>".
    """
    (first_origin, first), *rest = parts
    sessions, owners, taken = list(first.sessions), _owners(first_origin, first), {e.id for e in first.events}
    for origin, programme in rest:
        if programme.conference.timezone != first.conference.timezone:
            raise SourceError(f"{origin} is in {programme.conference.timezone} but {first_origin} is in "
                              f"{first.conference.timezone}: one programme has one zone")
        for ident, where in _owners(origin, programme).items():
            if ident in owners:
                raise SourceError(f"{ident!r} is in both {owners[ident]} and {where}: "
                                  "ids that collide across sources cannot make one programme")
            owners[ident] = where
        ids = {e.id for e in programme.events}
        programme = programme.with_ids({e.id: unique(e.id, e.session_id, taken | ids)
                                        for e in programme.events if e.id in taken})
        taken |= {e.id for e in programme.events}
        sessions += programme.sessions
    return replace(first, sessions=tuple(sessions))


def _owners(origin: str, programme: Programme) -> dict[str, str]:
    """Every identity a source claims (its sessions' ids and its events'), to the source."""
    owned = {f"session {s.id}": origin for s in programme.sessions}
    owned.update({e.identity: origin for e in programme.events})
    return owned
