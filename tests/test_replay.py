"""Replayed answers (feedsvc/replay.py): exactly what Flask answered, only for feeds, per catalog."""
from __future__ import annotations

import gc
import shutil
import tracemalloc

import pytest
from werkzeug.test import EnvironBuilder

from feedsvc import SHIPPED_DATA, create_app
from feedsvc.feeds import Bounded
from feedsvc.replay import CATALOG_KEY, KEY_VARIABLES, Replay, footprint, request_key

from .conftest import parse_both
from .test_live import INTERVAL, reloaded, retitled


class CountingApp:
    """The Flask app behind `Replay`, counting the requests that reach it."""

    def __init__(self, app):
        self.app, self.calls = app, 0

    def __call__(self, environ, start_response):
        self.calls += 1
        return self.app(environ, start_response)


@pytest.fixture
def counted():
    """An app without a configured base URL (feeds name the request's host), and its counter."""
    app = create_app({"TESTING": True})
    replay = app.wsgi_app.app  # inside the access log
    assert isinstance(replay, Replay)
    replay.app = flask_side = CountingApp(replay.app)
    return app.test_client(), flask_side


def answer(client, method: str, url: str, headers: dict | None = None):
    response = client.open(url, method=method, headers=headers or {})
    return response.status, response.headers.to_wsgi_list(), response.get_data()


def whole_feed_etag(client) -> str:
    return client.get("/calendar.ics").headers["ETag"]


FEED_REQUESTS = [
    ("GET", "/calendar.ics", {}),
    ("GET", "/calendar.ics?type=spotlight&author=kolter&alarm=10", {}),
    ("GET", "/types/oral.ics", {}),
    ("GET", "/authors/j-zico-kolter.ics", {}),
    ("GET", "/events/meshsdf.ics?alarm=15", {}),
    ("HEAD", "/calendar.ics?type=qa", {}),
    ("GET", "/calendar.ics", {"If-None-Match": '"an-older-tag"'}),
    ("GET", "/calendar.ics", {"If-Modified-Since": "Tue, 08 Dec 2020 00:00:00 GMT"}),
    ("GET", "/calendar.ics", {"If-Modified-Since": "Tue, 08 Dec 2099 00:00:00 GMT"}),
]


@pytest.mark.parametrize("method,url,headers", FEED_REQUESTS)
def test_a_repeated_feed_request_gets_flasks_answer_without_flask(counted, method, url, headers):
    client, flask_side = counted
    first = answer(client, method, url, headers)
    assert first[0] in ("200 OK", "304 NOT MODIFIED") and flask_side.calls == 1
    assert answer(client, method, url, headers) == first
    assert flask_side.calls == 1


class ReadRecorder(dict):
    """A WSGI environ that notes every variable read from it."""

    def __init__(self, *args):
        super().__init__(*args)
        self.read = set()

    def get(self, key, default=None):
        self.read.add(key)
        return super().get(key, default)

    def __getitem__(self, key):
        self.read.add(key)
        return super().__getitem__(key)

    def __contains__(self, key):
        self.read.add(key)
        return super().__contains__(key)


EVERY_KIND_OF_HEADER = {
    "If-None-Match": '"x"', "If-Modified-Since": "Tue, 08 Dec 2099 00:00:00 GMT", "If-Match": '"y"',
    "If-Unmodified-Since": "Tue, 08 Dec 2020 00:00:00 GMT", "Range": "bytes=0-9", "If-Range": '"x"',
    "Connection": "keep-alive", "Cookie": "a=b", "Accept": "text/calendar",
    "Accept-Encoding": "gzip", "Accept-Language": "fr", "Authorization": "Basic eDp4", "Referer": "https://a.example/",
    "User-Agent": "Calendar/1.0", "X-Forwarded-Host": "evil.example", "X-Forwarded-Proto": "https"}


@pytest.mark.parametrize("url", ["/calendar.ics?type=oral&alarm=5", "/types/oral.ics", "/authors/j-zico-kolter.ics",
                                 "/sessions/orals-spotlights-track-08-deep-learning.ics", "/events/meshsdf.ics"])
def test_the_key_holds_every_variable_flask_reads_for_a_feed(url):
    """What the answer could depend on is what Flask reads; the client's address is read
    into the request object but no feed view uses it."""
    app = create_app({"TESTING": True})
    environ = ReadRecorder(EnvironBuilder(url, headers=EVERY_KIND_OF_HEADER).get_environ())
    environ[CATALOG_KEY] = app.extensions["feedsvc"].current()
    statuses = []
    b"".join(app.wsgi_app.app.app(environ, lambda status, *rest: statuses.append(status)))  # Flask alone
    assert statuses in (["200 OK"], ["304 NOT MODIFIED"])  # the feed view ran, not an error handler
    read = {key for key in environ.read if key.isupper() or key.startswith("wsgi.")}
    assert {"HTTP_IF_NONE_MATCH", "HTTP_IF_MATCH", "HTTP_HOST", "QUERY_STRING"} <= read
    assert read - {"REMOTE_ADDR"} <= set(KEY_VARIABLES)


def test_a_websocket_handshake_is_not_answered_with_a_kept_feed(counted):
    """Connection and Upgrade are in the key: Flask refuses a handshake on a feed route."""
    client, _ = counted
    assert client.get("/calendar.ics").status_code == 200
    handshake = {"Connection": "Upgrade", "Upgrade": "websocket"}
    assert client.get("/calendar.ics", headers=handshake).status_code == 400


