"""The access log: one line per request, in the Combined Log Format that Apache and nginx write.

So that any log tool (GoAccess, AWStats, a SIEM's parser) reads it as it is.
The app writes it rather than the server: granian's own access log has no
response size. It runs outside everything else in the app but the proxy fix,
so it logs replayed answers too, and behind a trusted proxy the client's own
address. Whatever a client sends is escaped as nginx escapes it (`"`, `\\`,
control and non-ASCII bytes as \\xHH): a request cannot forge a log line.
"""
from __future__ import annotations

import logging
import sys
import time
from urllib.parse import quote

from .wsgi import recording

log = logging.getLogger("feedsvc.access")
PATH_SAFE = "/:@!$&'()*+,;=~-._"  # what a request path keeps unquoted (werkzeug's choice)
NO_BODY_STATUSES = ("204", "304")
PROTOCOLS = {"HTTP/1": "HTTP/1.0", "HTTP/2": "HTTP/2.0"}  # granian's names, as the request line spells them


def configure_access_log() -> None:
    """Lines to standard output, the message alone; once per process, however many apps are made."""
    if not log.handlers:
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(logging.Formatter("%(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        log.propagate = False


def escaped(text: str) -> str:
    """A WSGI string (one character per byte received) safe between the log's quotes."""
    if text.isascii() and text.isprintable() and '"' not in text and "\\" not in text:
        return text
    return "".join(c if " " <= c <= "~" and c not in '"\\' else f"\\x{ord(c):02X}" for c in text)


def request_target(environ: dict) -> str:
    """The path and query as the client sent them (granian gives no raw URI): the path re-quoted."""
    path = quote(environ.get("PATH_INFO", "").encode("latin-1"), safe=PATH_SAFE)
    query = environ.get("QUERY_STRING")
    return f"{path}?{query}" if query else path


def body_size(environ: dict, status: str, headers: list[tuple[str, str]], body) -> str:
    """Bytes of body sent, or "-" for none (CLF's convention): counted for a list, else Content-Length."""
    if environ["REQUEST_METHOD"] == "HEAD" or status[:3] in NO_BODY_STATUSES:
        return "-"
    if isinstance(body, list):
        return str(sum(map(len, body))) if body else "-"
    return next((value for name, value in headers if name.lower() == "content-length"), "-")


class Clock:
    """The log's time, formatted once a second: `[27/Nov/2026:10:09:14 +0000]`.
    One (second, text) pair, replaced whole: threads never see a second with another's text."""

    def __init__(self):
        self._stamp = (None, "")

    def now(self) -> str:
        second = int(time.time())
        stamp = self._stamp
        if second != stamp[0]:
            stamp = self._stamp = second, time.strftime("[%d/%b/%Y:%H:%M:%S %z]", time.localtime(second))
        return stamp[1]


class AccessLog:
    """WSGI middleware writing one Combined Log Format line per request."""

    def __init__(self, app):
        self.app = app
        self.clock = Clock()
        configure_access_log()

    def __call__(self, environ: dict, start_response):
        sent = ["500 INTERNAL SERVER ERROR", []]
        body = []
        try:
            body = self.app(environ, recording(start_response, sent))
            return body
        finally:
            log.info(self.line(environ, *sent, body))

    def line(self, environ: dict, status: str, headers: list[tuple[str, str]], body) -> str:
        protocol = environ.get("SERVER_PROTOCOL", "HTTP/1.0")
        request = f"{environ['REQUEST_METHOD']} {request_target(environ)} {PROTOCOLS.get(protocol, protocol)}"
        client = escaped(environ.get("REMOTE_ADDR") or "-").replace(" ", "\\x20")  # one field, unquoted
        return (f"{client} - - {self.clock.now()} \"{escaped(request)}\" "
                f"{status[:3]} {body_size(environ, status, headers, body)} "
                f"\"{escaped(environ.get('HTTP_REFERER', '-'))}\" \"{escaped(environ.get('HTTP_USER_AGENT', '-'))}\"")
