"""Live reload: a changed data file is picked up; a bad one never causes an outage."""
from __future__ import annotations

import gc
import logging
import shutil
import time
import weakref
from dataclasses import replace

import pytest

from bench.synthetic import generate
from feedsvc import SHIPPED_DATA, create_app
from feedsvc.ical import HeldPieces
from feedsvc.live import LiveCatalog
from feedsvc.pieces import sidecar
from feedsvc.store import DataFileError, load_programme, write_programme


INTERVAL = 0.05


def retitled(path, event_id: str, title: str) -> None:
    """Rewrite the data file at `path` with one event's title changed, as the importer would."""
    programme = load_programme(path)
    sessions = tuple(replace(s, events=tuple(replace(e, title=title) if e.id == event_id else e
                                             for e in s.events)) for s in programme.sessions)
    write_programme(replace(programme, sessions=sessions), path)


@pytest.fixture
def data_file(tmp_path):
    path = tmp_path / "programme.json"
    shutil.copy(SHIPPED_DATA, path)
    return path


def after_interval():
    time.sleep(INTERVAL * 2)


def reloaded(live: LiveCatalog):
    """What `live` serves once it has seen the file as it is now and loaded it (or failed to)."""
    after_interval()
    return live.settled()


def test_live_catalog_reloads_changed_file(data_file):
    live = LiveCatalog(data_file, INTERVAL)
    before = live.current()
    retitled(data_file, "h-mem", "H-Mem, corrected")
    assert live.current() is before  # not yet due
    after_interval()
    assert live.current() is before  # being loaded meanwhile, by a thread of its own
    assert live.settled().programme.events_by_id["h-mem"].title == "H-Mem, corrected"


def test_live_catalog_keeps_last_good_data_on_bad_file(data_file, caplog):
    live = LiveCatalog(data_file, INTERVAL)
    good = live.current()
    data_file.write_text(SHIPPED_DATA.read_text(encoding="utf-8")[:3000], encoding="utf-8")
    with caplog.at_level(logging.ERROR, logger="feedsvc"):
        assert reloaded(live) is good
    assert f"still serving the last good data: {data_file}: not valid JSON (truncated?)" in caplog.text
    retitled_source = SHIPPED_DATA.read_text(encoding="utf-8").replace('"title": "Break"', '"title": "Coffee"', 1)
    data_file.write_text(retitled_source, encoding="utf-8")
    assert reloaded(live).programme.events_by_id["break-20201208-0645"].title == "Coffee"


def test_live_catalog_survives_file_removed(data_file, caplog):
    live = LiveCatalog(data_file, INTERVAL)
    good = live.current()
    data_file.unlink()
    with caplog.at_level(logging.ERROR, logger="feedsvc"):
        assert reloaded(live) is good
    assert "cannot read it" in caplog.text


def test_live_catalog_interval_zero_never_reloads(data_file):
    live = LiveCatalog(data_file, 0)
    before = live.current()
    retitled(data_file, "h-mem", "Changed")
    assert reloaded(live) is before


def test_app_serves_new_data_and_new_etag(data_file):
    client = create_app({"DATA": str(data_file), "RELOAD_SECONDS": INTERVAL}).test_client()
    first = client.get("/events/h-mem.ics")
    retitled(data_file, "h-mem", "H-Mem, corrected")
    reloaded(client.application.extensions["feedsvc"])
    second = client.get("/events/h-mem.ics", headers={"If-None-Match": first.headers["ETag"]})
    assert second.status_code == 200
    assert b"\r\nSUMMARY:H-Mem\\, corrected\r\n" in second.data
    assert second.headers["ETag"] != first.headers["ETag"]
    data_file.write_text("{", encoding="utf-8")
    reloaded(client.application.extensions["feedsvc"])
    third = client.get("/events/h-mem.ics")
    assert (third.status_code, third.data) == (200, second.data)


def test_a_data_file_over_the_size_limit_is_refused_and_the_last_good_one_served(data_file, caplog):
    size = data_file.stat().st_size
    with pytest.raises(DataFileError, match=rf"it is {size:,} bytes, over the limit of 1,000 "
                                            r"\(FEEDSVC_MAX_DATA_BYTES\); not loaded$"):
        LiveCatalog(data_file, INTERVAL, max_bytes=1000)
    live = LiveCatalog(data_file, INTERVAL, max_bytes=size + 100)
    before = live.current()
    retitled(data_file, "meshsdf", "MeshSDF " + "x" * 200)  # now over the limit
    with caplog.at_level(logging.ERROR, logger="feedsvc"):
        assert reloaded(live) is before
    assert "over the limit" in caplog.text and "still serving the last good data" in caplog.text


