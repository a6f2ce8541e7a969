"""Each event's rendered VEVENT, kept on disk beside the data file, so that a worker starts in
seconds, and read from there as feeds are assembled, so that the workers share them.

Rendering 15,000 events with the `icalendar` library takes about 28 s, at every
start and every live reload of every worker (issue 12); reading the bytes back
takes a fraction of a second. The sidecar `<data file>.pieces` holds the bytes
the renderer made, under a key: the SHA-256 of the data file's bytes, and of
the code and libraries that turn them into pieces. A sidecar that does not
match in every respect (magic, key, count, sizes, the payload's SHA-256) is
ignored, with its reason logged, the pieces are rendered and it is written
anew: wrong bytes are never served. Nothing about the sidecar fails a load: one
that cannot be written leaves the pieces in memory.

The format, integers little-endian: HEADER (magic, data key, renderer key,
SHA-256 of what follows, count), then each piece's length (u32), then the pieces.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import struct
import weakref
from array import array
from bisect import bisect_right
from collections.abc import Iterator, Sequence
from itertools import accumulate
from pathlib import Path

import icalendar
import pytz

from . import ical, model, store
from .ical import HeldPieces, Pieces, piece_digest, render_pieces
from .model import Programme
from .store import programme_from_json, write_atomically

log = logging.getLogger("feedsvc")
SUFFIX = ".pieces"
MAGIC = b"feedsvc-pieces-1"
HEADER = struct.Struct("<16s32s32s32sQ")
LENGTH = struct.Struct("<I")


class Unusable(ValueError):
    """Why a sidecar cannot be used."""


def sidecar(data_path: Path) -> Path:
    return data_path.with_name(data_path.name + SUFFIX)


def renderer_key() -> bytes:
    """What turns the data's bytes into pieces besides those bytes: how they are read (store),
    the model, the renderer and the libraries it calls. A change to any renders again."""
    digest = hashlib.sha256()
    for module in (store, model, ical):
        digest.update(Path(module.__file__).read_bytes())
    digest.update(f"icalendar {icalendar.__version__}, pytz {pytz.__version__}".encode())
    return digest.digest()


# Taken once, as the code is imported: a worker still running the old code after a deploy must
# not label its pieces with the new code's key.
RENDERER_KEY = renderer_key()


def event_pieces(programme: Programme, data_path: Path, data_key: bytes,
                 previous: Pieces | None = None) -> Pieces:
    """`render_pieces(programme)`, left in the sidecar of `data_path` if it was made for the data
    bytes whose SHA-256 is `data_key` by this renderer (`StoredPieces`); else rendered, and the
    sidecar written for the next load and read from it, or held in memory if it cannot be written
    (`HeldPieces`, sharing with `previous`, the pieces of the data being replaced, those that did
    not change)."""
    path, count = sidecar(data_path), len(programme.events)
    try:
        pieces = StoredPieces.open(path, data_key, count)
    except (Unusable, OSError) as reason:
        # The reason as text: a handler that keeps records (a test's, a buffer) would keep the
        # exception, its frames and the programme they hold.
        log.info("%s not used (%s): rendering %d events", path, str(reason), count)
    else:
        log.info("pieces from %s", path)
        return pieces
    rendered = render_pieces(programme)
    if save_pieces(path, data_key, rendered, data_path):
        try:
            return StoredPieces.open(path, data_key, count)
        except (Unusable, OSError) as reason:  # replaced meanwhile, by a worker's load of other data
            log.info("%s not used (%s): kept in memory", path, str(reason))
    return HeldPieces(rendered, previous.pieces if isinstance(previous, HeldPieces) else ())


class StoredPieces:
    """Pieces left in their sidecar, read as a feed is assembled.

    In memory, each worker held its own copy (30 MB at 15,000 events, a fifth of a worker);
    read from the file, the system's page cache holds them once for all the workers, and
    reading them back costs less than assembling the feed. Consecutive pieces are read in one
    call. The file stays open: a sidecar replaced by the importer is a new file, and this one
    goes on being read as it was checked.
    """

    def __init__(self, file, lengths: array, start: int, digests: tuple[bytes, ...]):
        self._file = file
        weakref.finalize(self, file.close)  # closed with the catalog's last feed
        self.lengths = lengths
        self.digests = digests
        self._offsets = array("Q", accumulate(lengths, initial=start))  # each piece's, then the end

    @classmethod
    def open(cls, path: Path, data_key: bytes, count: int) -> StoredPieces:
        """The `count` pieces the sidecar `path` holds for `data_key`, checked whole (its SHA-256)
        but not held, each one's digest made in the same pass; `Unusable` saying why not."""
        file = open(path, "rb")
        try:
            digest, table = read_header(file, data_key, count)
            start, lengths = file.tell(), lengths_in(table)
            hashed, digests = hashlib.sha256(table), []
            for piece in map(file.read, lengths):
                hashed.update(piece)
                digests.append(piece_digest(piece))
            if hashed.digest() != digest:
                raise Unusable("its pieces are damaged")
        except BaseException:
            file.close()
            raise
        return cls(file, array("I", lengths), start, tuple(digests))

    def __len__(self) -> int:
        return len(self.lengths)

    def read(self, positions: Sequence[int]) -> Iterator[memoryview]:
        offsets = self._offsets
        for first, stop in self._runs(positions):
            view, base = memoryview(self._pread(first, stop)), offsets[first]
            yield from (view[offsets[p] - base:offsets[p + 1] - base] for p in range(first, stop))

    def runs(self, positions: Sequence[int]) -> Iterator[bytes]:
        return (self._pread(first, stop) for first, stop in self._runs(positions))

    def _runs(self, positions: Sequence[int]) -> Iterator[tuple[int, int]]:
        """(first, stop) of each run of consecutive positions, read by one call: at most
        `RUN_BYTES` (a longer piece alone). The whole programme's are found by bisection."""
        offsets = self._offsets
        if isinstance(positions, range) and positions.step == 1:
            first, end = positions.start, positions.stop
            while first < end:
                stop = max(first + 1, bisect_right(offsets, offsets[first] + RUN_BYTES, first + 1, end + 1) - 1)
                yield first, stop
                first = stop
            return
        first = last = -2
        for position in positions:
            if position != last + 1 or offsets[position + 1] - offsets[first] > RUN_BYTES:
                if first >= 0:
                    yield first, last + 1
                first = position
            last = position
        if first >= 0:
            yield first, last + 1

    def _pread(self, first: int, stop: int) -> bytes:
        start, size = self._offsets[first], self._offsets[stop] - self._offsets[first]
        data = os.pread(self._file.fileno(), size, start)
        if len(data) != size:
            raise OSError(f"{self._file.name} was cut short while in use")
        return data


