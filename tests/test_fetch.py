"""feedsvc.sources.fetch against real HTTP servers on 127.0.0.1, and real files."""
from __future__ import annotations

import gzip
import os
import re
import socket
import time
import tracemalloc

import pytest

from feedsvc.sources.fetch import (MAX_SOURCE_BYTES, USER_AGENT, Fetched, FetchError, is_url,
                                   read_source)
from feedsvc.sources.common import SourceError

BODY = b'<?xml version="1.0"?><schedule><conference title="FOSDEM"/></schedule>\n'
ETAG = '"v1"'
MODIFIED = "Tue, 01 Dec 2026 10:00:00 GMT"


@pytest.fixture
def server(source_server):
    return source_server


@pytest.fixture
def schedule(server):
    """A source with validators, answering 304 (with its ETag only) when either matches."""
    @server.route("/schedule.xml")
    def answer(handler):
        if handler.headers["If-None-Match"] == ETAG or handler.headers["If-Modified-Since"] == MODIFIED:
            handler.reply(304, ETag=ETAG)
        else:
            handler.reply(200, BODY, Content_Length=str(len(BODY)), ETag=ETAG, Last_Modified=MODIFIED)
    return server.url("/schedule.xml")


def sent(server, name):
    """The value of header `name` in every request the server saw, in order."""
    return [headers[name] for _, headers in server.seen]


def test_download_returns_content_and_validators_and_identifies_itself(server, schedule):
    assert read_source(schedule) == Fetched(BODY, ETAG, MODIFIED)
    assert sent(server, "User-Agent") == [USER_AGENT] == ["feedsvc (+schedule import)"]
    assert sent(server, "Accept-Encoding") == ["gzip"]
    assert sent(server, "If-None-Match") == sent(server, "If-Modified-Since") == [None]


def test_unchanged_source_is_a_304_without_content(server, schedule):
    assert read_source(schedule, ETAG, MODIFIED) == Fetched(None, ETAG, MODIFIED)
    assert sent(server, "If-None-Match") == [ETAG]
    assert sent(server, "If-Modified-Since") == [MODIFIED]


def test_304_keeps_the_validator_sent_when_the_server_repeats_none(server, schedule):
    assert read_source(schedule, last_modified=MODIFIED) == Fetched(None, ETAG, MODIFIED)
    assert sent(server, "If-None-Match") == [None]
    assert sent(server, "If-Modified-Since") == [MODIFIED]


def test_changed_source_is_downloaded_again(server, schedule):
    assert read_source(schedule, '"v0"') == Fetched(BODY, ETAG, MODIFIED)
    assert sent(server, "If-None-Match") == ['"v0"']
    assert sent(server, "If-Modified-Since") == [None]


def test_304_that_was_not_asked_for_is_an_error(server):
    server.route("/odd")(lambda handler: handler.reply(304))
    with pytest.raises(FetchError, match=rf"^{re.escape(server.url('/odd'))}: HTTP 304 Not Modified$"):
        read_source(server.url("/odd"))


def test_gzip_body_is_decoded(server):
    server.route("/gzip")(lambda handler: handler.reply(200, gzip.compress(BODY), Content_Encoding="gzip"))
    assert read_source(server.url("/gzip")) == Fetched(BODY, "", "")
    assert sent(server, "Accept-Encoding") == ["gzip"]


def redirects(server):
    """/hops/N redirects (relatively) to /hops/N-1; /hops/0 is the schedule."""
    for n in range(1, 6):
        server.route(f"/hops/{n}")(lambda handler, n=n: handler.reply(302, Location=f"/hops/{n - 1}"))
    server.route("/hops/0")(lambda handler: handler.reply(200, BODY, ETag=ETAG))


@pytest.mark.parametrize("hops", [1, 3])
def test_redirects_are_followed_up_to_the_limit(server, hops):
    redirects(server)
    assert read_source(server.url(f"/hops/{hops}"), ETAG) == Fetched(BODY, ETAG, "")
    assert [path for path, _ in server.seen] == [f"/hops/{n}" for n in range(hops, -1, -1)]
    assert sent(server, "If-None-Match") == [ETAG] * (hops + 1)


def test_more_redirects_than_the_limit_are_refused(server):
    redirects(server)
    url = server.url("/hops/4")
    with pytest.raises(FetchError, match=rf"^{re.escape(url)}: too many redirects \(more than 3\)$"):
        read_source(url)
    assert [path for path, _ in server.seen] == ["/hops/4", "/hops/3", "/hops/2", "/hops/1"]


def test_redirect_limit_is_a_parameter(server):
    redirects(server)
    with pytest.raises(FetchError, match=r": too many redirects \(more than 0\)$"):
        read_source(server.url("/hops/1"), max_redirects=0)
    assert read_source(server.url("/hops/5"), max_redirects=5).content == BODY


