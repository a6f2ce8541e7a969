"""The catalog's bounded caches: rendered feeds, assembled bodies."""
from __future__ import annotations

import gc
import tracemalloc

import pytest

from feedsvc import SHIPPED_DATA
from feedsvc.feeds import BodyCache, Catalog
from feedsvc.query import parse_feed_query

from .conftest import BASE_URL


@pytest.fixture(scope="module")
def feeds():
    catalog = Catalog.load(SHIPPED_DATA)
    return [catalog.feed(parse_feed_query(args, catalog.programme), BASE_URL)
            for args in ([], [("type", "oral")], [("type", "spotlight")])]


def test_cache_sends_the_assembled_bytes_and_keeps_them(feeds):
    cache = BodyCache()
    first = cache.body(feeds[0])
    assert first == feeds[0].body()
    assert cache.body(feeds[0]) is first


def test_cache_drops_the_least_recently_sent_beyond_its_budget(feeds):
    whole, orals, spotlights = feeds
    cache = BodyCache(budget=len(whole.body()) + len(spotlights.body()))
    kept_whole, kept_orals = cache.body(whole), cache.body(orals)
    assert cache.body(whole) is kept_whole  # now the most recent
    cache.body(spotlights)  # over budget: orals goes first
    assert cache.body(whole) is kept_whole
    assert cache.body(orals) is not kept_orals


def test_cache_does_not_keep_a_body_larger_than_its_budget(feeds):
    cache = BodyCache(budget=len(feeds[0].body()) - 1)
    assert cache.body(feeds[0]) == feeds[0].body()
    assert cache.body(feeds[0]) is not cache.body(feeds[0])


def test_catalog_keeps_feeds_within_a_size_whatever_hosts_ask():
    catalog = Catalog.load(SHIPPED_DATA)
    query = parse_feed_query([("type", "spotlight")], catalog.programme)
    first = catalog.feed(query, BASE_URL)
    assert catalog.feed(query, BASE_URL) is first
    catalog._feeds.budget = 10 * first.footprint
    for number in range(100):
        host = f"https://host{number}.example"
        assert catalog.feed(query, host).head.count(f"SOURCE;VALUE=URI:{host}/".encode()) == 1
    assert 9 * first.footprint < catalog._feeds.total <= catalog._feeds.budget
    assert catalog.feed(query, BASE_URL) is not first  # the least recently used went first


@pytest.mark.parametrize("padding", [0, 8000])  # a request's Host can be long
def test_kept_feeds_use_about_their_budget(padding):
    """Measured with tracemalloc: a feed's footprint is close to what keeping it costs."""
    catalog = Catalog.load(SHIPPED_DATA)
    catalog._feeds.budget = 2**20
    query = parse_feed_query([("type", "spotlight")], catalog.programme)
    gc.collect()
    tracemalloc.start()
    try:
        for number in range(2000):
            catalog.feed(query, f"https://host{number}.example" + "x" * padding)
        gc.collect()
        kept = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert catalog._feeds.total <= catalog._feeds.budget
    assert 0.5 * catalog._feeds.budget < kept < 1.1 * catalog._feeds.budget
