"""The programme as JSON: the feeds' filters, validation and errors, for scripts and the page.

The two long lists, events and authors, come in pages: `limit` items (100 unless asked, at most
1,000) and, while more follow, a `next` URL with an opaque `cursor`. Every answer carries the
feeds' validators (`views.send_representation`), so asking again for the same costs a 304.
Errors are JSON too (see `views.error_response`): `{"error": {"status": 400, "message": "..."}}`.
"""
from __future__ import annotations

import base64
import binascii
from bisect import bisect_right
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from functools import partial
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Response, current_app, request

from .feeds import Bounded, Catalog
from .links import feed_links
from .model import Event, Programme
from .filters import (ALIASED, FILTERS, BadQuery, Labelled, author_rank, event_positions, find_authors,
                      shown)
from .query import FEED_PARAMETERS, EventFilter, FeedQuery, refuse_unknown
from .store import event_to_json, utc_text
from .views import base_url, catalog, data_last_modified, feed_query, send_representation

PAGING = ("limit", "cursor")
DEFAULT_LIMIT, MAX_LIMIT = 100, 1000
EVENTS_KEPT = 4000  # events' fields kept per programme and process, about 1.5 KB each

bp = Blueprint("api", __name__, url_prefix="/api")


def send_json(answer: dict) -> Response:
    """Compact JSON with sorted keys, as Flask writes it, with the validators of the data."""
    body = current_app.json.dumps(answer, separators=(",", ":")).encode()
    return send_representation(body, "application/json", data_last_modified())


@dataclass(frozen=True)
class Paging:
    """Which part of a long list an answer holds: `limit` items after the item `after` (an id)."""

    limit: int = DEFAULT_LIMIT
    after: str = ""

    def part(self, positions: Sequence[int], position_of: dict[str, int],
             order: Callable[[int], Any] = lambda position: position) -> Sequence[int]:
        """The positions (sorted by `order`) this answer holds: a cursor names the last item
        sent, so a page is found by bisection, whatever the filter, and stays right across a reload."""
        if self.after not in position_of and self.after:
            raise BadQuery(f"cursor names {shown(self.after)}, which the data no longer has; "
                           "start again without cursor")
        start = bisect_right(positions, order(position_of[self.after]), key=order) if self.after else 0
        return positions[start:start + self.limit]

    def next_url(self, pairs: list[tuple[str, str]], last_id: str | None) -> str | None:
        """This URL for the following page: its query, the limit if asked for, the cursor."""
        if last_id is None:
            return None
        limit = [] if self.limit == DEFAULT_LIMIT else [("limit", str(self.limit))]
        return f"{base_url()}{request.path}?{urlencode([*pairs, *limit, ('cursor', encode_cursor(last_id))])}"