@pytest.mark.parametrize("target", ["file:///etc/passwd", "ftp://127.0.0.1/schedule.xml", "gopher://x/"])
def test_redirect_to_another_scheme_is_refused(server, target):
    server.route("/elsewhere")(lambda handler: handler.reply(301, Location=target))
    url = server.url("/elsewhere")
    with pytest.raises(FetchError, match=rf"^{re.escape(url)}: redirected to {re.escape(target)}: "
                                         r"only http\(s\) is followed$"):
        read_source(url)
    assert len(server.seen) == 1


@pytest.mark.parametrize("status, words", [(404, "Not Found"), (500, "Internal Server Error")])
def test_error_status_names_the_url_and_the_status(server, status, words):
    server.route("/feed")(lambda handler: handler.reply(status, b"<h1>oops</h1>"))
    with pytest.raises(FetchError, match=rf"^{re.escape(server.url('/feed'))}: HTTP {status} {words}$"):
        read_source(server.url("/feed"))


def test_error_status_after_a_redirect_names_both_urls(server):
    server.route("/moved")(lambda handler: handler.reply(307, Location="/gone"))
    server.route("/gone")(lambda handler: handler.reply(404))
    message = f"{server.url('/moved')}: HTTP 404 Not Found (redirected to {server.url('/gone')})"
    with pytest.raises(FetchError, match=f"^{re.escape(message)}$"):
        read_source(server.url("/moved"))


def test_credentials_in_the_url_never_appear_in_messages(server):
    server.route("/private")(lambda handler: handler.reply(403))
    port = server.server_address[1]
    with pytest.raises(FetchError) as raised:
        read_source(f"http://alice:s3cr%40t@127.0.0.1:{port}/private")
    assert str(raised.value) == f"http://127.0.0.1:{port}/private: HTTP 403 Forbidden"
    assert raised.value.source == f"http://127.0.0.1:{port}/private"
    assert isinstance(raised.value, SourceError)
    with pytest.raises(FetchError) as raised:  # urllib3 quotes the URL it could not parse
        read_source("http://alice:s3cret@127.0.0.1:99999/private")
    assert str(raised.value) == ("http://127.0.0.1:99999/private: "
                                 "download failed (Failed to parse: http://127.0.0.1:99999/private)")


def test_body_over_the_limit_is_refused_by_its_content_length(server):
    server.route("/big")(lambda handler: handler.reply(200, bytes(2000), Content_Length="2000"))
    with pytest.raises(FetchError, match=rf"^{re.escape(server.url('/big'))}: larger than 1000 bytes \(the limit\)$"):
        read_source(server.url("/big"), max_bytes=1000)
    assert read_source(server.url("/big"), max_bytes=2000).content == bytes(2000)


def test_body_over_the_limit_is_refused_without_a_content_length(server):
    server.route("/unsized")(lambda handler: handler.reply(200, b"x" * 5000))  # HTTP/1.0: ends at close
    with pytest.raises(FetchError, match=r"^http://127\.0\.0\.1:\d+/unsized: larger than 1000 bytes \(the limit\)$"):
        read_source(server.url("/unsized"), max_bytes=1000)
    assert read_source(server.url("/unsized"), max_bytes=5000).content == b"x" * 5000


def test_chunked_body_over_the_limit_is_refused(server):
    def chunked(handler):
        handler.protocol_version = "HTTP/1.1"
        chunk = b"y" * 1000
        handler.reply(200, b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(5)) + b"0\r\n\r\n",
                      Transfer_Encoding="chunked", Connection="close")
    server.route("/chunked")(chunked)
    with pytest.raises(FetchError, match=r": larger than 4096 bytes \(the limit\)$"):
        read_source(server.url("/chunked"), max_bytes=4096)
    assert read_source(server.url("/chunked"), max_bytes=5000).content == b"y" * 5000


def test_endless_body_is_cut_off_at_the_limit(server):
    def endless(handler):
        handler.reply(200)
        while not server.stop.is_set():
            handler.wfile.write(b"z" * 65536)
    server.route("/endless")(endless)
    started = time.monotonic()
    with pytest.raises(FetchError, match=r": larger than 1 MiB \(the limit\)$"):
        read_source(server.url("/endless"), max_bytes=2**20)
    assert time.monotonic() - started < 2


def test_gzip_bomb_is_refused_without_being_decompressed(server):
    bomb = gzip.compress(bytes(64 * 2**20), compresslevel=9)  # 64 MiB of zeros in ~64 KiB
    assert len(bomb) < 2**17
    server.route("/bomb")(lambda handler: handler.reply(200, bomb, Content_Encoding="gzip",
                                                        Content_Length=str(len(bomb))))
    tracemalloc.start()
    try:
        with pytest.raises(FetchError, match=r": larger than 1 MiB \(the limit\)$"):
            read_source(server.url("/bomb"), max_bytes=2**20)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 * 2**20


