"""The page in a real headless Chromium (Debian's), served by the Procfile's running server.

The network is closed: a request that leaves the test server (Google Calendar) is answered
by the test itself and recorded, so a click is followed as far as the URL it goes to. The
page comes with the service's strict Content-Security-Policy, so a script or style the policy
refuses shows up as a console error, and any script error or console error fails the test. Screenshots go to tests/artifacts/ (git-ignored).
"""
from __future__ import annotations

import gzip
import re
import unicodedata
from collections import Counter
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Route, expect, sync_playwright

from bench.synthetic import generate
from feedsvc.store import write_programme

from .conftest import BASE_URL, ROOT, expected_links, expected_times, parse_both
from .serving import fetch, running_server

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = ROOT / "tests" / "artifacts"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}

SPOTLIGHT_BY_KOLTER = "type=spotlight&author=j-zico-kolter"
SPOTLIGHTS_BY_KOLTER_NAMED = "Spotlights%20by%20J.%20Zico%20Kolter"  # the calendar name's end, encoded
MONOTONE = "monotone-operator-equilibrium-networks"


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class Visit:
    """A browser context on the running server: what left it, and what went wrong in the page."""

    def __init__(self, browser: Browser, server: str, locale: str = "en-GB", **options):
        self.server = server
        self.outside: list[str] = []  # URLs of requests that did not go to the test server
        self.problems: list[str] = []  # script errors and console errors, CSP refusals included
        self.context: BrowserContext = browser.new_context(locale=locale, timezone_id="Europe/Berlin",
                                                           **options)
        self.context.route(lambda url: not url.startswith(server), self.answer_outside)
        self.page: Page = self.context.new_page()
        self.page.on("pageerror", lambda error: self.problems.append(str(error)))
        self.page.on("console", lambda message: message.type == "error" and self.problems.append(message.text))

    def answer_outside(self, route: Route) -> None:
        """Stand in for the outside world: record the URL, never reach it."""
        self.outside.append(route.request.url)
        route.fulfill(status=200, content_type="text/plain", body="left feedsvc")

    def open(self, path: str = "/") -> Page:
        self.page.goto(self.server + path)
        return self.page

    def close(self) -> None:
        self.context.close()
        assert self.problems == []


@pytest.fixture
def desktop(browser, server):
    visit = Visit(browser, server, viewport=DESKTOP)
    yield visit
    visit.close()


@pytest.fixture
def phone(browser, server):
    visit = Visit(browser, server, viewport=PHONE, is_mobile=True, has_touch=True)
    yield visit
    visit.close()


def shown_links(page: Page) -> dict[str, str]:
    links = {ident: page.locator(f"#{ident}").get_attribute("href")
             for ident in ("subscribe-webcal", "subscribe-google", "subscribe-outlook", "download-feed")}
    return {"feed-url": page.locator("#feed-url").input_value(), **links}


def screenshot(page: Page, name: str) -> None:
    """The window from the top of the page, and the whole page."""
    ARTIFACTS.mkdir(exist_ok=True)
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=ARTIFACTS / f"{name}.png")
    page.screenshot(path=ARTIFACTS / f"{name}-full.png", full_page=True)


def download(page: Page, link) -> tuple[str, bytes]:
    with page.expect_download() as started:
        link.click()
    return started.value.suggested_filename, Path(started.value.path()).read_bytes()


