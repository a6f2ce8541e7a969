"""The Procfile's production server, started for real, answering over HTTP."""
from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import click
import pytest

from bench.run import fetch, free_port, procfile_command
from feedsvc import create_app

from .conftest import ROOT, expected_times, parse_both


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


@pytest.fixture(scope="module")
def server():
    process, base = start_server({"FEEDSVC_BASE_URL": "https://feeds.example.org"})
    try:
        wait_until_up(f"{base}/healthz", process)
        yield base
    finally:
        process.terminate()
        process.communicate(timeout=10)


def test_procfile_server_serves_orals(server):
    status, headers, body = fetch(f"{server}/calendar.ics?type=oral")
    assert status == 200
    assert headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert parse_both(body) == expected_times({"multiscale-deep-equilibrium-models",
                                               "on-the-modularity-of-hypernetworks",
                                               "training-generative-adversarial-networks-with-limited"})
    assert fetch(f"{server}/calendar.ics?type=oral", headers={"If-None-Match": headers["ETag"]})[0] == 304


def test_procfile_server_single_event_and_head(server):
    status, headers, body = fetch(f"{server}/events/meshsdf.ics")
    assert (status, headers["Content-Disposition"]) == (200, "attachment; filename=meshsdf.ics")
    assert parse_both(body) == expected_times({"meshsdf"})
    status, head_headers, head_body = fetch(f"{server}/events/meshsdf.ics", method="HEAD")
    assert (status, head_body, head_headers["Content-Length"]) == (200, b"", str(len(body)))


def test_procfile_server_bad_input_is_400(server):
    status, _, body = fetch(f"{server}/calendar.ics?types=oral")
    assert status == 400 and b"unknown parameter 'types'" in body


def test_procfile_server_refuses_bad_data_file(tmp_path):
    broken = tmp_path / "programme.json"
    broken.write_text('{"format": 1, "conference": {', encoding="utf-8")
    process, _ = start_server({"FEEDSVC_DATA": str(broken)})
    output, _ = process.communicate(timeout=30)
    assert process.returncode != 0
    assert f"{broken}: not valid JSON (truncated?)" in output


def test_app_loads_its_data_under_a_server_with_its_own_command_line():
    """granian, for one, calls the factory inside its own click command: that is serving."""
    with click.Context(click.Command("granian")):
        assert create_app().extensions["feedsvc"].programme.events
