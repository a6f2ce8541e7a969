"""Hostile requests: a corpus and generated query strings and paths.

Whatever comes in, the answer is a clear 4xx or a correct calendar, never a
5xx, and nothing from the request reaches a calendar, a header or a page
unescaped.
"""
from __future__ import annotations

import re
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .conftest import expected_times, parse_both

KNOWN_UIDS = set(expected_times())
# Every property name a feed may hold: a request that smuggled a line in would show up here.
ICS_NAMES = {"BEGIN", "END", "VERSION", "PRODID", "CALSCALE", "METHOD", "NAME", "X-WR-CALNAME", "DESCRIPTION",
             "X-WR-CALDESC", "X-WR-TIMEZONE", "REFRESH-INTERVAL", "X-PUBLISHED-TTL", "SOURCE", "URL", "TZID",
             "COMMENT", "DTSTART", "TZNAME", "TZOFFSETFROM", "TZOFFSETTO", "SUMMARY", "DTEND", "DTSTAMP", "UID",
             "SEQUENCE", "CATEGORIES", "CLASS", "CREATED", "LAST-MODIFIED", "LOCATION", "STATUS", "TRANSP",
             "ACTION", "TRIGGER"}

CORPUS = [
    ("/calendar.ics?type=oral%0D%0ABEGIN:VEVENT%0D%0AUID:evil", 400),
    ("/calendar.ics?author=%0D%0AX-EVIL:1", 404),
    ("/calendar.ics?event=meshsdf%00", 404),
    ("/calendar.ics?alarm=15%0AX-EVIL:1", 400),
    ("/calendar.ics?author=%3Cscript%3Ealert(1)%3C/script%3E", 404),
    ("/calendar.ics?type=%3Cimg%20src=x%20onerror=alert(1)%3E", 400),
    ("/calendar.ics?event=..%2F..%2Fetc%2Fpasswd", 404),
    ("/events/..%2F..%2Fetc%2Fpasswd.ics", 404),
    ("/events/%2e%2e%2fdata%2fprogramme.json", 404),
    ("/authors/..%5C..%5Cwin.ini.ics", 404),
    ("/calendar.ics?type=%ff%fe", 400),
    ("/calendar.ics?type=%zz", 400),
    ("/calendar.ics?type=%", 400),
    ("/calendar.ics?%00=1", 400),
    ("/calendar.ics?type=" + "a" * 5000, 414),
    ("/calendar.ics?" + "type=oral&" * 150, 400),
    ("/calendar.ics?" + "x&" * 3000, 414),
    ("/calendar.ics?author=" + "kolter," * 400, 400),
    ("/events/%ff.ics", 404),
    ("/types/%0d%0a.ics", 400),
]


def assert_safe(response) -> None:
    """The invariants every answer keeps, whatever the request."""
    assert response.status_code < 500, response.data[:300]
    for name, value in response.headers.items():
        assert not set("\r\n\0") & set(name + value), (name, value)
    if response.mimetype == "text/calendar":
        assert response.status_code in (200, 304)
        if response.status_code == 200:
            assert set(parse_both(response.data)) <= KNOWN_UIDS
            lines = response.get_data(as_text=True).replace("\r\n ", "").split("\r\n")
            names = {re.split(r"[;:]", line, maxsplit=1)[0] for line in lines if line}
            assert names <= ICS_NAMES, names - ICS_NAMES
    elif response.mimetype == "text/plain":
        text = response.get_data(as_text=True)
        assert text.count("\n") == 1 and text.endswith("\n") and "\r" not in text and "\0" not in text
        assert len(text) < 1000


@pytest.mark.parametrize("url, status", CORPUS, ids=[url[:60] for url, _ in CORPUS])
def test_hostile_corpus_gets_clear_4xx(client, url, status):
    response = client.get(url)
    assert response.status_code == status, response.data[:300]
    assert_safe(response)


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
@pytest.mark.parametrize("url", ["/calendar.ics", "/events/meshsdf.ics", "/healthz"])
def test_unsupported_methods_get_405_with_allow(client, method, url):
    response = client.open(url, method=method)
    assert response.status_code == 405
    assert set(response.headers["Allow"].split(", ")) == {"GET", "HEAD", "OPTIONS"}
    assert_safe(response)


def test_error_quotes_only_a_short_escaped_value(client):
    text = client.get("/calendar.ics?type=a%0D%0A" + "x" * 500).get_data(as_text=True)
    assert text == ("400 unknown type 'a\\r\\n" + "x" * 57 + "\u2026'; accepted: oral, break, spotlight, qa\n")


def test_security_headers_on_the_page_not_on_feeds(client):
    page = client.get("/")
    assert page.headers["Content-Security-Policy"] == (
        "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
        "form-action 'self'; frame-ancestors 'none'")
    assert (page.headers["Referrer-Policy"], page.headers["X-Frame-Options"]) == ("no-referrer", "DENY")
    feed = client.get("/calendar.ics")
    assert "Content-Security-Policy" not in feed.headers
    assert page.headers["X-Content-Type-Options"] == feed.headers["X-Content-Type-Options"] == "nosniff"


def test_hostile_page_query_is_escaped(client):
    response = client.get("/?author=%3Cscript%3Ealert(1)%3C/script%3E")
    assert response.status_code == 404
    assert b"<script>alert" not in response.data and b"&lt;script&gt;alert" in response.data


NAMES = st.sampled_from(["type", "author", "event", "session", "alarm", "types", "", "x"])
VALUES = st.one_of(
    st.sampled_from(["oral", "Q&A", "kolter", "meshsdf", "15", "1441", "", ",", "<b>", "\r\nBEGIN:VEVENT"]),
    st.text(max_size=40),
    st.binary(max_size=20).map(lambda b: b.decode("latin-1")),
)
RAW_PIECES = st.sampled_from(["%", "%zz", "%ff", "%0d%0a", "&", "=", "&&", "%00", "+", ";", "#"])


@settings(max_examples=300, derandomize=True, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pairs=st.lists(st.tuples(NAMES, VALUES), max_size=6), junk=st.lists(RAW_PIECES, max_size=3))
def test_generated_query_strings_are_answered_safely(client, pairs, junk):
    query = "&".join(f"{quote(name)}={quote(value)}" for name, value in pairs) + "".join(junk)
    for path in ("/calendar.ics", "/types/oral.ics", "/events/meshsdf.ics"):
        assert_safe(client.get(path, query_string=query))


@settings(max_examples=200, derandomize=True, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(prefix=st.sampled_from(["/events/", "/authors/", "/types/", "/", "/calendar.ics/"]),
       middle=st.text(max_size=30), suffix=st.sampled_from([".ics", "", ".ics.ics", "/"]))
def test_generated_paths_are_answered_safely(client, prefix, middle, suffix):
    assert_safe(client.get(prefix + quote(middle, safe="/.%") + suffix))