def test_spotlights_of_an_author_from_ticks_to_calendar(desktop):
    page = desktop.open()
    expect(page.locator("#feed-count")).to_have_text("15 events")
    page.get_by_role("group", name="Event types").get_by_label("Spotlight").check()
    page.wait_for_url(f"{desktop.server}/?type=spotlight")
    expect(page.locator(".event")).to_have_count(8)
    page.get_by_label("People").fill("kolt")
    page.get_by_role("button", name="J. Zico Kolter (2 events)").click()
    page.wait_for_url(f"{desktop.server}/?{SPOTLIGHT_BY_KOLTER}")  # the address bar can be shared

    expect(page.locator("#feed-url")).to_have_value(f"{BASE_URL}/calendar.ics?{SPOTLIGHT_BY_KOLTER}")
    assert shown_links(page) == expected_links(SPOTLIGHT_BY_KOLTER, SPOTLIGHTS_BY_KOLTER_NAMED)
    expect(page.locator("#feed-count")).to_have_text("1 event")
    expect(page.locator("#view-count")).to_have_text("1 of 15 events · Show all events")
    expect(page.locator("#feed-name")).to_have_text(
        "Orals & Spotlights Track 08: Deep Learning \u2014 Spotlights by J. Zico Kolter")
    assert [e.get_attribute("id") for e in page.locator(".event").all()] == [MONOTONE]
    expect(page.get_by_label("J. Zico Kolter")).to_be_checked()

    expect(page.locator(f"#{MONOTONE} .local-time")).to_have_text("16:20–16:30 CET")
    expect(page.locator(".when .local-time")).to_have_text("Tue 8 Dec, 15:00–18:00 CET")
    page.locator(f"#{MONOTONE} summary").click()
    expect(page.locator(f"#{MONOTONE} .abstract p")).to_contain_text("monotone operator")
    screenshot(page, "page-desktop")

    name, body = download(page, page.locator(f"#{MONOTONE}").get_by_role("link", name="Download .ics"))
    assert name == f"{MONOTONE}.ics"
    assert parse_both(body) == expected_times({MONOTONE})
    _, feed = download(page, page.locator("#download-feed"))
    assert parse_both(feed) == expected_times({MONOTONE})

    page.get_by_role("link", name="Subscribe in Google Calendar").click()
    page.wait_for_url("https://calendar.google.com/**")
    assert desktop.outside == [expected_links(SPOTLIGHT_BY_KOLTER, "")["subscribe-google"]]


def test_copy_link_puts_the_feed_url_on_the_clipboard(desktop):
    desktop.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=desktop.server)
    page = desktop.open("/?type=oral")
    page.get_by_role("button", name="Copy link").click()
    expect(page.locator("#copy-status")).to_have_text("Copied the feed URL.")
    assert page.evaluate("navigator.clipboard.readText()") == f"{BASE_URL}/calendar.ics?type=oral"


def test_keyboard_only_oral_to_google_calendar(desktop):
    """The issue's "done when": open /, tick Oral, reach Google with the filtered feed filled in."""
    page = desktop.open()
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to the schedule")).to_be_focused()
    oral = page.get_by_role("group", name="Event types").get_by_label("Oral")
    oral.focus()
    page.keyboard.press("Space")
    page.wait_for_url(f"{desktop.server}/?type=oral")
    expect(oral).to_be_checked()
    expect(page.locator(".event")).to_have_count(3)
    google = page.get_by_role("link", name="Subscribe in Google Calendar")
    expect(google).to_have_attribute("href", "https://calendar.google.com/calendar/r?cid=webcal%3A%2F%2F"
                                             "feeds.example.org%2Fcalendar.ics%3Ftype%3Doral")
    google.focus()
    page.keyboard.press("Enter")
    page.wait_for_url("https://calendar.google.com/**")
    assert desktop.outside == ["https://calendar.google.com/calendar/r?cid=webcal%3A%2F%2F"
                               "feeds.example.org%2Fcalendar.ics%3Ftype%3Doral"]


