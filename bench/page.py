"""The page and the API at conference size (issue 11): bytes, server time, the browser's load.

    python -m bench.page            # about two minutes; prerequisite: Debian's chromium

For the shipped 15-event session and a synthetic programme of 15,000 events (bench/synthetic.py,
written to bench/out/), it prints:

- the HTML bytes, raw and gzip-compressed, of the first view, a filtered view and a search;
- the server's time per view, warm (the same view asked again: the programme's indexes and the
  view's events made) and for a view first asked for (each type's view once: its events
  rendered for the first time), each the median in the app's own process, through
  Flask's test client (with its access log off), and the warm time's ratio 15,000 / 15;
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

from bench.assembly import median_ms
from bench.procfile import start_server, stop_server, wait_until_up
from bench.run import OUT, data_file
from feedsvc import create_app

SIZES = (15, 15_000)
VIEWS = {"first view": "/", "filtered": "/?type=oral", "search": "/?q=equilibrium"}
API = {"/api/events": "/api/events?type=spotlight", "/api/authors?q=": "/api/authors?q=kol&limit=8"}
BASE_URL = "https://feeds.example.org"
CHROMIUM = "/usr/bin/chromium"
LOADS = 5


def client_for(events: int):
    app = create_app({"DATA": str(data_file(events)), "BASE_URL": BASE_URL, "RELOAD_SECONDS": 0})
    return app.test_client()


def warm_ms(client, url: str) -> float:
    client.get(url)  # the first: indexes and the view's events made
    return median_ms(lambda: client.get(url))


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


def measure_size(events: int) -> dict:
    client = client_for(events)
    figures = {"a view first asked for": (0, 0, first_time_ms(client))}
    for name, url in {**VIEWS, **API}.items():
        body = client.get(url).data
        figures[name] = (len(body), len(gzip.compress(body)), warm_ms(client, url))
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
    figures = {events: measure_size(events) for events in SIZES}
    small, big = SIZES
    print(f"python -m bench.page   ({sys.platform}, Python {sys.version.split()[0]})")
    print(f"{'':28}{'events':>7}{'bytes':>10}{'gzip':>9}{'server ms':>11}")
    for name in figures[small]:
        for events in SIZES:
            raw, packed, ms = figures[events][name]
            sizes = f"{raw:>10,}{packed:>9,}" if raw else f"{'':>19}"
            print(f"{name:28}{events:>7,}{sizes}{ms:>11.2f}")
        print(f"{'':28}{'ratio':>7}{'':>19}{figures[big][name][2] / figures[small][name][2]:>10.2f}x")
    print(f"Chromium load event, first view at {big:,} events: {load_event_ms(str(data_file(big))):.0f} ms "
          f"(median of {LOADS})")


if __name__ == "__main__":
    main()
