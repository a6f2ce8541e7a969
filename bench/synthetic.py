"""Deterministic synthetic programmes of any size, shaped like the seed session.

The benchmark needs conferences of 1,500 and 15,000 events, and no such data
is shipped. Every session here has the seed's timetable (3 orals, a break,
4 spotlights, a Q&A, 4 spotlights, a Q&A, a break: 3 hours), talks have
seed-like titles, 2 to 7 authors and abstracts of 600 to 1,900 characters,
and authors are drawn from a shared pool with a long tail, so a few of them
give many talks (their feeds are the big author feeds). Sessions run in
parallel tracks (at least four), five slots a day over a six-day week. The same `events` and
`seed` always give the same programme, byte for byte.

    python -m bench.synthetic 1500 --output bench/out/programme-1500.json
    python -m bench.synthetic 1500 --frab --output bench/out/schedule-1500.xml
"""
from __future__ import annotations

import argparse
import random
import uuid
import zlib
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from math import ceil
from pathlib import Path

import pytz
from lxml import etree

from feedsvc.model import (CANCELLED, CONFIRMED, Author, Conference, Event, Link,
                           Programme, Session, slugify, type_id, unique)
from feedsvc.sources.seedpage import Block, covered_talks, event_id
from feedsvc.store import write_programme

CONFERENCE = Conference("NeurIPS 2020", "NeurIPS 2020 (virtual)", "America/Los_Angeles")
FIRST_DAY = datetime(2020, 12, 7)  # a Monday
DAYS, SLOTS_PER_DAY, FIRST_HOUR, SLOT_HOURS = 6, 5, 6, 3
MIN_TRACKS = 4  # sessions at the same time; more once the week is full
STAMP = datetime(2026, 11, 27, tzinfo=timezone.utc)
QA_TITLE = "Joint Q&A for Preceeding Spotlights"  # the seed's spelling
# The seed session's timetable: (type label, minutes).
TIMETABLE = ([("Oral", 15)] * 3 + [("Break", 15)] + [("Spotlight", 10)] * 4 + [("Q&A", 10)]
             + [("Spotlight", 10)] * 4 + [("Q&A", 10)] + [("Break", 20)])

AREAS = ("Deep Learning", "Reinforcement Learning", "Optimization", "Learning Theory",
         "Computer Vision", "Natural Language Processing", "Probabilistic Methods",
         "Graph Learning", "Fairness and Privacy", "Neuroscience and Cognitive Science",
         "Generative Models", "Causality", "Robustness", "Kernel Methods")
FIRST_NAMES = ("Shaojie", "Vladlen", "Tomer", "Lior", "Tero", "Miika", "Janne", "Samuli", "Edoardo",
               "Artem", "Benoit", "Pascal", "Nasir", "Hongyu", "Ankit", "Dmitry", "Thomas", "Shuxuan",
               "Mathieu", "Yuki", "Ana", "Chiara", "Ingrid", "Olumide", "Priya", "Wei", "Zoë",
               "José", "Søren", "Anaïs", "Łukasz", "Maëlle", "Kenji", "Fatima", "Ravi", "Elena")
SURNAMES = ("Bai", "Koltun", "Kolter", "Galanti", "Wolf", "Karras", "Aittala", "Laine", "Remelli",
            "Lukoianov", "Guillard", "Baqué", "Fua", "Ahmad", "Maennel", "Pensia", "Yarotsky",
            "Limbacher", "Guo", "Salzmann", "Tanaka", "Silva", "Rossi", "Johansson", "Adeyemi",
            "Sharma", "Zhang", "Müller", "García", "Nørgaard", "Dubois", "Kowalski", "Lefèvre",
            "Sato", "Haddad", "Iyer", "Petrova", "van Gerven", "O'Neil", "Núñez")
