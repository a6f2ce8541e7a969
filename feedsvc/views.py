"""The HTTP interface: thin routes over the catalog; HTTP concerns in `send_body`, for feeds
(`send_calendar`) and for the page and the API (`send_representation`)."""
from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property, lru_cache, partial

from flask import Blueprint, Response, current_app, jsonify, redirect, request, url_for
from werkzeug.exceptions import HTTPException, NotFound, RequestURITooLarge
from werkzeug.http import dump_options_header, http_date, is_resource_modified

from .encodings import CODINGS, IDENTITY, SMALLEST_COMPRESSED, chosen
from .feeds import Body, Catalog
from .ical import RenderedFeed
from .filters import ALIASED, FILTERS, BadQuery, UnknownName, lookup_id, shown
from .query import FEED_PARAMETERS, FeedQuery
from .replay import CATALOG_KEY, FEED_KEY

FEED_HEADERS_KEPT = 512  # distinct feeds whose response headers are kept formatted
CACHE_SECONDS = 300  # calendars revalidate cheaply with the ETag after this
CACHE_CONTROL = f"public, max-age={CACHE_SECONDS}"
ICS_TYPE = "text/calendar; charset=utf-8"
MAX_URL_LENGTH = 4096  # path and query; a "my talks" feed of 100 events fits
HTML_SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; object-src 'none'; "
                               "base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}

bp = Blueprint("feeds", __name__)
log = logging.getLogger("feedsvc")


def catalog() -> Catalog:
    """The data this request is answered from, pinned by `Replay` for the whole
    request, even if a reload swaps in newer data meanwhile."""
    return request.environ[CATALOG_KEY]


def base_url() -> str:
    """The public base for absolute URLs: the configured one, else the request's."""
    return (current_app.config["BASE_URL"] or request.host_url).rstrip("/")


def feed_query(extra: list[tuple[str, str]] = (), allowed: tuple[str, ...] = FEED_PARAMETERS) -> FeedQuery:
    """The request's query string, plus `extra` pairs taken from the path."""
    args = tuple(request.args.items(multi=True)) + tuple(extra)
    return catalog().query(args, allowed)


@lru_cache(maxsize=FEED_HEADERS_KEPT)
def body_headers(etag: str, last_modified: datetime, content_type: str, download_name: str | None, coding: str,
                 negotiated: bool) -> tuple[tuple[str, str], ...]:
    """A representation's validators, type, coding, caching and download headers, formatted
    once per body and coding. Each coding has its own strong ETag: its bytes differ."""
    download = () if download_name is None else (
        ("Content-Disposition", dump_options_header("attachment", {"filename": download_name})),)
    encoded = () if coding == IDENTITY else (("Content-Encoding", coding),)
    vary = (("Vary", "Accept-Encoding"),) if negotiated else ()
    return ((("ETag", f'"{coded_etag(etag, coding)}"'), ("Last-Modified", http_date(last_modified)),
             ("Content-Type", content_type), ("Cache-Control", CACHE_CONTROL)) + encoded + vary + download)


def coded_etag(etag: str, coding: str) -> str:
    """The ETag of the representation in `coding`: `<etag>-gzip`, as Apache names them."""
    return etag if coding == IDENTITY else f"{etag}-{coding}"


@lru_cache(maxsize=FEED_HEADERS_KEPT)
def every_etag(etag: str) -> tuple[str, ...]:
    """The ETags of all of a body's representations: a calendar that kept any of them has
    the current data, whatever coding it asks for now."""
    return tuple(coded_etag(etag, coding) for coding in (IDENTITY, *CODINGS))


def send_calendar(feed: RenderedFeed, download_name: str | None = None) -> Response:
    request.environ[FEED_KEY] = feed  # the answer may be replayed
    return send_body(feed, ICS_TYPE, download_name)


def send_body(sent: Body, content_type: str, download_name: str | None = None) -> Response:
    """One place for validators, codings, caching and downloads; a 304 skips the body.

    Measured per request, the app's own cost went mostly to headers: they
    are formatted once per body and coding, and go in as one list.
    """
    modified = is_modified(sent)
    negotiated = sent.size >= SMALLEST_COMPRESSED  # a smaller body is sent as it is, to anyone
    coding = chosen(request.environ.get("HTTP_ACCEPT_ENCODING"), sent.size)
    headers = body_headers(sent.etag, sent.last_modified, content_type, download_name, coding, negotiated)
    if not modified:
        return Response(b"", status=304, headers=list(headers))
    body = catalog().bodies.sendable(sent, coding)
    response = Response(body, headers=list(headers))
    if not isinstance(body, list):  # sent as it is assembled; its length is known all the same
        response.content_length = sent.size
    return response


@dataclass(frozen=True)
class Rendered:
    """A page or an API answer, made per request. Its ETag names its bytes, so the same answer
    again is compressed only once: the catalog keeps bodies by ETag and coding."""

    content: bytes
    last_modified: datetime

    @cached_property
    def etag(self) -> str:
        return hashlib.sha256(self.content).hexdigest()[:32]

    @property
    def size(self) -> int:
        return len(self.content)

    def body(self) -> bytes:
        return self.content

    def parts(self) -> tuple[bytes]:
        return (self.content,)


