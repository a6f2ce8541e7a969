"""The programme as JSON: the feeds' filters, validation and errors, for scripts and the page.

Errors are JSON too (see `views.error_response`): `{"error": {"status": 400, "message": "..."}}`.
"""
from __future__ import annotations

from dataclasses import asdict

from flask import Blueprint

from .feeds import Catalog
from .links import feed_links
from .model import Event
from .query import EventFilter, FeedQuery
from .store import event_to_json, utc_text
from .views import base_url, catalog, feed_query

bp = Blueprint("api", __name__, url_prefix="/api")


def event_json(event: Event, ics_url: str) -> dict:
    """The data file's fields (times with the conference's offset), UTC times and the `.ics`."""
    return {**event_to_json(event), "start_utc": utc_text(event.start), "end_utc": utc_text(event.end),
            "ics_url": ics_url}


def filtered_feed_url(current: Catalog, base: str, **chosen: frozenset[str]) -> str:
    return current.feed_url(FeedQuery(EventFilter(**chosen)), base)


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
    events, positions = current.programme.events, current.programme.positions["author"]
    return {"authors": [
        {"id": a.id, "name": a.name, "events": [events[i].id for i in positions[a.id]],
         "feed_url": filtered_feed_url(current, base, authors=frozenset({a.id}))}
        for a in current.programme.authors]}


@bp.get("/types")
def types():
    current, base = catalog_for_listing(), base_url()
    positions = current.programme.positions["type"]
    return {"types": [
        {"id": ident, "label": label, "count": len(positions[ident]),
         "feed_url": filtered_feed_url(current, base, types=frozenset({ident}))}
        for ident, label in current.programme.types.items()]}


@bp.get("/feed")
def feed():
    """The feed for a query: its name, events and subscribe links; the page's live update."""
    return asdict(feed_links(catalog(), feed_query(), base_url()))
