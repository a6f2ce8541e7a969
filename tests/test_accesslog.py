"""The access log: Combined Log Format, one line per request, replayed answers included, nothing forged."""
from __future__ import annotations

import logging
import re
import time

import pytest

from feedsvc import create_app
from feedsvc.accesslog import escaped

from .serving import fetch, raw_status, start_server, stop_server, wait_until_up

# host ident user [time] "request" status size "referer" "user agent", as Apache and nginx write it
COMBINED = re.compile(r'(?P<host>\S+) - - \[(?P<time>\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4})\] '
                      r'"(?P<request>(?:[^"\\]|\\x[0-9A-F]{2})*)" (?P<status>\d{3}) (?P<size>\d+|-) '
                      r'"(?P<referer>(?:[^"\\]|\\x[0-9A-F]{2})*)" "(?P<agent>(?:[^"\\]|\\x[0-9A-F]{2})*)"')


class Lines(logging.Handler):
    def __init__(self):
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record):
        self.lines.append(record.getMessage())


@pytest.fixture
def logged():
    """The access log's lines while a test runs."""
    lines = Lines()
    logger = logging.getLogger("feedsvc.access")
    logger.addHandler(lines)
    yield lines.lines
    logger.removeHandler(lines)


def fields(line: str) -> dict[str, str]:
    match = COMBINED.fullmatch(line)
    assert match, line
    return match.groupdict()


def test_a_feed_request_and_its_replay_are_logged_alike(logged):
    client = create_app({"TESTING": True}).test_client()
    headers = {"Referer": "https://feeds.example.org/", "User-Agent": "Calendar/1.0"}
    bodies = [client.get("/calendar.ics?type=oral", headers=headers).get_data() for _ in range(2)]
    assert len(logged) == 2  # the second was replayed without Flask, and is logged all the same
    for line in logged:
        assert {k: v for k, v in fields(line).items() if k != "time"} == {
            "host": "127.0.0.1", "request": "GET /calendar.ics?type=oral HTTP/1.1", "status": "200",
            "size": str(len(bodies[0])), "referer": "https://feeds.example.org/", "agent": "Calendar/1.0"}
    assert time.strptime(fields(logged[0])["time"], "%d/%b/%Y:%H:%M:%S %z")


def test_no_body_is_logged_as_a_dash_and_errors_with_their_size(logged):
    client = create_app({"TESTING": True}).test_client()
    etag = client.get("/events/meshsdf.ics").headers["ETag"]
    client.get("/events/meshsdf.ics", headers={"If-None-Match": etag})
    client.head("/events/meshsdf.ics")
    missing = client.get("/events/no-such-talk.ics").get_data()
    statuses = [(f["request"].split()[0], f["status"], f["size"], f["referer"]) for f in map(fields, logged)]
    assert statuses[1:] == [("GET", "304", "-", "-"), ("HEAD", "200", "-", "-"), ("GET", "404", str(len(missing)), "-")]


def test_what_a_client_sends_cannot_forge_a_line(logged):
    client = create_app({"TESTING": True}).test_client()
    client.get('/calendar.ics?type=oral"&x=\u00e9', headers={
        "User-Agent": 'evil" 200 1 "-" "x\\', "Referer": "https://a.example/\u00e9"})  # one byte, E9
    (line,) = logged
    found = fields(line)
    assert found["request"] == "GET /calendar.ics?type=oral\\x22&x=\\xC3\\xA9 HTTP/1.1"
    assert found["agent"] == "evil\\x22 200 1 \\x22-\\x22 \\x22x\\x5C"
    assert found["referer"] == "https://a.example/\\xE9"
    assert found["status"] == "400"


def test_escaping_leaves_printable_ascii_alone():
    assert escaped("GET /calendar.ics?type=oral HTTP/1.1") == "GET /calendar.ics?type=oral HTTP/1.1"
    assert escaped("a\r\nb\x00\x7f") == "a\\x0D\\x0Ab\\x00\\x7F"


def test_behind_a_trusted_proxy_the_client_is_logged(logged):
    client = create_app({"TESTING": True, "TRUSTED_PROXIES": 1}).test_client()
    client.get("/healthz", headers={"X-Forwarded-For": "203.0.113.7"})
    client.get("/healthz", headers={"X-Forwarded-For": "evil - - [01/Jan/2000:00:00:00 +0000] GET"})
    assert [fields(line)["host"] for line in logged] == [
        "203.0.113.7", "evil\\x20-\\x20-\\x20[01/Jan/2000:00:00:00\\x20+0000]\\x20GET"]


def test_procfile_server_writes_the_combined_log_format(tmp_path):
    log = tmp_path / "server.log"
    with log.open("w") as output:
        process, base = start_server(stdout=output)
    try:
        wait_until_up(f"{base}/healthz", process)
        status, _, body = fetch(f"{base}/types/oral.ics", headers={"User-Agent": "Calendar/1.0"})
        assert status == 200
        assert raw_status(base, b"GET /healthz HTTP/1.0") == 200
        deadline = time.monotonic() + 10
        while "/healthz HTTP/1.0" not in log.read_text() and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop_server(process)
    (line,) = [line for line in log.read_text().splitlines() if "/types/oral.ics" in line]
    found = fields(line)
    assert (found["host"], found["request"], found["status"], found["size"], found["agent"]) == (
        "127.0.0.1", "GET /types/oral.ics HTTP/1.1", "200", str(len(body)), "Calendar/1.0")
    (line,) = [line for line in log.read_text().splitlines() if "/healthz HTTP/1.0" in line]
    assert (fields(line)["request"], fields(line)["status"]) == ("GET /healthz HTTP/1.0", "200")
