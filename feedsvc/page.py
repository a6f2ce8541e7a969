"""`GET /`: the programme's schedule, a day at a time, and a form that builds a feed to subscribe to.

Rendered whole on the server: the form is a GET to the page itself and every link is a plain
link computed here, so the page works without JavaScript and its own URL
(`/?type=oral&author=kolter`) can be shared. The schedule lists only the events the chosen
filters keep, one day (`on=`) and at most 30 of them (`page=`) at a time (`schedule.py`), so a
view costs the same at 15 events as at 15,000: what it needs of the whole programme is made
once per programme (`Programme.derived`), and each event's HTML the first time it is shown.
`static/page.js` only enhances: it submits the form on a tick, suggests people as one types
(from `/api/authors?q=`), keeps the links live for "In my talks" and the reminder (from
`/api/feed`, the same `links.feed_links`), and shows local times. No inline script or style,
for a strict CSP.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from flask import Blueprint, render_template, request, url_for
from markupsafe import Markup

from .feeds import Bounded, Catalog
from .filters import ALIASED, FILTERS, LISTED_AT_MOST, BadQuery, Labelled, UnknownName
from .links import feed_links, google_event_url
from .model import Event, Programme, Session
from .query import FEED_PARAMETERS, FeedQuery
from .schedule import View, feed_count, make_view
from .store import utc_text
from .views import base_url, catalog, data_last_modified, send_representation

REMINDERS = (0, 5, 10, 15, 30, 60)  # minutes before; the feeds accept any 0–1440
HTML_TYPE = "text/html; charset=utf-8"
VIEW_PARAMETERS = ("on", "page")  # the day shown and the part of it: the view, not the feed
IN_A_DROPDOWN_AT_MOST = 200  # values of a filter the form lists; ticks for up to LISTED_AT_MOST
SESSIONS_IN_HEADER = 6  # each with its dates and chairs; a conference's thousand get one line
PLACES = ("session", "track", "room")  # shown on each event, as links, where there is a choice
EVENT_HTML_BYTES = 8 * 2**20  # rendered events kept per programme and process: about 2,000
# Where a view's choice goes in an event's and the form's kept HTML; no text of the data holds NUL.
MARKS = {name: Markup(f"\x00{name}\x00") for name in ("ALARM", "TICKED_CLASS", "TICKED_CHECKED", "UNTICKED_HIDDEN")}
# Where the page's visitors find the names an error says are accepted: the page, not the JSON.
CHOICE_MARK = re.compile("\x00(\\w+)\x01([^\x00\x01]*)\x01([^\x00]*)\x00")
ON_THE_PAGE = {"authors": "; type part of the name in People for suggestions",
               "events": "; tick “In my talks” on events of the schedule"}
ELSEWHERE_ON_THE_PAGE = "; choose from the form's lists, or use the links on the schedule's events"

bp = Blueprint("page", __name__)


@dataclass(frozen=True)
class Choice:
    """A filter the form offers: ticks for a short list, a drop-down list for a longer one."""

    title: str
    labels: dict[str, str]
    counts: dict[str, int]
    dropdown: bool


def view_arguments() -> tuple[dict[str, str], tuple[tuple[str, str], ...]]:
    """The view's own parameters, and the feed's. An empty field counts as not given:
    a submitted form sends `alarm=` for "no reminder", where a feed URL would be wrong."""
    view: dict[str, str] = {}
    feed = []
    for name, value in request.args.items(multi=True):
        if not value.strip():
            continue
        if name in view:
            raise BadQuery(f"{name}= is given more than once; give it once")
        if name in VIEW_PARAMETERS:
            view[name] = value.strip()
        else:
            feed.append((name, value))
    return view, tuple(feed)


def good_part(current: Catalog, args: tuple[tuple[str, str], ...]) -> tuple[FeedQuery, list[tuple[str, str]]]:
    """Of a query with a mistake, what is right, and what is not: the error view's form keeps
    the first, and shows the second in its text fields to be corrected."""
    good, bad = [], []
    for pair in args:
        try:
            current.query((pair,), FEED_PARAMETERS)
            good.append(pair)
        except (BadQuery, UnknownName):
            bad.append(pair)
    try:
        return current.query(tuple(good), FEED_PARAMETERS), bad
    except (BadQuery, UnknownName):  # each right alone, not together: two alarms, too many values
        return FeedQuery(), bad


@bp.get("/")
def index():
    """The page, pre-filled from its query; a bad query is shown on the page, with its status,
    the form keeping what was right and the person typed."""
    current = catalog()  # once: the same data for the whole page
    programme = current.programme
    feed_args: tuple[tuple[str, str], ...] = ()
    error, status, bad = "", 200, []
    try:
        view_args, feed_args = view_arguments()
        query = current.query(feed_args, FEED_PARAMETERS)
        view = make_view(programme, query, view_args.get("on"), view_args.get("page", "1"), today(programme))
    except (BadQuery, UnknownName) as problem:
        status, error = (400, str(problem)) if isinstance(problem, BadQuery) else (404, on_the_page(problem))
        query, bad = good_part(current, feed_args)
        view = make_view(programme, query, None, "1", today(programme))
    typed = {"author": ", ".join(v for n, v in bad if n == "author"),  # the chosen are ticked
             "q": ", ".join(v for n, v in feed_args if n == "q")}  # as typed
    html = render_page(current, query, view, error, typed)
    if status != 200:  # an error view is not kept
        return html, status
    return send_representation(html.encode(), HTML_TYPE, data_last_modified())


def render_page(current: Catalog, query: FeedQuery, view: View, error: str, typed: dict[str, str]) -> str:
    programme = current.programme
    return render_template(
        "page.html", programme=programme, query=query, error=error, view=view, typed=typed,
        feed=feed_links(current, query, base_url(), feed_count(programme, query, view)),
        places=places(programme), header=header(programme), choices_html=choices_html(programme, query),
        reminders=sorted(set(REMINDERS) | ({query.alarm} - {None})), event_html=event_html(programme, query),
        lists=[f.folder for f in ALIASED], hidden=hidden_inputs(programme, query, view),
        everything=url_for("page.index"), view_url=view_url(query))


def today(programme: Programme) -> str:
    """The date in the conference's zone: the first view shows today while the conference runs."""
    return datetime.now(ZoneInfo(programme.conference.timezone)).date().isoformat()