RUN_BYTES = 64 * 2**10  # at most this many bytes of pieces read by one call: from the heap, not fresh pages


def read_header(file, data_key: bytes, count: int) -> tuple[bytes, bytes]:
    """The payload's SHA-256 and the table of lengths, once the header is checked against
    what is expected and the file's size against the lengths."""
    size = os.fstat(file.fileno()).st_size
    header = file.read(HEADER.size)
    if len(header) < HEADER.size:
        raise Unusable("shorter than its header")
    magic, data, renderer, digest, stored = HEADER.unpack(header)
    checks = ((magic == MAGIC, "not a pieces file"), (data == data_key, "made for other data"),
              (renderer == RENDERER_KEY, "made by another renderer"),
              (stored == count, f"holds {stored:,} events, not {count:,}"))
    for passed, reason in checks:
        if not passed:
            raise Unusable(reason)
    table = file.read(LENGTH.size * count)
    if len(table) != LENGTH.size * count:
        raise Unusable("shorter than its table of lengths")
    expected = HEADER.size + len(table) + sum(lengths_in(table))
    if size != expected:
        raise Unusable(f"{size:,} bytes, not the {expected:,} its header says")
    return digest, table


def lengths_in(table: bytes) -> tuple[int, ...]:
    return tuple(length for (length,) in LENGTH.iter_unpack(table))


def payload_digest(table: bytes, pieces: tuple[bytes, ...]) -> bytes:
    """The SHA-256 of the lengths and the pieces: lengths changed in a way that keeps
    their sum would cut the same bytes into other pieces."""
    digest = hashlib.sha256(table)
    for piece in pieces:
        digest.update(piece)
    return digest.digest()


def save_pieces(path: Path, data_key: bytes, pieces: tuple[bytes, ...], data_path: Path) -> bool:
    """Write the sidecar `path` atomically, with the mode and owner of the data file; whether it
    was. A failure (a read-only directory, a full disk) is logged: the pieces are served all the same."""
    table = b"".join(LENGTH.pack(len(piece)) for piece in pieces)
    header = HEADER.pack(MAGIC, data_key, RENDERER_KEY, payload_digest(table, pieces), len(pieces))
    try:
        write_atomically(path, [header, table, *pieces], like=data_path)
    except OSError as error:
        log.warning("%s not written (%s): the next load renders the events again", path, str(error))
        return False
    return True


def prepare(data: bytes, data_path: Path) -> None:
    """Write the sidecar for `data`, about to be written to `data_path`, before it is: a worker
    that sees the new file finds its pieces ready. The key names those bytes only: a worker
    loading the old file meanwhile ignores the sidecar (and may replace it with its own, which
    costs the next load a render, never wrong bytes). The pieces are those of the programme as
    a worker reads the bytes back (its times in the conference's zone), not the importer's own."""
    programme = programme_from_json(json.loads(data.decode("utf-8")))
    save_pieces(sidecar(data_path), hashlib.sha256(data).digest(), render_pieces(programme), data_path)
