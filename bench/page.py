"""The page and the API at conference size (issue 11): bytes, server time, the browser's load.

    python -m bench.page            # about two minutes; prerequisite: Debian's chromium

For the shipped 15-event session and a synthetic programme of 15,000 events (bench/synthetic.py,
written to bench/out/), it prints:

- the HTML bytes, raw and gzip-compressed, of the first view, a filtered view and a search;
- the server's time per view, warm (the same view asked again: the programme's indexes and the
  view's events made; the two sizes asked in turn for 2 s, so that other load on the machine
  weighs on both alike) and for a view first asked for (each type's view once: its events
  rendered for the first time), each the median in the app's own process, through Flask's
  test client (with its access log off), and the ratio 15,000 / 15;
- the same for `/api/events` and `/api/authors?q=` (a person picker's request);
- headless Chromium's load-event time for the first view at 15,000 events, served by the
  Procfile's server (median of 5 loads, each in a fresh browser context).
The issue's budgets: at most 300 KB (60 KB compressed) of HTML per view, a warm view at most
3x slower at 15,000 events than at 15, the load event within 1 s.
"""
from __future__ import annotations

import gzip
import logging
import statistics
import sys
import time

from playwright.sync_api import sync_playwright

from bench.procfile import start_server, stop_server, wait_until_up
from bench.run import OUT, data_file
from feedsvc import create_app

SIZES = (15, 15_000)
VIEWS = {"first view": "/", "filtered": "/?type=oral", "search": "/?q=equilibrium"}
API = {"/api/events": "/api/events?type=spotlight", "/api/authors?q=": "/api/authors?q=kol&limit=8"}
BASE_URL = "https://feeds.example.org"
CHROMIUM = "/usr/bin/chromium"
LOADS = 5
SECONDS = 2.0  # of alternating requests per view


def client_for(events: int):
    app = create_app({"DATA": str(data_file(events)), "BASE_URL": BASE_URL, "RELOAD_SECONDS": 0})
    return app.test_client()


def warm_ms(clients: dict, url: str) -> dict[int, float]:
    """The median ms of `url` asked again, at each size in turn (so that other load on the
    machine weighs on both sizes alike), for `SECONDS`; the first asking made the view."""
    times: dict[int, list[float]] = {events: [] for events in clients}
    for client in clients.values():
        client.get(url)
    deadline = time.perf_counter() + SECONDS
    while time.perf_counter() < deadline or min(map(len, times.values())) < 20:
        for events, client in clients.items():
            start = time.perf_counter()
            client.get(url)
            times[events].append((time.perf_counter() - start) * 1000)
    return {events: statistics.median(found) for events, found in times.items()}


def first_time_ms(client) -> float:
    """A view never asked for before, its events never rendered: each type's view once, after a
    search that finds nothing has made the programme's indexes (the types hold different events)."""
    client.get("/?q=zzzzzz")
    times = []
    for kind in client.get("/api/types").json["types"]:
        start = time.perf_counter()
        client.get(f"/?type={kind['id']}")
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def measure() -> dict[str, dict[int, tuple[int, int, float]]]:
    """Each view's bytes, compressed bytes and server ms, by size."""
    clients = {events: client_for(events) for events in SIZES}
    figures = {"a view first asked for": {events: (0, 0, first_time_ms(client)) for events, client in clients.items()}}
    for name, url in {**VIEWS, **API}.items():
        times = warm_ms(clients, url)
        bodies = {events: client.get(url).data for events, client in clients.items()}
        figures[name] = {events: (len(body), len(gzip.compress(body)), times[events])
                         for events, body in bodies.items()}
    return figures


def load_event_ms(data: str) -> float:
    """Median time from navigation to the load event of `/` in headless Chromium."""
    process, base = start_server({"FEEDSVC_DATA": data, "FEEDSVC_BASE_URL": BASE_URL},
                                 stdout=open(OUT / "page-server.log", "w"))
    try:
        wait_until_up(f"{base}/healthz", process, seconds=180)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
            times = []
            for _ in range(LOADS):
                context = browser.new_context(viewport={"width": 1280, "height": 900})
                page = context.new_page()
                page.goto(f"{base}/", wait_until="load")
                times.append(page.evaluate("performance.getEntriesByType('navigation')[0].loadEventEnd"))
                context.close()
            browser.close()
    finally:
        stop_server(process)
    return statistics.median(times)


def main() -> None:
    OUT.mkdir(exist_ok=True)
    logging.getLogger("feedsvc.access").disabled = True
    logging.getLogger("feedsvc").setLevel(logging.WARNING)
    figures = measure()
    small, big = SIZES
    print(f"python -m bench.page   ({sys.platform}, Python {sys.version.split()[0]})")
    print(f"{'':28}{'events':>7}{'bytes':>10}{'gzip':>9}{'server ms':>11}")
    for name, by_size in figures.items():
        for events, (raw, packed, ms) in by_size.items():
            sizes = f"{raw:>10,}{packed:>9,}" if raw else f"{'':>19}"
            print(f"{name:28}{events:>7,}{sizes}{ms:>11.2f}")
        print(f"{'':28}{'ratio':>7}{'':>19}{by_size[big][2] / by_size[small][2]:>10.2f}x")
    print(f"Chromium load event, first view at {big:,} events: {load_event_ms(str(data_file(big))):.0f} ms "
          f"(median of {LOADS})")


if __name__ == "__main__":
    main()
