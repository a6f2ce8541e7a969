"""Start-up at conference size, with and without the sidecar of rendered pieces (issue 12).

    python -m bench.startup [--events 15000] [--repeat 3]

Writes a synthetic programme to a directory of its own and measures:
`Catalog.load` in this process without a sidecar (it renders every event and
writes the sidecar) and with it; what the importer adds to write the sidecar
(`pieces.prepare`); and the Procfile's server, from its start to the first 200
of /healthz, without and with the sidecar, and on the shipped 15 events (what
starting costs besides the data). Issue 12's target: at most 5 s from
start to the first 200 at 15,000 events.
"""
from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

from bench.procfile import start_server, stop_server, wait_until_up
from bench.synthetic import generate
from feedsvc import SHIPPED_DATA
from feedsvc.feeds import Catalog
from feedsvc.pieces import prepare, sidecar
from feedsvc.store import write_programme

UP_SECONDS = 300  # rendering 15,000 events in each of two workers on two loaded cores


def seconds(action: Callable[[], object]) -> float:
    """How long `action` took; what it returns is freed after the clock stops (a catalog of
    15,000 events takes a tenth of a second to free)."""
    began = time.perf_counter()
    result = action()
    elapsed = time.perf_counter() - began
    del result
    return elapsed


def server_start(data: Path) -> float:
    """Seconds from starting the Procfile's server on `data` to its first 200 of /healthz."""
    began = time.perf_counter()
    process, base = start_server({"FEEDSVC_DATA": str(data)})
    try:
        wait_until_up(f"{base}/healthz", process, seconds=UP_SECONDS)
        return time.perf_counter() - began
    finally:
        stop_server(process)


def timed(label: str, measure: Callable[[], float], times: int = 1,
          before: Callable[[], object] | None = None) -> None:
    """Run `before` (if any) then `measure`, `times` times; print each figure and the median."""
    figures = []
    for _ in range(times):
        if before:
            before()
        figures.append(measure())
    print(f"{label:<46} median {statistics.median(figures):6.2f} s   each: "
          + ", ".join(f"{f:.2f}" for f in figures), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=15000)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each measurement with the sidecar")
    options = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="feedsvc-startup-"))
    data = work / "programme.json"
    try:
        write_programme(generate(options.events), data)
        print(f"{options.events:,} events, data file {data.stat().st_size / 2**20:.1f} MiB", flush=True)
        remove = partial(sidecar(data).unlink, missing_ok=True)
        timed("Catalog.load, no sidecar (renders, writes it)", lambda: seconds(lambda: Catalog.load(data)), 1, remove)
        print(f"sidecar {sidecar(data).stat().st_size / 2**20:.1f} MiB", flush=True)
        timed("Catalog.load, with the sidecar", lambda: seconds(lambda: Catalog.load(data)), options.repeat)
        timed("importer's cost of the sidecar (prepare)", lambda: seconds(lambda: prepare(data.read_bytes(), data)), 1)
        timed("server start to first 200, no sidecar", lambda: server_start(data), 1, remove)
        timed("server start to first 200, with the sidecar", lambda: server_start(data), options.repeat)
        timed("server start to first 200, the shipped 15 events", lambda: server_start(SHIPPED_DATA), options.repeat)
    finally:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
