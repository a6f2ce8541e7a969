"""The JSON API: the feeds' filters and validation, times with offsets and in UTC, one error shape."""
from __future__ import annotations

import hashlib

import pytest

from bench.synthetic import generate
from feedsvc import create_app
from feedsvc.store import write_programme

from .conftest import BASE_URL, EXPECTED_EVENTS, expected_times
from .test_views import KOLTER, OF_TYPE, ORALS

PACIFIC = "-08:00"


def test_events_whole_programme_in_page_order(client):
    body = client.get("/api/events").json
    assert (body["count"], body["events_in_programme"], body["limit"], body["next"]) == (15, 15, 100, None)
    assert body["feed_url"] == f"{BASE_URL}/calendar.ics"
    assert [e["id"] for e in body["events"]] == [i for i, *_ in EXPECTED_EVENTS]
    assert [e["title"] for e in body["events"]] == [t for *_, t in EXPECTED_EVENTS]


def test_events_times_with_pacific_offset_and_in_utc(client):
    times = {f"{e['id']}@feedsvc.org": (e["start_utc"], e["end_utc"])
             for e in client.get("/api/events").json["events"]}
    assert times == {uid: (s.strftime("%Y-%m-%dT%H:%M:%SZ"), e.strftime("%Y-%m-%dT%H:%M:%SZ"))
                     for uid, (s, e) in expected_times().items()}
    first = client.get("/api/events?event=multiscale-deep-equilibrium-models").json["events"][0]
    assert (first["start"], first["end"]) == ("2020-12-08T06:00:00" + PACIFIC, "2020-12-08T06:15:00" + PACIFIC)


def test_event_item_fields(client):
    (item,) = client.get("/api/events?event=h-mem&alarm=10").json["events"]
    assert item == {
        "id": "h-mem", "type": "spotlight", "type_label": "Spotlight",
        "title": "H-Mem: Harnessing synaptic plasticity with Hebbian Memory Networks",
        "subtitle": "", "source_key": "",
        "authors": [{"id": "thomas-limbacher", "name": "Thomas Limbacher", "upstream": ""},
                    {"id": "robert-legenstein", "name": "Robert Legenstein", "upstream": ""}],
        "abstract": item["abstract"], "description": "",
        "start": "2020-12-08T07:50:00-08:00", "end": "2020-12-08T08:00:00-08:00", "day": "2020-12-08",
        "start_utc": "2020-12-08T15:50:00Z", "end_utc": "2020-12-08T16:00:00Z",
        "track": "Deep Learning", "room": "Orals & Spotlights Track 08: Deep Learning", "language": "",
        "url": "https://neurips.cc/virtual/2020/public/poster_f6876a9f998f6472cc26708e27444456.html",
        "links": [{"label": "Talk",
                   "url": "https://neurips.cc/virtual/2020/public/poster_f6876a9f998f6472cc26708e27444456.html"},
                  {"label": "Paper", "url": "https://proceedings.neurips.cc/paper/2020/hash/"
                                            "f6876a9f998f6472cc26708e27444456-Abstract.html"},
                  {"label": "Code", "url": "https://github.com/IGITUGraz/H-Mem"}], "extra": {},
        "covers": [], "status": "confirmed", "sequence": 0,
        "created": "2026-11-27T00:00:00Z", "last_modified": "2026-11-27T00:00:00Z",
        "ics_url": f"{BASE_URL}/events/h-mem.ics?alarm=10",
    }
    assert item["abstract"].startswith("The ability to base current computations on memories")


def test_qa_lists_the_talks_it_covers(client):
    (qa,) = client.get("/api/events?event=qa-20201208-0740").json["events"]
    assert qa["covers"] == ["meshsdf", "gait-prop", "monotone-operator-equilibrium-networks",
                            "what-do-neural-networks-learn-when"]
    assert (qa["type"], qa["type_label"], qa["authors"]) == ("qa", "Q&A", [])


@pytest.mark.parametrize("query, expected", [
    ("type=oral", ORALS),
    ("type=Q%26A", OF_TYPE["qa"]),
    ("author=kolter", KOLTER),
    ("type=spotlight&author=kolter", {"monotone-operator-equilibrium-networks"}),
    ("event=meshsdf,h-mem", {"meshsdf", "h-mem"}),
    ("event=meshsdf&type=oral", set()),
])
def test_events_filters_match_the_feeds(client, query, expected):
    body = client.get(f"/api/events?{query}").json
    assert {e["id"] for e in body["events"]} == expected and body["count"] == len(expected)
    assert set(parse_ids(client.get(f"/calendar.ics?{query}").data)) == expected


def parse_ids(ics: bytes) -> list[str]:
    return [line.removeprefix(b"UID:").removesuffix(b"@feedsvc.org").decode()
            for line in ics.split(b"\r\n") if line.startswith(b"UID:")]


