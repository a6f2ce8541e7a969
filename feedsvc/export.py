"""Every feed with a readable URL, written as static files: the bytes the service sends.

So that any static host or CDN can serve the feeds without Python: the file
at `types/oral.ics` holds exactly what `GET /types/oral.ics` answers, with
the same `SOURCE` URLs (hence a public base URL is required). Feeds that need
a query string (`alarm=`, combined filters) are not files; they stay with the
service. Each feed of 1 KB or more has `.br` and `.gz` siblings holding what
the service sends in those codings. Each file's modification time is its feed's
`Last-Modified`, so a static server's `Last-Modified`, and nginx's
mtime-and-size `ETag`, stay the same across exports of the same data.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Iterator

from .encodings import CODINGS, SMALLEST_COMPRESSED
from .feeds import Catalog
from .ical import RenderedFeed
from .filters import ALIASED
from .query import EventFilter, FeedQuery

WHOLE = "calendar.ics"  # an export always holds it: how a directory is known to be one


class ExportError(ValueError):
    """The target cannot take an export; nothing was written or removed."""


def readable_feeds(catalog: Catalog, base_url: str) -> Iterator[tuple[str, RenderedFeed]]:
    """(path below the site's root, feed) for every feed reachable without a query string."""
    yield WHOLE, catalog.feed(FeedQuery(), base_url)
    for chosen in ALIASED:
        for ident in chosen.index(catalog.programme):
            query = FeedQuery(EventFilter.of(**{chosen.name: {ident}}))
            yield f"{chosen.folder}/{ident}.ics", catalog.feed(query, base_url)
    for ident in catalog.programme.events_by_id:
        yield f"events/{ident}.ics", catalog.single(ident, None, base_url)


def write_feeds(catalog: Catalog, root: Path, base_url: str) -> int:
    """Each feed, and beside it the `.br` and `.gz` files that nginx's `brotli_static` and
    `gzip_static` send: the bytes the service sends in those codings (none under 1 KB)."""
    for folder in (*(f.folder for f in ALIASED), "events"):
        (root / folder).mkdir(exist_ok=True)
    count = 0
    for relative, feed in readable_feeds(catalog, base_url):
        body = feed.body()
        write_file(root / relative, body, feed.last_modified)
        if len(body) >= SMALLEST_COMPRESSED:
            for coding in CODINGS.values():
                write_file(root / (relative + coding.suffix), coding.compress((body,)), feed.last_modified)
        count += 1
    return count


def write_file(path: Path, content: bytes, modified: datetime) -> None:
    path.write_bytes(content)
    os.utime(path, (modified.timestamp(), modified.timestamp()))


def check_replaceable(directory: Path) -> None:
    """Only an absent or empty directory, or an earlier export, may be replaced."""
    if directory.exists() and not directory.is_dir():
        raise ExportError(f"{directory} is not a directory")
    if directory.is_dir() and any(directory.iterdir()) and not (directory / WHOLE).is_file():
        raise ExportError(f"{directory} holds files but no {WHOLE}: it is not an earlier "
                          "export, so it is left alone; choose an empty or new directory")


def export(catalog: Catalog, directory: Path | str, base_url: str) -> int:
    """Write every readable feed below `directory`; the number of feeds written.

    The files are written into a new sibling directory, which is then renamed
    to `directory`: a reader never sees a half-written export. Replacing an
    earlier export takes two renames (old aside, new in), so for the instant
    between them `directory` does not exist.
    """
    directory = Path(directory)
    check_replaceable(directory)
    directory.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{directory.name}.", dir=directory.parent))
    try:
        staging.chmod(0o755)  # mkdtemp's 0700 would hide the files from a web server's user
        count = write_feeds(catalog, staging, base_url)
        if directory.exists():
            retired = Path(tempfile.mkdtemp(prefix=f".{directory.name}.old.", dir=directory.parent))
            os.replace(directory, retired)
            os.replace(staging, directory)
            shutil.rmtree(retired)
        else:
            os.replace(staging, directory)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return count
