"""The Procfile's production server (started by bench/procfile.py), and a client for it.

Shared by the tests that need a running server (tests/test_server.py, tests/test_browser.py).
"""
from __future__ import annotations

import tempfile
from contextlib import contextmanager
from typing import Iterator

from bench.procfile import fetch, start_server, stop_server, wait_until_up

__all__ = ["fetch", "running_server", "start_server", "stop_server", "wait_until_up"]


@contextmanager
def running_server(extra_env: dict[str, str] | None = None) -> Iterator[str]:
    """A started server's base URL, once it answers; stopped on the way out.
    Its output (an access log line per request) goes to a file: a pipe nobody reads would
    fill up and stop the server."""
    with tempfile.TemporaryFile("w+") as output:
        process, base = start_server(extra_env, stdout=output)
        try:
            wait_until_up(f"{base}/healthz", process)
            yield base
        finally:
            stop_server(process)
