"""The catalog of a data file, reloaded when the file changes, without an outage.

Each worker process holds its own `LiveCatalog` and checks the file's identity
(inode, size, modification time) at most once per interval, on a request: no
thread, no signal, so it works the same under any WSGI server and any number
of workers. A new file is loaded whole before it replaces the old catalog (one
reference assignment, atomic for the threads of a worker); a file that fails
to load is logged and the last good data keeps being served.
"""
from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path

from .feeds import Catalog
from .store import MAX_DATA_BYTES

log = logging.getLogger("feedsvc")


def file_identity(path: Path) -> tuple[int, int, int] | None:
    """What changes when the file is replaced or rewritten; None if it is gone."""
    try:
        status = os.stat(path)
    except OSError:
        return None
    return status.st_ino, status.st_size, status.st_mtime_ns


class LiveCatalog:
    def __init__(self, path: Path | str, interval: float, max_bytes: int = MAX_DATA_BYTES):
        """Load `path` now (a bad file raises `DataFileError`: refuse to start);
        look for a new version every `interval` seconds (0: never); refuse files over `max_bytes`."""
        self.path = Path(path)
        self.interval = interval
        self.max_bytes = max_bytes
        self._identity = file_identity(self.path)
        self._catalog = Catalog.load(self.path, max_bytes)
        self._checked = time.monotonic()
        self._lock = threading.Lock()
        log.info("worker %d: loaded %s: %d events", os.getpid(), self.path, len(self._catalog.programme.events))

    def current(self) -> Catalog:
        """The newest good catalog; a request never waits for another's reload."""
        due = self.interval and time.monotonic() - self._checked >= self.interval
        if due and self._lock.acquire(blocking=False):
            try:
                self._reload_if_changed()
            finally:
                self._lock.release()
        return self._catalog

    def _reload_if_changed(self) -> None:
        self._checked = time.monotonic()
        identity = file_identity(self.path)
        if identity == self._identity:
            return
        self._identity = identity
        try:
            catalog = Catalog.load(self.path, self.max_bytes)
        except Exception as error:  # any: a request must never pay for a bad file (DataFileError mostly)
            log.error("worker %d: data file changed but cannot be used, still serving the last good data: %s",
                      os.getpid(), error)
            return
        self._catalog = catalog
        log.info("worker %d: reloaded %s: %d events", os.getpid(), self.path, len(catalog.programme.events))