TITLE_SHAPES = ("{Name}: {Adj} {Thing} for {Task}", "On the {Property} of {Things}",
                "{Adj} {Things} via {Method}", "Learning {Things} with {Method}",
                "When Do {Things} {Verb}? {Adj} {Thing} and {Task}",
                "{Name}: Towards {Adj} {Task} with {Things}",
                "The {Property} of {Adj} {Things} for {Task}")
WORDS = {
    "Name": ("MeshSDF", "ExpandNets", "H-Mem", "GAIT-prop", "DeepSets++", "FlowGAN", "NeuroMPC",
             "SparseLT", "GraphMix", "MetaNorm", "ProtoDiff", "QuantLoRA"),
    "Adj": ("Differentiable", "Implicit", "Provably Robust", "Scalable", "Monotone", "Sparse",
            "Equivariant", "Biologically Plausible", "Over-parameterized", "Self-supervised",
            "Bayesian", "Compact", "Hierarchical", "Fair"),
    "Thing": ("Equilibrium Model", "Hypernetwork", "Lottery Ticket", "Memory Network",
              "Attention Layer", "Normalizing Flow", "Graph Network", "Policy Gradient"),
    "Things": ("Equilibrium Networks", "Hypernetworks", "Lottery Tickets", "Convolutional Networks",
               "Transformers", "Neural Networks", "Random Features", "Diffusion Models"),
    "Task": ("Image Classification", "Semantic Segmentation", "Limited Data", "Iso-Surface Extraction",
             "Continual Learning", "Few-Shot Learning", "Shape Optimization", "Subset Sum"),
    "Property": ("Modularity", "Phase Diagram", "Approximation Rates", "Implicit Bias",
                 "Sample Complexity", "Generalization"),
    "Method": ("Subset Sum", "Hebbian Plasticity", "Backpropagation of Error", "Random Labels",
               "Implicit Differentiation", "Linear Over-parameterization", "Adaptive Augmentation"),
    "Verb": ("Generalize", "Memorize", "Converge", "Learn"),
}
SENTENCES = (
    "We propose a new class of {things} suited to {task}.",
    "{Things} directly solve for the equilibrium points of multiple feature resolutions, using {method} to avoid storing intermediate states.",
    "In both settings, our {thing} is able to match or exceed the performance of recent competitive models (FID from 5.59 to 2.42).",
    "We prove that {things} achieve a bound of $O(\\sqrt{{n}}\\log n)$ on the {property}, and that this rate is tight.",
    "Our key insight is that, by reasoning on how perturbations impact local geometry, one can ultimately differentiate through {method}.",
    "We demonstrate, on several datasets, that good results are now possible using only a few thousand examples; code is at https://github.com/example/{name}.",
    "This sheds light on the {property} of {things} in comparison with embedding-based methods.",
    "Experiments on ImageNet, CIFAR-10 and Cityscapes show consistent gains over strong baselines.",
)


def pick(rng: random.Random, kind: str) -> str:
    return rng.choice(WORDS[kind])


def make_title(rng: random.Random) -> str:
    shape = rng.choice(TITLE_SHAPES)
    return shape.format(**{kind: pick(rng, kind) for kind in WORDS})


def make_abstract(rng: random.Random) -> str:
    """600 to 1,900 characters of sentences, in one to four paragraphs like the seed's."""
    target = rng.randint(600, 1900)
    sentences: list[str] = []
    while sum(map(len, sentences)) < target:
        words = {kind.lower(): pick(rng, kind).lower() for kind in WORDS}
        words.update({kind.capitalize(): text.capitalize() for kind, text in words.items()})
        sentences.append(rng.choice(SENTENCES).format(**words))
    cuts = sorted(rng.sample(range(1, len(sentences)), min(rng.choice((0, 0, 1, 3)), len(sentences) - 1)))
    paragraphs = [sentences[a:b] for a, b in zip([0] + cuts, cuts + [len(sentences)])]
    return "\n\n".join(" ".join(p) for p in paragraphs)


