"""The page as the server renders it: what a browser without JavaScript gets."""
from __future__ import annotations

import hashlib
import json
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlsplit

import pytest

from bench.synthetic import generate
from feedsvc import SHIPPED_DATA, create_app
from feedsvc.store import write_programme

from .conftest import BASE_URL, EXPECTED_EVENTS, expected_links

SESSION = "Orals & Spotlights Track 08: Deep Learning"
GOOGLE_EVENT = "https://calendar.google.com/calendar/render?"


class Page(HTMLParser):
    """The elements of a page in order, each as (tag, attributes), and the text of those with an id."""

    def __init__(self, html: str):
        super().__init__()
        self.elements: list[tuple[str, dict[str, str]]] = []
        self.text: dict[str, str] = {}
        self.open_ids: list[tuple[str, str]] = []  # (tag, id) of the elements being read
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attributes = {name: value or "" for name, value in attrs}
        self.elements.append((tag, attributes))
        if "id" in attributes and tag not in ("input", "link", "meta"):
            self.open_ids.append((tag, attributes["id"]))
            self.text[attributes["id"]] = ""

    def handle_endtag(self, tag):
        if self.open_ids and self.open_ids[-1][0] == tag:
            self.open_ids.pop()

    def handle_data(self, data):
        for _, ident in self.open_ids:
            self.text[ident] += data

    def by_id(self, ident: str) -> dict[str, str]:
        (found,) = [attrs for _, attrs in self.elements if attrs.get("id") == ident]
        return found

    def all(self, tag: str, **wanted: str) -> list[dict[str, str]]:
        return [attrs for name, attrs in self.elements
                if name == tag and all(attrs.get(k.replace("_", "-")) == v for k, v in wanted.items())]

    def elements_with(self, attribute: str) -> list[dict[str, str]]:
        return [attrs for _, attrs in self.elements if attribute in attrs]

    def words(self, ident: str) -> str:
        return " ".join(self.text[ident].split())

    def form_choice(self) -> dict[str, list[str]]:
        """What submitting the form would send, by name: ticked boxes, hidden fields, filled
        text fields and selected options (an empty value counts as not given)."""
        chosen: dict[str, list[str]] = {}
        select = None
        for tag, attrs in self.elements:
            if tag == "select":
                select = attrs["name"]
            sent = ((tag == "input" and attrs.get("type") in ("hidden", "search") and attrs.get("value"))
                    or (tag == "input" and attrs.get("type") == "checkbox" and "checked" in attrs)
                    or (tag == "option" and "selected" in attrs and attrs["value"]))
            if sent:
                chosen.setdefault(attrs.get("name", select), []).append(attrs["value"])
        return chosen


def page(client, url: str = "/", status: int = 200, **options) -> Page:
    response = client.get(url, **options)
    assert (response.status_code, response.content_type) == (status, "text/html; charset=utf-8")
    return Page(response.get_data(as_text=True))


def shown_links(found: Page) -> dict[str, str]:
    return {"feed-url": found.text["feed-url"],
            **{ident: found.by_id(ident)["href"] for ident in
               ("subscribe-webcal", "subscribe-google", "subscribe-outlook", "download-feed")}}


def test_page_shows_the_session(client):
    found = page(client)
    assert found.words("builder-title") == "Subscribe"
    assert found.text["schedule-title"] == "Schedule"
    assert [a["data-event-id"] for a in found.all("li", **{"class": "event type-oral"})] == [
        "multiscale-deep-equilibrium-models", "on-the-modularity-of-hypernetworks",
        "training-generative-adversarial-networks-with-limited"]
    assert [a["data-event-id"] for a in found.elements_with("data-event-id")] == [i for i, *_ in EXPECTED_EVENTS]


def test_page_header_title_date_and_chairs(client):
    html = client.get("/").get_data(as_text=True)
    assert f"<h1>{SESSION.replace('&', '&amp;')}</h1>" in html
    assert ("Tuesday 8 December 2020, <span class=\"nowrap\">06:00–09:00 PST</span>") in html
    assert "Chairs: Graham Taylor, Mario Lucic · " in html


