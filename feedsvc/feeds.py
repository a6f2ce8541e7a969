"""The loaded data and the feeds made from it, independent of HTTP.

A `Catalog` is built once per data file: it holds the programme, every event
rendered once, a bounded cache of rendered feeds (one per filter and base URL
asked for), so a calendar's repeated polls cost a dictionary look-up, the
most recently sent bodies up to a total size, and the answers `replay.py`
repeats without Flask.
"""
from __future__ import annotations

import hashlib
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache, partial
from pathlib import Path
from typing import Protocol

from .encodings import CODINGS, IDENTITY
from .filters import FILTERS
from .ical import FeedMeta, FeedRenderer, Pieces, RenderedFeed
from .model import Event, Programme
from .pieces import event_pieces
from .query import FeedQuery, parse_feed_query
from .store import MAX_DATA_BYTES, load_programme

FEED_CACHE_BYTES = 32 * 2**20  # rendered feeds kept (heads, digests, references), per process
QUERY_CACHE_SIZE = 1024  # distinct query strings kept, each with its parsed query
BODY_CACHE_BYTES = 64 * 2**20  # assembled bodies kept, per process
ANSWER_CACHE_BYTES = 16 * 2**20  # answers kept for replay (feedsvc/replay.py), per process


class Bounded:
    """A least-recently-used mapping whose entries' costs add up to at most `budget`.

    Thread-safe: a worker's threads share it. An entry costing more than
    the whole budget is not kept.
    """

    def __init__(self, budget: int):
        self.budget = budget
        self._entries: OrderedDict = OrderedDict()
        self._costs: dict = {}
        self._total = 0
        self._lock = threading.Lock()

    @property
    def total(self) -> int:
        return self._total

    def get(self, key):
        with self._lock:
            value = self._entries.get(key)
            if value is not None:
                self._entries.move_to_end(key)
            return value

    def put(self, key, value, cost: int = 1) -> None:
        if cost > self.budget:
            return
        with self._lock:
            if key in self._entries:
                return
            self._entries[key] = value
            self._costs[key] = cost
            self._total += cost
            while self._total > self.budget:
                dropped, _ = self._entries.popitem(last=False)
                self._total -= self._costs.pop(dropped)


class OneAtATime:
    """A lock per key, for as long as some thread holds or waits for it."""

    def __init__(self):
        self._lock = threading.Lock()
        self._held: dict = {}  # key: [its lock, how many threads hold it or wait]

    @contextmanager
    def __call__(self, key) -> Iterator[None]:
        with self._lock:
            entry = self._held.setdefault(key, [threading.Lock(), 0])
            entry[1] += 1
        try:
            with entry[0]:
                yield
        finally:
            with self._lock:
                entry[1] -= 1
                if not entry[1]:
                    del self._held[key]


@dataclass(frozen=True)
class Streaming:
    """How a big feed sent uncompressed goes out (`BodyCache`): in parts from what size (0: every
    body whole), how many at once (one fewer than the Procfile's --blocking-threads), and at most
    how fast each (0: as fast as the client reads).

    It holds the slots of those sent at once, and a worker passes the same value to every
    catalog it loads (`LiveCatalog`): slots of each catalog's own would let downloads still
    sending old data and new ones together take every thread.
    """

    from_bytes: int = 4 * 2**20
    at_once: int = 2
    bytes_per_second: int = 100 * 2**20
    slots: threading.BoundedSemaphore = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        object.__setattr__(self, "slots", threading.BoundedSemaphore(self.at_once))


class Body(Protocol):
    """What the service sends: a feed (`RenderedFeed`) or a page or API answer (`views.Rendered`)."""

    etag: str  # strong: names the identity bytes
    size: int  # of the identity bytes
    last_modified: datetime

    def body(self) -> bytes: ...

    def parts(self) -> Iterable[bytes]: ...  # the body's bytes in order, made as they are asked for