def author_pool(rng: random.Random, size: int) -> list[Author]:
    """`size` authors with distinct ids; middle initials, like "J. Zico Kolter"'s, tell them apart."""
    pool: dict[str, Author] = {}
    while len(pool) < size:
        initials = "".join(f"{rng.choice('ABCDEFGHJKLMNPRSTVW')}. " for _ in range(rng.choice((0, 1, 1, 2))))
        name = f"{rng.choice(FIRST_NAMES)} {initials}{rng.choice(SURNAMES)}"
        pool.setdefault(slugify(name), Author(slugify(name), name))
    return list(pool.values())


def make_links(rng: random.Random) -> tuple[Link, ...]:
    """The seed's labelled links: the talk's page first."""
    key = f"{rng.getrandbits(128):032x}"
    preprint = f"https://arxiv.org/abs/20{rng.randint(1, 12):02d}.{rng.randint(0, 99999):05d}"
    code = f"https://github.com/{rng.choice(SURNAMES).lower().replace(' ', '')}/{key[:8]}"
    return tuple(Link(label, url) for label, url in (
        ("Talk", f"https://neurips.cc/virtual/2020/public/poster_{key}.html"),
        ("Paper", f"https://proceedings.neurips.cc/paper/2020/hash/{key}-Abstract.html"),
        ("Preprint", preprint if rng.random() < 0.85 else ""), ("Code", code if rng.random() < 0.7 else "")) if url)