def test_every_event_with_its_pacific_time_and_utc_instant(client):
    found = page(client)
    times = [attrs["datetime"] for attrs in found.all("time")]
    expected = [f"2020-12-08T{clock}:00Z" for _, _, start, end, _ in EXPECTED_EVENTS for clock in (start, end)]
    assert times == expected
    local = found.all("span", **{"class": "local-time"})
    assert len(local) == 16 and all("hidden" in a for a in local)  # session + 15 events, filled by JS


def test_whole_programme_links_without_a_filter(client):
    assert shown_links(page(client)) == {
        "feed-url": f"{BASE_URL}/calendar.ics",
        "subscribe-webcal": "webcal://feeds.example.org/calendar.ics",
        "subscribe-google": "https://calendar.google.com/calendar/r?cid=webcal%3A%2F%2Ffeeds.example.org"
                            "%2Fcalendar.ics",
        "subscribe-outlook": "https://outlook.live.com/calendar/0/addfromweb?url=https%3A%2F%2F"
                             "feeds.example.org%2Fcalendar.ics&name=Orals%20%26%20Spotlights%20Track%2008"
                             "%3A%20Deep%20Learning",
        "download-feed": "/calendar.ics",
    }


def test_query_prefills_the_form_and_gives_its_links(client):
    found = page(client, "/?author=Kolter&type=spotlight&event=meshsdf,monotone-operator-equilibrium-networks"
                         "&alarm=15")
    assert found.form_choice() == {"type": ["spotlight"], "author": ["j-zico-kolter"], "alarm": ["15"],
                                   "event": ["meshsdf", "monotone-operator-equilibrium-networks"]}
    query = "type=spotlight&author=j-zico-kolter&event=meshsdf&event=monotone-operator-equilibrium-networks&alarm=15"
    described = "My%20selection%20%282%20events%29%20by%20J.%20Zico%20Kolter"
    assert shown_links(found) == expected_links(query, described)
    assert found.words("feed-count") == "1 event"
    in_feed = [a["data-event-id"] for a in found.elements_with("data-event-id") if "in-feed" in a["class"]]
    assert in_feed == ["monotone-operator-equilibrium-networks"]


def test_nothing_chosen_marks_no_event(client):
    found = page(client)
    assert found.words("feed-count") == "15 events"
    assert not [a for a in found.elements_with("data-event-id") if "in-feed" in a["class"]]
    assert found.form_choice() == {}


def test_a_reminder_alone_marks_no_event(client):
    found = page(client, "/?alarm=10")
    assert found.words("feed-count") == "15 events"
    assert not [a for a in found.elements_with("data-event-id") if "in-feed" in a["class"]]


def test_empty_form_fields_count_as_not_given(client):
    """A submitted form sends `alarm=` for "None"; the page, unlike a feed, takes that as no reminder."""
    found = page(client, "/?type=oral&alarm=")
    assert found.text["feed-url"] == f"{BASE_URL}/calendar.ics?type=oral"
    assert found.words("feed-count") == "3 events"


def test_unlisted_reminder_is_kept(client):
    alarms = [a["value"] for a in page(client, "/?alarm=7").all("option") if a["value"].isdigit()]
    assert alarms == ["0", "5", "7", "10", "15", "30", "60"]


def test_form_lists_every_type_and_a_field_for_people(client):
    """People are typed, not picked from a list of thousands: a plain text field takes a surname."""
    found = page(client)
    assert [a["value"] for a in found.all("input", name="type")] == ["oral", "break", "spotlight", "qa"]
    assert found.all("input", name="author") == [{"type": "search", "id": "author", "name": "author", "value": "",
                                                  "autocomplete": "off", "aria-describedby": "author-hint",
                                                  "aria-controls": "author-suggestions"}]
    assert not found.all("select", multiple="")
    assert len(found.all("input", name="event", form="filters")) == 15


def test_people_chosen_by_surname_are_ticked_by_name(client):
    found = page(client, "/?author=kolter,Wolf")
    assert [(a["value"], "checked" in a) for a in found.all("input", type="checkbox", name="author")] == [
        ("j-zico-kolter", True), ("lior-wolf", True)]
    assert found.by_id("author")["value"] == ""
    assert [a["data-event-id"] for a in found.elements_with("data-event-id")] == [
        "multiscale-deep-equilibrium-models", "on-the-modularity-of-hypernetworks",
        "monotone-operator-equilibrium-networks"]