def on_the_page(problem: UnknownName) -> str:
    return problem.args[0] + ON_THE_PAGE.get(problem.folder, ELSEWHERE_ON_THE_PAGE)


def view_url(query: FeedQuery) -> Callable[..., str]:
    """The page with the same choice on another day or part: `view_url(on="2020-12-08", page=2)`."""
    def url(**view: str | int) -> str:
        return url_for("page.index") + "?" + urlencode(query.pairs() + [(k, str(v)) for k, v in view.items()])
    return url


def hidden_inputs(programme: Programme, query: FeedQuery, view: View) -> list[tuple[str, str]]:
    """The choices the form shows no field for, so that a submitted form keeps them: values
    of filters without ticks (a session), talks ticked on other days, the day shown."""
    own = set(form_choices(programme)) | {"author", "event", "q"}
    kept = [(name, value) for name, values in query.filter.chosen if name not in own for value in sorted(values)]
    shown_ids = {e.id for e in view.events}
    kept += [("event", ident) for ident in sorted(query.filter.values("event")) if ident not in shown_ids]
    return kept + ([("on", view.day)] if len(view.days) > 1 else [])


def form_choices(programme: Programme) -> dict[str, Choice]:
    """The filters the form offers, where the programme has more than one value (one track
    only is no choice): ticks for up to 30 values, a drop-down list for up to 200 (a
    conference's rooms), none beyond (its thousand sessions: each event links to its own).
    Made once per programme."""
    return programme.derived("page choices", _choices)