class BodyCache:
    """Bodies as sent, in each coding, the most recently sent kept up to `budget` bytes in all.

    Joining a body costs its size on every request, and compressing it much
    more (gzip -6: 0.4 s of CPU for a 31 MB feed): for a conference's big
    feeds that was most of the app's time per request. Keyed by the strong
    ETag, which names the bytes, and the coding. A compressed body is made
    from the body's parts, never joined for it.

    A body of `streaming.from_bytes` or more is sent in identity as it is assembled, never
    kept: the server (granian) copies a body it is given whole for each response, so each
    download of the 31 MB feed of 15,000 events cost a worker 31 MB more for as long as it
    lasted, on top of the one kept, and 40-50 ms of CPU against 16-21 ms in parts (measured).
    A body sent in parts holds a server thread until its last part is handed over, so at
    most `streaming.at_once` are, the others sent whole: a thread is always left for the
    rest. And each goes at most `streaming.bytes_per_second` (100 MiB/s, more than a gigabit
    link carries): a client on the same network, or a loop of them, could otherwise take a
    worker's CPU from every calendar's revalidation (at 15,000 events, two such clients cut
    the 304s to 35% of their rate; paced, 77-79%).
    """

    def __init__(self, streaming: Streaming = Streaming(), budget: int = BODY_CACHE_BYTES):
        self.streamed_from = streaming.from_bytes or float("inf")
        self.pace = streaming.bytes_per_second
        self._bodies = Bounded(budget)
        self._making = OneAtATime()
        self._streams = streaming.slots

    def body(self, sent: Body, coding: str = IDENTITY) -> bytes:
        """Made by one thread while the others asking for it wait: eight calendars asking at
        once for a new 20 MB feed compressed it eight times over, and held eight copies."""
        key = (sent.etag, coding)
        found = self._bodies.get(key)
        if found is None:
            with self._making(key):
                found = self._bodies.get(key)  # made while this thread waited
                if found is None:
                    found = sent.body() if coding == IDENTITY else CODINGS[coding].compress(sent.parts())
                    self._bodies.put(key, found, len(found))
        return found

    def sendable(self, sent: Body, coding: str) -> list[bytes] | Iterator[bytes]:
        """The body as the WSGI server is given it: whole in a list, or for a big feed sent
        uncompressed its parts as they are made (a page or an answer is made whole anyway)."""
        if coding == IDENTITY and sent.size >= self.streamed_from and isinstance(sent, RenderedFeed):
            return self._streamed(sent)
        return [self.body(sent, coding)]

    def _streamed(self, sent: RenderedFeed) -> Iterator[bytes]:
        """`sent`'s parts if a stream is free when the server asks for the first, else the body
        whole (made for this answer: kept, 31 MB would push out every other body). Freed when
        the last part is handed over, or the client goes (the server closes the iterator)."""
        if not self._streams.acquire(blocking=False):
            yield sent.body()
            return
        try:
            yield from self._paced(sent.parts()) if self.pace else sent.parts()
        finally:
            self._streams.release()

    def _paced(self, parts: Iterable[bytes]) -> Iterator[bytes]:
        """`parts`, each handed over no sooner than `self.pace` allows since the first."""
        began, handed = time.monotonic(), 0
        for part in parts:
            yield part
            handed += len(part)
            time.sleep(max(0.0, handed / self.pace - (time.monotonic() - began)))


def parsed_query(programme: Programme, args: tuple[tuple[str, str], ...], allowed: tuple[str, ...]) -> FeedQuery:
    """Request arguments to a validated query; a catalog keeps them, since calendars repeat
    their URLs (an invalid one raises, and is not kept)."""
    return parse_feed_query(list(args), programme, allowed)