def send_representation(body: bytes, content_type: str, last_modified: datetime) -> Response:
    """A page or an API answer with a feed's validators, codings and caching: a strong ETag
    from the body's bytes, `Last-Modified` from the data, and a 304 on the same conditions
    as a feed, so a browser or a script that asks again downloads nothing unchanged."""
    return send_body(Rendered(body, last_modified), content_type)


def data_last_modified() -> datetime:
    """When the data last changed: the latest change of any event (the whole feed's `Last-Modified`)."""
    return catalog().renderer.last_modified


def is_modified(sent: Body) -> bool:
    """The full evaluation of the request's conditions, skipped for the two common
    requests: none at all, and an ETag of the body's sent back by a calendar."""
    environ = request.environ
    asked = environ.get("HTTP_IF_NONE_MATCH")
    if asked is None and "HTTP_IF_MODIFIED_SINCE" not in environ:
        return True
    tags = every_etag(sent.etag)
    if asked is not None and asked.strip('"') in tags and asked.startswith('"'):
        return False
    return all(is_resource_modified(environ, etag=tag, last_modified=sent.last_modified) for tag in tags)


@bp.get("/calendar.ics")
def calendar():
    return send_calendar(catalog().feed(feed_query(), base_url()))


def calendar_of(name: str, ident: str):
    """A filter's readable feed, `/tracks/<id>.ics`: the same bytes as `/calendar.ics?track=<id>`.
    Any other way to name exactly one (a name, a surname, another case) is redirected there."""
    found = FILTERS[name].resolve(ident, catalog().programme)
    if len(found) > 1:
        raise UnknownName(f"{shown(ident)} is more than one {name}: {', '.join(sorted(found))}; "
                          f"use /calendar.ics?{name}=… for them all")
    (canonical,) = found
    if canonical != ident:
        target = url_for(request.endpoint, ident=canonical)
        return redirect(target + (f"?{request.query_string.decode()}" if request.query_string else ""), 308)
    return send_calendar(catalog().feed(feed_query([(name, canonical)]), base_url()))


for _filter in ALIASED:
    bp.add_url_rule(f"/{_filter.folder}/<ident>.ics", f"calendar_of_{_filter.name}",
                    partial(calendar_of, _filter.name), methods=["GET"])


@bp.get("/events/<event_id>.ics")
def single_event(event_id: str):
    ident = lookup_id(event_id, "event", catalog().programme.events_by_id)
    alarm = feed_query(allowed=("alarm",)).alarm
    return send_calendar(catalog().single(ident, alarm, base_url()), download_name=f"{ident}.ics")


@bp.get("/healthz")
def healthz():
    """For process managers and load balancers: the data is loaded and how big it is."""
    programme = catalog().programme
    return {"status": "ok", "sessions": len(programme.sessions), "events": len(programme.events)}


@bp.before_app_request
def refuse_long_urls():
    """Bound the work a request can cause before anything parses it."""
    if len(request.path) + len(request.query_string) > MAX_URL_LENGTH:
        raise RequestURITooLarge(f"the URL is longer than {MAX_URL_LENGTH} characters")


@bp.after_app_request
def add_headers(response: Response) -> Response:
    """The data is public, so any site may fetch it (CORS); nothing is sniffed;
    pages get a strict Content-Security-Policy, feeds are left as calendars expect."""
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["X-Content-Type-Options"] = "nosniff"
    if response.mimetype == "text/html":
        response.headers.update(HTML_SECURITY_HEADERS)
    return response


def error_response(status: int, message: str) -> Response:
    """JSON in one shape under /api/, plain text for calendars and people everywhere else.

    Decided by path, not by blueprint: a URL that matches no route has no blueprint.
    """
    if request.path.startswith("/api/"):
        response = jsonify(error={"status": status, "message": message})
        response.status_code = status
        return response
    return Response(f"{status} {message}\n", status=status, content_type="text/plain; charset=utf-8")


@bp.app_errorhandler(BadQuery)
def bad_query(error: BadQuery):
    return error_response(400, str(error))


@bp.app_errorhandler(UnknownName)
def unknown_name(error: UnknownName):
    return error_response(404, str(error))


@bp.app_errorhandler(NotFound)
def no_such_page(error: NotFound):
    if request.path.startswith("/api/"):
        where = "the API is /api/events, /api/feed, " + ", ".join(f"/api/{f.folder}" for f in ALIASED)
    else:
        where = ("feeds are /calendar.ics, " + ", ".join(f"/{f.folder}/<{f.name}>.ics" for f in ALIASED)
                 + " and /events/<event-id>.ics")
    return error_response(404, f"no page {shown(request.path)}; {where}")


@bp.app_errorhandler(HTTPException)
def http_error(error: HTTPException):
    response = error_response(error.code or 500, error.description or error.name)
    if error.code == 405 and error.valid_methods:
        response.headers["Allow"] = ", ".join(error.valid_methods)
    return response


@bp.app_errorhandler(Exception)
def internal_error(error: Exception):
    """A bug: log it with the request line, answer without a stack trace."""
    log.error("500 on %s %s", request.method, request.full_path, exc_info=error)
    return error_response(500, "internal error; it has been logged")
