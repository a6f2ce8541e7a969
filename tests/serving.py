"""The Procfile's production server (started by bench/procfile.py), and a client for it.

Shared by the tests that need a running server (tests/test_server.py, tests/test_browser.py).
"""
from __future__ import annotations

import socket
import tempfile
from contextlib import contextmanager
from typing import Iterator

from bench.procfile import fetch, start_server, stop_server, wait_until_up

__all__ = ["fetch", "raw_status", "running_server", "start_server", "stop_server", "wait_until_up"]


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
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as connection:
        connection.sendall(request_line + b"\r\nHost: " + host.encode() + b"\r\nConnection: close\r\n\r\n")
        reply = b"".join(iter(lambda: connection.recv(65536), b""))
    return int(reply.split(b" ", 2)[1])