@pytest.mark.parametrize("url, status, message", [
    ("/?type=poster", 400, "unknown type 'poster'; accepted: oral, break, spotlight, qa"),
    ("/?types=oral", 400, "unknown parameter 'types'; accepted: session, type, author, event, track, room, day, language, q, alarm"),
    ("/?author=kolterr", 404, "no author 'kolterr'; did you mean j-zico-kolter, vladlen-koltun?; type part of the "
                              "name in People for suggestions"),
    ("/?event=meshsfd", 404, "no event 'meshsfd'; did you mean meshsdf?; tick “In my talks” on events of the "
                             "schedule"),
    ("/?session=track-09", 404, "no session 'track-09'; choose from the form's lists, or use the links on the "
                                "schedule's events"),
    ("/?on=2020-12-09", 400, "on='2020-12-09' is not a day of the programme; accepted: 2020-12-08"),
    ("/?page=2", 400, "page='2' is not valid; accepted: 1 to 1, a part of the day's events"),
    ("/?page=0", 400, "page='0' is not valid; accepted: 1 to 1, a part of the day's events"),
])
def test_bad_query_is_shown_on_the_page(client, url, status, message):
    found = page(client, url, status=status)
    assert found.text["feed-error"] == message
    assert "hidden" not in found.by_id("feed-error") and "hidden" in found.by_id("feed-links")
    assert len(found.elements_with("data-event-id")) == 15  # the schedule is still there


def test_event_downloads_carry_the_chosen_reminder(client):
    downloads = [a["href"] for a in page(client, "/?type=oral&alarm=10").all("a", **{"class": "action event-download"})]
    assert downloads == [f"/events/{i}.ics?alarm=10" for i, kind, *_ in EXPECTED_EVENTS if kind == "oral"]


def test_the_schedule_lists_only_the_chosen_events(client):
    """The issue's first complaint: `/?type=oral&author=kolter` said "1 event" and listed 15."""
    found = page(client, "/?type=oral&author=kolter")
    assert [a["data-event-id"] for a in found.elements_with("data-event-id")] == ["multiscale-deep-equilibrium-models"]
    assert found.words("view-count") == "1 of 15 events · Show all events"
    assert [a["href"] for a in found.all("a") if a.get("href") == "/"] == ["/"]
    assert found.words("feed-count") == "1 event"


def test_error_view_keeps_the_form_filled_in(client):
    found = page(client, "/?type=oral&author=kolterr&q=Deep%20Models&alarm=10", status=404)
    assert found.form_choice() == {"q": ["Deep Models"], "type": ["oral"], "author": ["kolterr"], "alarm": ["10"]}
    assert [a["data-event-id"] for a in found.elements_with("data-event-id")] == ["multiscale-deep-equilibrium-models"]
    assert "/api/" not in found.text["feed-error"]


def test_the_shipped_session_is_one_clean_day(client):
    """One day, one session, one track, one room: no tabs, no parts, no places to repeat on each event."""
    found = page(client)
    assert not found.all("nav") and "part" not in found.text
    assert not found.all("a", **{"class": "place"})
    assert [a["name"] for a in found.all("select")] == ["alarm"]  # one session, track and room: no choice
    assert found.words("view-count") == "15 events"


