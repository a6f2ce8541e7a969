"""The Procfile's production server, started for real, answering over HTTP."""
from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.error
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import click
import pytest

from feedsvc import SHIPPED_DATA, create_app
from feedsvc.pieces import prepare
from feedsvc.store import write_programme

from .conftest import expected_times, parse_both
from bench.procfile import family
from bench.synthetic import generate
from bench.stops import stops

from .serving import (address, fetch, idle_connections, p99_seconds, raised_file_limit, raw_status, seconds_until_closed,
                      start_server, still_open, stop_server, wait_until_up)


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


def test_procfile_server_replays_exactly_what_flask_answered(server):
    """Two workers: of six requests each worker's first went through Flask, the rest were replayed."""
    def without_date(headers):
        return sorted((name, value) for name, value in headers.items() if name.lower() != "date")

    answers = [fetch(f"{server}/authors/j-zico-kolter.ics?alarm=5") for _ in range(6)]
    status, headers, body = answers[0]
    assert status == 200 and parse_both(body) == expected_times({
        "multiscale-deep-equilibrium-models", "monotone-operator-equilibrium-networks"})
    assert {(s, tuple(without_date(h)), b) for s, h, b in answers} == {(status, tuple(without_date(headers)), body)}
    revalidations = [fetch(f"{server}/authors/j-zico-kolter.ics?alarm=5", headers={"If-None-Match": headers["ETag"]})
                     for _ in range(6)]
    assert {(s, tuple(without_date(h)), b) for s, h, b in revalidations} == {
        (304, tuple(without_date(revalidations[0][1])), b"")}


def test_procfile_server_bad_input_is_400(server):
    status, _, body = fetch(f"{server}/calendar.ics?types=oral")
    assert status == 400 and b"unknown parameter 'types'" in body


def test_procfile_server_refuses_bad_data_file(tmp_path):
    broken = tmp_path / "programme.json"
    broken.write_text('{"format": 1, "conference": {', encoding="utf-8")
    process, _ = start_server({"FEEDSVC_DATA": str(broken)}, stdout=subprocess.PIPE)  # it stops by itself
    output, _ = process.communicate(timeout=30)
    assert process.returncode != 0
    assert f"{broken}: not valid JSON (truncated?)" in output


def until_every_worker_logs(base: str, path: str, log: Path, event: str, workers: int = 2) -> set[bytes]:
    """Ask for `path` in concurrent batches until `workers` processes have logged `event`;
    every answer must be a 200. The bodies answered, from all the workers."""
    bodies = set()
    for _ in range(50):
        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(lambda _: fetch(base + path), range(8)))
        assert {status for status, _, _ in answers} == {200}
        bodies |= {body for _, _, body in answers}
        if len(set(re.findall(rf"worker (\d+): {event}", log.read_text()))) == workers:
            return bodies
    raise AssertionError(f"not every worker logged {event!r}: {log.read_text()}")


def test_procfile_server_reloads_in_every_worker_without_outage(tmp_path):
    """Both workers pick up a new file; a broken file written while running changes nothing."""
    from .test_live import retitled
    data, log = tmp_path / "programme.json", tmp_path / "server.log"
    data.write_bytes(SHIPPED_DATA.read_bytes())
    with log.open("w") as output:
        process, base = start_server({"FEEDSVC_DATA": str(data), "FEEDSVC_RELOAD_SECONDS": "0.1"}, stdout=output)
    try:
        wait_until_up(f"{base}/healthz", process)
        until_every_worker_logs(base, "/healthz", log, "loaded")
        retitled(data, "h-mem", "H-Mem, corrected")
        time.sleep(0.3)
        until_every_worker_logs(base, "/events/h-mem.ics", log, "reloaded")
        new = {fetch(f"{base}/events/h-mem.ics")[2] for _ in range(10)}  # from both workers, most likely
        assert len(new) == 1 and b"SUMMARY:H-Mem\\, corrected\r\n" in next(iter(new))
        data.write_text(SHIPPED_DATA.read_text(encoding="utf-8")[:4000], encoding="utf-8")
        time.sleep(0.3)
        assert until_every_worker_logs(base, "/events/h-mem.ics", log, "data file changed but cannot") == new
    finally:
        stop_server(process)
    assert f"still serving the last good data: {data}: not valid JSON (truncated?)" in log.read_text()


