"""SIGTERM to the Procfile's server at any moment: how long until every one of its processes is gone.

A platform stops a server with SIGTERM and kills it 30 s later; a deploy waits for it. So a
stop must end every process quickly whenever it comes: while the workers start, while they
serve, and with a client stuck halfway through a request head. Each try starts the server,
waits a random time (0 to 2 s, so some stops land during start-up), optionally opens a
connection that sends half a head, sends SIGTERM to the server's main process, and times
until no process of its group is left.

    python -m bench.stops --tries 100            # the figures in docs/performance.md
    python -m bench.stops --tries 20 --stuck-client
"""
from __future__ import annotations

import argparse
import os
import random
import signal
import socket
import statistics
import time

from bench.procfile import family, start_server

GIVE_UP_SECONDS = 20


def alive(pids: set[int]) -> set[int]:
    """The processes of `pids` still running (not gone, not zombies)."""
    running = set()
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as stat:
                if stat.read().rsplit(")", 1)[1].split()[0] != "Z":
                    running.add(pid)
        except FileNotFoundError:
            pass
    return running


def one_stop(delay: float, stuck_client: bool) -> float:
    """Seconds from SIGTERM until the server's last process is gone (GIVE_UP_SECONDS if never)."""
    process, base = start_server()
    client = None
    try:
        time.sleep(delay)
        if stuck_client:
            host, port = base.removeprefix("http://").split(":")
            try:
                client = socket.create_connection((host, int(port)), timeout=2)
                client.sendall(b"GET /healthz HTTP/1.1\r\n")  # and nothing more
            except OSError:  # not listening yet: a stop during start-up
                client = None
        group = family(process.pid)
        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        while (process.poll() is None or alive(group)) and time.monotonic() - started < GIVE_UP_SECONDS:
            group |= family(process.pid) if process.poll() is None else set()
            time.sleep(0.02)
        return time.monotonic() - started
    finally:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait()
        if client:
            client.close()


def stops(tries: int, stuck_client: bool = False, seed: int = 1) -> list[float]:
    rng = random.Random(seed)
    return [one_stop(rng.uniform(0, 2), stuck_client) for _ in range(tries)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tries", type=int, default=100)
    parser.add_argument("--stuck-client", action="store_true", help="hold a half-sent request head open")
    options = parser.parse_args()
    seconds = stops(options.tries, options.stuck_client)
    print(f"{options.tries} stops{' with a stuck client' if options.stuck_client else ''}: "
          f"median {statistics.median(seconds):.2f} s, slowest {max(seconds):.2f} s, "
          f"over 10 s: {sum(s > 10 for s in seconds)}")


if __name__ == "__main__":
    main()
