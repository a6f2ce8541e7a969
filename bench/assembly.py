"""Load time, peak RSS and cold feed assembly of one data file, in a process of its own.

Run by `bench.run` once per size, so that each peak RSS is that size's alone:

    python -m bench.assembly DATA_FILE   # prints one JSON object
"""
from __future__ import annotations

import json
import statistics
import sys
import time
from collections import Counter

from bench.procfile import status_kb
from feedsvc.feeds import Catalog
from feedsvc.model import Programme
from feedsvc.query import parse_feed_query

BASE_URL = "https://feeds.example.org"
BUDGET_SECONDS = 1.0  # per kind of feed: enough repeats for a steady median
MAX_REPEATS = 500


def feed_requests(programme: Programme) -> dict[str, list[tuple[str, str]]]:
    """One request of each kind, the filtered ones as large as the programme makes them."""
    busiest, _ = Counter(a.id for e in programme.events for a in e.authors).most_common(1)[0]
    chosen = [e.id for e in programme.events[::max(1, len(programme.events) // 5)]][:5]
    return {
        "whole": [],
        "type": [("type", "spotlight")],
        "author": [("author", busiest)],
        "session": [("session", programme.sessions[0].id)],
        "5 events": [("event", ",".join(chosen))],
        "track": [("track", programme.events[0].track)],
        "day and room": [("day", programme.events[-1].day.isoformat()), ("room", programme.events[-1].room)],
        "words (q=)": [("q", "lottery tickets")],
    }


def median_ms(work, budget: float = BUDGET_SECONDS) -> float:
    """Median wall time of `work()` in ms, repeated until the budget is spent."""
    times: list[float] = []
    deadline = time.perf_counter() + budget
    while len(times) < 5 or (time.perf_counter() < deadline and len(times) < MAX_REPEATS):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def cold_feed(catalog: Catalog, args: list[tuple[str, str]]):
    """What a request for a feed not yet cached costs: parse, select, head, body, ETag."""
    def work():
        feed = catalog._feed(parse_feed_query(args, catalog.programme), BASE_URL)
        return feed.body(), feed.etag
    return work


def peak_rss_mb() -> float:
    """This process's peak resident memory. Not getrusage's ru_maxrss: Linux carries that
    over from the parent at fork, and the benchmark's own process is large."""
    return status_kb("self", "VmHWM") / 1024


def measure(path: str) -> dict:
    start = time.perf_counter()
    catalog = Catalog.load(path)
    loaded = time.perf_counter() - start
    programme = catalog.programme
    result = {
        "events": len(programme.events), "sessions": len(programme.sessions),
        "authors": len(programme.authors), "load_s": loaded,
        "peak_rss_mb": peak_rss_mb(),
        "assembly_ms": {kind: median_ms(cold_feed(catalog, args))
                        for kind, args in feed_requests(programme).items()},
    }
    whole = catalog._feed(parse_feed_query([], programme), BASE_URL)
    result["body_copy_ms"] = median_ms(whole.body)  # the part that is one copy of the whole body
    event = programme.events[0].id
    result["assembly_ms"]["single event"] = median_ms(
        lambda: catalog._single(event, None, BASE_URL).body())
    result["peak_rss_after_mb"] = peak_rss_mb()
    return result


if __name__ == "__main__":
    print(json.dumps(measure(sys.argv[1])))
