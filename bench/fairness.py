"""Fairness, memory and start-up at conference size: the Procfile's server under heavy requests (issue 12).

    python -m bench.fairness [--events 15000] [--seconds 10] [--threads N]

Starts the Procfile's server on a synthetic programme and prints:
- the seconds from start to the first 200;
- 304 revalidations (4 clients, a connection each) alone, then while 2 clients loop on the
  heaviest answers (the page, /api/events, the whole feed uncompressed): req/s
  and p99, and their ratio. Target: p99 <= 50 ms and >= 50% of the idle req/s;
- a filtered feed's 200s with and without `Accept-Encoding: gzip, br`;
- each worker's peak resident memory (VmHWM, start-up included). Target: <= 200 MB.
`--threads N` runs the Procfile's command with `--blocking-threads N` instead, to compare.
"""
from __future__ import annotations

import argparse
import http.client
import re
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass

from bench.procfile import family, fetch, procfile_command, start_server, status_kb, stop_server, wait_until_up
from bench.reload import Revalidations
from bench.run import data_file, wrk
from feedsvc.store import load_programme

HEAVY = ("/", "/api/events", "/calendar.ics")


@contextmanager
def heavy_clients(base: str, count: int = 2):
    """`count` threads, each asking for the heavy answers in turn, bodies read whole."""
    stopping, done = threading.Event(), []
    host, port = base.removeprefix("http://").split(":")

    def loop(offset: int) -> None:
        """A connection per request, as for the 304s: the kernel spreads both over the workers."""
        turn = offset
        while not stopping.is_set():
            connection = http.client.HTTPConnection(host, int(port), timeout=120)
            connection.request("GET", HEAVY[turn % len(HEAVY)])
            response = connection.getresponse()
            response.read()
            connection.close()
            assert response.status == 200, (HEAVY[turn % len(HEAVY)], response.status)
            done.append(HEAVY[turn % len(HEAVY)])
            turn += 1
    threads = [threading.Thread(target=loop, args=(offset,)) for offset in range(count)]
    for thread in threads:
        thread.start()
    try:
        yield done
    finally:
        stopping.set()
        for thread in threads:
            thread.join()


@dataclass(frozen=True)
class Measured:
    rate: float  # requests a second
    p99_ms: float
    worst_ms: float

    def __str__(self) -> str:
        return f"{self.rate:7.0f} req/s, p99 {self.p99_ms:8.1f} ms, worst {self.worst_ms:8.1f} ms"


def revalidations(base: str, path: str, seconds: float) -> Measured:
    """4 clients revalidating `path` for `seconds`, a new connection per request (wrk's kept
    connections sit on one worker each, and one stuck behind a slow answer barely counts)."""
    with Revalidations(base, path, clients=4) as clients:
        time.sleep(seconds)
    latencies = sorted(took for _, took in clients.samples)
    return Measured(len(latencies) / seconds, latencies[int(len(latencies) * 0.99)] * 1000, latencies[-1] * 1000)


def command(threads: int | None) -> str:
    base = procfile_command()
    return base if threads is None else re.sub(r"--blocking-threads \d+", f"--blocking-threads {threads}", base)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=15000)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--threads", type=int, default=None)
    options = parser.parse_args()
    data = data_file(options.events)
    event_id = load_programme(data).events[0].id
    began = time.monotonic()
    process, base = start_server({"FEEDSVC_DATA": str(data)}, command=command(options.threads))
    try:
        wait_until_up(f"{base}/healthz", process, seconds=300)
        print(f"{options.events} events; {command(options.threads)}")
        print(f"start to first 200: {time.monotonic() - began:.1f} s")
        path = f"/events/{event_id}.ics"
        load = argparse.Namespace(connections=8, seconds=options.seconds)
        idle = revalidations(base, path, options.seconds)
        with heavy_clients(base) as done:
            busy = revalidations(base, path, options.seconds)
        print(f"304s alone:           {idle}")
        print(f"304s beside 2 heavy:  {busy} ({busy.rate / idle.rate:.0%} of alone; {len(done)} heavy answers: "
              + ", ".join(f"{path} {done.count(path)}" for path in HEAVY) + ")")
        typed = f"{base}/calendar.ics?type=spotlight"
        for name, headers in (("identity", {}), ("gzip, br", {"Accept-Encoding": "gzip, br"})):
            measured = wrk(typed, process.pid, load, headers)
            size = len(fetch(typed, headers)[2])
            print(f"type feed, {name:8}: {measured.requests_per_s:9.0f} req/s, p99 {measured.p99_ms:8.1f} ms, "
                  f"{size:,d} bytes")
        for pid in sorted(family(process.pid) - {process.pid}):
            print(f"worker {pid}: peak RSS {status_kb(pid, 'VmHWM') / 1024:.0f} MB, now {status_kb(pid, 'VmRSS') / 1024:.0f} MB")
    finally:
        stop_server(process)


if __name__ == "__main__":
    main()
