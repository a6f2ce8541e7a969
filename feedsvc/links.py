"""Links that hand a feed or one event to calendar apps, all built on the server.

The page (with or without JavaScript) and `/api/feed` show these same strings;
the browser never builds a URL itself, so the two cannot drift apart.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING
from urllib.parse import quote, urlencode

from .ical import describe_event, event_location
from .model import Event, Programme
from .query import FeedQuery

if TYPE_CHECKING:  # the catalog keeps each event's Google link, made here
    from .feeds import Catalog

GOOGLE_SUBSCRIBE = "https://calendar.google.com/calendar/r"
GOOGLE_NEW_EVENT = "https://calendar.google.com/calendar/render"
OUTLOOK_SUBSCRIBE = "https://outlook.live.com/calendar/0/addfromweb"


def webcal_url(feed_url: str) -> str:
    """The feed as `webcal://`: Apple Calendar, Outlook and Thunderbird subscribe when it is opened."""
    return "webcal://" + feed_url.split("://", 1)[1]


def google_subscribe_url(feed_url: str) -> str:
    """Google Calendar's "add by URL", which takes the feed as a percent-encoded webcal URL."""
    return f"{GOOGLE_SUBSCRIBE}?cid={quote(webcal_url(feed_url), safe='')}"


def outlook_subscribe_url(feed_url: str, name: str) -> str:
    return f"{OUTLOOK_SUBSCRIBE}?{urlencode({'url': feed_url, 'name': name}, quote_via=quote)}"


def utc_stamp(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def google_event_url(event: Event, programme: Programme) -> str:
    """Google's pre-filled new-event form for one event: a copy, not a subscription.

    The description leaves out the abstract so that the link stays a few hundred bytes.
    """
    fields = {"action": "TEMPLATE", "text": event.title,
              "dates": f"{utc_stamp(event.start)}/{utc_stamp(event.end)}",
              "details": describe_event(event, programme, with_abstract=False),
              "location": event_location(event, programme)}
    return f"{GOOGLE_NEW_EVENT}?{urlencode(fields, quote_via=quote, safe='/')}"


@dataclass(frozen=True)
class FeedLinks:
    """One choice of filters: what the feed holds and every way to get it."""

    query: str  # the canonical query string, for the feed and the page alike
    name: str  # the calendar's name, as the feed gives it
    count: int  # of events the feed holds
    url: str  # absolute, to copy or paste into a calendar app
    webcal: str
    google: str
    outlook: str
    download: str  # a path on this host, so it works whatever the public base is


def feed_links(catalog: Catalog, query: FeedQuery, base_url: str, count: int) -> FeedLinks:
    """For a query whose feed holds `count` events: counted by the caller, who has them already."""
    meta = catalog.feed_meta(query, base_url)
    url = meta.source
    return FeedLinks(query=query.query_string(), name=meta.name, count=count, url=url, webcal=webcal_url(url),
                     google=google_subscribe_url(url), outlook=outlook_subscribe_url(url, meta.name),
                     download=catalog.feed_url(query, ""))
