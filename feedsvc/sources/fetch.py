"""Reading a schedule source, a local file or an http(s) URL, with every cost bounded.

An import runs unattended and a URL is someone else's server, so no source may hang
the import or exhaust the machine. Why each limit exists:
- `max_bytes`: a source is parsed in memory. A file is refused by its size, unread; a
  download is counted as it streams in, after gzip decoding (Content-Length may lie or
  be absent; a few KiB of gzip can decode to gigabytes).
- CONNECT_TIMEOUT, READ_TIMEOUT: a host that does not answer, or stops sending.
- `timeout`: a deadline for the whole download, redirects included, as a server that
  drips a byte a second never trips READ_TIMEOUT. It is checked between reads of the
  body, and a watchdog holds it while the headers arrive, which no socket timeout bounds.
- `max_redirects`, http(s) on every hop: no redirect loops, no redirect to file: etc.
Errors name a URL without its user:password@.
"""
from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.client import responses
from urllib.parse import urljoin

import urllib3
from urllib3.exceptions import ConnectTimeoutError, HTTPError, NewConnectionError
from urllib3.exceptions import TimeoutError as NetworkTimeout

from .common import SourceError

MAX_SOURCE_BYTES = 100 * 2**20
CONNECT_TIMEOUT = 10.0  # seconds
READ_TIMEOUT = 30.0  # seconds without any data
DOWNLOAD_TIMEOUT = 300.0  # seconds for a whole download: 100 MiB in it needs ~3 Mbit/s
USER_AGENT = "feedsvc (+schedule import)"


@dataclass(frozen=True)
class Fetched:
    content: bytes | None  # None when the source is unchanged (HTTP 304)
    etag: str  # validators to send next time ("" if none)
    last_modified: str


class FetchError(SourceError):
    def __init__(self, source: str, reason: str):
        super().__init__(f"{source}: {reason}")
        self.source, self.reason = source, reason


def is_url(location: str) -> bool:
    return location[:8].lower().startswith(("http://", "https://"))


def read_source(location: str, etag: str = "", last_modified: str = "", *,
                max_bytes: int = MAX_SOURCE_BYTES, timeout: float = DOWNLOAD_TIMEOUT,
                max_redirects: int = 3) -> Fetched:
    """Read a file or download a URL, sending the validators the previous download
    returned. A file has none and is always read: that is cheap."""
    if is_url(location):
        return _within(timeout, _public(location),
                       lambda: _download(location, etag, last_modified, max_bytes, timeout, max_redirects))
    if "://" in location:  # a URL after all: say so, not "No such file or directory"
        raise FetchError(_public(location), "only http and https URLs can be read")
    try:  # refused by its size unread, then by what it held (it may grow, or be a device)
        with open(location, "rb") as source:
            if (os.fstat(source.fileno()).st_size > max_bytes
                    or len(content := source.read(max_bytes + 1)) > max_bytes):
                raise _too_large(location, max_bytes)
    except OSError as error:
        raise FetchError(location, f"cannot read ({error.strerror or error})") from error
    return Fetched(content, "", "")


def _within(seconds: float, source: str, work: Callable[[], Fetched]) -> Fetched:
    """`work()`, or `FetchError` once `seconds` have passed. The download runs in a daemon
    thread that is abandoned at the deadline: a server that keeps dripping keeps it alive
    until the import's process ends (`import` and `sync` are commands that end)."""
    outcome: dict = {}

    def run() -> None:
        try:
            outcome["fetched"] = work()
        except BaseException as error:  # handed to the caller, whatever it is
            outcome["error"] = error
    worker = threading.Thread(target=run, name=f"download {source}", daemon=True)
    worker.start()
    worker.join(seconds)
    if "fetched" in outcome:
        return outcome["fetched"]
    if "error" in outcome:
        raise outcome["error"]
    raise FetchError(source, f"timed out after {seconds:g} s")


