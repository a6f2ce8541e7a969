"""The Procfile's production server, started for real on a free loopback port, and a client for it.

Shared by the tests that need a running server (tests/test_server.py, tests/test_browser.py).
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from .conftest import ROOT


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def procfile_command() -> str:
    (line,) = [l for l in (ROOT / "Procfile").read_text().splitlines() if l.startswith("web:")]
    return line.removeprefix("web:").strip()


def wait_until_up(url: str, process: subprocess.Popen, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"server exited with {process.returncode}: {process.stdout.read()}")
        try:
            urllib.request.urlopen(url, timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"server did not answer {url} within {seconds}s")


def start_server(extra_env: dict[str, str] | None = None) -> tuple[subprocess.Popen, str]:
    """The Procfile's `web:` command on a free loopback port, as a platform would run it."""
    port = free_port()
    env = dict(os.environ, PORT=str(port),
               PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}", **(extra_env or {}))
    command = procfile_command().replace("0.0.0.0", "127.0.0.1")
    process = subprocess.Popen(["sh", "-c", f"exec {command}"], cwd=ROOT, env=env, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    return process, f"http://127.0.0.1:{port}"


@contextmanager
def running_server(extra_env: dict[str, str] | None = None) -> Iterator[str]:
    """A started server's base URL, once it answers; stopped on the way out."""
    process, base = start_server(extra_env)
    try:
        wait_until_up(f"{base}/healthz", process)
        yield base
    finally:
        process.terminate()
        process.communicate(timeout=10)


def fetch(url: str, method: str = "GET", headers: dict[str, str] | None = None):
    request = urllib.request.Request(url, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()