def test_event_downloads_and_google_links(client):
    found = page(client)
    downloads = [a["href"] for a in found.all("a", **{"class": "action event-download"})]
    assert downloads == [f"/events/{i}.ics" for i, *_ in EXPECTED_EVENTS]
    google = [a["href"] for a in found.all("a", **{"class": "action"}) if a["href"].startswith(GOOGLE_EVENT)]
    assert len(google) == 15
    assert google[3] == (
        "https://calendar.google.com/calendar/render?action=TEMPLATE&text=Break"
        "&dates=20201208T144500Z/20201208T150000Z"
        "&details=Break%20%C2%B7%20Orals%20%26%20Spotlights%20Track%2008%3A%20Deep%20Learning%20%C2%B7%20"
        "NeurIPS%202020%0A%0ASession%3A%20https%3A//neurips.cc/virtual/2020/public/session_oral_21071.html"
        "&location=Orals%20%26%20Spotlights%20Track%2008%3A%20Deep%20Learning%2C%20NeurIPS%202020%20%28virtual%29")
    meshsdf = parse_qs(urlsplit(google[4]).query)
    assert meshsdf["text"] == ["MeshSDF: Differentiable Iso-Surface Extraction"]
    assert meshsdf["dates"] == ["20201208T150000Z/20201208T151000Z"]
    assert meshsdf["details"] == [
        "Spotlight · Orals & Spotlights Track 08: Deep Learning · NeurIPS 2020\n"
        "Authors: Edoardo Remelli, Artem Lukoianov, Stephan Richter, Benoit Guillard, Timur Bagautdinov, "
        "Pierre Baque, Pascal Fua\n\n"
        "Talk: https://neurips.cc/virtual/2020/public/poster_fe40fb944ee700392ed51bfe84dd4e3d.html\n"
        "Paper: https://proceedings.neurips.cc/paper/2020/hash/fe40fb944ee700392ed51bfe84dd4e3d-Abstract.html\n"
        "Preprint: https://arxiv.org/abs/2006.03997\nCode: https://github.com/cvlab-epfl/MeshSDF"]
    assert max(len(url) for url in google) < 2000  # no abstracts: a link stays short


def test_talk_links_authors_and_abstract(client):
    found = page(client)
    assert [a["href"] for a in found.all("a") if a["href"].startswith("/?author=")][:3] == [
        "/?author=shaojie-bai", "/?author=vladlen-koltun", "/?author=j-zico-kolter"]
    assert len(found.all("details", **{"class": "abstract"})) == 11  # every talk; none for Q&As and breaks
    assert [a["href"] for a in found.all("a", href="https://github.com/IGITUGraz/H-Mem")] == [
        "https://github.com/IGITUGraz/H-Mem"]


def test_no_inline_script_or_style(client):
    """A strict Content-Security-Policy (default-src 'self') must not break the page."""
    found = page(client)
    scripts = found.all("script")
    assert scripts == [{"src": "/static/page.js", "defer": ""}]
    assert not found.all("style") and not [a for _, a in found.elements if "style" in a]
    assert not [a for _, a in found.elements if any(name.startswith("on") for name in a)]
    for path in ("/static/page.js", "/static/page.css", "/static/icon.svg"):
        with client.get(path) as response:  # a file response: closing it closes the file
            assert response.status_code == 200


def test_every_control_has_a_label(client):
    found = page(client)
    labelled = {a["for"] for a in found.all("label") if "for" in a}
    assert labelled == {"author", "alarm", "feed-url", "q"}
    # checkboxes sit inside their <label>: every one is a .check label's first child
    html = client.get("/").get_data(as_text=True)
    assert html.count('<label class="check') == 4 + 15
    assert html.count('type="checkbox"') == 4 + 15


def test_text_from_the_data_is_escaped(tmp_path):
    data = json.loads(SHIPPED_DATA.read_text(encoding="utf-8"))
    data["sessions"][0]["events"][0]["title"] = "<script>alert(1)</script> & more"
    data["sessions"][0]["chairs"] = ['"><img src=x>']
    path = tmp_path / "programme.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    html = create_app({"DATA": str(path), "BASE_URL": BASE_URL}).test_client().get("/").get_data(as_text=True)
    assert "<script>alert" not in html and '"><img' not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; more" in html
    assert "&#34;&gt;&lt;img src=x&gt;" in html


def test_links_use_the_request_host_without_a_base_url():
    client = create_app({"BASE_URL": ""}).test_client()
    found = page(client, "/?type=oral", base_url="http://calendar.test:8080")
    assert found.by_id("subscribe-webcal")["href"] == "webcal://calendar.test:8080/calendar.ics?type=oral"


