"""Compressed feeds (RFC 9110): negotiation, one strong ETag per coding, 304s across codings, kept bodies."""
from __future__ import annotations

import gzip
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import brotli
import pytest

from feedsvc import create_app
from feedsvc.encodings import chosen
from bench.procfile import fetch
from bench.synthetic import generate
from feedsvc.feeds import BodyCache, Catalog, Streaming
from feedsvc.query import FeedQuery

from .conftest import parse_both

FEEDS = ["/calendar.ics", "/calendar.ics?type=spotlight", "/types/oral.ics", "/authors/j-zico-kolter.ics",
         "/events/meshsdf.ics", "/events/meshsdf.ics?alarm=10"]
DECODE = {"gzip": gzip.decompress, "br": brotli.decompress}


@pytest.mark.parametrize("accept_encoding, coding", [
    (None, "identity"), ("", "identity"), ("gzip", "gzip"), ("br", "br"), ("gzip, deflate, br", "br"),
    ("gzip;q=1.0, br;q=0.9", "gzip"), ("br;q=0.5, gzip;q=0.8", "gzip"), ("GZIP", "gzip"), ("x-gzip", "gzip"),
    ("*", "br"), ("*;q=0.5, br;q=0", "gzip"), ("gzip;q=0", "identity"), ("deflate, compress", "identity"),
    ("identity", "identity"), ("*;q=0", "identity"), ("br;q=0.4, identity;q=0.5", "identity"),
    ("br;q=0.5, identity;q=0.5", "br"), ("zstd, gzip;q=0.1", "gzip")])
def test_the_highest_rated_coding_we_have_is_chosen(accept_encoding, coding):
    assert chosen(accept_encoding, 5000) == coding


def test_a_body_under_1_kb_is_sent_as_it_is():
    assert (chosen("gzip, br", 1023), chosen("gzip, br", 1024)) == ("identity", "br")


@pytest.fixture(scope="module")
def client():
    return create_app({"TESTING": True}).test_client()


@pytest.mark.parametrize("url", FEEDS)
@pytest.mark.parametrize("coding", ["gzip", "br"])
def test_every_coding_decodes_to_the_identity_bytes(client, url, coding):
    plain = client.get(url)
    sent = client.get(url, headers={"Accept-Encoding": coding})
    assert sent.status_code == 200 and sent.headers["Content-Encoding"] == coding
    assert DECODE[coding](sent.data) == plain.data
    assert len(sent.data) < len(plain.data) / 2  # calendars compress well
    assert parse_both(DECODE[coding](sent.data)) == parse_both(plain.data)
    assert sent.headers["Vary"] == plain.headers["Vary"] == "Accept-Encoding"
    assert "Content-Encoding" not in plain.headers
    assert sent.headers["ETag"] == plain.headers["ETag"][:-1] + f'-{coding}"'
    assert sent.headers["Content-Length"] == str(len(sent.data))
    for same in ("Last-Modified", "Content-Type", "Cache-Control", "Content-Disposition", "Access-Control-Allow-Origin"):
        assert sent.headers.get(same) == plain.headers.get(same), same


@pytest.mark.parametrize("kept", ["identity", "gzip", "br"])
@pytest.mark.parametrize("asked", ["identity", "gzip", "br"])
def test_any_codings_etag_sent_back_gets_a_304_in_the_coding_asked_for(client, kept, asked):
    """A calendar that cached the gzip representation and now asks for br (or none) has
    the current data all the same."""
    first = client.get("/calendar.ics", headers={"Accept-Encoding": kept})
    again = client.get("/calendar.ics", headers={"Accept-Encoding": asked, "If-None-Match": first.headers["ETag"]})
    assert (again.status_code, again.data) == (304, b"")
    assert again.headers["ETag"] == client.get("/calendar.ics", headers={"Accept-Encoding": asked}).headers["ETag"]
    assert again.headers["Vary"] == "Accept-Encoding"
    listed = client.get("/calendar.ics", headers={"Accept-Encoding": asked,
                                                  "If-None-Match": f'"other", {first.headers["ETag"]}'})
    assert listed.status_code == 304


def test_a_changed_feeds_old_coded_etag_gets_the_new_body(client):
    stale = client.get("/calendar.ics?type=oral", headers={"Accept-Encoding": "gzip"}).headers["ETag"]
    other = client.get("/calendar.ics?type=spotlight", headers={"Accept-Encoding": "gzip",
                                                                 "If-None-Match": stale})
    assert other.status_code == 200 and other.headers["ETag"] != stale
    assert client.get("/calendar.ics", headers={"Accept-Encoding": "gzip",
                                                "If-None-Match": 'W/"nonsense-gzip"'}).status_code == 200


@pytest.mark.parametrize("coding", ["identity", "gzip", "br"])
def test_head_sends_the_headers_get_would(client, coding):
    got = client.get("/calendar.ics", headers={"Accept-Encoding": coding})
    head = client.head("/calendar.ics", headers={"Accept-Encoding": coding})
    assert head.status_code == 200 and head.data == b""
    assert head.headers == got.headers