def _choices(programme: Programme) -> dict[str, Choice]:
    offered = {}
    for chosen in ALIASED:
        labels = chosen.labels(programme) if isinstance(chosen, Labelled) else {}
        if 1 < len(labels) <= IN_A_DROPDOWN_AT_MOST:
            index = chosen.index(programme)
            offered[chosen.name] = Choice(chosen.title, labels, {k: len(v) for k, v in index.items()},
                                          dropdown=len(labels) > LISTED_AT_MOST or not chosen.listed)
    return offered


def choices_html(programme: Programme, query: FeedQuery) -> Markup:
    """The form's ticks and lists with the view's choice ticked. Rendered once per programme
    with marks where a value may be ticked: a conference's are a hundred fields, a millisecond
    of Jinja on each view."""
    made = programme.derived("page choices html", lambda p: render_template(
        "choices.html", choices=form_choices(p), mark=choice_mark))

    def chosen(found: re.Match) -> str:
        attribute, name, ident = found.groups()
        values = query.filter.values(name)
        if attribute == "multiple":
            return " multiple" if len(values) > 1 else ""
        return f" {attribute}" if ident in values else ""
    return Markup(CHOICE_MARK.sub(chosen, made))


def choice_mark(attribute: str, name: str, ident: str = "") -> Markup:
    """Where `attribute` goes if the view chose `ident` of filter `name` (`multiple`: several)."""
    return Markup(f"\x00{attribute}\x01{name}\x01{ident}\x00")


def places(programme: Programme) -> list[Labelled]:
    """Where an event is (its session, track, room), shown when the programme has several."""
    return programme.derived("page places", lambda p: [
        FILTERS[name] for name in PLACES if len(FILTERS[name].labels(p)) > 1])


@dataclass(frozen=True)
class Span:
    """What the page's head says of a session: its dates, its chairs and its page."""

    session: Session
    first: datetime
    last: datetime


@dataclass(frozen=True)
class Header:
    first: datetime
    last: datetime
    sessions: int
    events: int
    spans: tuple[Span, ...]  # each session's, when there are few; else none


def header(programme: Programme) -> Header:
    """The dates the programme spans, for the page's head: once per programme."""
    def make(p: Programme) -> Header:
        spans = tuple(Span(s, min(e.start for e in s.events), max(e.end for e in s.events))
                      for s in p.sessions[:SESSIONS_IN_HEADER + 1] if s.events)
        return Header(p.events[0].start, max(e.end for e in p.events), len(p.sessions), len(p.events),
                      spans if len(p.sessions) <= SESSIONS_IN_HEADER else ())
    return programme.derived("page header", make)


def event_html(programme: Programme, query: FeedQuery) -> Callable[[Event], Markup]:
    """Each shown event's HTML with the view's reminder and "my talks" ticks. An event is
    rendered the first time it is shown and kept with the programme (within a budget), with
    marks where a view's choice goes: a view costs its few events, not a template each."""
    kept: Bounded = programme.derived("page event html", lambda p: Bounded(EVENT_HTML_BYTES))
    alarm = "" if query.alarm is None else f"?alarm={query.alarm}"
    ticks = query.filter.values("event")

    def html(event: Event) -> Markup:
        made = kept.get(event.id)
        if made is None:
            made = render_template("event.html", event=event, programme=programme, places=places(programme),
                                   google_link=google_event_url(event, programme),
                                   everything=url_for("page.index"), **MARKS)
            kept.put(event.id, made, len(made))
        chosen = event.id in ticks
        return Markup(made.replace(MARKS["ALARM"], alarm).replace(MARKS["TICKED_CLASS"], " in-feed" * chosen)
                      .replace(MARKS["TICKED_CHECKED"], " checked" * chosen)
                      .replace(MARKS["UNTICKED_HIDDEN"], "" if chosen else " hidden"))
    return html


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


@bp.app_template_filter()
def thousands(number: int) -> str:
    """ "15,000"."""
    return f"{number:,}"
