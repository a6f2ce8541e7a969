"""`GET /`: the session's schedule and a form that builds a filtered feed to subscribe to.

Rendered whole on the server: the form is a GET to the page itself and every
link is a plain link computed here, so the page works without JavaScript and
its own URL (`/?type=oral&author=kolter`) can be shared. `static/page.js` only
enhances: live links from `/api/feed` (the same `links.feed_links`), a copy
button and the visitor's local times. No inline script or style, for a strict CSP.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from flask import Blueprint, render_template, request

from .feeds import Catalog
from .links import feed_links
from .filters import ALIASED, LISTED_AT_MOST, BadQuery, Labelled, UnknownName
from .model import Event, Programme
from .query import FEED_PARAMETERS, FeedQuery
from .store import utc_text
from .views import base_url, catalog, data_last_modified, send_representation

REMINDERS = (0, 5, 10, 15, 30, 60)  # minutes before; the feeds accept any 0–1440
HTML_TYPE = "text/html; charset=utf-8"

bp = Blueprint("page", __name__)


def page_query(current: Catalog) -> FeedQuery:
    """The page's query string as a feed query. An empty field counts as not given:
    a submitted form sends `alarm=` for "no reminder", where a feed URL would be wrong."""
    args = tuple((name, value) for name, value in request.args.items(multi=True) if value.strip())
    return current.query(args, FEED_PARAMETERS)


@bp.get("/")
def index():
    """The page, pre-filled from its query; a bad query is shown on the page, with its status."""
    current = catalog()  # once: the same data for the whole page
    programme = current.programme
    try:
        query, error, status = page_query(current), "", 200
    except BadQuery as problem:
        query, error, status = FeedQuery(), str(problem), 400
    except UnknownName as problem:
        query, error, status = FeedQuery(), str(problem.args[0]), 404
    feed = feed_links(current, query, base_url())
    html = render_template(
        "page.html", programme=programme, query=query, error=error, feed=feed,
        feed_event_ids=frozenset(feed.event_ids),  # looked up once per event
        narrowed=len(feed.event_ids) < len(programme.events),  # then the feed's events are marked
        reminders=sorted(set(REMINDERS) | ({query.alarm} - {None})),
        google_links=current.google_links, ticked=ticked(programme), lists=[f.folder for f in ALIASED],
    )
    if status != 200:  # an error view is not kept
        return html, status
    return send_representation(html.encode(), HTML_TYPE, data_last_modified())


@dataclass(frozen=True)
class Choice:
    title: str
    labels: dict[str, str]
    counts: dict[str, int]
    key: Callable[[Event], str]  # an event's id for it

    def of(self, event: Event) -> str:
        """The event's name for it, shown beside its type."""
        return self.labels.get(self.key(event), "")


def ticked(programme: Programme) -> dict[str, Choice]:
    """The filters the form offers as ticks: those with short lists, where the programme
    has more than one value (one track only is no choice). Made once per programme."""
    return programme.derived("page ticks", _ticks)


def _ticks(programme: Programme) -> dict[str, Choice]:
    shown = {}
    for chosen in ALIASED:
        labels = chosen.labels(programme) if isinstance(chosen, Labelled) and chosen.listed else {}
        if 1 < len(labels) <= LISTED_AT_MOST:
            index = chosen.index(programme)
            shown[chosen.name] = Choice(chosen.title, labels, {k: len(v) for k, v in index.items()}, chosen.key)
    return shown


@bp.app_template_filter()
def clock(moment: datetime) -> str:
    return f"{moment:%H:%M}"


@bp.app_template_filter()
def utc(moment: datetime) -> str:
    """For `<time datetime>` and the browser's local times."""
    return utc_text(moment)


@bp.app_template_filter()
def long_date(moment: datetime) -> str:
    """ "Tuesday 8 December 2020", in the conference's time zone."""
    return f"{moment:%A} {moment.day} {moment:%B %Y}"


@bp.app_template_filter()
def zone(moment: datetime) -> str:
    """The zone's abbreviation at that moment: "PST"."""
    return f"{moment:%Z}"