def _download(url: str, etag: str, last_modified: str, max_bytes: int, timeout: float,
              max_redirects: int) -> Fetched:
    source, deadline = _public(url), time.monotonic() + timeout
    validators = {"If-None-Match": etag, "If-Modified-Since": last_modified}
    headers = {"User-Agent": USER_AGENT, "Accept-Encoding": "gzip",
               **{name: value for name, value in validators.items() if value}}
    try:
        with urllib3.PoolManager() as pool:
            hop = url
            for _ in range(max_redirects + 1):  # followed here, so every hop is checked
                with _request(pool, hop, headers, deadline) as response:
                    if not (location := response.get_redirect_location()):
                        return _answer(response, headers, source, max_bytes, deadline, _public(hop))
                if not is_url(hop := urljoin(hop, location)):
                    raise FetchError(source, f"redirected to {_public(hop)}: only http(s) is followed")
            raise FetchError(source, f"too many redirects (more than {max_redirects})")
    except NewConnectionError as error:  # before timeouts: urllib3 counts it as one
        raise FetchError(source, f"cannot connect ({_reason(error)})") from error
    except (NetworkTimeout, TimeoutError) as error:  # the deadline's, a connect's or a read's
        limit = timeout if time.monotonic() >= deadline else (
            CONNECT_TIMEOUT if isinstance(error, ConnectTimeoutError) else READ_TIMEOUT)
        raise FetchError(source, f"timed out after {limit:g} s") from error
    except (HTTPError, OSError) as error:
        raise FetchError(source, f"download failed ({_reason(error)})") from error


def _request(pool: urllib3.PoolManager, url: str, headers: dict,
             deadline: float) -> urllib3.BaseHTTPResponse:
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError
    timeout = urllib3.Timeout(connect=min(CONNECT_TIMEOUT, left), read=min(READ_TIMEOUT, left))
    return pool.request("GET", url, headers=headers, timeout=timeout, preload_content=False,
                        redirect=False, retries=False)


def _answer(response: urllib3.BaseHTTPResponse, sent: dict, source: str, max_bytes: int,
            deadline: float, answered: str) -> Fetched:
    etag, last_modified = response.headers.get("ETag", ""), response.headers.get("Last-Modified", "")
    if response.status == 304 and ("If-None-Match" in sent or "If-Modified-Since" in sent):
        return Fetched(None, etag or sent.get("If-None-Match", ""),
                       last_modified or sent.get("If-Modified-Since", ""))
    if response.status != 200:  # the standard phrase: the server's may say anything
        where = f" (redirected to {answered})" if answered != source else ""
        status = f"HTTP {response.status} {responses.get(response.status, '')}".rstrip()
        raise FetchError(source, status + where)
    return Fetched(_body(response, source, max_bytes, deadline), etag, last_modified)


def _body(response: urllib3.BaseHTTPResponse, source: str, max_bytes: int, deadline: float) -> bytes:
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > max_bytes:  # honest and too large: don't start
        raise _too_large(source, max_bytes)
    content = bytearray()
    while chunk := response.read1(2**16):  # one network read at most, so a trickle
        content += chunk                     # still meets the deadline check
        if len(content) > max_bytes:
            raise _too_large(source, max_bytes)
        if time.monotonic() >= deadline:
            raise TimeoutError
    return bytes(content)


def _too_large(source: str, max_bytes: int) -> FetchError:
    size = f"{max_bytes >> 20} MiB" if max_bytes % 2**20 == 0 else f"{max_bytes} bytes"
    return FetchError(source, f"larger than {size} (the limit)")


def _public(url: str) -> str:
    """The URL without user:password@, which must not end up in messages and logs."""
    return re.sub(r"(?<=://)[^/?#\s]*@", "", url)


def _reason(error: BaseException) -> str:
    """The innermost cause in words: urllib3 wraps the OS's in reprs of its own objects."""
    while inner := error.__cause__ or next((a for a in error.args if isinstance(a, BaseException)), None):
        error = inner
    return _public(getattr(error, "strerror", None) or str(error) or type(error).__name__)