@pytest.mark.parametrize("proxies, webcal", [
    ("0", "webcal://10.0.0.5:8000/calendar.ics?type=oral"),
    ("1", "webcal://feeds.proxy.example/calendar.ics?type=oral"),
])
def test_forwarded_host_only_from_trusted_proxies(proxies, webcal):
    client = create_app({"BASE_URL": "", "TRUSTED_PROXIES": proxies}).test_client()
    found = page(client, "/?type=oral", base_url="http://10.0.0.5:8000",
                 headers={"X-Forwarded-Proto": "https", "X-Forwarded-Host": "feeds.proxy.example"})
    assert found.by_id("subscribe-webcal")["href"] == webcal


@pytest.mark.parametrize("url", ["/", "/?type=oral&alarm=10"])
def test_page_carries_validators_and_answers_304(client, url):
    first = client.get(url)
    assert first.headers["Cache-Control"] == "public, max-age=300"
    assert first.headers["Last-Modified"] == "Fri, 27 Nov 2026 00:00:00 GMT"
    assert first.headers["ETag"] == f'"{hashlib.sha256(first.data).hexdigest()[:32]}"'
    assert first.headers["Content-Security-Policy"].startswith("default-src 'self'")
    again = client.get(url, headers={"If-None-Match": first.headers["ETag"]})
    assert (again.status_code, again.data, again.headers["ETag"]) == (304, b"", first.headers["ETag"])
    assert client.get(url, headers={"If-Modified-Since": first.headers["Last-Modified"]}).status_code == 304
    assert client.get(url, headers={"If-None-Match": '"0123"'}).data == first.data


def test_page_error_view_is_not_kept(client):
    response = client.get("/?type=poster")
    assert response.status_code == 400
    assert "ETag" not in response.headers and "Cache-Control" not in response.headers


@pytest.fixture(scope="module")
def conference(tmp_path_factory):
    """A generated conference of 1,500 events: 300 on each of five days, in four rooms at a time."""
    path = tmp_path_factory.mktemp("conference") / "programme.json"
    write_programme(generate(1500), path)
    return create_app({"DATA": str(path), "BASE_URL": BASE_URL}).test_client()


DAYS = ["2020-12-07", "2020-12-08", "2020-12-09", "2020-12-10", "2020-12-11"]


def tabs(found: Page) -> list[tuple[str, bool]]:
    """(href, whether current) of each day's tab, in order."""
    return [(a["href"], "aria-current" in a) for a in found.all("a") if a.get("id", "").startswith("tab-")]


def test_first_view_of_a_conference_is_its_first_day(conference):
    response = conference.get("/")
    assert len(response.data) <= 300_000
    found = Page(response.get_data(as_text=True))
    assert tabs(found) == [(f"/?on={day}", day == DAYS[0]) for day in DAYS]
    assert found.words("view-count") == "1,500 events"
    assert found.words("part") == "Events 1–30 of 300 on this day"
    shown = [a["data-event-id"] for a in found.elements_with("data-event-id")]
    assert len(shown) == 30 and shown[0] == "meshsdf"
    assert found.form_choice() == {"on": ["2020-12-07"]}  # a submitted form stays on the day shown
    assert not found.all("a", rel="prev") and found.all("a", rel="next") == [
        {"class": "button", "href": "/?on=2020-12-07&page=2", "rel": "next"}]


def test_a_day_tab_and_its_parts(conference):
    found = page(conference, "/?on=2020-12-09&page=10")
    assert found.words("part") == "Events 271–300 of 300 on this day"
    assert [a["href"] for a in found.all("a", rel="prev")] == ["/?on=2020-12-09&page=9"]
    assert not found.all("a", rel="next")
    days = {e.split("T")[0] for e in (a["datetime"] for a in found.all("time"))}
    assert days <= {"2020-12-09", "2020-12-10"}  # times in UTC: late talks end after midnight there