def test_events_feed_url_is_canonical(client):
    body = client.get("/api/events?author=Kolter&type=SPOTLIGHT&alarm=5").json
    assert body["feed_url"] == f"{BASE_URL}/calendar.ics?type=spotlight&author=j-zico-kolter&alarm=5"


def test_authors(client):
    authors = client.get("/api/authors").json["authors"]
    assert len(authors) == 41
    assert authors[0] == {"id": "alliot-nagle", "name": "Alliot Nagle",
                          "events": ["optimal-lottery-tickets-via-subset-sum"],
                          "feed_url": f"{BASE_URL}/calendar.ics?author=alliot-nagle"}
    kolter = next(a for a in authors if a["id"] == "j-zico-kolter")
    assert kolter == {"id": "j-zico-kolter", "name": "J. Zico Kolter",
                      "events": ["multiscale-deep-equilibrium-models", "monotone-operator-equilibrium-networks"],
                      "feed_url": f"{BASE_URL}/calendar.ics?author=j-zico-kolter"}
    assert sum(len(a["events"]) for a in authors) == 42  # 11 talks' author lists; Kolter is on two


def test_types(client):
    assert client.get("/api/types").json == {"types": [
        {"id": "oral", "label": "Oral", "count": 3, "feed_url": f"{BASE_URL}/calendar.ics?type=oral"},
        {"id": "break", "label": "Break", "count": 2, "feed_url": f"{BASE_URL}/calendar.ics?type=break"},
        {"id": "spotlight", "label": "Spotlight", "count": 8, "feed_url": f"{BASE_URL}/calendar.ics?type=spotlight"},
        {"id": "qa", "label": "Q&A", "count": 2, "feed_url": f"{BASE_URL}/calendar.ics?type=qa"},
    ]}


def test_feed_gives_every_subscribe_link(client):
    assert client.get("/api/feed?author=kolter&type=spotlight").json == {
        "query": "type=spotlight&author=j-zico-kolter",
        "name": "Orals & Spotlights Track 08: Deep Learning \u2014 Spotlights by J. Zico Kolter",
        "count": 1, "event_ids": ["monotone-operator-equilibrium-networks"],
        "url": "https://feeds.example.org/calendar.ics?type=spotlight&author=j-zico-kolter",
        "webcal": "webcal://feeds.example.org/calendar.ics?type=spotlight&author=j-zico-kolter",
        "google": "https://calendar.google.com/calendar/r?cid=webcal%3A%2F%2Ffeeds.example.org"
                  "%2Fcalendar.ics%3Ftype%3Dspotlight%26author%3Dj-zico-kolter",
        "outlook": "https://outlook.live.com/calendar/0/addfromweb?url=https%3A%2F%2Ffeeds.example.org"
                   "%2Fcalendar.ics%3Ftype%3Dspotlight%26author%3Dj-zico-kolter&name=Orals%20%26%20Spotlights"
                   "%20Track%2008%3A%20Deep%20Learning%20%E2%80%94%20Spotlights%20by%20J.%20Zico%20Kolter",
        "download": "/calendar.ics?type=spotlight&author=j-zico-kolter",
    }


def test_feed_of_everything(client):
    body = client.get("/api/feed").json
    assert (body["query"], body["name"], len(body["event_ids"])) == (
        "", "Orals & Spotlights Track 08: Deep Learning", 15)
    assert (body["url"], body["download"]) == (f"{BASE_URL}/calendar.ics", "/calendar.ics")


@pytest.mark.parametrize("url, status, message", [
    ("/api/events?types=oral", 400, "unknown parameter 'types'; accepted: session, type, author, event, track, room, "
                                    "day, language, q, alarm, limit, cursor"),
    ("/api/events?type=poster", 400, "unknown type 'poster'; accepted: oral, break, spotlight, qa"),
    ("/api/events?alarm=ten", 400, "alarm='ten' is not valid; accepted: whole minutes before the start, "
                                   "0 to 1440 (e.g. alarm=15)"),
    ("/api/feed?type=", 400, "type= is empty; give a value or leave the parameter out"),
    ("/api/authors?type=oral", 400, "unknown parameter 'type'; accepted: q, limit, cursor"),
    ("/api/types?session=x", 400, "unknown parameter 'session'; accepted: none"),
    ("/api/events?author=kolterr", 404, "no author 'kolterr'; did you mean j-zico-kolter, vladlen-koltun?; "
                                        "see /api/authors for the list"),
    ("/api/feed?event=meshsfd", 404, "no event 'meshsfd'; did you mean meshsdf?; see /api/events for the list"),
    ("/api/speakers", 404, "no page '/api/speakers'; the API is /api/events, /api/feed, "
                           "/api/sessions, /api/types, /api/authors, /api/tracks, /api/rooms, /api/days, "
                           "/api/languages"),
])
def test_errors_are_json_in_one_shape(client, url, status, message):
    response = client.get(url)
    assert (response.status_code, response.content_type) == (status, "application/json")
    assert response.json == {"error": {"status": status, "message": message}}


