"""The programme as JSON: the feeds' filters, validation and errors, for scripts and the page.

Errors are JSON too (see `views.error_response`): `{"error": {"status": 400, "message": "..."}}`.
"""
from __future__ import annotations

from dataclasses import asdict
from functools import partial

from flask import Blueprint

from .feeds import Catalog
from .links import feed_links
from .model import Event
from .filters import ALIASED, FILTERS, Labelled
from .query import EventFilter, FeedQuery
from .store import event_to_json, utc_text
from .views import base_url, catalog, feed_query

bp = Blueprint("api", __name__, url_prefix="/api")


def event_json(event: Event, ics_url: str) -> dict:
    """The data file's fields (times with the conference's offset), UTC times and the `.ics`."""
    return {**event_to_json(event), "start_utc": utc_text(event.start), "end_utc": utc_text(event.end),
            "ics_url": ics_url}


def filtered_feed_url(current: Catalog, base: str, **chosen: set[str]) -> str:
    return current.feed_url(FeedQuery(EventFilter.of(**chosen)), base)


@bp.get("/events")
def events():
    """The events a feed with the same query holds, in the same order."""
    current, query, base = catalog(), feed_query(), base_url()
    chosen = query.filter.select(current.programme)
    return {"count": len(chosen), "feed_url": current.feed_url(query, base),
            "events": [event_json(e, current.event_url(e, base, query.alarm)) for e in chosen]}


def catalog_for_listing() -> Catalog:
    """For the lists that take no parameter: any is a 400, as a typo in a feed URL is."""
    feed_query(allowed=())
    return catalog()


@bp.get("/authors")
def authors():
    current, base = catalog_for_listing(), base_url()
    events, index = current.programme.events, FILTERS["author"].index(current.programme)
    return {"authors": [
        {"id": a.id, "name": a.name, "events": [events[i].id for i in index[a.id]],
         "feed_url": filtered_feed_url(current, base, author={a.id})}
        for a in current.programme.authors]}


def listing(name: str) -> dict:
    """A filter's values with their names, how many events each has, and their feeds."""
    current, base, chosen = catalog_for_listing(), base_url(), FILTERS[name]
    index = chosen.index(current.programme)
    return {chosen.folder: [
        {"id": ident, "label": label, "count": len(index[ident]),
         "feed_url": filtered_feed_url(current, base, **{name: {ident}})}
        for ident, label in chosen.labels(current.programme).items()]}


for _filter in ALIASED:
    if isinstance(_filter, Labelled):
        bp.add_url_rule(f"/{_filter.folder}", f"list_{_filter.folder}", partial(listing, _filter.name))


@bp.get("/feed")
def feed():
    """The feed for a query: its name, events and subscribe links; the page's live update."""
    return asdict(feed_links(catalog(), feed_query(), base_url()))
