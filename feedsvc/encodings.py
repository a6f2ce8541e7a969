"""Content codings (RFC 9110, 8.4): which ones the service offers, and the client's choice.

Each coding is one entry: its name in `Accept-Encoding`, the suffix of its file
in the static export, and a deterministic `compress`, so the same bytes always
compress to the same bytes: a representation's strong ETag names them, and the
export's `.gz` and `.br` siblings are byte-identical to what the service sends.
`compress` takes the body in parts, as a big feed is assembled: a 31 MB body is
never joined only to be compressed.

Levels, measured on the whole feed of 15,000 events (31 MB; `python -m bench.wire`,
docs/performance.md): brotli at quality 5 costs about what gzip -6 does (0.83 s
of CPU against 0.70 s) and is 36% smaller (5% on the 15-event session); quality
9 takes 5.6x the CPU for another 19%. zstd is not offered: at level 3 it is the
cheapest (0.12 s) but 35% larger than brotli 5, each body is compressed only
once anyway, and no calendar client asks for it.
"""
from __future__ import annotations

import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import brotli
from werkzeug.http import parse_accept_header

IDENTITY = "identity"
SMALLEST_COMPRESSED = 1024  # bytes: below this the header overhead outweighs the gain (and the CPU)


@dataclass(frozen=True)
class Coding:
    name: str  # as in Accept-Encoding and Content-Encoding
    suffix: str  # the static export's sibling file: feed.ics.gz
    compress: Callable[[Iterable[bytes]], bytes]  # the body's parts, in order


def gzip_bytes(parts: Iterable[bytes]) -> bytes:
    """gzip -6 with no timestamp (zlib's gzip wrapper, as `gzip.compress(mtime=0)` uses):
    the same body always gives the same bytes."""
    compressor = zlib.compressobj(6, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    return b"".join([*map(compressor.compress, parts), compressor.flush()])


def brotli_bytes(parts: Iterable[bytes]) -> bytes:
    """brotli's output depends on how its input is cut (zlib's does not): fed in blocks of
    one size, the same body gives the same bytes however its parts came."""
    compressor = brotli.Compressor(mode=brotli.MODE_TEXT, quality=5)
    return b"".join([*map(compressor.process, blocks(parts, BROTLI_BLOCK_BYTES)), compressor.finish()])


BROTLI_BLOCK_BYTES = 2**20


def blocks(parts: Iterable[bytes], size: int) -> Iterable[bytes]:
    """The bytes of `parts` cut anew into blocks of `size` (the last one shorter)."""
    pending, length = [], 0
    for part in parts:
        pending.append(part)
        length += len(part)
        if length >= size:
            joined = b"".join(pending)
            cut = length - length % size
            yield from (joined[start:start + size] for start in range(0, cut, size))
            pending, length = [joined[cut:]], length - cut
    if length:
        yield b"".join(pending)


# In the order preferred when a client rates several the same.
CODINGS = {coding.name: coding for coding in (Coding("br", ".br", brotli_bytes),
                                              Coding("gzip", ".gz", gzip_bytes))}
ALIASES = {"x-gzip": "gzip"}  # RFC 9110, 8.4.1.3


def qualities(accept_encoding: str) -> dict[str, float]:
    """`Accept-Encoding` as coding name (lowercase, aliases resolved) to its q-value."""
    rated: dict[str, float] = {}
    for value, quality in parse_accept_header(accept_encoding):
        name = ALIASES.get(value.lower(), value.lower())
        rated[name] = max(quality, rated.get(name, 0.0))
    return rated


def chosen(accept_encoding: str | None, size: int) -> str:
    """The coding to send a body of `size` bytes in: the client's highest rated of br and
    gzip (br on a tie), unless it rates identity higher by name. Without the header, or
    with no coding it accepts, identity: RFC 9110 (12.5.3) lets a server send identity
    whatever the header says, and a 406 would only break a calendar."""
    if not accept_encoding or size < SMALLEST_COMPRESSED:
        return IDENTITY
    rated = qualities(accept_encoding)
    quality, _, name = max((rated.get(name, rated.get("*", 0.0)), -rank, name)
                           for rank, name in enumerate(CODINGS))
    if quality <= 0 or rated.get(IDENTITY, 0.0) > quality:
        return IDENTITY
    return name
