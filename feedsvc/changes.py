"""Schedule changes: a fresh import reconciled with the data subscribers already have.

Calendar apps update an event only when its UID stays and its SEQUENCE rises,
and keep an event that silently vanishes from a feed forever. So an event that
changed keeps its id and gets SEQUENCE + 1; one that left the page stays, as
cancelled; one that comes back is restored. Unchanged events keep their data
exactly, so their bytes, and the ETag of a feed of only them, stay the same.

How a fresh event finds the event it continues (the first rule that applies):
1. the same identity: the source's guid (or its id with the conference
   acronym) for schedule exports; for seed pages, which have neither, the same
   id: a talk with the same title, or a Q&A or break of the same type at the same start;
2. a renamed event: the same type, start, end and authors;
3. a moved Q&A or break: the same type and title, the nearest start.
A seed talk both renamed and moved matches nothing: it is cancelled and added anew.
A matched event keeps its readable id; a new one whose id is taken gets a suffix.
Every rule looks its candidates up in an index: no rule compares pairs of events.
"""
from __future__ import annotations

import gc
from bisect import bisect_left
from dataclasses import dataclass, field, replace
from datetime import datetime

from .model import CANCELLED, CONFIRMED, Author, Event, Programme, Session, slugify, unique

SUMMARY_IDS = 20  # ids listed per kind of change; the rest are counted

# What an event's calendar entry is made of, by the name a change summary uses.
FIELDS = {
    "time": lambda e, p: (e.start, e.end),
    "day": lambda e, p: e.day,
    "title": lambda e, p: (e.title, e.subtitle),
    "type": lambda e, p: (e.type, e.type_label),
    "authors": lambda e, p: e.authors,
    "abstract": lambda e, p: (e.abstract, e.description),
    "place": lambda e, p: (e.track, e.room, e.language),
    "links": lambda e, p: (e.url, e.links),
    "other fields": lambda e, p: e.extra,
    "covers": lambda e, p: tuple((i, p.events_by_id[i].title, p.events_by_id[i].authors) for i in e.covers),
    "session": lambda e, p: (_about(p.sessions_by_id[e.session_id]), p.conference),
}


def _about(session: Session) -> tuple:
    """What of a session shows in each of its events: not its other events."""
    return session.title, session.area, session.chairs, session.url


@dataclass
class Changes:
    added: list[str] = field(default_factory=list)
    changed: list[tuple[str, list[str]]] = field(default_factory=list)
    cancelled: list[str] = field(default_factory=list)
    restored: list[str] = field(default_factory=list)
    unchanged: int = 0

    def summary(self) -> str:
        """One line per kind of change; a conference's first import does not list 15,000 ids."""
        def listed(ids: list[str]) -> str:
            more = f", and {len(ids) - SUMMARY_IDS} more" if len(ids) > SUMMARY_IDS else ""
            return ", ".join(ids[:SUMMARY_IDS]) + more if ids else "none"
        changed = listed([f"{i} ({', '.join(f)})" for i, f in self.changed])
        return (f"added: {listed(self.added)}\nchanged: {changed}\ncancelled: {listed(self.cancelled)}\n"
                f"restored: {listed(self.restored)}\nunchanged: {self.unchanged}")


def changed_fields(old: Event, old_programme: Programme, new: Event, new_programme: Programme) -> list[str]:
    return [name for name, value in FIELDS.items() if value(old, old_programme) != value(new, new_programme)]


def _index(events, key) -> dict[object, list[Event]]:
    """Events by `key(event)`, in their order: each rule looks its candidates up, not scans."""
    index: dict[object, list[Event]] = {}
    for event in events:
        index.setdefault(key(event), []).append(event)
    return index


def _slot(event: Event) -> tuple:
    return event.type, event.start, event.end, event.authors


def _titled(event: Event) -> tuple:
    return event.type, event.title


def match_events(previous: Programme, fresh: Programme) -> dict[str, str]:
    """Fresh event id to the previous event id it continues, by the module's rules."""
    by_identity = {e.identity: e.id for e in previous.events}
    matches = {e.id: by_identity[e.identity] for e in fresh.events if e.identity in by_identity}
    taken = set(matches.values())
    unmatched = [o for o in previous.events if o.id not in taken]
    by_slot = _index(unmatched, _slot)
    for event in [e for e in fresh.events if e.id not in matches]:
        found = next((c for c in by_slot.get(_slot(event), ()) if c.id not in taken), None)
        if found:
            matches[event.id] = found.id
            taken.add(found.id)
    untitled = _index([e for e in fresh.events if e.id not in matches and not e.authors], _titled)
    candidates = _index([o for o in unmatched if o.id not in taken and not o.authors], _titled)
    for key, events in untitled.items():
        matches.update(_nearest(events, candidates.get(key, [])))
    return matches


