"""How long reconciling a re-import takes, at 1,500 and 15,000 events, for several mixes of changes.

Each mix is made from the synthetic programme the way re-imports change real ones, and
exercises one of `changes.py`'s rules in bulk: talks retitled (found by slot), Q&As and
breaks moved (found by type, title and nearest start, the rule that once compared every
candidate with every other), events dropped and added, and all of it at once. Also the
import of a generated frab `schedule.xml` of the same size, parsed and built. The
figures are wall-clock seconds on this machine, best of three; ratios are per event,
15,000 against 1,500, from the same run.

    python -m bench.reconcile
"""
from __future__ import annotations

import random
import time
from dataclasses import replace
from datetime import datetime, timedelta, timezone

from bench.synthetic import frab_xml, generate
from feedsvc.changes import reconcile
from feedsvc.model import Event, Programme
from feedsvc.sources import ImportOptions, parse_source

STAMP = datetime(2026, 12, 1, tzinfo=timezone.utc)
SIZES = (1500, 15000)


def edited(programme: Programme, edit) -> Programme:
    """`programme` with `edit(event)` applied to each event (an event, or None to drop it),
    and the Q&As' lists of talks following, as an import would make them."""
    done = {e.id: edit(e) for e in programme.events}
    renamed = {old: new.id for old, new in done.items() if new is not None}

    def follow(event: Event) -> Event:
        return replace(event, covers=tuple(renamed[c] for c in event.covers if c in renamed))
    sessions = tuple(replace(s, events=tuple(follow(done[e.id]) for e in s.events if done[e.id] is not None))
                     for s in programme.sessions)
    return replace(programme, sessions=sessions)


def retitled(event: Event) -> Event:
    return replace(event, id=f"{event.id}-v2", title=event.title + " (v2)") if event.authors else event


def moved(event: Event) -> Event:
    """A Q&A or break five minutes later: its id (type and start) changes with it."""
    if event.authors:
        return event
    start, end = event.start + timedelta(minutes=5), event.end + timedelta(minutes=5)
    return replace(event, id=f"{event.type}-{start:%Y%m%d-%H%M}", start=start, end=end)


def mixed(rng: random.Random):
    def edit(event: Event) -> Event | None:
        roll = rng.random()
        if roll < 0.05:
            return None
        if roll < 0.10:
            return retitled(event)
        if roll < 0.20:
            return moved(event)
        if roll < 0.25:
            return replace(event, abstract=event.abstract + " Updated.")
        return event
    return edit


def mixes(programme: Programme) -> dict[str, Programme]:
    added = replace(programme, sessions=programme.sessions + tuple(
        replace(s, id=f"{s.id}-extra", events=tuple(replace(e, id=f"{e.id}-extra", session_id=f"{s.id}-extra")
                                                    for e in s.events))
        for s in programme.sessions[: len(programme.sessions) // 10]))
    return {
        "unchanged": programme,
        "every talk retitled": edited(programme, retitled),
        "every Q&A and break moved": edited(programme, moved),
        "10% dropped": edited(programme, lambda e: None if hash(e.id) % 10 == 0 else e),
        "10% added": added,
        "mixed (5% dropped, 5% retitled, 10% moved, 5% edited)": edited(programme, mixed(random.Random(7))),
    }


def best(seconds: int, action) -> float:
    times = []
    for _ in range(seconds):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    results: dict[str, dict[int, float]] = {}
    for size in SIZES:
        programme = generate(size)
        for name, fresh in mixes(programme).items():
            results.setdefault(name, {})[size] = best(3, lambda: reconcile(programme, fresh, STAMP))
        xml = frab_xml(programme)
        results.setdefault(f"import a frab schedule.xml ({len(xml) / size / 1000:.1f} KB an event)", {})[size] = best(
            3, lambda: parse_source(xml, "schedule.xml", ImportOptions(STAMP)))
    small, large = SIZES
    print(f"| what | {small:,} events | {large:,} events | per event, {large:,} vs {small:,} |")
    print("|---|---|---|---|")
    for name, timing in results.items():
        ratio = (timing[large] / large) / (timing[small] / small)
        print(f"| {name} | {timing[small]:.3f} s | {timing[large]:.3f} s | {ratio:.2f}x |")


if __name__ == "__main__":
    main()