def test_a_body_is_compressed_once_and_then_the_same_bytes_are_sent(client):
    """Kept by ETag and coding: the second answer is the very object the first sent,
    whether Flask or the replay sends it; the identity body is not kept for it."""
    app = client.application
    catalog = app.extensions["feedsvc"].current()
    url = "/calendar.ics?type=qa"
    first = client.get(url, headers={"Accept-Encoding": "br"})
    etag = first.headers["ETag"].strip('"').removesuffix("-br")
    kept = catalog.bodies._bodies.get((etag, "br"))
    assert kept == first.data and catalog.bodies._bodies.get((etag, "identity")) is None
    for _ in range(3):
        assert client.get(url, headers={"Accept-Encoding": "br"}).data == kept
    assert catalog.bodies._bodies.get((etag, "br")) is kept


def test_replayed_answers_are_kept_per_coding(client):
    """The replay keys its answers by Accept-Encoding too: alternating clients each get theirs."""
    url = "/calendar.ics?type=break"
    for _ in range(3):
        for coding in ("gzip", "identity", "br"):
            sent = client.get(url, headers={"Accept-Encoding": coding})
            assert sent.headers.get("Content-Encoding", "identity") == coding


def test_a_calendar_polling_with_gzip_gets_an_8_kb_body_then_304s(server):
    """The issue's promise, through the Procfile's server: the 29 KB session feed."""
    status, headers, body = fetch(f"{server}/calendar.ics", {"Accept-Encoding": "gzip"})
    assert (status, headers["Content-Encoding"], headers["Vary"]) == (200, "gzip", "Accept-Encoding")
    assert len(body) < 9 * 1024 and len(gzip.decompress(body)) > 28 * 1024
    for _ in range(3):
        again = fetch(f"{server}/calendar.ics", {"Accept-Encoding": "gzip", "If-None-Match": headers["ETag"]})
        assert (again[0], again[1]["ETag"], again[2]) == (304, headers["ETag"], b"")


@pytest.mark.parametrize("url", ["/", "/?type=oral", "/api/events", "/api/events?type=spotlight&limit=3",
                                 "/api/authors?q=kolter"])
@pytest.mark.parametrize("coding", ["gzip", "br"])
def test_the_page_and_the_api_are_compressed_the_same_way(client, url, coding):
    plain = client.get(url)
    sent = client.get(url, headers={"Accept-Encoding": coding})
    assert plain.status_code == sent.status_code == 200
    if len(plain.data) < 1024:
        assert "Content-Encoding" not in sent.headers and sent.data == plain.data and "Vary" not in sent.headers
        return
    assert sent.headers["Content-Encoding"] == coding and DECODE[coding](sent.data) == plain.data
    assert sent.headers["Vary"] == "Accept-Encoding" and sent.headers["Content-Type"] == plain.headers["Content-Type"]
    assert sent.headers["ETag"] == plain.headers["ETag"][:-1] + f'-{coding}"'
    again = client.get(url, headers={"Accept-Encoding": "gzip" if coding == "br" else "br",
                                     "If-None-Match": sent.headers["ETag"]})
    assert (again.status_code, again.data) == (304, b"")


@pytest.fixture(scope="module")
def streaming_client():
    """The shipped data, with every identity body of 10,000 bytes or more sent in parts."""
    return create_app({"TESTING": True, "STREAMED_FROM_BYTES": 10_000}).test_client()


@pytest.mark.parametrize("url", ["/calendar.ics", "/calendar.ics?alarm=15", "/types/spotlight.ics"])
def test_a_big_identity_body_is_sent_in_parts_with_its_length(client, streaming_client, url):
    """The same bytes and headers as sent whole, Content-Length included; a coded body and a
    small one are still sent whole (and kept); a HEAD says the same length."""
    whole, parts = client.get(url), streaming_client.get(url)
    assert (kept(client, whole), kept(streaming_client, parts)) == (True, False)
    assert parts.data == whole.data and parse_both(parts.data) == parse_both(whole.data)
    assert parts.headers == whole.headers and parts.headers["Content-Length"] == str(len(whole.data))
    assert streaming_client.head(url).headers["Content-Length"] == str(len(whole.data))
    assert streaming_client.get(url).data == whole.data  # replayed: in parts again
    coded = streaming_client.get(url, headers={"Accept-Encoding": "gzip"})
    assert kept(streaming_client, coded) and gzip.decompress(coded.data) == whole.data
    assert kept(streaming_client, streaming_client.get("/events/meshsdf.ics"))


def kept(client, sent) -> bool:
    """Whether the body `sent` was kept whole, as bodies sent whole are (and those sent in parts never)."""
    etag, _, coding = sent.headers["ETag"].strip('"').partition("-")
    bodies = client.application.extensions["feedsvc"].current().bodies
    return bodies._bodies.get((etag, coding or "identity")) == sent.data


