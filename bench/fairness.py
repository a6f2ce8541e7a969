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
import re
import subprocess
import time
from contextlib import contextmanager
from dataclasses import dataclass

from bench.procfile import family, fetch, procfile_command, start_server, status_kb, stop_server, wait_until_up
from bench.reload import Revalidations
from bench.run import OUT, data_file, wrk
from feedsvc.pieces import prepare
from feedsvc.store import load_programme

HEAVY = ("/", "/api/events", "/calendar.ics")


HEAVY_SCRIPT = """
local paths = {%s}
local turn = 0
request = function()
  turn = turn + 1
  return wrk.format("GET", paths[turn %% #paths + 1], {["Connection"] = "close"})
end
"""


@contextmanager
def heavy_clients(base: str, seconds: float, count: int = 2):
    """`count` wrk connections asking for the heavy answers in turn, each on a new connection
    (so the kernel spreads them over the workers), bodies read whole. A process of its own:
    Python threads reading 31 MB bodies in the measuring process slowed its own clients."""
    script = OUT / "heavy.lua"
    script.write_text(HEAVY_SCRIPT % ", ".join(f'"{path}"' for path in HEAVY))
    argv = ["wrk", "-t1", f"-c{count}", f"-d{seconds + 2}s", "--timeout", "60s", "-s", str(script), base]
    heavy = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
    time.sleep(1)  # under way before the measuring starts
    try:
        yield heavy
    finally:
        output = heavy.communicate(timeout=seconds + 90)[0]
    if "Non-2xx" in output or "Socket errors" in output:
        raise RuntimeError(f"heavy requests failed:\n{output}")
    heavy.answers = int(re.search(r"^\s+(\d+) requests in", output, re.M).group(1))


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


def peak_rss(process) -> str:
    """Each worker's peak resident memory so far, in MB: which phase of the load raised it."""
    return ", ".join(f"{status_kb(pid, 'VmHWM') / 1024:.0f}" for pid in sorted(family(process.pid) - {process.pid}))


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
    prepare(data.read_bytes(), data)  # its rendered pieces, as the importer writes them: start-up as deployed
    event_id = load_programme(data).events[0].id
    began = time.monotonic()
    process, base = start_server({"FEEDSVC_DATA": str(data)}, command=command(options.threads))
    try:
        wait_until_up(f"{base}/healthz", process, seconds=300)
        print(f"{options.events} events; {command(options.threads)}")
        print(f"start to first 200: {time.monotonic() - began:.1f} s")
        peaks = {"started": peak_rss(process)}
        path = f"/events/{event_id}.ics"
        load = argparse.Namespace(connections=8, seconds=options.seconds)
        idle = revalidations(base, path, options.seconds)
        with heavy_clients(base, options.seconds) as heavy:
            busy = revalidations(base, path, options.seconds)
        peaks["304s and heavy answers"] = peak_rss(process)
        print(f"304s alone:           {idle}")
        print(f"304s beside 2 heavy:  {busy} ({busy.rate / idle.rate:.0%} of alone; "
              f"{heavy.answers} heavy answers in {options.seconds + 2} s, {', '.join(HEAVY)} in turn)")
        typed = f"{base}/calendar.ics?type=spotlight"
        for name, headers in (("identity", {}), ("gzip, br", {"Accept-Encoding": "gzip, br"})):
            measured = wrk(typed, process.pid, load, headers)
            size = len(fetch(typed, headers)[2])
            print(f"type feed, {name:8}: {measured.requests_per_s:9.0f} req/s, p99 {measured.p99_ms:8.1f} ms, "
                  f"{size:,d} bytes")
            peaks[f"type feed, {name}"] = peak_rss(process)
        for pid in sorted(family(process.pid) - {process.pid}):
            print(f"worker {pid}: peak RSS {status_kb(pid, 'VmHWM') / 1024:.0f} MB, now {status_kb(pid, 'VmRSS') / 1024:.0f} MB")
        for phase, figures in peaks.items():
            print(f"  peak RSS per worker after {phase}: {figures}")
    finally:
        stop_server(process)


if __name__ == "__main__":
    main()
