"""Every route, filter, alias and error of the HTTP interface, with its headers."""
from __future__ import annotations

import icalendar
import pytest

from feedsvc import create_app

from .conftest import BASE_URL, EXPECTED_EVENTS, expected_times, parse_both

ORALS = {"multiscale-deep-equilibrium-models", "on-the-modularity-of-hypernetworks",
         "training-generative-adversarial-networks-with-limited"}
KOLTER = {"multiscale-deep-equilibrium-models", "monotone-operator-equilibrium-networks"}
OF_TYPE = {t: {i for i, kind, *_ in EXPECTED_EVENTS if kind == t} for t in ("oral", "spotlight", "qa", "break")}


def ids_in(response) -> set[str]:
    assert response.status_code == 200, response.data
    return {uid.removesuffix("@feedsvc.org") for uid in parse_both(response.data)}


def test_calendar_whole_programme(client):
    response = client.get("/calendar.ics")
    assert parse_both(response.data) == expected_times()


@pytest.mark.parametrize("query, expected", [
    ("type=oral", ORALS),
    ("type=ORAL", ORALS),
    ("type=Q%26A", OF_TYPE["qa"]),
    ("type=qa", OF_TYPE["qa"]),
    ("type=oral,break", ORALS | OF_TYPE["break"]),
    ("type=oral&type=break", ORALS | OF_TYPE["break"]),
    ("type=spotlight", OF_TYPE["spotlight"]),
    ("type=orals,spotlights", ORALS | OF_TYPE["spotlight"]),  # the plurals of feed names
    ("author=kolter", KOLTER),
    ("author=J.+Zico+Kolter", KOLTER),
    ("author=j-zico-kolter", KOLTER),
    ("author=KOLTER", KOLTER),
    ("author=van+Gerven", {"gait-prop"}),
    ("author=Baqu%C3%A9", {"meshsdf"}),  # accents are ignored
    ("author=kolter&author=wolf", KOLTER | {"on-the-modularity-of-hypernetworks"}),
    ("type=spotlight&author=kolter", {"monotone-operator-equilibrium-networks"}),
    ("type=oral&author=kolter", {"multiscale-deep-equilibrium-models"}),
    ("event=meshsdf&event=h-mem", {"meshsdf", "h-mem"}),
    ("event=meshsdf,h-mem&type=spotlight", {"meshsdf", "h-mem"}),
    ("event=meshsdf&type=oral", set()),
    ("session=orals-spotlights-track-08-deep-learning&type=oral", ORALS),
])
def test_calendar_filters(client, query, expected):
    assert ids_in(client.get(f"/calendar.ics?{query}")) == expected


def test_calendar_orals_at_pacific_times(client):
    """The issue's acceptance: exactly the three orals, at 06:00, 06:15, 06:30 Pacific."""
    calendar = icalendar.Calendar.from_ical(client.get("/calendar.ics?type=oral").data)
    starts = [e.decoded("DTSTART").strftime("%H:%M %Z") for e in calendar.walk("VEVENT")]
    assert starts == ["06:00 PST", "06:15 PST", "06:30 PST"]


@pytest.mark.parametrize("alias, query", [
    ("/types/oral.ics", "/calendar.ics?type=oral"),
    ("/types/qa.ics", "/calendar.ics?type=Q%26A"),
    ("/types/spotlight.ics?author=kolter", "/calendar.ics?author=j-zico-kolter&type=spotlight"),
    ("/authors/j-zico-kolter.ics", "/calendar.ics?author=Kolter"),
    ("/authors/lior-wolf.ics?alarm=10", "/calendar.ics?alarm=10&author=lior-wolf"),
    ("/sessions/orals-spotlights-track-08-deep-learning.ics",
     "/calendar.ics?session=orals-spotlights-track-08-deep-learning"),
])
def test_aliases_send_same_bytes_as_query(client, alias, query):
    one, two = client.get(alias), client.get(query)
    assert one.status_code == two.status_code == 200
    assert one.data == two.data
    assert one.headers["ETag"] == two.headers["ETag"]


def test_calendar_source_is_canonical(client):
    calendar = icalendar.Calendar.from_ical(client.get("/types/spotlight.ics?author=kolter").data)
    assert str(calendar["SOURCE"]) == f"{BASE_URL}/calendar.ics?type=spotlight&author=j-zico-kolter"


def test_single_event_download(client):
    response = client.get("/events/meshsdf.ics")
    assert response.headers["Content-Disposition"] == "attachment; filename=meshsdf.ics"
    assert parse_both(response.data) == expected_times({"meshsdf"})
    assert b"\r\nNAME:MeshSDF: Differentiable Iso-Surface Extraction\r\n" in response.data


