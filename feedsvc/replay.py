"""Feed answers replayed without Flask: a calendar's repeated poll costs a dictionary look-up.

Calendars poll the same few URLs all day. The first request for a URL goes
through Flask as usual; if it was a feed (200 or 304), the status and headers
Flask sent are kept, keyed by everything a feed's answer depends on: the
method, path, query string, the host the feed's own URLs are built from, and
the conditional headers. The same request again is answered with those
headers and the feed's body, without a request context, routing or hooks.

Nothing about HTTP is decided here: a kept answer is exactly what Flask
answered (the tests compare them byte for byte), and anything not kept goes
to Flask. The answers belong to the catalog they came from, so new data
starts with none. Measured, this took the app from 0.6–0.9x the requests/s
of a bare Flask route to 2–4x (docs/performance.md).
"""
from __future__ import annotations

import sys
from dataclasses import dataclass

from .encodings import IDENTITY
from .feeds import Catalog
from .ical import RenderedFeed
from .live import LiveCatalog
from .wsgi import recording

CATALOG_KEY = "feedsvc.catalog"  # environ: the catalog this request is answered from
FEED_KEY = "feedsvc.feed"  # environ: the feed a view answered with, which makes it replayable
REPLAYED_STATUSES = ("200 OK", "304 NOT MODIFIED")
ENTRY_BYTES = 250  # an answer's slots in the cache's two dictionaries, and its instance dictionary

# What a feed's answer depends on besides the data: every variable Flask reads for a
# feed (a test lists them). The host's parts make the feed's SOURCE and link URLs; the
# conditions choose between 200 and 304; Accept-Encoding chooses the coding; Connection
# and Upgrade make a WebSocket handshake, which no route takes.
KEY_VARIABLES = ("REQUEST_METHOD", "PATH_INFO", "QUERY_STRING", "wsgi.url_scheme", "HTTP_HOST",
                 "SERVER_NAME", "SERVER_PORT", "SCRIPT_NAME", "HTTP_IF_NONE_MATCH", "HTTP_IF_MODIFIED_SINCE",
                 "HTTP_IF_MATCH", "HTTP_IF_UNMODIFIED_SINCE", "HTTP_IF_RANGE", "HTTP_RANGE",
                 "HTTP_CONNECTION", "HTTP_UPGRADE", "HTTP_ACCEPT_ENCODING")


@dataclass(frozen=True)
class Answer:
    """What Flask sent for a feed: the body is not kept here but in the catalog's bodies."""

    status: str
    headers: tuple[tuple[str, str], ...]
    feed: RenderedFeed | None  # None: no body (a 304, or a HEAD)
    coding: str  # the content coding the body was sent in


def request_key(environ: dict) -> tuple:
    return tuple(map(environ.get, KEY_VARIABLES))


def footprint(key: tuple, answer: Answer) -> int:
    """The bytes an answer keeps alive, objects and all: what bounds the catalog's kept
    answers, whatever hosts and conditions requests make up (checked with tracemalloc)."""
    request = [*filter(None, key), answer.status]  # new strings for each request
    headers = [part for header in answer.headers for part in header]  # mostly shared with other answers
    containers = (key, answer.headers, *answer.headers, answer)
    own = (sum(map(sys.getsizeof, request)) + sum(map(len, headers)) + sum(map(sys.getsizeof, containers))
           + ENTRY_BYTES)
    return own + (0 if answer.feed is None else answer.feed.footprint)


class Replay:
    """WSGI middleware in front of the Flask app: pins the request's catalog, replays kept answers."""

    def __init__(self, app, live: LiveCatalog):
        self.app = app
        self.live = live

    def __call__(self, environ: dict, start_response):
        catalog = environ[CATALOG_KEY] = self.live.current()
        key = request_key(environ)
        answer = catalog.answers.get(key)
        if answer is not None:
            start_response(answer.status, list(answer.headers))
            return [] if answer.feed is None else catalog.bodies.sendable(answer.feed, answer.coding)
        return self._answer_and_keep(environ, start_response, catalog, key)

    def _answer_and_keep(self, environ: dict, start_response, catalog: Catalog, key: tuple):
        sent = []
        body = self.app(environ, recording(start_response, sent))
        feed = environ.get(FEED_KEY)
        if feed is not None and sent and sent[0] in REPLAYED_STATUSES:
            with_body = sent[0] == REPLAYED_STATUSES[0] and environ["REQUEST_METHOD"] != "HEAD"
            coding = next((value for name, value in sent[1] if name == "Content-Encoding"), IDENTITY)
            answer = Answer(sent[0], tuple(sent[1]), feed if with_body else None, coding)
            catalog.answers.put(key, answer, footprint(key, answer))
        return body