def test_my_talks_from_the_schedule(desktop):
    page = desktop.open("/?alarm=10")
    expect(page.locator(".event.in-feed")).to_have_count(0)  # a reminder alone keeps every event
    page.get_by_label("In my talks: MeshSDF").check()
    page.get_by_label("In my talks: H-Mem").check()
    query = "event=h-mem&event=meshsdf&alarm=10"
    expect(page.locator("#feed-url")).to_have_value(f"{BASE_URL}/calendar.ics?{query}")
    expect(page.locator(".event.in-feed")).to_have_count(2)
    assert shown_links(page) == expected_links(query, "My%20selection%20%282%20events%29")
    meshsdf_download = page.locator('a.event-download[href^="/events/meshsdf.ics"]')
    expect(meshsdf_download).to_have_attribute("href", "/events/meshsdf.ics?alarm=10")
    page.get_by_label("Reminder").select_option("30")
    expect(meshsdf_download).to_have_attribute("href", "/events/meshsdf.ics?alarm=30")
    page.get_by_label("Reminder").select_option("")
    expect(page.locator("#feed-url")).to_have_value(f"{BASE_URL}/calendar.ics?event=h-mem&event=meshsdf")
    expect(meshsdf_download).to_have_attribute("href", "/events/meshsdf.ics")
    assert page.url == f"{desktop.server}/?event=h-mem&event=meshsdf"
    page.get_by_label("In my talks: MeshSDF").uncheck()
    page.get_by_label("In my talks: H-Mem").uncheck()
    expect(page.locator("#feed-url")).to_have_value(f"{BASE_URL}/calendar.ics")
    expect(page.locator(".event.in-feed")).to_have_count(0)
    assert page.url == f"{desktop.server}/"


def test_empty_choice_says_so(desktop):
    page = desktop.open("/?event=meshsdf")
    page.get_by_role("group", name="Event types").get_by_label("Oral").check()
    page.wait_for_url(f"{desktop.server}/?type=oral&event=meshsdf")
    expect(page.locator("#feed-count")).to_have_text(
        "No event matches: the filters combine with AND.")


LOW_CONTRAST_TEXT = """() => {
  const rgb = (colour) => colour.match(/[\\d.]+/g).map(Number);
  const luminance = (channels) => {
    const linear = (value) => (value /= 255) <= 0.03928 ? value / 12.92 : ((value + 0.055) / 1.055) ** 2.4;
    const [r, g, b] = channels.map(linear);
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const background = (element) => {
    for (; element; element = element.parentElement) {
      const colour = rgb(getComputedStyle(element).backgroundColor);
      if (colour.length === 3 || colour[3] > 0) return colour;
    }
    return [255, 255, 255];
  };
  const low = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const element = node.parentElement;
    if (!node.textContent.trim() || !element.checkVisibility() || element.closest(".visually-hidden")) continue;
    const [light, dark] = [luminance(rgb(getComputedStyle(element).color)), luminance(background(element))]
      .sort((a, b) => b - a);
    const ratio = (light + 0.05) / (dark + 0.05);
    if (ratio < 4.5) low.push(`${node.textContent.trim().slice(0, 40)}: ${ratio.toFixed(2)}`);
  }
  return low;
}"""


def test_every_visible_text_has_aa_contrast(desktop):
    """WCAG AA: at least 4.5:1 between each visible text's colour and the background behind it."""
    page = desktop.open(f"/?{SPOTLIGHT_BY_KOLTER}&event={MONOTONE}")
    expect(page.locator(".event.in-feed")).to_have_count(1)
    page.locator(f"#{MONOTONE} summary").click()
    page.get_by_label("People").fill("lior")
    expect(page.get_by_role("button", name="Lior Wolf (1 event)")).to_be_visible()
    assert page.evaluate(LOW_CONTRAST_TEXT) == []


def test_phone_layout_fits_the_screen(phone):
    page = phone.open(f"/?{SPOTLIGHT_BY_KOLTER}")
    expect(page.locator(f"#{MONOTONE} .local-time")).to_have_text("16:20–16:30 CET")
    assert page.evaluate("document.documentElement.scrollWidth") == PHONE["width"]  # no sideways scrolling
    for ident in ("subscribe-webcal", "subscribe-google", "subscribe-outlook", "download-feed", "copy-link"):
        box = page.locator(f"#{ident}").bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"] and box["height"] >= 44, ident
    assert shown_links(page) == expected_links(SPOTLIGHT_BY_KOLTER, SPOTLIGHTS_BY_KOLTER_NAMED)
    for event in page.locator(".event").all():  # each event's two links share a line; a local time is never split
        download, google = (event.locator("a.action").nth(i).bounding_box() for i in (0, 1))
        assert download["y"] == google["y"], event.get_attribute("id")
        assert event.locator(".local-time").evaluate("element => element.getClientRects().length") == 1
    screenshot(page, "page-phone")


