"""Shared fixtures and the two independent parsers every .ics is read back with."""
from __future__ import annotations

from datetime import datetime, timezone
import gc
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import icalendar
import pytest
from ical.calendar_stream import IcsCalendarStream

from feedsvc import create_app

from .serving import running_server


@pytest.fixture(autouse=True)
def collectable():
    """Each app freezes the collector's view of what exists when it loads (feedsvc/live.py),
    right for a server's one app; a test's apps are done with after it, so let them go."""
    yield
    gc.unfreeze()

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
SEED_PAGE = SEEDS / "000_30b886381e6fd9f0.txt"
BASE_URL = "https://feeds.example.org"
UTC = timezone.utc

# (event id, type, UTC start, UTC end, title), in page order, read off the seed page by hand.
EXPECTED_EVENTS = [
    ("multiscale-deep-equilibrium-models", "oral", "14:00", "14:15", "Multiscale Deep Equilibrium Models"),
    ("on-the-modularity-of-hypernetworks", "oral", "14:15", "14:30", "On the Modularity of Hypernetworks"),
    ("training-generative-adversarial-networks-with-limited", "oral", "14:30", "14:45",
     "Training Generative Adversarial Networks with Limited Data"),
    ("break-20201208-0645", "break", "14:45", "15:00", "Break"),
    ("meshsdf", "spotlight", "15:00", "15:10", "MeshSDF: Differentiable Iso-Surface Extraction"),
    ("gait-prop", "spotlight", "15:10", "15:20",
     "GAIT-prop: A biologically plausible learning rule derived from backpropagation of error"),
    ("monotone-operator-equilibrium-networks", "spotlight", "15:20", "15:30",
     "Monotone operator equilibrium networks"),
    ("what-do-neural-networks-learn-when", "spotlight", "15:30", "15:40",
     "What Do Neural Networks Learn When Trained With Random Labels?"),
    ("qa-20201208-0740", "qa", "15:40", "15:50", "Joint Q&A for Preceeding Spotlights"),
    ("h-mem", "spotlight", "15:50", "16:00", "H-Mem: Harnessing synaptic plasticity with Hebbian Memory Networks"),
    ("expandnets", "spotlight", "16:00", "16:10",
     "ExpandNets: Linear Over-parameterization to Train Compact Convolutional Networks"),
    ("the-phase-diagram-of-approximation-rates", "spotlight", "16:10", "16:20",
     "The phase diagram of approximation rates for deep neural networks"),
    ("optimal-lottery-tickets-via-subset-sum", "spotlight", "16:20", "16:30",
     "Optimal Lottery Tickets via Subset Sum: Logarithmic Over-Parameterization is Sufficient"),
    ("qa-20201208-0830", "qa", "16:30", "16:40", "Joint Q&A for Preceeding Spotlights"),
    ("break-20201208-0840", "break", "16:40", "17:00", "Break"),
]


def utc(clock: str) -> datetime:
    """A time of 8 December 2020, UTC."""
    hour, minute = map(int, clock.split(":"))
    return datetime(2020, 12, 8, hour, minute, tzinfo=UTC)


def expected_times(ids=None) -> dict[str, tuple[datetime, datetime]]:
    """UID to (UTC start, UTC end) for the given event ids (all by default), from the page."""
    return {f"{i}@feedsvc.org": (utc(s), utc(e)) for i, _, s, e, _ in EXPECTED_EVENTS
            if ids is None or i in ids}


def parse_both(body: bytes) -> dict[str, tuple[datetime, datetime]]:
    """UID to UTC (start, end), read by `icalendar` and by the strict parser `ical`;
    fails unless both parsers accept the file and agree on every event."""
    text = body.decode("utf-8")
    by_icalendar = {
        str(e["UID"]): (e.start.astimezone(UTC), e.end.astimezone(UTC))
        for e in icalendar.Calendar.from_ical(text).walk("VEVENT")}
    by_ical = {e.uid: (e.start.astimezone(UTC), e.end.astimezone(UTC))  # no DTEND: an instant
               for e in IcsCalendarStream.calendar_from_ics(text).events}
    assert by_icalendar == by_ical
    return by_icalendar


def expected_links(query: str, described: str) -> dict[str, str]:
    """The page's feed URL and links for a canonical `query`, written out by hand;
    `described` is the percent-encoded end of the calendar's name ("Spotlights%20by%20…")."""
    encoded = query.replace("=", "%3D").replace("&", "%26")
    return {
        "feed-url": f"{BASE_URL}/calendar.ics?{query}",
        "subscribe-webcal": f"webcal://feeds.example.org/calendar.ics?{query}",
        "subscribe-google": f"https://calendar.google.com/calendar/r?cid=webcal%3A%2F%2Ffeeds.example.org"
                            f"%2Fcalendar.ics%3F{encoded}",
        "subscribe-outlook": f"https://outlook.live.com/calendar/0/addfromweb?url=https%3A%2F%2F"
                             f"feeds.example.org%2Fcalendar.ics%3F{encoded}&name=Orals%20%26%20Spotlights"
                             f"%20Track%2008%3A%20Deep%20Learning%20%E2%80%94%20{described}",
        "download-feed": f"/calendar.ics?{query}",
    }


@pytest.fixture
def app():
    return create_app({"TESTING": True, "BASE_URL": BASE_URL})


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture(scope="session")
def server():
    """The Procfile's server, running for the whole test session: its base URL."""
    with running_server({"FEEDSVC_BASE_URL": BASE_URL}) as base:
        yield base


class SourceHandler(BaseHTTPRequestHandler):
    """Answers each path with the route the test registered, recording what it was sent."""

    def do_GET(self):
        self.server.seen.append((self.path, self.headers))
        try:
            self.server.routes[self.path](self)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up, as it should
            pass

    def reply(self, status, body=b"", **headers):
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class SourceServer(ThreadingHTTPServer):
    """A real HTTP server on loopback for URL sources: each test registers its routes."""

    daemon_threads = False  # so that server_close() waits for every handler to finish

    def url(self, path):
        return f"http://127.0.0.1:{self.server_address[1]}{path}"

    def route(self, path):
        def register(answer):
            self.routes[path] = answer
            return answer
        return register


@pytest.fixture
def source_server():
    httpd = SourceServer(("127.0.0.1", 0), SourceHandler)
    httpd.routes, httpd.seen, httpd.stop = {}, [], threading.Event()
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.01})
    thread.start()
    yield httpd
    httpd.stop.set()
    httpd.shutdown()
    httpd.server_close()
    thread.join()
