"""The HTTP interface: thin routes over the catalog; HTTP concerns in `send_calendar`
(feeds) and `send_representation` (the page and the API)."""
from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache, partial

from flask import Blueprint, Response, current_app, jsonify, redirect, request, url_for
from werkzeug.exceptions import HTTPException, NotFound, RequestURITooLarge
from werkzeug.http import dump_options_header, http_date, is_resource_modified

from .feeds import Catalog
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
def feed_headers(etag: str, last_modified: datetime, download_name: str | None) -> tuple[tuple[str, str], ...]:
    """A feed's validators, type, caching and download headers, formatted once per feed."""
    download = () if download_name is None else (
        ("Content-Disposition", dump_options_header("attachment", {"filename": download_name})),)
    return (("ETag", f'"{etag}"'), ("Last-Modified", http_date(last_modified)),
            ("Content-Type", ICS_TYPE), ("Cache-Control", CACHE_CONTROL)) + download


def send_calendar(feed: RenderedFeed, download_name: str | None = None) -> Response:
    """One place for validators, caching, CORS and downloads; a 304 skips the body.

    Measured per request, the app's own cost went mostly to headers: they
    are formatted once per feed and go in as one list.
    """
    modified = is_modified(feed)
    request.environ[FEED_KEY] = feed  # the answer may be replayed
    return Response(catalog().bodies.body(feed) if modified else b"", status=200 if modified else 304,
                    headers=list(feed_headers(feed.etag, feed.last_modified, download_name)))


@dataclass(frozen=True)
class Validators:
    """What a request's conditions are compared with, for an answer that is not a feed."""

    etag: str
    last_modified: datetime


def send_representation(body: bytes, content_type: str, last_modified: datetime) -> Response:
    """A page or an API answer with a feed's validators and caching: a strong ETag from the
    body's bytes, `Last-Modified` from the data, and a 304 on the same conditions as a feed
    (`is_modified`), so a browser or a script that asks again downloads nothing unchanged."""
    validators = Validators(hashlib.sha256(body).hexdigest()[:32], last_modified)
    modified = is_modified(validators)
    return Response(body if modified else b"", status=200 if modified else 304, content_type=content_type,
                    headers={"ETag": f'"{validators.etag}"', "Last-Modified": http_date(last_modified),
                             "Cache-Control": CACHE_CONTROL})


def data_last_modified() -> datetime:
    """When the data last changed: the latest change of any event (as the whole feed's `Last-Modified`)."""
    return catalog().programme.derived("last modified", lambda p: max(e.last_modified for e in p.events))


def is_modified(feed: RenderedFeed | Validators) -> bool:
    """The full evaluation of the request's conditions, skipped for the two common
    requests: none at all, and the feed's own ETag sent back by a calendar."""
    environ = request.environ
    asked = environ.get("HTTP_IF_NONE_MATCH")
    if asked == f'"{feed.etag}"':
        return False
    if asked is None and "HTTP_IF_MODIFIED_SINCE" not in environ:
        return True
    return is_resource_modified(environ, etag=feed.etag, last_modified=feed.last_modified)


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