class Catalog:
    """A data file's programme, its feeds and answers. Nothing in it refers back to the
    catalog, so reference counting frees an old one whole, without the cyclic collector
    (`live.py` freezes the collector's view of the data: a full collection would stall requests)."""

    def __init__(self, programme: Programme, pieces: Pieces | None = None,
                 streaming: Streaming = Streaming()):
        """`pieces`: the events already rendered (`ical.render_pieces`), if known;
        `streaming`: how big bodies go out (`BodyCache`)."""
        self.programme = programme
        self.renderer = FeedRenderer(programme, pieces)
        for chosen in FILTERS.values():  # indexes made with the data, not by the first request
            chosen.prepare(programme)
        self.query = lru_cache(maxsize=QUERY_CACHE_SIZE)(partial(parsed_query, programme))
        self._feeds = Bounded(FEED_CACHE_BYTES)
        self.bodies = BodyCache(streaming)
        self.answers = Bounded(ANSWER_CACHE_BYTES)

    @classmethod
    def load(cls, path: Path | str, max_bytes: int = MAX_DATA_BYTES, previous: Catalog | None = None,
             streaming: Streaming = Streaming()) -> Catalog:
        """The catalog of the data file `path`, its events' pieces read from its sidecar when
        made for these very bytes (hashed as they are read), else rendered and kept there.
        What did not change since `previous` (the catalog it replaces), its events (and its
        pieces, when held in memory), is shared with it: a reload holds little more than one
        programme."""
        digest = hashlib.sha256()
        programme = load_programme(path, max_bytes, digest, previous and previous.programme)
        pieces = event_pieces(programme, Path(path), digest.digest(), previous and previous.renderer.pieces)
        return cls(programme, pieces, streaming)

    def feed_url(self, query: FeedQuery, base_url: str) -> str:
        query_string = query.query_string()
        return f"{base_url}/calendar.ics" + (f"?{query_string}" if query_string else "")

    def event_url(self, event: Event, base_url: str, alarm: int | None = None) -> str:
        return f"{base_url}/events/{event.id}.ics" + ("" if alarm is None else f"?alarm={alarm}")

    def _about(self) -> str:
        programme = self.programme
        if len(programme.sessions) == 1:
            session = programme.sessions[0]
            chairs = f" Chairs: {', '.join(session.chairs)}." if session.chairs else ""
            return f"{', '.join(dict.fromkeys((session.title, programme.conference.name)))}.{chairs}"
        return f"{programme.conference.name}, {len(programme.sessions)} sessions."

    def _home(self) -> str:
        sessions = self.programme.sessions
        return sessions[0].url if len(sessions) == 1 else ""

    def feed_meta(self, query: FeedQuery, base_url: str) -> FeedMeta:
        """The calendar's name says what the filter keeps: "… Deep Learning — Orals"."""
        described = query.filter.describe(self.programme)
        name = self.programme.title
        if described != "All events":
            name += f" \u2014 {described}"
        return FeedMeta(name, f"{self._about()} This feed: {described}.",
                        self.feed_url(query, base_url), self._home() or f"{base_url}/")

    def event_meta(self, event: Event, alarm: int | None, base_url: str) -> FeedMeta:
        return FeedMeta(event.title, f"{self._about()} This file: {event.title}.",
                        self.event_url(event, base_url, alarm), event.url or self._home() or f"{base_url}/")

    def feed(self, query: FeedQuery, base_url: str) -> RenderedFeed:
        """The feed for a validated query; `base_url` has no trailing slash. Kept: calendars repeat."""
        return self._kept(("feed", query, base_url), self._feed)

    def single(self, event_id: str, alarm: int | None, base_url: str) -> RenderedFeed:
        """The calendar of one event, for its download."""
        return self._kept(("single", event_id, alarm, base_url), self._single)

    def _kept(self, key: tuple, render) -> RenderedFeed:
        """Feeds are kept within a size, not a number: a filtered feed of a conference
        holds digests and references for thousands of events."""
        feed = self._feeds.get(key)
        if feed is None:
            feed = render(*key[1:])
            base_url = key[-1]  # the request's host when no base URL is configured: any length
            self._feeds.put(key, feed, feed.footprint + sys.getsizeof(base_url))
        return feed

    def _feed(self, query: FeedQuery, base_url: str) -> RenderedFeed:
        positions = query.filter.positions(self.programme)
        return self.renderer.render(self.feed_meta(query, base_url), positions, query.alarm)

    def _single(self, event_id: str, alarm: int | None, base_url: str) -> RenderedFeed:
        event = self.programme.events_by_id[event_id]
        positions = FILTERS["event"].positions(self.programme, frozenset({event_id}))
        return self.renderer.render(self.event_meta(event, alarm, base_url), positions, alarm)