def test_without_javascript_the_form_gives_the_links(browser, server):
    visit = Visit(browser, server, viewport=DESKTOP, java_script_enabled=False)
    page = visit.open()
    expect(page.get_by_role("button", name="Copy link")).to_be_hidden()
    page.get_by_role("group", name="Event types").get_by_label("Spotlight").check()
    page.get_by_label("People").fill("Kolter")
    assert page.locator("#feed-url").input_value() == f"{BASE_URL}/calendar.ics"  # nothing live
    page.get_by_role("button", name="Show the feed for this choice").click()
    page.wait_for_url(f"{server}/?type=spotlight&author=Kolter&alarm=&q=")  # empty fields count as not given
    assert [e.get_attribute("id") for e in page.locator(".event").all()] == [MONOTONE]
    expect(page.get_by_label("J. Zico Kolter")).to_be_checked()
    assert shown_links(page) == expected_links(SPOTLIGHT_BY_KOLTER, SPOTLIGHTS_BY_KOLTER_NAMED)
    expect(page.get_by_role("group", name="Event types").get_by_label("Spotlight")).to_be_checked()
    page.get_by_role("link", name="Subscribe in Google Calendar").click()
    page.wait_for_url("https://calendar.google.com/**")
    assert visit.outside == [expected_links(SPOTLIGHT_BY_KOLTER, "")["subscribe-google"]]
    visit.close()


# A conference of 15,000 events, generated here (bench/synthetic.py, deterministic; not committed).
CONFERENCE_EVENTS = 15_000
PAGE_BYTES, PAGE_GZIP_BYTES = 300_000, 60_000  # the budget for the HTML of any page view
PAGE_ELEMENTS = 2_500  # the first view's DOM: 30 events of about 45 elements, the form and the tabs
PERSON = "anais-lefevre"  # "Anaïs Lefèvre", typed without accents: 8 events, 5 spotlights, on several days


@pytest.fixture(scope="module")
def conference(tmp_path_factory):
    """The generated programme, and the Procfile's server serving it."""
    programme = generate(CONFERENCE_EVENTS)
    path = tmp_path_factory.mktemp("conference") / "programme.json"
    write_programme(programme, path)
    with running_server({"FEEDSVC_DATA": str(path), "FEEDSVC_BASE_URL": BASE_URL}, seconds=180) as base:
        yield programme, base


@pytest.fixture
def at_conference(browser, conference):
    visit = Visit(browser, conference[1], viewport=DESKTOP)
    yield visit
    visit.close()


def folded_words(text: str) -> list[str]:
    """Words without case or accents, written out here rather than taken from feedsvc."""
    plain = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return re.findall(r"\w+", plain.lower().replace("ø", "o").replace("ł", "l"))


def matching(event, typed: str) -> bool:
    """Every typed word starts a word of the title, subtitle, persons or abstract."""
    words = folded_words(" ".join((event.title, event.subtitle, *(a.name for a in event.authors), event.abstract)))
    return all(any(w.startswith(t) for w in words) for t in folded_words(typed))


def test_conference_first_view_within_budget(at_conference):
    status, _, body = fetch(f"{at_conference.server}/")
    assert status == 200 and len(body) <= PAGE_BYTES and len(gzip.compress(body)) <= PAGE_GZIP_BYTES
    page = at_conference.open()
    expect(page.locator("#view-count")).to_have_text("15,000 events")
    expect(page.locator(".event")).to_have_count(30)
    assert page.evaluate("document.getElementsByTagName('*').length") <= PAGE_ELEMENTS
    expect(page.locator("#tab-2020-12-07")).to_have_text("Mon 7 Dec 2,550")
    expect(page.locator("#tab-2020-12-07")).to_have_attribute("aria-current", "page")
    screenshot(page, "conference-desktop")