def test_wrong_method_is_json_405_with_allow(client):
    response = client.post("/api/types")
    assert response.json == {"error": {"status": 405, "message": "The method is not allowed for the "
                                                                 "requested URL."}}
    assert set(response.headers["Allow"].split(", ")) == {"GET", "HEAD", "OPTIONS"}


def test_api_is_open_to_other_sites(client):
    assert client.get("/api/types").headers["Access-Control-Allow-Origin"] == "*"


def test_feed_errors_stay_plain_text(client):
    response = client.get("/calendar.ics?type=poster")
    assert response.content_type == "text/plain; charset=utf-8"


SPOTLIGHTS = [i for i, kind, *_ in EXPECTED_EVENTS if kind == "spotlight"]


def test_events_come_in_pages_with_a_next_url(client):
    first = client.get("/api/events?type=spotlights&limit=3").json
    assert (first["count"], first["limit"], [e["id"] for e in first["events"]]) == (8, 3, SPOTLIGHTS[:3])
    assert first["next"] == (f"{BASE_URL}/api/events?type=spotlight&limit=3"
                             "&cursor=bW9ub3RvbmUtb3BlcmF0b3ItZXF1aWxpYnJpdW0tbmV0d29ya3M")  # the 3rd's id
    second = client.get(first["next"].removeprefix(BASE_URL)).json
    assert [e["id"] for e in second["events"]] == SPOTLIGHTS[3:6]
    last = client.get(second["next"].removeprefix(BASE_URL)).json
    assert ([e["id"] for e in last["events"]], last["next"], last["count"]) == (SPOTLIGHTS[6:], None, 8)


def test_a_page_that_ends_the_list_has_no_next(client):
    body = client.get("/api/events?limit=15").json
    assert (len(body["events"]), body["next"]) == (15, None)
    body = client.get("/api/events?limit=14").json
    assert (len(body["events"]), body["next"]) == (14, f"{BASE_URL}/api/events?limit=14&cursor=cWEtMjAyMDEyMDgtMDgzMA")


def test_a_cursor_keeps_the_feeds_query_canonical(client):
    body = client.get("/api/events?alarm=5&type=SPOTLIGHT&limit=7&author=Kolter").json
    assert ([e["id"] for e in body["events"]], body["next"]) == (["monotone-operator-equilibrium-networks"], None)
    body = client.get("/api/events?alarm=5&type=SPOTLIGHT&limit=7").json
    assert body["next"] == (f"{BASE_URL}/api/events?type=spotlight&alarm=5&limit=7"
                            "&cursor=dGhlLXBoYXNlLWRpYWdyYW0tb2YtYXBwcm94aW1hdGlvbi1yYXRlcw")
    assert body["events"][0]["ics_url"] == f"{BASE_URL}/events/meshsdf.ics?alarm=5"


@pytest.mark.parametrize("query, message", [
    ("limit=0", "limit='0' is not valid; accepted: a whole number of items per answer, 1 to 1000 (default 100)"),
    ("limit=1001", "limit='1001' is not valid; accepted: a whole number of items per answer, 1 to 1000 (default 100)"),
    ("limit=ten", "limit='ten' is not valid; accepted: a whole number of items per answer, 1 to 1000 (default 100)"),
    ("limit=", "limit='' is not valid; accepted: a whole number of items per answer, 1 to 1000 (default 100)"),
    ("limit=5&limit=6", "limit= is given more than once; give it once"),
    ("cursor=%21%21", "cursor='!!' is not one this API gave; use the `next` URL of an answer, "
                      "or leave cursor out for the first page"),
    ("cursor=bm93aGVyZQ", "cursor names 'nowhere', which the data no longer has; start again without cursor"),
])
def test_bad_paging_is_a_400_saying_what_is_accepted(client, query, message):
    for path in ("/api/events", "/api/authors"):
        response = client.get(f"{path}?{query}")
        assert (response.status_code, response.json) == (400, {"error": {"status": 400, "message": message}})


@pytest.mark.parametrize("typed, expected", [
    ("kolter", ["j-zico-kolter"]),
    ("ZICO", ["j-zico-kolter"]),
    ("j. zico", ["j-zico-kolter"]),
    ("ko", ["vladlen-koltun", "j-zico-kolter"]),  # the closest first: fewer other words
    ("Baqué", ["pierre-baque"]),  # accents are ignored
    ("van gerv", ["marcel-a-j-van-gerven"]),
    ("erven", []),  # words match from their start
    ("robert", ["robert-baldock", "robert-legenstein"]),
])
def test_authors_found_by_any_part_of_their_name(client, typed, expected):
    body = client.get("/api/authors", query_string={"q": typed}).json
    assert ([a["id"] for a in body["authors"]], body["count"], body["next"]) == (expected, len(expected), None)


