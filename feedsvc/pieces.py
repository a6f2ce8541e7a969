"""Each event's rendered VEVENT, kept on disk beside the data file, so that a worker starts in seconds.

Rendering 15,000 events with the `icalendar` library takes about 28 s, at every
start and every live reload of every worker (issue 12); reading the bytes back
takes a fraction of a second. The sidecar `<data file>.pieces` holds the bytes
the renderer made, under a key: the SHA-256 of the data file's bytes, and of
the code and libraries that turn them into pieces. A sidecar that does not
match in every respect (magic, key, count, sizes, the payload's SHA-256) is
ignored, with its reason logged, the pieces are rendered and it is written
anew: wrong bytes are never served. Nothing about the sidecar fails a load.

The format, integers little-endian: HEADER (magic, data key, renderer key,
SHA-256 of what follows, count), then each piece's length (u32), then the pieces.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import struct
from collections.abc import Callable
from pathlib import Path

import icalendar
import pytz

from . import ical, model, store
from .ical import render_pieces
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
                 previous: tuple[bytes, ...] = ()) -> tuple[bytes, ...]:
    """`render_pieces(programme)`, read from the sidecar of `data_path` if it was made for the
    data bytes whose SHA-256 is `data_key` by this renderer; else rendered, and the sidecar
    written for the next load. A piece equal to one of `previous` (those of the data being
    replaced) is that object: the old and the new data share what did not change."""
    path, share = sidecar(data_path), shared_with(previous)
    try:
        pieces = read_pieces(path, data_key, len(programme.events), share)
    except (Unusable, OSError) as reason:
        # The reason as text: a handler that keeps records (a test's, a buffer) would keep the
        # exception, its frames and the programme they hold.
        log.info("%s not used (%s): rendering %d events", path, str(reason), len(programme.events))
    else:
        log.info("pieces from %s", path)
        return pieces
    pieces = tuple(map(share, render_pieces(programme)))
    save_pieces(path, data_key, pieces, data_path)
    return pieces


def shared_with(previous: tuple[bytes, ...]) -> Callable[[bytes], bytes]:
    """A piece, or the equal one of `previous` (looked up by value)."""
    kept = {piece: piece for piece in previous}
    return lambda piece: kept.get(piece, piece)


def read_pieces(path: Path, data_key: bytes, count: int,
                share: Callable[[bytes], bytes] = lambda piece: piece) -> tuple[bytes, ...]:
    """The `count` pieces the sidecar `path` holds for `data_key`; `Unusable` saying why not.
    Each piece is read into a bytes object of its own, never the whole payload and then
    sliced, and given to `share` (`shared_with`) at once: at no moment are pieces held twice."""
    with open(path, "rb") as file:
        digest, table = read_header(file, data_key, count)
        pieces = tuple(map(share, map(file.read, lengths_in(table))))
    if payload_digest(table, pieces) != digest:
        raise Unusable("its pieces are damaged")
    return pieces


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


def save_pieces(path: Path, data_key: bytes, pieces: tuple[bytes, ...], data_path: Path) -> None:
    """Write the sidecar `path` atomically, with the mode and owner of the data file; a failure
    (a read-only directory, a full disk) is logged: the pieces are served all the same."""
    table = b"".join(LENGTH.pack(len(piece)) for piece in pieces)
    header = HEADER.pack(MAGIC, data_key, RENDERER_KEY, payload_digest(table, pieces), len(pieces))
    try:
        write_atomically(path, [header, table, *pieces], like=data_path)
    except OSError as error:
        log.warning("%s not written (%s): the next load renders the events again", path, str(error))


def prepare(data: bytes, data_path: Path) -> None:
    """Write the sidecar for `data`, about to be written to `data_path`, before it is: a worker
    that sees the new file finds its pieces ready. The key names those bytes only: a worker
    loading the old file meanwhile ignores the sidecar (and may replace it with its own, which
    costs the next load a render, never wrong bytes). The pieces are those of the programme as
    a worker reads the bytes back (its times in the conference's zone), not the importer's own."""
    programme = programme_from_json(json.loads(data.decode("utf-8")))
    save_pieces(sidecar(data_path), hashlib.sha256(data).digest(), render_pieces(programme), data_path)