def test_conference_on_a_phone(browser, conference):
    visit = Visit(browser, conference[1], viewport=PHONE, is_mobile=True, has_touch=True)
    page = visit.open("/?type=oral&on=2020-12-08")
    expect(page.locator(".event")).to_have_count(30)
    assert page.evaluate("document.documentElement.scrollWidth") == PHONE["width"]  # no sideways scrolling
    screenshot(page, "conference-phone")
    visit.close()


def test_search_finds_a_title(at_conference, conference):
    programme, _ = conference
    titles = Counter(e.title for e in programme.events)
    wanted = next(e for e in programme.events[7_000:] if titles[e.title] == 1
                  and sum(matching(other, e.title) for other in programme.events) <= 3)
    found = [e for e in programme.events if matching(e, wanted.title)]
    page = at_conference.open()
    page.get_by_label("Search").fill(wanted.title)
    page.get_by_label("Search").press("Enter")
    expect(page.locator("#view-count")).to_have_text(f"{len(found)} of 15,000 events · Show all events")
    page.locator(f"#tab-{wanted.day.isoformat()}").click()
    expect(page.locator(f"#{wanted.id} .title")).to_have_text(wanted.title)
    page.get_by_role("link", name="Show all events").click()
    expect(page.locator("#view-count")).to_have_text("15,000 events")


def test_a_day_tab_switches_the_day(at_conference, conference):
    programme, _ = conference
    page = at_conference.open()
    page.locator("#tab-2020-12-09").click()
    page.wait_for_url(f"{at_conference.server}/?on=2020-12-09")
    expect(page.locator("#tab-2020-12-09")).to_have_attribute("aria-current", "page")
    expect(page.locator("#part")).to_have_text("Events 1–30 of 2,550 on this day")
    on_day = [e.id for e in programme.events if e.day.isoformat() == "2020-12-09"][:30]
    assert [e.get_attribute("id") for e in page.locator(".event").all()] == on_day
    page.get_by_role("link", name="Later events →").click()
    expect(page.locator("#part")).to_have_text("Events 31–60 of 2,550 on this day")


def test_ticking_a_type_shows_only_that_type(at_conference, conference):
    programme, _ = conference
    page = at_conference.open("/?on=2020-12-10")
    page.get_by_role("group", name="Event types").get_by_label("Q&A").check()
    page.wait_for_url(f"{at_conference.server}/?on=2020-12-10&type=qa")
    qas = [e for e in programme.events if e.type == "qa"]
    expect(page.locator("#view-count")).to_have_text(f"{len(qas):,} of 15,000 events · Show all events")
    expect(page.locator("#tab-2020-12-10")).to_have_text(
        f"Thu 10 Dec {sum(e.day.isoformat() == '2020-12-10' for e in qas)}")
    assert {e.get_attribute("class") for e in page.locator(".event").all()} == {"event type-qa"}
    assert [e.get_attribute("id") for e in page.locator(".event").all()] == [
        e.id for e in qas if e.day.isoformat() == "2020-12-10"][:30]


def person_and_talks(programme) -> tuple[str, list]:
    person = programme.authors_by_id[PERSON]
    return person.name, [e for e in programme.events if person in e.authors]


def expected_feed_links(page: Page, query: str) -> None:
    """The subscribe panel shows the feed of `query` (canonical), every way."""
    encoded = query.replace("=", "%3D").replace("&", "%26")
    assert {k: v for k, v in shown_links(page).items() if k != "subscribe-outlook"} == {
        "feed-url": f"{BASE_URL}/calendar.ics?{query}",
        "subscribe-webcal": f"webcal://feeds.example.org/calendar.ics?{query}",
        "subscribe-google": f"https://calendar.google.com/calendar/r?cid=webcal%3A%2F%2Ffeeds.example.org"
                            f"%2Fcalendar.ics%3F{encoded}",
        "download-feed": f"/calendar.ics?{query}"}
    assert shown_links(page)["subscribe-outlook"].startswith(
        "https://outlook.live.com/calendar/0/addfromweb?url=https%3A%2F%2Ffeeds.example.org%2Fcalendar.ics"
        f"%3F{encoded}&name=")


