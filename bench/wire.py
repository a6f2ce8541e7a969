"""Bytes on the wire in each coding, and what compressing them costs (issue 12).

    python -m bench.wire [--events 15 1500 15000]

For each programme size: each kind of feed's size as identity, gzip and br (the
service's own `feedsvc.encodings`, so these are the bytes it sends), and the CPU
time to compress every readable feed once in both codings: the most a data load
can cost in compression, since each body is compressed once and kept. Then, on
the whole feed of the largest size, the levels the codings were chosen among,
and zstd for comparison.
"""
from __future__ import annotations

import argparse
import gzip
import time

import brotli

from bench.run import data_file
from feedsvc.encodings import CODINGS, SMALLEST_COMPRESSED
from feedsvc.export import readable_feeds
from feedsvc.feeds import Catalog
from feedsvc.query import EventFilter, FeedQuery

BASE_URL = "https://feeds.example.org"


def kinds(catalog: Catalog) -> dict[str, bytes]:
    """One body of each kind a calendar subscribes to or downloads."""
    programme = catalog.programme
    event = programme.events[len(programme.events) // 2]
    return {
        "whole feed": catalog.feed(FeedQuery(), BASE_URL).body(),
        "one type": catalog.feed(FeedQuery(EventFilter.of(type={event.type})), BASE_URL).body(),
        "one author": catalog.feed(FeedQuery(EventFilter.of(author={event.authors[0].id})), BASE_URL).body(),
        "one event": catalog.single(event.id, None, BASE_URL).body(),
    }


def timed(work) -> tuple[float, object]:
    began = time.process_time()
    result = work()
    return time.process_time() - began, result


def sizes_table(events: int, catalog: Catalog) -> None:
    print(f"\n{events} events: bytes on the wire (ratio to identity)")
    print(f"  {'kind':12} {'identity':>20} " + " ".join(f"{name:>20}" for name in CODINGS))
    for kind, body in kinds(catalog).items():
        cells = [f"{len(body):12,d}"]
        for coding in CODINGS.values():
            encoded = coding.compress((body,)) if len(body) >= SMALLEST_COMPRESSED else body
            cells.append(f"{len(encoded):12,d} ({len(encoded) / len(body):.3f})")
        print(f"  {kind:12} " + " ".join(f"{cell:>20}" for cell in cells))


def compression_cpu(catalog: Catalog) -> None:
    """Every readable feed (as the export writes them) compressed once in each coding."""
    bodies = [feed.body() for _, feed in readable_feeds(catalog, BASE_URL)]
    bodies = [body for body in bodies if len(body) >= SMALLEST_COMPRESSED]
    total = sum(map(len, bodies))
    for coding in CODINGS.values():
        seconds, encoded = timed(lambda: [coding.compress((body,)) for body in bodies])
        print(f"  every readable feed in {coding.name:4}: {len(bodies):,d} bodies, {total / 2**20:,.1f} MiB -> "
              f"{sum(map(len, encoded)) / 2**20:,.1f} MiB, {seconds:.2f} s CPU")


def levels(body: bytes) -> None:
    import zstandard  # for comparison only: not a requirement of the service
    candidates = {
        "gzip -1": lambda: gzip.compress(body, 1, mtime=0), "gzip -6 (sent)": lambda: gzip.compress(body, 6, mtime=0),
        "gzip -9": lambda: gzip.compress(body, 9, mtime=0),
        "br 4": lambda: brotli.compress(body, quality=4), "br 5 (sent)": lambda: brotli.compress(body, quality=5),
        "br 6": lambda: brotli.compress(body, quality=6), "br 9": lambda: brotli.compress(body, quality=9),
        "zstd 3": lambda: zstandard.ZstdCompressor(level=3).compress(body),
        "zstd 10": lambda: zstandard.ZstdCompressor(level=10).compress(body),
    }
    print(f"\nlevels, on the whole feed ({len(body):,d} bytes)")
    for name, work in candidates.items():
        seconds, encoded = timed(work)
        print(f"  {name:15} {len(encoded):12,d} bytes ({len(encoded) / len(body):.3f}), {seconds:6.2f} s CPU")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, nargs="+", default=[15, 1500, 15000])
    options = parser.parse_args()
    catalog = None
    for events in options.events:
        catalog = Catalog.load(data_file(events))
        sizes_table(events, catalog)
        compression_cpu(catalog)
    levels(kinds(catalog)["whole feed"])


if __name__ == "__main__":
    main()