def test_a_few_bodies_at_a_time_are_sent_in_parts_and_the_others_whole():
    """A body sent in parts holds a server thread until its last part is handed over (to a slow
    client, for as long as it reads): while `Streaming.at_once` do, the next is sent whole, and a
    client that goes frees its stream."""
    feed = Catalog(generate(300)).feed(FeedQuery(), "https://feeds.example.org")  # some 600 KB: 3 parts
    bodies = BodyCache(Streaming(from_bytes=10_000, bytes_per_second=0))
    held = [bodies.sendable(feed, "identity") for _ in range(Streaming.at_once)]
    started = [next(stream) for stream in held]
    assert list(bodies.sendable(feed, "identity")) == [feed.body()]  # every stream taken: whole
    assert b"".join([started[0], *held[0]]) == feed.body()
    parts = list(bodies.sendable(feed, "identity"))
    assert len(parts) > 1 and b"".join(parts) == feed.body()  # freed at the last part
    for stream in held[1:]:
        stream.close()  # the client went
    assert all(len(list(bodies.sendable(feed, "identity"))) > 1 for _ in range(Streaming.at_once))
    assert bodies._bodies.get((feed.etag, "identity")) is None  # never kept whole


@pytest.mark.parametrize("alarm", [None, 10])
@pytest.mark.parametrize("size", [1, 3000, 10**9])
def test_a_feeds_parts_are_its_body(alarm, size):
    """However small or big the parts, one or many events, an empty feed."""
    catalog = create_app({"TESTING": True}).extensions["feedsvc"].current()
    for args in [(), (("type", "oral"),), (("q", "nothing-matches-this"),), (("event", "meshsdf"),)]:
        query = catalog.query(args + ((("alarm", str(alarm)),) if alarm else ()), ("alarm", "type", "q", "event"))
        feed = catalog.feed(query, "https://feeds.example.org")
        assert b"".join(feed.parts(size)) == feed.body()
        assert all(len(part) >= size for part in list(feed.parts(size))[:-1])


def test_a_body_asked_for_by_many_at_once_is_compressed_once():
    """Calendars polling a new feed at the same moment: one thread compresses it, the others wait
    and send the very bytes it made (compressed by each, each would have its own)."""
    feed = Catalog(generate(300)).feed(FeedQuery(), "https://feeds.example.org")
    bodies, start = BodyCache(), threading.Barrier(8)

    def ask(coding: str) -> bytes:
        start.wait()
        return bodies.body(feed, coding)
    with ThreadPoolExecutor(8) as pool:
        sent = list(pool.map(ask, ["br"] * 4 + ["gzip"] * 4))
    assert len({id(body) for body in sent[:4]}) == len({id(body) for body in sent[4:]}) == 1
    assert brotli.decompress(sent[0]) == gzip.decompress(sent[4]) == feed.body()
    assert bodies._making._held == {}  # no lock left behind


def test_a_body_in_parts_goes_no_faster_than_its_pace():
    """100 MiB/s by default, more than a gigabit link carries: a client on the same network
    cannot take a worker's CPU from the calendars' revalidations. Here 2 MB/s, so that the
    600 KB feed takes at least 0.3 s however fast it is read; unpaced it is the same bytes."""
    feed = Catalog(generate(300)).feed(FeedQuery(), "https://feeds.example.org")
    paced = BodyCache(Streaming(from_bytes=10_000, bytes_per_second=2_000_000))
    started = time.monotonic()
    body = b"".join(paced.sendable(feed, "identity"))
    assert time.monotonic() - started >= feed.size / 2_000_000 > 0.29 and body == feed.body()
    assert b"".join(BodyCache(Streaming(from_bytes=10_000, bytes_per_second=0)).sendable(feed, "identity")) == body


@pytest.mark.parametrize("variable", ["FEEDSVC_STREAMED_FROM_BYTES", "FEEDSVC_STREAMS", "FEEDSVC_STREAM_BYTES_PER_SECOND"])
def test_a_negative_streaming_setting_stops_the_start_saying_what_is_accepted(monkeypatch, variable):
    monkeypatch.setenv(variable, "-1")
    with pytest.raises(ValueError, match=rf"^{variable} must be a whole number, 0 or more \(0: off\), not -1$"):
        create_app({"TESTING": True})


def test_the_streams_at_once_are_the_workers_not_each_datas():
    """Downloads still sending the old data hold their slots after a reload: the new data's
    downloads beyond them are sent whole, so a thread is left for the rest."""
    streaming = Streaming(from_bytes=10_000, at_once=1, bytes_per_second=0)
    feeds = [Catalog(generate(300), streaming=streaming).feed(FeedQuery(), "https://feeds.example.org") for _ in range(2)]
    old, new = (BodyCache(streaming) for _ in range(2))
    held = old.sendable(feeds[0], "identity")
    next(held)
    assert list(new.sendable(feeds[1], "identity")) == [feeds[1].body()]
    held.close()
    assert len(list(new.sendable(feeds[1], "identity"))) > 1
