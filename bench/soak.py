"""Soak test: the Procfile's server under a steady, mixed load, on loopback only.

    python bench/soak.py [--seconds 300] [--connections 64] [--sample 60]

Starts the service itself (so it can only ever load this machine), runs a mix
of feeds, filters, 304 revalidations, single events, the page and bad requests
from many client threads, and prints per sample interval: requests, errors by
kind, and the server's resident memory (master and workers). Exits non-zero on
any 5xx, connection error or unexpected status, or if memory grew by 10% or
more from the first interval to the last.
"""
from __future__ import annotations

import argparse
import http.client
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.procfile import process_tree_rss, start_server, stop_server, wait_until_up  # noqa: E402

MAX_RSS_GROWTH = 0.10
# (path, expected status); a 304 entry is sent with the feed's current ETag.
MIX = [
    ("/calendar.ics", 200),
    ("/calendar.ics?type=oral", 200),
    ("/calendar.ics?type=spotlight&author=kolter&alarm=15", 200),
    ("/types/qa.ics", 200),
    ("/authors/j-zico-kolter.ics", 200),
    ("/events/meshsdf.ics", 200),
    ("/calendar.ics", 304),
    ("/events/h-mem.ics", 304),
    ("/healthz", 200),
    ("/", 200),
    ("/?type=spotlight&author=kolter", 200),
    ("/api/events?type=oral", 200),
    ("/?type=poster", 400),
    ("/calendar.ics?types=oral", 400),
    ("/calendar.ics?type=%0D%0ABEGIN:VEVENT", 400),
    ("/calendar.ics?author=nobody", 404),
    ("/events/..%2F..%2Fetc%2Fpasswd.ics", 404),
    ("/calendar.ics?type=" + "a" * 5000, 414),
]


class Tally:
    """Counts shared by the client threads; one lock, taken once per request."""

    def __init__(self):
        self.lock = threading.Lock()
        self.requests = 0
        self.errors: Counter[str] = Counter()

    def add(self, error: str | None) -> None:
        with self.lock:
            self.requests += 1
            if error:
                self.errors[error] += 1

    def take(self) -> tuple[int, Counter[str]]:
        with self.lock:
            taken = (self.requests, self.errors)
            self.requests, self.errors = 0, Counter()
        return taken


def one_request(host: str, port: int, path: str, headers: dict[str, str], expected: int) -> str | None:
    """None if the answer is what the mix expects, else the kind of error."""
    connection = http.client.HTTPConnection(host, port, timeout=30)
    try:
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        response.read()
    except (OSError, http.client.HTTPException) as error:
        return f"connection: {type(error).__name__}"
    finally:
        connection.close()
    if response.status >= 500:
        return f"5xx: {response.status}"
    return None if response.status == expected else f"unexpected: {response.status} for {path[:40]}"


def etags(base: str) -> dict[str, str]:
    host, port = base.removeprefix("http://").split(":")
    found = {}
    for path, status in MIX:
        if status == 304:
            connection = http.client.HTTPConnection(host, int(port), timeout=30)
            connection.request("GET", path)
            response = connection.getresponse()
            response.read()
            found[path] = response.getheader("ETag")
            connection.close()
    return found


def client(base: str, tags: dict[str, str], tally: Tally, stop: threading.Event, offset: int) -> None:
    host, port = base.removeprefix("http://").split(":")
    index = offset
    while not stop.is_set():
        path, expected = MIX[index % len(MIX)]
        headers = {"If-None-Match": tags[path]} if expected == 304 else {}
        tally.add(one_request(host, int(port), path, headers, expected))
        index += 1


def soak(seconds: float, connections: int, sample: float) -> bool:
    """Run the soak and print its table; True if every target held."""
    process, base = start_server(stdout=subprocess.DEVNULL)
    try:
        wait_until_up(f"{base}/healthz", process)
        tally, stop = Tally(), threading.Event()
        tags = etags(base)
        threads = [threading.Thread(target=client, args=(base, tags, tally, stop, i), daemon=True)
                   for i in range(connections)]
        for thread in threads:
            thread.start()
        print(f"soak: {base}, {connections} connections, {seconds:.0f} s, a row every {sample:.0f} s")
        print(f"{'t (s)':>6} {'requests':>9} {'req/s':>7} {'errors':>7} {'RSS (MB)':>9}")
        rows, all_errors, started = [], Counter(), time.monotonic()
        while time.monotonic() - started < seconds - 1e-3:
            time.sleep(min(sample, seconds - (time.monotonic() - started)))
            requests, errors = tally.take()
            rss = process_tree_rss(process.pid)
            rows.append((requests, rss))
            all_errors += errors
            elapsed = time.monotonic() - started
            print(f"{elapsed:6.0f} {requests:9d} {requests / sample:7.0f} {sum(errors.values()):7d} "
                  f"{rss / 2**20:9.1f}", flush=True)
        stop.set()
        for thread in threads:
            thread.join(timeout=35)
    finally:
        stop_server(process)
    growth = rows[-1][1] / rows[0][1] - 1
    total = sum(r for r, _ in rows)
    print(f"requests: {total}; errors: {sum(all_errors.values())}"
          + "".join(f"\n  {kind}: {count}" for kind, count in all_errors.most_common()))
    print(f"RSS growth, first to last interval: {growth:+.1%} (target < {MAX_RSS_GROWTH:.0%})")
    return not all_errors and growth < MAX_RSS_GROWTH


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=300, help="how long to run (default 300)")
    parser.add_argument("--connections", type=int, default=64, help="client threads (default 64)")
    parser.add_argument("--sample", type=float, default=60, help="seconds per row (default 60)")
    args = parser.parse_args()
    if not (1 <= args.connections <= 256 and 0 < args.sample <= args.seconds <= 3600):
        parser.error("need 1-256 connections and 0 < sample <= seconds <= 3600")
    return 0 if soak(args.seconds, args.connections, args.sample) else 1


if __name__ == "__main__":
    sys.exit(main())