def test_a_person_picked_by_surname_as_one_types(at_conference, conference):
    name, talks = person_and_talks(conference[0])
    page = at_conference.open("/?type=spotlight")
    page.get_by_label("People").fill("lefevre anai")
    suggestion = page.get_by_role("button", name=f"{name} ({len(talks)} events)", exact=True)
    suggestion.click()
    page.wait_for_url(f"{at_conference.server}/?on=2020-12-07&type=spotlight&author={PERSON}")
    first_day = min(e.day for e in talks if e.type == "spotlight").isoformat()  # the 7th has none of hers
    expect(page.locator(f"#tab-{first_day}")).to_have_attribute("aria-current", "page")
    spotlights = [e for e in talks if e.type == "spotlight"]
    expect(page.locator("#view-count")).to_have_text(f"{len(spotlights)} of 15,000 events · Show all events")
    expect(page.locator("#feed-count")).to_have_text(f"{len(spotlights)} events")
    expect(page.get_by_label(name, exact=True)).to_be_checked()
    expected_feed_links(page, f"type=spotlight&author={PERSON}")
    for event in page.locator(".event").all():
        expect(event.locator(".authors")).to_contain_text(name)


def test_a_person_by_name_without_javascript(browser, conference):
    name, talks = person_and_talks(conference[0])
    visit = Visit(browser, conference[1], viewport=DESKTOP, java_script_enabled=False)
    page = visit.open()
    page.get_by_label("People").fill("Anais Lefevre")
    page.get_by_role("button", name="Show the feed for this choice").click()
    expect(page.locator("#view-count")).to_have_text(f"{len(talks)} of 15,000 events · Show all events")
    expect(page.get_by_label(name, exact=True)).to_be_checked()
    expected_feed_links(page, f"author={PERSON}")
    visit.close()


def test_the_form_has_no_scroll_area_of_its_own(desktop):
    """At 1280×900 the form sat in a side panel with a scroll area of its own: the page scrolls as one."""
    page = desktop.open()
    builder = page.locator(".builder")
    assert builder.evaluate("e => [getComputedStyle(e).overflowY, e.scrollHeight === e.clientHeight]") == [
        "visible", True]
    page.get_by_label("Reminder").scroll_into_view_if_needed()
    expect(page.get_by_label("Reminder")).to_be_in_viewport()
    assert page.evaluate("window.scrollY") > 0  # reached by scrolling the page itself


def test_local_times_on_a_24_hour_clock_in_any_locale(browser, server):
    """American English wrote "04:20 PM" beside the conference's "07:20 PST"."""
    visit = Visit(browser, server, locale="en-US", viewport=DESKTOP)
    page = visit.open(f"/?{SPOTLIGHT_BY_KOLTER}")
    expect(page.locator(f"#{MONOTONE} .local-time")).to_have_text("16:20–16:30 GMT+1")
    expect(page.locator(f"#{MONOTONE} .time")).to_contain_text("07:20–07:30 PST")
    visit.close()


def test_a_room_from_the_list_of_34(at_conference, conference):
    programme, _ = conference
    page = at_conference.open()
    page.get_by_label("Rooms").select_option("hall-7")
    page.wait_for_url(f"{at_conference.server}/?on=2020-12-07&room=hall-7")
    in_room = [e for e in programme.events if e.room == "Hall 7"]
    expect(page.locator("#view-count")).to_have_text(f"{len(in_room):,} of 15,000 events · Show all events")
    assert [e.get_attribute("id") for e in page.locator(".event").all()] == [
        e.id for e in in_room if e.day.isoformat() == "2020-12-07"][:30]
    expected_feed_links(page, "room=hall-7")
