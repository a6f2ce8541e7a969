"""Start the Procfile's `web:` command on a loopback port, as a platform would.

Shared by the tests that need a real server and by the load scripts, so that
what is measured and tested is exactly what production runs.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from email.message import Message
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def procfile_command() -> str:
    (line,) = [l for l in (ROOT / "Procfile").read_text().splitlines() if l.startswith("web:")]
    return line.removeprefix("web:").strip()


def start_server(extra_env: dict[str, str] | None = None, **popen) -> tuple[subprocess.Popen, str]:
    """The Procfile's server on a free loopback port; returns the process and its base URL.
    Output (an access log line per request) is thrown away unless `popen` says where
    (stdout=a file; a pipe only for a server that is expected to stop by itself: an unread
    pipe fills up and stops the server)."""
    port = free_port()
    env = dict(os.environ, PORT=str(port),
               PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}", **(extra_env or {}))
    command = procfile_command().replace("0.0.0.0", "127.0.0.1")
    options = {"stdout": subprocess.DEVNULL, "stderr": subprocess.STDOUT, "start_new_session": True, **popen}
    process = subprocess.Popen(["sh", "-c", f"exec {command}"], cwd=ROOT, env=env, text=True, **options)
    return process, f"http://127.0.0.1:{port}"


def stop_server(process: subprocess.Popen) -> None:
    """TERM the process group of a server started here (in a session of its own: the server
    and its workers), give it 15 s, then KILL whatever of the group is left, so that none
    outlives its caller."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=15)
    except ProcessLookupError:
        pass  # the whole group is gone already
    except subprocess.TimeoutExpired:
        pass
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait()


def wait_until_up(url: str, process: subprocess.Popen, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output = process.stdout.read() if process.stdout else ""
            raise RuntimeError(f"server exited with {process.returncode}: {output}")
        try:
            urllib.request.urlopen(url, timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"server did not answer {url} within {seconds}s")


def fetch(url: str, headers: dict[str, str] | None = None, method: str = "GET") -> tuple[int, Message, bytes]:
    """Status, headers (names in any case, as servers differ) and body."""
    request = urllib.request.Request(url, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def process_tree_rss(pid: int) -> int:
    """Resident memory, in bytes, of a process and all its descendants (Linux /proc)."""
    total, pending = 0, [pid]
    while pending:
        current = pending.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except OSError:
            continue
        total += int(next(l.split()[1] for l in status.splitlines() if l.startswith("VmRSS:"))) * 1024
        pending += [int(child) for child in children]
    return total