def drip_body(handler):
    handler.reply(200, Content_Length="1000")
    while not handler.server.stop.wait(0.05):
        handler.wfile.write(b"<")
        handler.wfile.flush()


def drip_headers(handler):
    """No socket timeout bounds headers sent a byte at a time: only the deadline does."""
    for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 100:
        if handler.server.stop.wait(0.05):
            return
        handler.wfile.write(bytes([byte]))
        handler.wfile.flush()


@pytest.mark.parametrize("drip", [drip_body, drip_headers])
def test_a_server_that_drips_meets_the_deadline(server, drip):
    server.route("/drip")(drip)
    started = time.monotonic()
    with pytest.raises(FetchError, match=rf"^{re.escape(server.url('/drip'))}: timed out after 1 s$"):
        read_source(server.url("/drip"), timeout=1)
    assert 1 <= time.monotonic() - started < 1.5


def test_a_server_that_never_answers_meets_the_deadline(server):
    server.route("/silent")(lambda handler: server.stop.wait(5))
    started = time.monotonic()
    with pytest.raises(FetchError, match=rf"^{re.escape(server.url('/silent'))}: timed out after 0\.5 s$"):
        read_source(server.url("/silent"), timeout=0.5)
    assert 0.5 <= time.monotonic() - started < 1


def test_closed_port_is_a_connection_error():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/schedule.xml"
    with pytest.raises(FetchError, match=rf"^{re.escape(url)}: cannot connect \(Connection refused\)$"):
        read_source(url)


def test_hang_up_without_an_answer_is_an_error(server):
    server.route("/hangup")(lambda handler: None)
    with pytest.raises(FetchError, match=rf"^{re.escape(server.url('/hangup'))}: download failed "
                                         r"\(Remote end closed connection without response\)$"):
        read_source(server.url("/hangup"))


def test_https_to_a_plain_http_server_is_an_error_not_a_traceback(server, schedule):
    url = schedule.replace("http://", "https://")
    with pytest.raises(FetchError, match=rf"^{re.escape(url)}: download failed \(.*SSL.*\)$"):
        read_source(url)


def test_other_schemes_are_refused():
    with pytest.raises(FetchError, match=r"^ftp://example\.org/s\.xml: only http and https URLs can be read$"):
        read_source("ftp://bob:pw@example.org/s.xml")


def test_is_url():
    assert is_url("http://example.org/s.xml") and is_url("HTTPS://example.org/")
    assert not any(map(is_url, ["schedule.xml", "/srv/http://x", "file:///etc/passwd", "ftp://x/", "https:/x"]))


def test_file_is_read_whole(tmp_path):
    path = tmp_path / "schedule.xml"
    path.write_bytes(BODY)
    assert read_source(str(path), ETAG, MODIFIED) == Fetched(BODY, "", "")
    assert read_source(str(path), max_bytes=len(BODY)).content == BODY


def test_missing_file_names_the_path_and_the_reason(tmp_path):
    path = str(tmp_path / "missing.xml")
    with pytest.raises(FetchError, match=rf"^{re.escape(path)}: cannot read \(No such file or directory\)$"):
        read_source(path)
    with pytest.raises(FetchError, match=rf"^{re.escape(str(tmp_path))}: cannot read \(Is a directory\)$"):
        read_source(str(tmp_path))


def test_file_over_the_limit_is_refused(tmp_path):
    path = tmp_path / "schedule.xml"
    path.write_bytes(b"x" * 1001)
    with pytest.raises(FetchError, match=rf"^{re.escape(str(path))}: larger than 1000 bytes \(the limit\)$"):
        read_source(str(path), max_bytes=1000)


def test_file_over_the_default_limit_is_refused_before_it_is_read(tmp_path):
    path = tmp_path / "huge.xml"
    with open(path, "wb") as huge:
        huge.truncate(MAX_SOURCE_BYTES + 1)  # sparse: costs nothing unless read
    assert MAX_SOURCE_BYTES == 100 * 2**20
    started = time.monotonic()
    with pytest.raises(FetchError, match=rf"^{re.escape(str(path))}: larger than 100 MiB \(the limit\)$"):
        read_source(str(path))
    assert time.monotonic() - started < 0.1


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
def test_device_that_reports_no_size_is_still_limited():
    with pytest.raises(FetchError, match=r"^/dev/zero: larger than 1000 bytes \(the limit\)$"):
        read_source("/dev/zero", max_bytes=1000)