def test_single_event_with_alarm(client):
    response = client.get("/events/h-mem.ics?alarm=30")
    assert response.status_code == 200
    assert response.data.count(b"BEGIN:VALARM\r\n") == 1
    assert f"SOURCE;VALUE=URI:{BASE_URL}/events/h-mem.ics?alarm=30\r\n".encode() in response.data


@pytest.mark.parametrize("url", ["/calendar.ics?type=oral", "/events/meshsdf.ics",
                                 "/types/break.ics", "/authors/lior-wolf.ics"])
def test_feed_headers(client, url):
    response = client.get(url)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert response.headers["Cache-Control"] == "public, max-age=300"
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert response.headers["Last-Modified"] == "Fri, 27 Nov 2026 00:00:00 GMT"
    etag = response.headers["ETag"]
    assert etag.startswith('"') and not etag.startswith('W/') and len(etag) == 34
    assert response.headers["Content-Length"] == str(len(response.data))


@pytest.mark.parametrize("url", ["/calendar.ics", "/calendar.ics?type=oral", "/events/meshsdf.ics"])
def test_conditional_get_answers_304(client, url):
    first = client.get(url)
    again = client.get(url, headers={"If-None-Match": first.headers["ETag"]})
    assert (again.status_code, again.data) == (304, b"")
    assert again.headers["ETag"] == first.headers["ETag"]
    since = client.get(url, headers={"If-Modified-Since": first.headers["Last-Modified"]})
    assert (since.status_code, since.data) == (304, b"")
    stale = client.get(url, headers={"If-None-Match": '"0123"'})
    assert stale.status_code == 200 and stale.data == first.data
    for listed in (f'"0123", {first.headers["ETag"]}', "*"):
        assert client.get(url, headers={"If-None-Match": listed}).status_code == 304


def test_etag_differs_between_feeds(client):
    tags = {client.get(u).headers["ETag"] for u in
            ("/calendar.ics", "/calendar.ics?type=oral", "/calendar.ics?alarm=5", "/events/meshsdf.ics")}
    assert len(tags) == 4


def test_head_has_headers_without_body(client):
    get, head = client.get("/calendar.ics?type=oral"), client.head("/calendar.ics?type=oral")
    assert head.status_code == 200 and head.data == b""
    for name in ("ETag", "Last-Modified", "Content-Type", "Content-Length", "Cache-Control"):
        assert head.headers[name] == get.headers[name]


@pytest.mark.parametrize("url, message", [
    ("/calendar.ics?types=oral", "unknown parameter 'types'; accepted: session, type, author, event, track, room, day, language, q, alarm"),
    ("/calendar.ics?type=poster", "unknown type 'poster'; accepted: oral, break, spotlight, qa"),
    ("/types/poster.ics", "unknown type 'poster'; accepted: oral, break, spotlight, qa"),
    ("/calendar.ics?type=", "type= is empty; give a value or leave the parameter out"),
    ("/calendar.ics?type=,", "type= is empty; give a value or leave the parameter out"),
    ("/calendar.ics?author=", "author= is empty; give a value or leave the parameter out"),
    ("/calendar.ics?alarm=-5", "alarm='-5' is not valid; accepted: whole minutes before the start, 0 to 1440"),
    ("/calendar.ics?alarm=1441", "alarm='1441' is not valid"),
    ("/calendar.ics?alarm=ten", "alarm='ten' is not valid"),
    ("/calendar.ics?alarm=5&alarm=10", "alarm= is given more than once"),
    ("/events/meshsdf.ics?type=oral", "unknown parameter 'type'; accepted: alarm"),
])
def test_bad_input_is_400_naming_value(client, url, message):
    response = client.get(url)
    assert response.status_code == 400
    assert response.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert message in response.get_data(as_text=True)


@pytest.mark.parametrize("alias, canonical", [
    ("/sessions/Orals-Spotlights-Track-08-Deep-Learning.ics?type=qa&alarm=5",
     "/sessions/orals-spotlights-track-08-deep-learning.ics?type=qa&alarm=5"),
    ("/authors/kolter.ics", "/authors/j-zico-kolter.ics"),
    ("/types/Q&A.ics", "/types/qa.ics"),
    ("/types/orals.ics", "/types/oral.ics"),
    ("/days/Tuesday%208%20December%202020.ics", "/days/2020-12-08.ics"),
    ("/tracks/Deep%20Learning.ics", "/tracks/deep-learning.ics"),
])
def test_other_names_of_one_alias_redirect_to_it(client, alias, canonical):
    """A surname, a display name or another case names one feed: a 308 to its one URL,
    so calendars subscribe to the canonical feed and share its cache and ETag."""
    response = client.get(alias)
    assert (response.status_code, response.headers["Location"]) == (308, canonical)
    assert client.get(canonical).status_code == 200