def test_an_old_catalog_is_freed_by_reference_counting_alone(tmp_path):
    """The collector is frozen after each load, so a cycle would keep a whole old programme
    for good: every route is used, on a programme with tracks, rooms, days and languages."""
    data = tmp_path / "programme.json"
    write_programme(generate(300), data)
    client = create_app({"TESTING": True, "DATA": str(data), "RELOAD_SECONDS": INTERVAL}).test_client()
    live = client.application.extensions["feedsvc"]
    programme = live.current().programme
    event, author = programme.events[7], programme.events[7].authors[0]
    for url in ("/", f"/?track={event.track}&day={event.day}", "/?author=nobody", "/calendar.ics",
                f"/calendar.ics?type={event.type}&room={event.room}&q=the&alarm=5", f"/events/{event.id}.ics",
                f"/authors/{author.id}.ics", f"/tracks/{event.track}.ics", "/api/events", "/api/authors",
                "/api/feed?type=oral", "/calendar.ics?type=nope", "/events/nope.ics", "/healthz"):
        client.get(url)
        client.get(url, headers={"If-None-Match": client.get(url).headers.get("ETag", "")})
    old = weakref.ref(live.current())
    collecting = gc.isenabled()
    gc.disable()
    try:
        retitled(data, event.id, "Retitled")
        assert reloaded(live).programme.events_by_id[event.id].title == "Retitled"
        client.get("/healthz")  # the last request on the old data has ended
        assert old() is None
    finally:
        if collecting:
            gc.enable()


def test_an_old_programmes_events_are_let_go_once_it_is_gone(data_file):
    """Held after a reload, to be let go in batches (a cascade of 15,000 events in one go
    would hold up every request), and then let go: nothing of the old data stays."""
    live = LiveCatalog(data_file, INTERVAL)
    event = weakref.ref(live.current().programme.events_by_id["h-mem"])
    programme = weakref.ref(live.current().programme)
    collecting = gc.isenabled()
    gc.disable()
    try:
        retitled(data_file, "h-mem", "H-Mem, corrected")
        assert reloaded(live).programme.events_by_id["h-mem"].title == "H-Mem, corrected"
        deadline = time.monotonic() + 5
        while event() is not None and time.monotonic() < deadline:
            time.sleep(0.01)
        assert event() is None and programme() is None
    finally:
        if collecting:
            gc.enable()


def every_piece(catalog) -> list[bytes]:
    pieces = catalog.renderer.pieces
    return list(map(bytes, pieces.read(range(len(pieces)))))


@pytest.mark.parametrize("sidecar_writable", [True, False])
def test_a_reload_shares_with_the_old_data_all_that_did_not_change(tmp_path, sidecar_writable):
    """A worker reloading holds the old programme and the new: what did not change is held once.
    The retitled event is new; every other event and person is the very object the old data
    held, and the feeds are what a fresh load serves. Pieces held in memory (their sidecar cannot
    be written) are shared the same way; pieces left in their sidecar are held by neither."""
    data = tmp_path / "programme.json"
    write_programme(generate(300), data)
    if not sidecar_writable:
        sidecar(data).mkdir()
    live = LiveCatalog(data, INTERVAL)
    old = live.current()
    changed = old.programme.events[7].id
    retitled(data, changed, "Retitled")
    new = reloaded(live)
    pairs = list(zip(old.programme.events, new.programme.events))
    assert len(pairs) == 300 and [o.id for o, n in pairs] == [n.id for o, n in pairs]
    assert [o.id for o, n in pairs if o is not n] == [changed]
    authors = {id(a) for e in old.programme.events for a in e.authors}
    assert all(id(a) in authors for e in new.programme.events for a in e.authors)
    held = isinstance(new.renderer.pieces, HeldPieces)
    assert held is isinstance(old.renderer.pieces, HeldPieces) is not sidecar_writable
    if held:
        shared = zip(pairs, old.renderer.pieces.pieces, new.renderer.pieces.pieces)
        assert [o.id for (o, _), p, q in shared if p is not q] == [changed]
    fresh = LiveCatalog(data, 0).current()
    assert every_piece(new) == every_piece(fresh) and new.programme == fresh.programme
    assert b"SUMMARY:Retitled\r\n" in every_piece(new)[7]


def test_a_reload_in_another_zone_keeps_no_old_event(tmp_path):
    """Times equal in another zone compare equal: kept, the old events would be written in the
    old zone. The reloaded feed is byte for byte a fresh load's."""
    data = tmp_path / "programme.json"
    shutil.copy(SHIPPED_DATA, data)
    live = LiveCatalog(data, INTERVAL)
    old = live.current()
    programme = load_programme(data)
    write_programme(replace(programme, conference=replace(programme.conference, timezone="America/Vancouver")), data)
    new = reloaded(live)
    assert not any(o is n for o, n in zip(old.programme.events, new.programme.events))
    fresh = LiveCatalog(data, 0).current()
    whole = [catalog.feed(catalog.query((), ()), "https://feeds.example.org").body() for catalog in (new, fresh)]
    assert whole[0] == whole[1] and b"DTSTART;TZID=America/Vancouver:" in whole[0]
