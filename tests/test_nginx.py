"""deploy/nginx.conf run by a real nginx in front of the Procfile's server: the front end's
connection timeouts and head limit (issue 13), measured through real connections.

granian never times out a connection that sends no byte at all, so the front end must. nginx
runs the very file (bench/run.py's nginx_config swaps its ports and paths for loopback ones
under a temporary prefix, in a main config with room for thousands of connections) and is
stopped at the end of the module. The timeouts are measured in parallel threads.
"""
from __future__ import annotations

import os
import re
import resource
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest

from bench.procfile import fetch, free_port
from bench.run import nginx_config
from feedsvc import SHIPPED_DATA
from feedsvc.export import export
from feedsvc.feeds import Catalog

from .conftest import BASE_URL, ROOT
from .serving import (address, idle_connections, p99_seconds, raised_file_limit, raw_status, seconds_until_closed,
                      still_open, stop_server, wait_until_up)

SITE = (ROOT / "deploy" / "nginx.conf").read_text(encoding="utf-8")
# Debian puts nginx in /usr/sbin, which is not on an ordinary user's PATH.
NGINX = shutil.which("nginx", path=f"{os.environ['PATH']}{os.pathsep}/usr/sbin")
FEED = b"GET /calendar.ics HTTP/1.1\r\nHost: feeds.example.org\r\n\r\n"
# What each kind of idle client sends first, then after every second of silence.
CLIENTS = {"silent": (b"", b""),
           "slow head": (b"GET /calendar.ics HTTP/1.1\r\n", b"X-Slow: 1\r\n"),
           "kept alive": (FEED, b"")}


@dataclass(frozen=True)
class Front:
    proxy: str   # the caching reverse proxy's base URL (server block 1)
    static: str  # the static export's (server block 2)
    idle: int    # how many idle connections the open-file limit allows, up to 5,000
    app: str     # the app's own base URL, behind the proxy
    export: Path  # the directory the static block serves


def configured_seconds(directive: str) -> int:
    """`directive`'s value in deploy/nginx.conf, in seconds: both server blocks set the same."""
    values = re.findall(rf"^ +{directive} +(\d+)s;", SITE, re.M)
    assert len(values) == 2 and len(set(values)) == 1, f"{directive}: {values}"
    return int(values[0])