def test_filters_count_per_day_and_keep_the_day(conference):
    found = page(conference, "/?track=Optimization&type=oral&on=2020-12-09")
    assert found.words("view-count") == "33 of 1,500 events · Show all events"
    assert tabs(found) == [(f"/?type=oral&track=optimization&on={day}", day == "2020-12-09") for day in DAYS]
    assert [found.words(f"tab-{day}") for day in DAYS] == ["Mon 7 Dec 3", "Tue 8 Dec 9", "Wed 9 Dec 6",
                                                           "Thu 10 Dec 6", "Fri 11 Dec 9"]
    events = found.all("li", **{"class": "event type-oral"})
    assert len(events) == 6 and "part" not in found.text
    assert found.form_choice() == {"on": ["2020-12-09"], "type": ["oral"], "track": ["optimization"]}


def test_choices_the_form_has_no_field_for_are_kept(conference):
    """A talk ticked on a day not shown stays chosen, in a hidden field."""
    session = "orals-spotlights-track-21-optimization"
    found = page(conference, f"/?session={session}&event=meshsdf")
    assert found.form_choice() == {"session": [session], "event": ["meshsdf"]}  # one day: no tabs, no day kept
    assert found.all("input", type="hidden") == [{"type": "hidden", "name": "event", "value": "meshsdf"}]
    assert found.words("view-count") == "15 of 1,500 events · Show all events"
    assert tabs(found) == []


def test_longer_lists_are_drop_downs(conference):
    """Up to 30 values are ticks (five days, four rooms, fourteen tracks); the 100 sessions a list."""
    found = page(conference, "/?session=orals-spotlights-track-21-optimization")
    options = [a["value"] for tag, a in found.elements if tag == "option" and "value" in a]
    sessions = [value for value in options if value.startswith("orals-")]
    assert len(sessions) == 100 and options[0] == ""  # "Any"
    assert found.by_id("choice-session") == {"id": "choice-session", "name": "session"}
    assert [a["value"] for a in found.all("option") if "selected" in a] == [
        "orals-spotlights-track-21-optimization", ""]  # the session, and no reminder
    assert len(found.all("input", type="checkbox", name="room")) == 4
    assert len(found.all("input", type="checkbox", name="track")) == 14


def test_days_without_chosen_events_have_no_tab(conference):
    found = page(conference, "/?day=2020-12-10,2020-12-11")
    assert tabs(found) == [("/?day=2020-12-10&day=2020-12-11&on=2020-12-10", True),
                           ("/?day=2020-12-10&day=2020-12-11&on=2020-12-11", False)]
    assert found.words("part") == "Events 1–30 of 300 on this day"
    assert found.all("input", name="day", value="2020-12-10")[0]["checked"] == ""


def test_nothing_chosen_on_any_day(conference):
    found = page(conference, "/?q=no+such+words+anywhere")
    assert found.words("view-count") == "0 of 1,500 events · Show all events"
    assert not found.elements_with("data-event-id") and not found.all("nav")
    assert found.words("feed-count") == "No event matches: the filters combine with AND."


def test_a_day_without_chosen_events_shows_the_first_that_has_some(conference):
    """A form submitted on a day keeps it (`on=`); a choice with nothing on that day moves on."""
    found = page(conference, "/?on=2020-12-07&day=2020-12-09,2020-12-10")
    assert tabs(found) == [("/?day=2020-12-09&day=2020-12-10&on=2020-12-09", True),  # none on the 7th
                           ("/?day=2020-12-09&day=2020-12-10&on=2020-12-10", False)]
    first = conference.get("/api/events?day=2020-12-09&limit=1").json["events"][0]
    assert found.elements_with("data-event-id")[0]["data-event-id"] == first["id"]


def test_each_way_to_subscribe_says_what_it_does(client):
    found = page(client)
    assert found.words("feed-url-hint") == "To paste into any other calendar app that subscribes to a URL."
    html = client.get("/").get_data(as_text=True)
    for link, hint in (("subscribe-webcal", "Opens the calendar app on this device, which keeps the feed up to date."),
                       ("subscribe-google", "Adds it on calendar.google.com; Google refreshes it every few hours."),
                       ("subscribe-outlook", "Outlook on the web (Microsoft 365, outlook.com)."),
                       ("download-feed", "A copy as it is now: it does not update.")):
        after = html[html.index(f'id="{link}"'):]
        assert after[after.index("</a>"):].split("</p>")[0].endswith(f'<p class="hint">{hint}')
