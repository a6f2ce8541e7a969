"""The Procfile's production server, started for real, answering over HTTP."""
from __future__ import annotations

import socket
import time

import pytest

from .conftest import expected_times, parse_both
from .serving import fetch, start_server, wait_until_up


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


def from_both_workers(base: str, path: str) -> list[bytes]:
    """One answer from each of the Procfile's two sync workers: a half-sent
    request keeps one worker busy while the other answers, then it finishes."""
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as held:
        held.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\n".encode())
        time.sleep(0.2)  # let one worker take the connection and wait for the rest
        status, _, other = fetch(base + path)
        assert status == 200
        held.sendall(b"Connection: close\r\n\r\n")
        reply = b"".join(iter(lambda: held.recv(65536), b""))
    head, _, body = reply.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 ")
    return [body, other]


def test_procfile_server_reloads_in_every_worker_without_outage(tmp_path):
    """Both workers pick up a new file; a broken file written while running changes nothing."""
    from .test_live import SHIPPED, retitled
    data = tmp_path / "programme.json"
    data.write_bytes(SHIPPED.read_bytes())
    process, base = start_server({"FEEDSVC_DATA": str(data), "FEEDSVC_RELOAD_SECONDS": "0.1"})
    try:
        wait_until_up(f"{base}/healthz", process)
        from_both_workers(base, "/healthz")  # both have loaded the first file
        retitled(data, "h-mem", "H-Mem, corrected")
        time.sleep(0.3)
        new = from_both_workers(base, "/events/h-mem.ics")
        assert all(b"SUMMARY:H-Mem\\, corrected\r\n" in body for body in new)
        data.write_text(SHIPPED.read_text(encoding="utf-8")[:4000], encoding="utf-8")
        time.sleep(0.3)
        assert from_both_workers(base, "/events/h-mem.ics") == new
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=10)
    assert output.count("reloaded") == 2, output  # once in each worker
    assert output.count(f"still serving the last good data: {data}: not valid JSON (truncated?)") == 2


def raw_status(base: str, request_line: bytes) -> int:
    """Send bytes no HTTP library would, and read the status code back."""
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as connection:
        connection.sendall(request_line + b"\r\nHost: " + host.encode() + b"\r\nConnection: close\r\n\r\n")
        reply = b"".join(iter(lambda: connection.recv(65536), b""))
    return int(reply.split(b" ", 2)[1])


@pytest.mark.parametrize("request_line, status", [
    (b"GET /calendar.ics?type=\xff\xfe HTTP/1.1", 400),
    (b"GET /calendar.ics?author=\xc3\x28 HTTP/1.1", 400),
    (b"GET /calendar.ics?type=%zz%ff HTTP/1.1", 400),
    (b"GET /events/\xff.ics HTTP/1.1", 400),  # raw bytes: refused by the server itself
    (b"GET /events/../../etc/passwd HTTP/1.1", 404),
    (b"GET /calendar.ics?type=" + b"a" * 3000 + b" HTTP/1.1", 400),
    (b"GET /calendar.ics?type=" + b"a" * 5000 + b" HTTP/1.1", 414),
    (b"BREW /calendar.ics HTTP/1.1", 405),
])
def test_procfile_server_raw_hostile_requests(server, request_line, status):
    assert raw_status(server, request_line) == status