@pytest.mark.parametrize("request_line, status", [
    (b"GET /calendar.ics?type=\xff\xfe HTTP/1.1", 400),
    (b"GET /calendar.ics?author=\xc3\x28 HTTP/1.1", 400),
    (b"GET /calendar.ics?type=%zz%ff HTTP/1.1", 400),
    (b"GET /events/\xff.ics HTTP/1.1", 400),  # raw bytes: refused by the server itself
    (b"GET /events/../../etc/passwd HTTP/1.1", 404),
    (b"GET /calendar.ics?type=" + b"a" * 3000 + b" HTTP/1.1", 400),
    (b"GET /calendar.ics?type=" + b"a" * 5000 + b" HTTP/1.1", 414),
    (b"BREW /calendar.ics HTTP/1.1", 405),
    (b"GET /healthz HTTP/1.1\r\nCookie: " + b"a" * 16_000, 200),
    (b"GET /healthz HTTP/1.1\r\nCookie: " + b"a" * 33_000, 431),  # a head over 32 KiB, never a 200
    (b"GET /healthz HTTP/1.1\r\nCookie: " + b"a" * 400_000, 431),
])
def test_procfile_server_raw_hostile_requests(server, request_line, status):
    assert raw_status(server, request_line) == status


def test_app_loads_its_data_under_a_server_with_its_own_command_line():
    """granian, for one, calls the factory inside its own click command: that is serving."""
    with click.Context(click.Command("granian")):
        assert create_app().extensions["feedsvc"].current().programme.events


def test_a_killed_worker_is_replaced_without_an_outage():
    """kill -9 of a worker, as the out-of-memory killer would: the other worker goes on
    answering, and the server starts a new one (without --respawn-failed-workers granian
    shut down whole: 0 of 33 health checks answered)."""
    with tempfile.TemporaryFile("w+") as output:
        process, base = start_server(stdout=output)
        try:
            wait_until_up(f"{base}/healthz", process)
            workers = family(process.pid) - {process.pid}
            assert len(workers) == 2
            os.kill(min(workers), signal.SIGKILL)
            started, answers = time.monotonic(), []
            while time.monotonic() - started < 3:
                try:
                    answers.append((time.monotonic() - started, fetch(f"{base}/healthz")[0]))
                except (ConnectionError, urllib.error.URLError) as error:  # at the killed worker's socket
                    answers.append((time.monotonic() - started, type(error).__name__))
                time.sleep(0.05)
            now = family(process.pid) - {process.pid}
            assert process.poll() is None and len(answers) > 20
            assert {status for at, status in answers if at > 1} == {200}  # answering again within 1 s
            assert any(status == 200 for at, status in answers if at <= 1)
            assert len(now) == 2 and min(workers) not in now  # a new worker in its place
        finally:
            stop_server(process)


def test_a_head_sent_slowly_is_cut_off_after_10_seconds(server):
    """A client that sends its head a line a second would hold a connection for ever."""
    seconds = seconds_until_closed(server, b"GET /healthz HTTP/1.1\r\n", drip=b"X-Slow: 1\r\n", give_up=15)
    assert 9.5 <= seconds < 11.5


def test_a_stop_at_any_moment_ends_every_process_within_10_seconds():
    """SIGTERM during start-up, while serving, and with a client stuck in its request head
    (bench/stops.py makes 100 such stops): without --workers-kill-timeout, 3 of 20 hung."""
    seconds = stops(8) + stops(2, stuck_client=True, seed=2)
    assert max(seconds) < 10, seconds