@pytest.fixture(scope="module")
def front(server, tmp_path_factory) -> Iterator[Front]:
    """nginx with deploy/nginx.conf in front of the session's server (and its export), started
    with the file limit raised to the hard limit so that it holds thousands of connections."""
    prefix = tmp_path_factory.mktemp("nginx")
    export(Catalog.load(SHIPPED_DATA), prefix / "export", BASE_URL)
    proxy, static = free_port(), free_port()
    with raised_file_limit() as idle:
        config = nginx_config(prefix, address(server)[1], proxy, static, prefix / "export",
                              worker_connections=idle + 1024,  # one worker may accept them all
                              open_files=resource.getrlimit(resource.RLIMIT_NOFILE)[1])
        with (prefix / "nginx.out").open("w") as output:
            process = subprocess.Popen([NGINX, "-e", str(prefix / "error.log"), "-p", str(prefix), "-c", str(config)],
                                       stdout=output, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            wait_until_up(f"http://127.0.0.1:{static}/calendar.ics", process)
            yield Front(f"http://127.0.0.1:{proxy}", f"http://127.0.0.1:{static}", idle, server, prefix / "export")
        finally:
            stop_server(process)


@pytest.fixture(scope="module")
def closed_after(front) -> dict[tuple[str, str], float]:
    """(server block, kind of client) to the seconds until nginx closed its connection; all at
    once, so that the module waits only as long as the longest timeout. Printed (`pytest -s`)
    for docs/performance.md."""
    blocks = {"proxy": front.proxy, "static": front.static}
    with ThreadPoolExecutor(len(blocks) * len(CLIENTS)) as pool:
        waits = {(block, kind): pool.submit(seconds_until_closed, base, sent, drip, 30)
                 for block, base in blocks.items() for kind, (sent, drip) in CLIENTS.items()}
        seconds = {key: wait.result() for key, wait in waits.items()}
    print("\nclosed by nginx after (s):", ", ".join(f"{block} {kind} {value:.3f}"
                                                  for (block, kind), value in seconds.items()))
    return seconds


def within(seconds: float, timeout: int) -> bool:
    """Closed `timeout` seconds after it opened. nginx times from the clock of the event loop's
    last wake-up, which can be a few milliseconds before the connection was accepted."""
    return timeout - 0.25 <= seconds < timeout + 1.5


@pytest.mark.parametrize("block", ["proxy", "static"])
@pytest.mark.parametrize("kind", ["silent", "slow head"])
def test_a_silent_or_slow_head_is_closed_after_client_header_timeout(closed_after, block, kind):
    """Counted from the connection's start: dripping a header line a second buys no time."""
    timeout = configured_seconds("client_header_timeout")
    assert timeout == 10 and within(closed_after[block, kind], timeout)


@pytest.mark.parametrize("block", ["proxy", "static"])
def test_a_kept_alive_connection_is_closed_after_keepalive_timeout(closed_after, block):
    """Idle after its answer, for exactly as long as deploy/nginx.conf (and the README) say."""
    timeout = configured_seconds("keepalive_timeout")
    assert timeout == 15 and within(closed_after[block, "kept alive"], timeout)


def test_the_other_timeouts_are_set():
    """A body, or a client that stops reading its answer, is bounded as a head is."""
    assert configured_seconds("client_body_timeout") == configured_seconds("send_timeout") == 10


def head(*lines: int) -> bytes:
    """A request for /healthz with a header line of each of these lengths (bytes, CRLF excluded)."""
    return b"GET /healthz HTTP/1.1" + b"".join(b"\r\nX-Pad: " + b"a" * (length - 7) for length in lines)


@pytest.mark.parametrize("request_head, status", [
    (head(8_000), 200),                        # a header line fits one of 4 8 KB buffers
    (head(8_000, 8_000, 8_000), 200),          # 24 KB in all
    (head(9_000), 400),                        # a header line over 8 KB
    (head(8_000, 8_000, 8_000, 8_000, 1_000), 400),  # a head over 32 KB
    (head(400_000), 400),
])
def test_a_head_over_32_kb_is_refused_by_nginx(front, request_head, status):
    """nginx's own 400: the app would have answered these 200 or 431 (its limit is 32 KiB too)."""
    assert raw_status(front.proxy, request_head) == status


def test_thousands_of_idle_connections_to_nginx_do_not_hold_up_a_request(front):
    """5,000 idle connections to the proxy, half silent, half kept alive after an answer (here,
    where the hard open-file limit is 20,000; where it is lower, as many as it allows), all still
    open while 200 requests for a cached feed and 200 that reach the app are timed."""
    with idle_connections(front.proxy, front.idle) as idle:
        cached, uncached = p99_seconds(f"{front.proxy}/calendar.ics?type=oral"), p99_seconds(f"{front.proxy}/healthz")
        print(f"\n{front.idle} idle connections to nginx: p99 {cached * 1000:.1f} ms (cached feed), "
              f"{uncached * 1000:.1f} ms (/healthz, from the app)")
        assert still_open(idle) == front.idle and cached < 0.1 and uncached < 0.1


@pytest.mark.parametrize("accept_encoding, coding", [
    ("gzip, deflate, br", "br"), ("gzip", "gzip"), ("br;q=0, gzip;q=0.5", "gzip"), (None, None), ("deflate", None)])
def test_the_proxy_keeps_an_answer_per_coding(front, accept_encoding, coding):
    """Each coding has its own cache entry, and its bytes are the app's: a cached gzip feed is
    never sent to a client that did not ask for gzip. The first request may be a miss; the
    second is answered from the cache."""
    url = f"{front.proxy}/calendar.ics?type=spotlight"
    headers = {} if accept_encoding is None else {"Accept-Encoding": accept_encoding}
    answers = [fetch(url, headers) for _ in range(2)]
    status, sent, body = answers[-1]
    assert (status, sent.get("Content-Encoding"), sent["X-Cache-Status"]) == (200, coding, "HIT")
    assert sent["Vary"] == "Accept-Encoding"
    from_app = fetch(f"{front.app}/calendar.ics?type=spotlight", {"Accept-Encoding": coding or "identity"})
    assert body == from_app[2] and sent["ETag"] == from_app[1]["ETag"]


@pytest.mark.parametrize("coding, suffix", [("br", ".br"), ("gzip", ".gz"), (None, "")])
def test_the_static_export_sends_its_compressed_siblings(front, coding, suffix):
    """brotli_static and gzip_static send the export's .br and .gz files, with the service's headers."""
    status, sent, body = fetch(f"{front.static}/events/meshsdf.ics", {} if coding is None else
                               {"Accept-Encoding": coding})
    assert (status, sent.get("Content-Encoding"), sent["Vary"]) == (200, coding, "Accept-Encoding")
    assert body == (front.export / f"events/meshsdf.ics{suffix}").read_bytes()
    assert (sent["Content-Type"], sent["Cache-Control"], sent["Content-Disposition"]) == (
        "text/calendar; charset=utf-8", "public, max-age=300", "attachment; filename=meshsdf.ics")