@pytest.mark.parametrize("url, message", [
    ("/calendar.ics?author=kolterr", "no author 'kolterr'; did you mean j-zico-kolter, vladlen-koltun?"),
    ("/calendar.ics?author=remeli", "no author 'remeli'; did you mean edoardo-remelli?"),  # a surname's typo
    ("/authors/zico-kolder.ics", "no author 'zico-kolder'; did you mean j-zico-kolter?"),
    ("/events/meshsfd.ics", "no event 'meshsfd'; did you mean meshsdf?; see /api/events for the list"),
    ("/calendar.ics?event=h-mem,gait-props", "no event 'gait-props'; did you mean gait-prop?"),
    ("/calendar.ics?session=track-09", "no session 'track-09'"),
    ("/sessions/orals-spotlights-track-08-deep-learnin.ics",
     "no session 'orals-spotlights-track-08-deep-learnin'; did you mean orals-spotlights-track-08-deep-learning?"),
    ("/nowhere.ics", "no page '/nowhere.ics'; feeds are /calendar.ics, /sessions/<session>.ics, /types/<type>.ics, "
                     "/authors/<author>.ics, /tracks/<track>.ics, /rooms/<room>.ics, /days/<day>.ics, "
                     "/languages/<language>.ics and /events/<event-id>.ics"),
])
def test_unknown_name_is_404_with_suggestions(client, url, message):
    response = client.get(url)
    assert response.status_code == 404
    assert message in response.get_data(as_text=True)


def test_unsupported_method_is_405_with_allow(client):
    response = client.post("/calendar.ics")
    assert response.status_code == 405
    assert set(response.headers["Allow"].split(", ")) == {"GET", "HEAD", "OPTIONS"}


def test_healthz(client):
    response = client.get("/healthz")
    assert (response.status_code, response.json) == (200, {"status": "ok", "sessions": 1, "events": 15})


def test_base_url_from_request_when_not_configured():
    client = create_app({"BASE_URL": ""}).test_client()
    body = client.get("/calendar.ics?type=oral", base_url="http://calendar.test:8080").data
    assert b"SOURCE;VALUE=URI:http://calendar.test:8080/calendar.ics?type=oral\r\n" in body


def test_uids_do_not_depend_on_host_or_filter():
    one = create_app({"BASE_URL": "https://a.example"}).test_client().get("/calendar.ics").data
    two = create_app({"BASE_URL": "https://b.example"}).test_client().get("/calendar.ics?type=oral").data
    assert set(parse_both(two)) < set(parse_both(one))


FORWARDED = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "feeds.proxy.example"}


def source_behind_proxy(app) -> bytes:
    """The SOURCE line of a feed asked for through a proxy that forwards its own host."""
    body = app.test_client().get("/calendar.ics?type=oral", base_url="http://10.0.0.5:8000",
                                 headers=FORWARDED).data
    (line,) = [l for l in body.split(b"\r\n") if l.startswith(b"SOURCE")]
    return line


def test_forwarded_headers_ignored_by_default(monkeypatch):
    monkeypatch.delenv("FEEDSVC_TRUSTED_PROXIES", raising=False)
    app = create_app({"BASE_URL": ""})
    assert source_behind_proxy(app) == b"SOURCE;VALUE=URI:http://10.0.0.5:8000/calendar.ics?type=oral"


def test_forwarded_headers_trusted_when_configured(monkeypatch):
    monkeypatch.setenv("FEEDSVC_TRUSTED_PROXIES", "1")
    app = create_app({"BASE_URL": ""})
    assert source_behind_proxy(app) == b"SOURCE;VALUE=URI:https://feeds.proxy.example/calendar.ics?type=oral"


def test_configured_base_url_beats_forwarded_headers():
    app = create_app({"BASE_URL": BASE_URL, "TRUSTED_PROXIES": 1})
    assert source_behind_proxy(app) == f"SOURCE;VALUE=URI:{BASE_URL}/calendar.ics?type=oral".encode()


@pytest.mark.parametrize("value", ["-1", "one", "1.5"])
def test_bad_trusted_proxies_stops_start(value):
    with pytest.raises(ValueError, match=f"FEEDSVC_TRUSTED_PROXIES must be a whole number .*{value!r}"):
        create_app({"TRUSTED_PROXIES": value})
