"""Live reload at conference size: what a new data file costs the requests being served.

    python -m bench.reload [--events 15000] [--reloads 3]

Starts the Procfile's server on a synthetic programme, keeps two clients
revalidating an event (a 304, the cheapest and commonest request), and
replaces the data file `--reloads` times, each time writing its rendered
pieces first, as the importer does. It prints the 304's latency before and
while the workers reload (p50, p99, worst), and each
worker's resident memory steady and at its peak during the reloads, sampled
every 20 ms (VmHWM would keep the start-up peak). Issue 13's targets: a reload
adds at most 100 ms to any request, and peak memory stays within 2x of steady.
"""
from __future__ import annotations

import argparse
import http.client
import os
import re
import shutil
import statistics
import tempfile
import threading
import time
from dataclasses import replace
from pathlib import Path

from bench.procfile import family, start_server, status_kb, stop_server, wait_until_up
from bench.run import data_file
from feedsvc.pieces import prepare, sidecar
from feedsvc.store import load_programme, write_programme

CLIENTS = 2
TIMEOUT_SECONDS = 30
SETTLE_SECONDS = 3  # after the last worker logged its reload, before the next file


def retitled_copy(source: Path, target: Path) -> str:
    """`source` with its first event retitled, written to `target` as the importer would;
    returns that event's id."""
    programme = load_programme(source)
    first = programme.sessions[0]
    event = replace(first.events[0], title=first.events[0].title + " (updated)")
    sessions = (replace(first, events=(event, *first.events[1:])), *programme.sessions[1:])
    write_programme(replace(programme, sessions=sessions), target)
    return event.id


class Revalidations:
    """Client threads sending the feed's ETag back, each latency kept with its start time."""

    def __init__(self, base: str, path: str, clients: int = CLIENTS):
        self.host, self.port = base.removeprefix("http://").split(":")
        self.path = path
        self.samples: list[tuple[float, float]] = []
        self.timeouts = 0
        self.stopping = threading.Event()
        self.threads = [threading.Thread(target=self._loop) for _ in range(clients)]

    def _loop(self) -> None:
        """A connection per request: the kernel spreads them over both workers (two kept-alive
        connections may well both sit on one worker, which then is all that is measured)."""
        etag = ""
        while not self.stopping.is_set():
            began = time.monotonic()
            connection = http.client.HTTPConnection(self.host, int(self.port), timeout=TIMEOUT_SECONDS)
            try:
                connection.request("GET", self.path, headers={"If-None-Match": etag})
                response = connection.getresponse()
                response.read()
                if response.status == 200:
                    etag = response.headers["ETag"]  # new data: revalidate with its ETag from now on
            except TimeoutError:
                self.timeouts += 1  # counted with the latency it cost, the timeout itself
            finally:
                connection.close()
            self.samples.append((began, time.monotonic() - began))

    def __enter__(self):
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc):
        self.stopping.set()
        for thread in self.threads:
            thread.join()

    def within(self, spans: list[tuple[float, float]], inside: bool) -> list[float]:
        return [took for began, took in self.samples
                if any(start <= began <= end for start, end in spans) == inside and began > self.samples[0][0] + 1]


def workers(server_pid: int) -> list[int]:
    return sorted(family(server_pid) - {server_pid})


class Reloads:
    """Counts the workers' "reloaded" lines in the server's log, reading only what is new
    (the log also holds a line per request: thousands a second)."""

    def __init__(self, log: Path):
        self.log = log.open("rb")
        self.count = 0

    def seen(self) -> int:
        self.count += len(re.findall(rb"worker \d+: reloaded", self.log.read()))
        return self.count


def summary(latencies: list[float]) -> str:
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return (f"{len(ordered):6d} requests  p50 {statistics.median(ordered) * 1000:7.1f} ms  "
            f"p99 {p99 * 1000:7.1f} ms  worst {ordered[-1] * 1000:7.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=15000)
    parser.add_argument("--reloads", type=int, default=3)
    options = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="feedsvc-reload-"))
    original, data, edited = work / "original.json", work / "programme.json", work / "edited.json"
    shutil.copy(data_file(options.events), original)
    shutil.copy(original, data)
    event_id = retitled_copy(original, edited)
    for version in (original, edited):  # rendered now: in the measured window they would take the CPU
        prepare(version.read_bytes(), version)
    log = work / "server.log"
    with log.open("w") as output:
        process, base = start_server({"FEEDSVC_DATA": str(data), "FEEDSVC_RELOAD_SECONDS": "1"}, stdout=output)
    try:
        wait_until_up(f"{base}/healthz", process, seconds=120)
        pids = workers(process.pid)
        steady = {pid: status_kb(pid, "VmRSS") for pid in pids}
        peaks = dict(steady)
        spans = []
        path = f"/events/{event_id}.ics"  # the event that changes: each reload is seen (a 200 once)
        reloads = Reloads(log)
        with Revalidations(base, path) as clients:
            time.sleep(SETTLE_SECONDS)
            for reload in range(options.reloads):
                version = edited if reload % 2 == 0 else original
                shutil.copy(sidecar(version), sidecar(data))  # its pieces first, as the importer writes them
                shutil.copy(version, work / "next.json")
                expected = reloads.seen() + len(pids)
                began = time.monotonic()
                os.replace(work / "next.json", data)
                while reloads.seen() < expected:
                    for pid in pids:
                        peaks[pid] = max(peaks[pid], status_kb(pid, "VmRSS"))
                    time.sleep(0.02)
                spans.append((began, time.monotonic()))
                time.sleep(SETTLE_SECONDS)
        print(f"{options.events} events, {options.reloads} reloads, {CLIENTS} clients revalidating "
              f"{path} (304), a connection each")
        print(f"  steady:            {summary(clients.within(spans, inside=False))}")
        print(f"  while reloading:   {summary(clients.within(spans, inside=True))}")
        print(f"  timed out after {TIMEOUT_SECONDS} s: {clients.timeouts} requests")
        print("  reload took        " + ", ".join(f"{end - start:.1f} s" for start, end in spans))
        for pid in pids:
            print(f"  worker {pid}: RSS steady {steady[pid] / 1024:6.0f} MB, peak while reloading "
                  f"{peaks[pid] / 1024:6.0f} MB ({peaks[pid] / steady[pid]:.2f}x)")
    finally:
        stop_server(process)
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
