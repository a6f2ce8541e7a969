"""The catalog of a data file, reloaded when the file changes, without an outage.

Each worker process holds its own `LiveCatalog` and checks the file's identity
(inode, size, modification time) at most once per interval, on a request: no
signal and no timer, so it works the same under any WSGI server and any number
of workers. A changed file is loaded by a thread of its own while requests go
on being answered from the old data, and replaces it whole once loaded (one
reference assignment, atomic for the threads of a worker); a file that fails
to load is logged and the last good data keeps being served.
"""
from __future__ import annotations

import ctypes
import gc
import logging
import os
import sys
import threading
import time
import weakref
from pathlib import Path

from .feeds import Catalog, Streaming
from .store import MAX_DATA_BYTES

log = logging.getLogger("feedsvc")
RELOAD_SWITCH_SECONDS = 0.001  # the interpreter's switch interval while a thread loads data
RETIRE_WAIT_SECONDS = 10  # how long an old catalog's parts are held for its last request to end
FREED_AT_ONCE = 100  # sessions or events freed between two chances for other threads to run
M_MMAP_THRESHOLD, MAPPED_FROM_BYTES = -3, 128 * 2**10  # glibc's mallopt parameter, its default value


def give_back_big_blocks() -> None:
    """Have glibc's malloc map every block of 128 KiB or more by itself, so that freeing it gives
    it back to the system, now and after any block freed: by default the threshold rises to the
    largest block freed (up to 32 MiB). After one megabyte of text read, or one big body sent,
    such blocks came from the heap, whose free holes between live objects stay resident: at
    15,000 events a worker held 134 MB after loading its programme, against 79 MB with this.
    Elsewhere than glibc, nothing."""
    try:
        ctypes.CDLL(None).mallopt(M_MMAP_THRESHOLD, MAPPED_FROM_BYTES)
    except (OSError, AttributeError):
        pass


def file_identity(path: Path) -> tuple[int, int, int] | None:
    """What changes when the file is replaced or rewritten; None if it is gone."""
    try:
        status = os.stat(path)
    except OSError:
        return None
    return status.st_ino, status.st_size, status.st_mtime_ns


class Retired:
    """An old catalog's sessions and events, held while the catalog goes (when its last request
    ends), then let go a few at a time.

    Freed by its last reference, a catalog takes its programme, sessions and events with it
    in one cascade of deallocations, which never lets another thread run: 114-132 ms at
    15,000 events. Held here, they are what is left once the catalog itself is gone.
    """

    def __init__(self, catalog: Catalog):
        programme = catalog.programme
        self.parts = [*programme.events, *programme.sessions]  # let go from the end: sessions first
        self.programme = weakref.ref(programme)

    def free(self, wait_seconds: float = RETIRE_WAIT_SECONDS) -> None:
        deadline = time.monotonic() + wait_seconds
        while self.programme() is not None and time.monotonic() < deadline:
            time.sleep(0.01)  # a request still answers from it
        while self.parts:
            del self.parts[-FREED_AT_ONCE:]
            time.sleep(0)  # let a waiting request thread run


class LiveCatalog:
    def __init__(self, path: Path | str, interval: float, max_bytes: int = MAX_DATA_BYTES,
                 streaming: Streaming = Streaming()):
        """Load `path` now (a bad file raises `DataFileError`: refuse to start);
        look for a new version every `interval` seconds (0: never); refuse files over `max_bytes`;
        send big bodies as `streaming` says (`feeds.BodyCache`)."""
        self.path = Path(path)
        self.interval = interval
        self.max_bytes = max_bytes
        self.streaming = streaming
        give_back_big_blocks()
        self._identity = file_identity(self.path)
        self._catalog = Catalog.load(self.path, max_bytes, streaming=streaming)
        gc.freeze()  # the data lives as long as the process: no full collection walks it again
        self._checked = time.monotonic()
        self._loading = threading.Lock()  # held from a change seen until its load ends
        log.info("worker %d: loaded %s: %d events", os.getpid(), self.path, len(self._catalog.programme.events))

    def current(self) -> Catalog:
        """The newest good catalog. A request never waits for a reload: a changed file
        is loaded by a thread of its own while the last good data keeps being served."""
        due = self.interval and time.monotonic() - self._checked >= self.interval
        if due and self._loading.acquire(blocking=False):
            self._checked = time.monotonic()
            identity = file_identity(self.path)
            if identity == self._identity:
                self._loading.release()
            else:
                self._identity = identity
                threading.Thread(target=self._reload, name="feedsvc-reload", daemon=True).start()
        return self._catalog

    def settled(self, timeout: float = 120) -> Catalog:
        """Like `current`, but once the reload it starts (if the file changed) has ended:
        for whoever just wrote the file and wants to see it served, such as the tests."""
        self.current()
        if self._loading.acquire(timeout=timeout):
            self._loading.release()
        return self._catalog

    def _reload(self) -> None:
        """Load the new file with the cyclic collector paused, then freeze what it made.

        A request thread waiting for the interpreter asks the loading thread to hand it over
        after the switch interval: 1 ms instead of 5 while loading, so a request waits less.
        A full collection during a load walks the new data and the old, holding the
        interpreter for a quarter of a second at 15,000 events; a catalog has no cycles,
        so the old one is freed by reference counting once its last request ends.
        """
        collecting, switching = gc.isenabled(), sys.getswitchinterval()
        retired = None
        gc.disable()
        sys.setswitchinterval(RELOAD_SWITCH_SECONDS)
        try:
            catalog = Catalog.load(self.path, self.max_bytes, self._catalog, self.streaming)
        except Exception as error:  # any: a request must never pay for a bad file (DataFileError mostly)
            log.error("worker %d: data file changed but cannot be used, still serving the last good data: %s",
                      os.getpid(), str(error))  # text: a record kept by a handler must not keep the frames
        else:
            gc.freeze()
            retired = Retired(self._catalog)
            self._catalog = catalog
            log.info("worker %d: reloaded %s: %d events", os.getpid(), self.path, len(catalog.programme.events))
        finally:
            sys.setswitchinterval(switching)
            if collecting:
                gc.enable()
            self._loading.release()
        if retired is not None:
            retired.free()  # the next change may be loaded meanwhile
