"""Start the Procfile's `web:` command on a loopback port, as a platform would.

Shared by the tests that need a real server and by the load scripts, so that
what is measured and tested is exactly what production runs.
"""
from __future__ import annotations

import os
import re
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


def loopback_argv(command: str, port: int) -> list[str]:
    """A Procfile-style command run by a shell, as a platform does, on a loopback `port`."""
    return ["sh", "-c", "exec " + command.replace("$PORT", str(port)).replace("0.0.0.0", "127.0.0.1")]


def start_server(extra_env: dict[str, str] | None = None, command: str | None = None,
                 **popen) -> tuple[subprocess.Popen, str]:
    """The Procfile's server (or `command`, in the Procfile's form) on a free loopback port;
    returns the process and its base URL.
    Output (an access log line per request) is thrown away unless `popen` says where
    (stdout=a file; a pipe only for a server that is expected to stop by itself: an unread
    pipe fills up and stops the server)."""
    port = free_port()
    env = dict(os.environ, PORT=str(port),
               PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}", **(extra_env or {}))
    options = {"stdout": subprocess.DEVNULL, "stderr": subprocess.STDOUT, "start_new_session": True, **popen}
    process = subprocess.Popen(loopback_argv(command or procfile_command(), port), cwd=ROOT, env=env, text=True,
                               **options)
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


def process_stats() -> dict[int, tuple[int, int]]:
    """Every process's (parent, CPU ticks), from /proc."""
    stats = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue  # ended meanwhile
        stats[int(stat.parent.name)] = (int(fields[1]), int(fields[11]) + int(fields[12]))
    return stats


def family(pid: int, stats: dict[int, tuple[int, int]] | None = None) -> set[int]:
    """`pid` and all its descendants."""
    stats = process_stats() if stats is None else stats
    found = {pid}
    while grown := {p for p, (parent, _) in stats.items() if parent in found} - found:
        found |= grown
    return found


def status_kb(pid: int | str, field: str) -> int:
    """A memory figure of /proc/<pid>/status (VmRSS, VmHWM) in kB; 0 once the process has ended."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return 0
    found = re.search(rf"^{field}:\s+(\d+) kB$", status, re.M)
    return int(found.group(1)) if found else 0


def process_tree_rss(pid: int) -> int:
    """Resident memory, in bytes, of a process and all its descendants (Linux /proc)."""
    return sum(status_kb(member, "VmRSS") for member in family(pid)) * 1024