def test_every_mix_of_conditions_gets_what_flask_alone_answers():
    """A warm app, which replays what it can, against a fresh app for each request."""
    warm = create_app({"TESTING": True}).test_client()
    etag = whole_feed_etag(warm)
    mixes = [{}, {"If-None-Match": etag}, {"If-None-Match": '"old"'},
             {"If-Modified-Since": "Tue, 08 Dec 2099 00:00:00 GMT"}]
    mixes += [{**mix, "If-Match": match} for mix in mixes for match in (etag, '"another"')]
    mixes += [{**mix, "If-Unmodified-Since": "Tue, 08 Dec 2000 00:00:00 GMT"} for mix in mixes[:4]]
    for mix in mixes * 2:  # the second time round, the warm app has kept them all
        fresh = create_app({"TESTING": True}).test_client()
        assert answer(warm, "GET", "/calendar.ics", mix) == answer(fresh, "GET", "/calendar.ics", mix), mix


def test_a_revalidation_is_replayed_as_the_same_304(counted):
    client, flask_side = counted
    etag = whole_feed_etag(client)
    first = answer(client, "GET", "/calendar.ics", {"If-None-Match": etag})
    assert first[0] == "304 NOT MODIFIED" and first[2] == b""
    assert answer(client, "GET", "/calendar.ics", {"If-None-Match": etag}) == first
    assert flask_side.calls == 2  # the 200 and the first 304


def test_each_host_gets_feeds_naming_itself(counted):
    client, flask_side = counted
    bodies = {host: client.get("/types/oral.ics", headers={"Host": host}).get_data()
              for host in ("a.example", "b.example", "a.example")}
    assert b"SOURCE;VALUE=URI:http://a.example/calendar.ics?type=oral" in bodies["a.example"]
    assert b"SOURCE;VALUE=URI:http://b.example/calendar.ics?type=oral" in bodies["b.example"]
    assert flask_side.calls == 2


@pytest.mark.parametrize("url,status", [
    ("/calendar.ics?type=talk", 400), ("/events/no-such-talk.ics", 404), ("/", 200), ("/api/feed?type=oral", 200),
    ("/healthz", 200)])
def test_errors_pages_and_the_api_always_go_to_flask(counted, url, status):
    client, flask_side = counted
    assert [client.get(url).status_code for _ in range(2)] == [status, status]
    assert flask_side.calls == 2


def test_new_data_is_answered_afresh(tmp_path):
    data = tmp_path / "programme.json"
    shutil.copy(SHIPPED_DATA, data)
    client = create_app({"TESTING": True, "DATA": str(data), "RELOAD_SECONDS": INTERVAL}).test_client()
    before = client.get("/events/h-mem.ics").get_data()
    assert client.get("/events/h-mem.ics").get_data() == before
    retitled(data, "h-mem", "H-Mem, corrected")
    reloaded(client.application.extensions["feedsvc"])
    after = client.get("/events/h-mem.ics").get_data()
    assert b"SUMMARY:H-Mem\\, corrected" in after
    assert parse_both(after).keys() == parse_both(before).keys() == {"h-mem@feedsvc.org"}


def test_kept_answers_stay_within_their_budget():
    kept = Bounded(budget=10)
    kept.put("a", "A", 4)
    kept.put("b", "B", 4)
    assert kept.get("a") == "A"  # now the most recent
    kept.put("c", "C", 4)  # over budget: b goes
    assert (kept.get("a"), kept.get("b"), kept.get("c")) == ("A", None, "C")
    kept.put("d", "D", 11)  # larger than the whole budget: not kept
    assert kept.get("d") is None and kept.get("a") == "A"


def test_kept_answers_use_about_their_budget_whatever_conditions_clients_invent():
    """Measured with tracemalloc: the costs the cache adds up stay within the memory really kept."""
    app = create_app({"TESTING": True})
    answers = app.extensions["feedsvc"].current().answers
    answers.budget = 2**20
    replay = app.wsgi_app.app
    base = EnvironBuilder("/calendar.ics", method="HEAD").get_environ()
    gc.collect()
    tracemalloc.start()
    try:
        for number in range(3000):  # enough to fill the budget several times over
            replay({**base, "HTTP_IF_NONE_MATCH": f'"made-up-{number}"'}, lambda *sent: None)
        gc.collect()
        kept = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert answers.total <= answers.budget
    assert 0.4 * answers.budget < kept < 1.1 * answers.budget


def test_an_answer_counts_its_host_and_its_feed():
    app = create_app({"TESTING": True})
    host = ".".join(["feeds" * 12] * 3) + ".example"
    environ = EnvironBuilder("/calendar.ics", headers={"Host": host}).get_environ()
    b"".join(app(environ, lambda *sent: None))
    key = request_key(environ)
    kept = app.extensions["feedsvc"].current().answers.get(key)
    assert kept is not None and len(kept.feed.positions) == 15
    assert footprint(key, kept) > len(host) + kept.feed.footprint


def test_behind_a_trusted_proxy_the_forwarded_host_keys_the_answer():
    """The proxy fix runs before replay: two public hosts behind one proxy never share an answer."""
    client = create_app({"TESTING": True, "TRUSTED_PROXIES": 1}).test_client()
    sources = [[line for line in client.get("/calendar.ics", headers={"X-Forwarded-Host": host}).get_data()
                .split(b"\r\n") if line.startswith(b"SOURCE")]
               for host in ("one.example", "two.example", "one.example", "two.example")]
    assert sources == [[b"SOURCE;VALUE=URI:http://one.example/calendar.ics"],
                       [b"SOURCE;VALUE=URI:http://two.example/calendar.ics"]] * 2