def session_start(index: int, tracks: int, zone) -> datetime:
    """Session `index` runs in track `index % tracks` of slot `index // tracks`."""
    day, slot = divmod(index // tracks, SLOTS_PER_DAY)
    naive = FIRST_DAY + timedelta(days=day, hours=FIRST_HOUR + slot * SLOT_HOURS)
    return zone.localize(naive)


def make_event(rng: random.Random, slot: tuple[str, int], start: datetime, session: Session, room: str,
               pool: list[Author], earlier: list[Event], taken: set[str]) -> Event:
    """One slot of a session; talks draw authors from the head of the pool more often."""
    label, minutes = slot
    end = start + timedelta(minutes=minutes)
    is_talk = label in ("Oral", "Spotlight")
    authors = tuple(dict.fromkeys(pool[int(len(pool) * rng.random() ** 1.5)]
                                  for _ in range(rng.randint(2, 7)))) if is_talk else ()
    title = make_title(rng) if is_talk else (QA_TITLE if label == "Q&A" else "Break")
    block = Block(0, start, end, label, title, tuple(a.name for a in authors), "")
    changed = rng.random() < 0.1
    links = make_links(rng) if is_talk else (Link("Session", session.url),)
    return Event(
        id=unique(event_id(block), "", taken),  # titles and slot times repeat across sessions
        session_id=session.id, type=type_id(label),
        type_label=label, title=title, authors=authors,
        abstract=make_abstract(rng) if is_talk else "", start=start, end=end, day=start.date(),
        url=links[0].url, links=links, track=session.area, room=room,
        language="en" if rng.random() < 0.9 else "de",
        covers=covered_talks(earlier, title) if label == "Q&A" else (),
        status=CANCELLED if is_talk and rng.random() < 0.01 else CONFIRMED,
        sequence=int(changed), created=STAMP,
        last_modified=STAMP + timedelta(days=rng.randint(1, 9)) if changed else STAMP)


def make_session(rng: random.Random, index: int, slots: int, start: datetime, room: str,
                 pool: list[Author], taken: set[str]) -> Session:
    area = rng.choice(AREAS)
    title = f"Orals & Spotlights Track {index + 1:02d}: {area}"
    chairs = tuple(a.name for a in rng.sample(pool, min(2, len(pool))))
    session = Session(slugify(title), title, area, chairs,
                      f"https://neurips.cc/virtual/2020/public/session_oral_{21000 + index}.html", ())
    events: list[Event] = []
    for slot in TIMETABLE[:slots]:
        events.append(make_event(rng, slot, start, session, room, pool, events, taken))
        start = events[-1].end
    return replace(session, events=tuple(events))


def generate(events: int, seed: int = 2020) -> Programme:
    """A programme of exactly `events` events (the last session may be cut short)."""
    if events < 1:
        raise ValueError("a programme needs at least one event")
    rng = random.Random(seed)
    count = ceil(events / len(TIMETABLE))
    tracks = max(min(count, MIN_TRACKS), ceil(count / (DAYS * SLOTS_PER_DAY)))
    pool = author_pool(rng, max(8, events * 3 // 2))
    zone = pytz.timezone(CONFERENCE.timezone)
    taken: set[str] = set()
    sessions = tuple(
        make_session(rng, index, min(len(TIMETABLE), events - index * len(TIMETABLE)),
                     session_start(index, tracks, zone), f"Hall {index % tracks + 1}", pool, taken)
        for index in range(count))
    return Programme(CONFERENCE, sessions)


def frab_xml(programme: Programme, acronym: str = "neurips2020") -> bytes:
    """`programme` as a frab `schedule.xml`, for the import pipeline at conference size:
    days, then rooms, then events, each with a guid, persons with ids and labelled links."""
    root = etree.Element("schedule")
    etree.SubElement(root, "version").text = "synthetic"
    conference = etree.SubElement(root, "conference")
    for name, text in (("acronym", acronym), ("title", programme.conference.name),
                       ("time_zone_name", programme.conference.timezone)):
        etree.SubElement(conference, name).text = text
    people = {a.id: str(number) for number, a in enumerate(programme.authors, 1)}
    days = sorted({e.day for e in programme.events})
    for index, day in enumerate(days, 1):
        day_element = etree.SubElement(root, "day", index=str(index), date=day.isoformat())
        on_day = [e for e in programme.events if e.day == day]
        for room in dict.fromkeys(e.room for e in on_day):
            room_element = etree.SubElement(day_element, "room", name=room)
            for event in (e for e in on_day if e.room == room):
                add_frab_event(room_element, event, people)
    return etree.tostring(root, xml_declaration=True, encoding="utf-8", pretty_print=True)


def add_frab_event(room: etree._Element, event: Event, people: dict[str, str]) -> None:
    minutes = int((event.end - event.start).total_seconds() // 60)
    element = etree.SubElement(room, "event", guid=str(uuid.uuid5(uuid.NAMESPACE_URL, event.id)),
                               id=str(zlib.crc32(event.id.encode())))
    for name, text in (("date", event.start.isoformat()), ("start", f"{event.start:%H:%M}"),
                       ("duration", f"{minutes // 60:02d}:{minutes % 60:02d}"), ("room", event.room),
                       ("title", event.title), ("type", event.type_label), ("track", event.track),
                       ("language", event.language), ("abstract", event.abstract), ("url", event.url)):
        etree.SubElement(element, name).text = text
    persons = etree.SubElement(element, "persons")
    for author in event.authors:
        etree.SubElement(persons, "person", id=people[author.id]).text = author.name
    links = etree.SubElement(element, "links")
    for link in event.links[1:]:
        etree.SubElement(links, "link", href=link.url).text = link.label


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("events", type=int, help="how many events")
    parser.add_argument("--output", "-o", type=Path, required=True, help="the data file to write")
    parser.add_argument("--seed", type=int, default=2020, help="another seed, another programme")
    parser.add_argument("--frab", action="store_true", help="write a frab schedule.xml, not a data file")
    options = parser.parse_args(argv)
    programme = generate(options.events, options.seed)
    if options.frab:
        options.output.write_bytes(frab_xml(programme))
    else:
        write_programme(programme, options.output)
    print(f"Wrote {options.output}: {len(programme.sessions)} sessions, "
          f"{len(programme.events)} events, {len(programme.authors)} authors.")


if __name__ == "__main__":
    main()