def test_a_request_in_flight_completes_when_the_server_is_stopped(tmp_path):
    """SIGTERM while the API's largest page of a 1,500-event programme renders (1,000 events, a fifth of
    a second; the page, which took most of a second, now shows 30 events at a time): it is still
    answered whole."""
    data = tmp_path / "programme.json"
    write_programme(generate(1500), data)
    with tempfile.TemporaryFile("w+") as output:
        process, base = start_server({"FEEDSVC_DATA": str(data)}, stdout=output)
        try:
            wait_until_up(f"{base}/healthz", process, 60)
            answers = []
            request = threading.Thread(target=lambda: answers.append(fetch(f"{base}/api/events?limit=1000")))
            request.start()
            time.sleep(0.05)
            stopped = time.monotonic()
            process.send_signal(signal.SIGTERM)
            request.join(30)
            status, _, body = answers[0]
            assert status == 200 and len(json.loads(body)["events"]) == 1000
            assert process.wait(10) == 0 and time.monotonic() - stopped > 0.1  # it waited for the answer
        finally:
            stop_server(process)


def test_thousands_of_idle_connections_do_not_hold_up_a_request():
    """Calendar servers and crawlers hold connections open, some silent, some kept alive after an
    answer. With granian's default backpressure (512 a worker) 2,000 of them held a request 18.9 s
    and timed another out; with --backpressure 8192, 5,000 of them cost a request nothing."""
    with raised_file_limit() as count, tempfile.TemporaryFile("w+") as output:
        process, base = start_server(stdout=output)  # inherits the raised limit
        try:
            wait_until_up(f"{base}/healthz", process)
            with idle_connections(base, count) as idle:
                p99 = p99_seconds(f"{base}/calendar.ics?type=oral")
                assert (count, still_open(idle)) == (5000, 5000) and p99 < 0.1
        finally:
            stop_server(process)


def test_slow_downloads_of_a_big_feed_hold_up_no_other_request(tmp_path):
    """The whole feed of 3,500 events (7 MB) is sent in parts, which holds a server thread for as
    long as the client reads; six clients that read nothing hold at most two of a worker's three
    threads (the next download is sent whole), so another download, revalidations and health
    checks are answered at once. Sent in parts without a bound, three of them on one worker took
    all its threads and every request it got waited for them."""
    data = tmp_path / "programme.json"
    write_programme(generate(3500), data)
    prepare(data.read_bytes(), data)  # as the importer does: the workers start without rendering
    with tempfile.TemporaryFile("w+") as output:
        process, base = start_server({"FEEDSVC_DATA": str(data)}, stdout=output)
        try:
            wait_until_up(f"{base}/healthz", process, 60)
            status, headers, whole = fetch(f"{base}/calendar.ics")
            assert status == 200 and int(headers["Content-Length"]) == len(whole) > 6 * 2**20
            with stalled_downloads(base, "/calendar.ics", 6):
                again = fetch(f"{base}/calendar.ics")
                assert (again[0], again[2]) == (200, whole)
                etag = {"If-None-Match": headers["ETag"]}
                times = [seconds(lambda: fetch(f"{base}/calendar.ics", etag)[0] == 304) for _ in range(10)]
                times += [seconds(lambda: fetch(f"{base}/healthz")[0] == 200) for _ in range(10)]
                assert max(times) < 2, times
        finally:
            stop_server(process)


def seconds(request) -> float:
    """How long `request()` took; it must return True (the answer was the one expected)."""
    started = time.monotonic()
    assert request()
    return time.monotonic() - started


@contextmanager
def stalled_downloads(base: str, path: str, count: int):
    """`count` clients that ask for `path` and then read nothing (a receive buffer of 4 KB), as a
    client on a slow link does for minutes."""
    connections = []
    try:
        for _ in range(count):
            connection = socket.socket()
            connection.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            connection.connect(address(base))
            connection.sendall(f"GET {path} HTTP/1.1\r\nHost: feedsvc\r\n\r\n".encode())
            connections.append(connection)
        time.sleep(1)  # their answers under way
        yield
    finally:
        for connection in connections:
            connection.close()
