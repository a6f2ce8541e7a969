"""Schedule changes: a fresh import reconciled with the data subscribers already have.

Calendar apps update an event only when its UID stays and its SEQUENCE rises,
and keep an event that silently vanishes from a feed forever. So an event that
changed keeps its id and gets SEQUENCE + 1; one that left the page stays, as
cancelled; one that comes back is restored. Unchanged events keep their data
exactly, so their bytes, and the ETag of a feed of only them, stay the same.

How a fresh event finds the event it continues (the first rule that applies):
1. the same id: a talk with the same title, or a Q&A or break of the same type
   at the same start;
2. a renamed event: the same type, start, end and authors;
3. a moved Q&A or break: the same type and title, the nearest start.
A talk both renamed and moved matches nothing: it is cancelled and added anew.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime

from .model import CANCELLED, CONFIRMED, Event, Programme, Session

# What an event's calendar entry is made of, by the name a change summary uses.
FIELDS = {
    "time": lambda e, p: (e.start, e.end),
    "title": lambda e, p: e.title,
    "type": lambda e, p: (e.type, e.type_label),
    "authors": lambda e, p: e.authors,
    "abstract": lambda e, p: e.abstract,
    "links": lambda e, p: e.links,
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
        def listed(ids: list[str]) -> str:
            return ", ".join(ids) if ids else "none"
        changed = ", ".join(f"{i} ({', '.join(f)})" for i, f in self.changed) or "none"
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
    matches = {e.id: e.id for e in fresh.events if e.id in previous.events_by_id}
    taken = set(matches.values())
    by_slot = _index(previous.events, _slot)
    by_title = _index([o for o in previous.events if not o.authors], _titled)

    def claim(event: Event, candidates: list[Event]) -> None:
        free = [c for c in candidates if c.id not in taken]
        if free:
            best = min(free, key=lambda c: abs((c.start - event.start).total_seconds()))
            matches[event.id] = best.id
            taken.add(best.id)

    for event in [e for e in fresh.events if e.id not in matches]:
        claim(event, by_slot.get(_slot(event), []))
    for event in [e for e in fresh.events if e.id not in matches and not e.authors]:
        claim(event, by_title.get(_titled(event), []))
    return matches


def reconcile(previous: Programme, fresh: Programme, stamp: datetime) -> tuple[Programme, Changes]:
    """The programme to publish after importing `fresh` over `previous`, and what changed."""
    matches = match_events(previous, fresh)
    fresh = _with_ids(fresh, {new: old for new, old in matches.items() if new != old})
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
        return old
    return replace(new, status=CONFIRMED, sequence=old.sequence + 1, created=old.created, last_modified=stamp)


def _with_ids(fresh: Programme, renamed: dict[str, str]) -> Programme:
    """`fresh` with matched events, and the Q&As' references to them, under their previous ids."""
    if not renamed:
        return fresh

    def renaming(event: Event) -> Event:
        return replace(event, id=renamed.get(event.id, event.id),
                       covers=tuple(renamed.get(c, c) for c in event.covers))
    return replace(fresh, sessions=tuple(replace(s, events=tuple(map(renaming, s.events)))
                                         for s in fresh.sessions))


def _regroup(previous: Programme, fresh: Programme, events: list[Event]) -> Programme:
    """Events back into their sessions, by start; a session gone from the seeds stays, cancelled."""
    sessions: list[Session] = list(fresh.sessions)
    sessions += [s for s in previous.sessions if s.id not in fresh.sessions_by_id]
    by_session = _index(events, lambda e: e.session_id)
    grouped = tuple(replace(s, events=tuple(sorted(by_session.get(s.id, []), key=lambda e: e.start)))
                    for s in sessions)
    return replace(fresh, sessions=grouped)