def _nearest(events: list[Event], candidates: list[Event]) -> dict[str, str]:
    """Each event to the free candidate nearest in start, in order of start.

    Both lists are in order of start, so the nearest free candidate is found by
    bisection: no event compares itself with every candidate.
    """
    found, free = {}, list(candidates)
    for event in events:
        if not free:
            break
        place = bisect_left(free, event.start, key=lambda c: c.start)
        around = [i for i in (place - 1, place) if 0 <= i < len(free)]
        best = min(around, key=lambda i: abs((free[i].start - event.start).total_seconds()))
        found[event.id] = free.pop(best).id
    return found


def unique_ids(fresh: Programme, previous: Programme, matches: dict[str, str]) -> dict[str, str]:
    """The ids fresh events take: a matched event its previous id; a new one its own,
    with a suffix if a previous event (kept, even when cancelled) already has it."""
    renames = {new: old for new, old in matches.items() if new != old}
    used = set(previous.events_by_id) | {e.id for e in fresh.events if e.id not in matches}
    for event in fresh.events:
        if event.id not in matches and event.id in previous.events_by_id:
            renames[event.id] = unique(event.id, "", used)
    return renames


def reconcile(previous: Programme, fresh: Programme, stamp: datetime) -> tuple[Programme, Changes]:
    """The programme to publish after importing `fresh` over `previous`, and what changed.

    Python's cyclic garbage collector is paused meanwhile: the work makes no cycles, and
    at 15,000 events the collector's walks over the heap cost a third of the time (measured)."""
    paused = gc.isenabled()
    gc.disable()
    try:
        return _reconcile(previous, fresh, stamp)
    finally:
        if paused:
            gc.enable()


def _reconcile(previous: Programme, fresh: Programme, stamp: datetime) -> tuple[Programme, Changes]:
    fresh = _published_authors(previous, fresh)
    matches = match_events(previous, fresh)
    fresh = fresh.with_ids(unique_ids(fresh, previous, matches))
    changes = Changes()
    events = [_continue(previous.events_by_id.get(e.id), previous, e, fresh, stamp, changes)
              for e in fresh.events]
    continued = set(matches.values())
    for old in previous.events:
        if old.id not in continued:
            if old.status == CONFIRMED:
                changes.cancelled.append(old.id)
                old = replace(old, status=CANCELLED, sequence=old.sequence + 1, last_modified=stamp)
            else:
                changes.unchanged += 1
            events.append(old)
    return _regroup(previous, fresh, events), changes


def _continue(old: Event | None, previous: Programme, new: Event, fresh: Programme, stamp: datetime,
              changes: Changes) -> Event:
    """`new` carrying the history of `old`: its stamps if unchanged, else the next SEQUENCE."""
    if old is None:
        changes.added.append(new.id)
        return new
    if old.status == CANCELLED:
        changes.restored.append(new.id)
    elif fields := changed_fields(old, previous, new, fresh):
        changes.changed.append((new.id, fields))
    else:
        changes.unchanged += 1
        return replace(old, source_key=new.source_key)  # upstream may re-create an event: its new key
    return replace(new, status=CONFIRMED, sequence=old.sequence + 1, created=old.created, last_modified=stamp)


def _published_authors(previous: Programme, fresh: Programme) -> Programme:
    """`fresh` with each person under the id they were published with, found by the source's
    id for them within their source (frab counts person ids per conference): a namesake who
    comes first in a re-import must not take over their feed. A new person whose id someone
    else was published with gets their upstream id added to it."""
    published = {(e.session_id, a.upstream): a.id for e in previous.events for a in e.authors if a.upstream}
    holders = {ident: key for key, ident in published.items()}
    taken = {a.id for a in previous.authors} | {a.id for a in fresh.authors}
    ids: dict[tuple[str, Author], str] = {}
    for event in fresh.events:
        for author in event.authors:
            key = (event.session_id, author.upstream)
            if (event.session_id, author) in ids or not author.upstream:
                continue
            if key in published:
                ids[event.session_id, author] = published[key]
            elif author.id in holders and holders[author.id] != key:
                ids[event.session_id, author] = unique(author.id, slugify(author.upstream), taken)
    if all(ident == author.id for (_, author), ident in ids.items()):
        return fresh

    def renamed(event: Event) -> Event:
        return replace(event, authors=tuple(replace(a, id=ids.get((event.session_id, a), a.id))
                                            for a in event.authors))
    return replace(fresh, sessions=tuple(replace(s, events=tuple(map(renamed, s.events))) for s in fresh.sessions))


def _regroup(previous: Programme, fresh: Programme, events: list[Event]) -> Programme:
    """Events back into their sessions, by start; a session gone from the seeds stays, cancelled."""
    sessions: list[Session] = list(fresh.sessions)
    sessions += [s for s in previous.sessions if s.id not in fresh.sessions_by_id]
    by_session = _index(events, lambda e: e.session_id)
    grouped = tuple(replace(s, events=tuple(sorted(by_session.get(s.id, []), key=lambda e: e.start)))
                    for s in sessions)
    return replace(fresh, sessions=grouped)