def encode_cursor(ident: str) -> str:
    return base64.urlsafe_b64encode(ident.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> str:
    try:
        ident = base64.b64decode(cursor + "=" * (-len(cursor) % 4), altchars=b"-_", validate=True).decode()
        if not ident:
            raise ValueError("no id")
        return ident
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise BadQuery(f"cursor={shown(cursor)} is not one this API gave; use the `next` URL of an answer, "
                       "or leave cursor out for the first page") from None


def parse_limit(value: str) -> int:
    if not (value.isascii() and value.isdigit() and 1 <= int(value) <= MAX_LIMIT):
        raise BadQuery(f"limit={shown(value)} is not valid; accepted: a whole number of items per answer, "
                       f"1 to {MAX_LIMIT} (default {DEFAULT_LIMIT})")
    return int(value)


def paged_args() -> tuple[Paging, tuple[tuple[str, str], ...]]:
    """The request's `limit` and `cursor`, and its other arguments, for their own reader."""
    paging: dict[str, str] = {}
    others = []
    for name, value in request.args.items(multi=True):
        if name in PAGING:
            if name in paging:
                raise BadQuery(f"{name}= is given more than once; give it once")
            paging[name] = value
        else:
            others.append((name, value))
    limit = parse_limit(paging["limit"]) if "limit" in paging else DEFAULT_LIMIT
    return Paging(limit, decode_cursor(paging["cursor"]) if "cursor" in paging else ""), tuple(others)


def event_json(programme: Programme, event: Event, ics_url: str) -> dict:
    """The data file's fields (times with the conference's offset), UTC times and the `.ics`.
    All but the `.ics` are made once per event and kept with the programme (within a number):
    made on each request, they were 80% of a page's time (0.5 ms an event)."""
    kept: Bounded = programme.derived("api event fields", lambda p: Bounded(EVENTS_KEPT))
    fields = kept.get(event.id)
    if fields is None:
        fields = {**event_to_json(event), "start_utc": utc_text(event.start), "end_utc": utc_text(event.end)}
        kept.put(event.id, fields)
    return {**fields, "ics_url": ics_url}


def filtered_feed_url(current: Catalog, base: str, **chosen: set[str]) -> str:
    return current.feed_url(FeedQuery(EventFilter.of(**chosen)), base)


def last_id(part: Sequence[int], total: Sequence[int], items: Sequence) -> str | None:
    """The id of the last item sent, when more follow: the next page's cursor."""
    return items[part[-1]].id if part and part[-1] != total[-1] else None


@bp.get("/events")
def events():
    """A page of the events a feed with the same query holds, in the same order."""
    paging, args = paged_args()
    current, base = catalog(), base_url()
    programme = current.programme
    query = current.query(args, FEED_PARAMETERS + PAGING)
    positions = query.filter.positions(programme)
    part = paging.part(positions, event_positions(programme))
    return send_json({
        "count": len(positions), "events_in_programme": len(programme.events), "limit": paging.limit,
        "next": paging.next_url(query.pairs(), last_id(part, positions, programme.events)),
        "feed_url": current.feed_url(query, base),
        "events": [event_json(programme, e, current.event_url(e, base, query.alarm))
                   for e in map(programme.events.__getitem__, part)]})


def author_positions(programme: Programme) -> dict[str, int]:
    return programme.derived("author positions", lambda p: {a.id: i for i, a in enumerate(p.authors)})


@bp.get("/authors")
def authors():
    """A page of the authors, by name, or of those whose name has words starting with `q`."""
    paging, args = paged_args()
    for name, _ in args:
        refuse_unknown(name, ("q", *PAGING))
    texts = [value for _, value in args]
    if len(texts) > 1:
        raise BadQuery("q= is given more than once; give it once")
    current, base = catalog(), base_url()
    programme = current.programme
    everyone, index = programme.authors, FILTERS["author"].index(programme)
    if texts:
        positions = find_authors(programme, texts[0])
        part = paging.part(positions, author_positions(programme), author_rank(programme))
    else:
        positions = range(len(everyone))
        part = paging.part(positions, author_positions(programme))
    return send_json({
        "count": len(positions), "limit": paging.limit,
        "next": paging.next_url([("q", t) for t in texts], last_id(part, positions, everyone)),
        "authors": [{"id": a.id, "name": a.name, "events": [programme.events[i].id for i in index[a.id]],
                     "feed_url": filtered_feed_url(current, base, author={a.id})}
                    for a in map(everyone.__getitem__, part)]})


def catalog_for_listing() -> Catalog:
    """For the lists that take no parameter: any is a 400, as a typo in a feed URL is."""
    feed_query(allowed=())
    return catalog()


def listing(name: str) -> Response:
    """A filter's values with their names, how many events each has, and their feeds."""
    current, base, chosen = catalog_for_listing(), base_url(), FILTERS[name]
    index = chosen.index(current.programme)
    return send_json({chosen.folder: [
        {"id": ident, "label": label, "count": len(index[ident]),
         "feed_url": filtered_feed_url(current, base, **{name: {ident}})}
        for ident, label in chosen.labels(current.programme).items()]})


for _filter in ALIASED:
    if isinstance(_filter, Labelled):
        bp.add_url_rule(f"/{_filter.folder}", f"list_{_filter.folder}", partial(listing, _filter.name))


@bp.get("/feed")
def feed():
    """The feed for a query: its name, events and subscribe links; the page's live update."""
    current, query = catalog(), feed_query()
    chosen = query.filter.select(current.programme)
    return send_json({**asdict(feed_links(current, query, base_url(), len(chosen))),
                      "event_ids": [e.id for e in chosen]})
