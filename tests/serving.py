"""The Procfile's production server (started by bench/procfile.py), and a client for it.

Shared by the tests that need a running server (tests/test_server.py, tests/test_browser.py,
tests/test_nginx.py), with the faulty clients they play: idle, silent and slow ones.
"""
from __future__ import annotations

import resource
import socket
import tempfile
import time
from contextlib import contextmanager
from typing import Iterator

from bench.procfile import fetch, start_server, stop_server, wait_until_up

__all__ = ["fetch", "idle_connections", "p99_seconds", "raised_file_limit", "raw_status", "running_server",
           "seconds_until_closed", "start_server", "still_open", "stop_server", "wait_until_up"]


@contextmanager
def running_server(extra_env: dict[str, str] | None = None, seconds: float = 30) -> Iterator[str]:
    """A started server's base URL, once it answers (within `seconds`: a big programme takes
    its workers a while to load); stopped on the way out.
    Its output (an access log line per request) goes to a file: a pipe nobody reads would
    fill up and stop the server."""
    with tempfile.TemporaryFile("w+") as output:
        process, base = start_server(extra_env, stdout=output)
        try:
            wait_until_up(f"{base}/healthz", process, seconds)
            yield base
        finally:
            stop_server(process)


def raw_status(base: str, request_line: bytes) -> int:
    """Send bytes no HTTP library would, and read the status code back."""
    host, port = address(base)
    with socket.create_connection((host, port), timeout=10) as connection:
        connection.sendall(request_line + b"\r\nHost: " + host.encode() + b"\r\nConnection: close\r\n\r\n")
        reply = b"".join(iter(lambda: connection.recv(65536), b""))
    return int(reply.split(b" ", 2)[1])


def address(base: str) -> tuple[str, int]:
    """(host, port) of a base URL, for a raw socket."""
    host, port = base.removeprefix("http://").split(":")
    return host, int(port)


def seconds_until_closed(base: str, sent: bytes = b"", drip: bytes = b"", give_up: float = 30) -> float:
    """Connect, send `sent`, then read (and drop) whatever comes, sending `drip` after every
    second of silence, until the server closes the connection: the seconds from connecting.
    A client that says nothing, or drips its head, or idles after an answer, would otherwise
    hold a connection for ever. Fails after `give_up` seconds."""
    with socket.create_connection(address(base), timeout=1) as connection:
        started = time.monotonic()
        connection.sendall(sent)
        while time.monotonic() - started < give_up:
            try:
                if connection.recv(65536) == b"":
                    return time.monotonic() - started
            except socket.timeout:
                if drip:
                    connection.sendall(drip)
    raise AssertionError(f"{base} kept the connection open {give_up} s (sent {sent[:40]!r}, drip {drip!r})")


@contextmanager
def raised_file_limit(wanted: int = 5000) -> Iterator[int]:
    """This process's open-file limit raised to its hard limit (servers started inside inherit
    it), and restored on the way out: how many idle connections (up to `wanted`) it allows,
    with each connection's two ends counted and 1,000 files to spare."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    try:
        yield min(wanted, (hard - 1000) // 2)
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


@contextmanager
def idle_connections(base: str, count: int) -> Iterator[list[socket.socket]]:
    """`count` connections as calendar servers and crawlers leave them: every other one kept
    alive after one request (its answer left unread), the others never sending a byte."""
    idle = []
    try:
        for number in range(count):
            idle.append(socket.create_connection(address(base), timeout=5))
            if number % 2:
                idle[-1].sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        yield idle
    finally:
        for connection in idle:
            connection.close()


def still_open(connections: list[socket.socket]) -> int:
    """How many of `connections` the server has not closed: an open one has nothing more to
    read than the answer already sent, a closed one reads as end of file (or a reset)."""
    def is_open(connection: socket.socket) -> bool:
        connection.setblocking(False)
        try:
            while connection.recv(65536):
                pass
            return False
        except BlockingIOError:
            return True
        except ConnectionError:
            return False

    return sum(map(is_open, connections))


def p99_seconds(url: str, requests: int = 200) -> float:
    """The 99th percentile of `requests` GETs of `url` one after another, every answer a 200."""
    times = []
    for _ in range(requests):
        started = time.monotonic()
        assert fetch(url)[0] == 200
        times.append(time.monotonic() - started)
    return sorted(times)[round(requests * 0.99) - 1]