def test_authors_come_in_pages(client):
    first = client.get("/api/authors?limit=40").json
    assert (first["count"], len(first["authors"])) == (41, 40)
    assert first["next"] == f"{BASE_URL}/api/authors?limit=40&cursor=dG9tZXItZ2FsYW50aQ"
    (last,) = client.get(first["next"].removeprefix(BASE_URL)).json["authors"]
    assert (last["id"], last["events"]) == ("vladlen-koltun", ["multiscale-deep-equilibrium-models"])
    found = client.get("/api/authors?q=rob&limit=1").json
    assert ([a["id"] for a in found["authors"]], found["count"]) == (["robert-baldock"], 2)
    assert found["next"] == f"{BASE_URL}/api/authors?q=rob&limit=1&cursor=cm9iZXJ0LWJhbGRvY2s"
    rest = client.get(found["next"].removeprefix(BASE_URL)).json
    assert ([a["id"] for a in rest["authors"]], rest["next"]) == (["robert-legenstein"], None)


def test_authors_q_needs_letters(client):
    response = client.get("/api/authors?q=%20-%20")
    assert response.json == {"error": {"status": 400, "message": "q=' - ' has no letters or digits; "
                                                                 "give part of a name, e.g. q=kolter"}}


@pytest.mark.parametrize("url", ["/api/events?type=oral", "/api/authors?q=ko", "/api/types", "/api/feed?type=qa"])
def test_api_answers_carry_validators_and_304(client, url):
    first = client.get(url)
    assert first.headers["Cache-Control"] == "public, max-age=300"
    assert first.headers["Last-Modified"] == "Fri, 27 Nov 2026 00:00:00 GMT"
    assert first.headers["ETag"] == f'"{hashlib.sha256(first.data).hexdigest()[:32]}"'
    again = client.get(url, headers={"If-None-Match": first.headers["ETag"]})
    assert (again.status_code, again.data, again.headers["ETag"]) == (304, b"", first.headers["ETag"])
    assert client.get(url, headers={"If-Modified-Since": first.headers["Last-Modified"]}).status_code == 304
    assert client.get(url, headers={"If-None-Match": '"0123"'}).status_code == 200


def test_api_etag_follows_the_answer(client):
    tags = {client.get(u).headers["ETag"] for u in
            ("/api/events", "/api/events?limit=3", "/api/events?type=oral", "/api/authors", "/api/authors?q=ko")}
    assert len(tags) == 5


@pytest.fixture(scope="module")
def conference(tmp_path_factory):
    """A generated conference of 250 events and its many authors, with accented names."""
    path = tmp_path_factory.mktemp("conference") / "programme.json"
    write_programme(generate(250), path)
    return create_app({"DATA": str(path), "BASE_URL": BASE_URL}).test_client()


def test_default_page_is_100_events(conference):
    ids = []
    url = "/api/events"
    while url:
        body = conference.get(url).json
        assert (body["count"], body["limit"]) == (250, 100)
        ids += [e["id"] for e in body["events"]]
        url = body["next"] and body["next"].removeprefix(BASE_URL)
    assert [len(ids), len(set(ids))] == [250, 250]
    assert ids == [e["id"] for e in conference.get("/api/events?limit=1000").json["events"]]


def test_accented_names_found_without_accents(conference):
    everyone = conference.get("/api/authors?limit=1000").json["authors"]
    wanted = [a["id"] for a in everyone if "Łukasz" in a["name"] and "Nørgaard" in a["name"]]
    assert len(wanted) >= 1
    found = conference.get("/api/authors?q=nørg%20lukasz&limit=1000").json
    assert [a["id"] for a in found["authors"]] == wanted
    found = conference.get("/api/authors?q=norgaard%20LUKASZ&limit=1000").json
    assert [a["id"] for a in found["authors"]] == wanted


def test_closest_names_first_and_their_pages_in_that_order(conference):
    everyone = conference.get("/api/authors?q=ana&limit=1000").json
    words = [len(a["name"].replace(".", " ").split()) for a in everyone["authors"]]
    assert words == sorted(words) and words[0] == 2 < words[-1]
    ids, url = [], "/api/authors?q=ana&limit=7"
    while url:
        body = conference.get(url).json
        ids += [a["id"] for a in body["authors"]]
        url = body["next"] and body["next"].removeprefix(BASE_URL)
    assert ids == [a["id"] for a in everyone["authors"]] and len(ids) == everyone["count"] > 14
