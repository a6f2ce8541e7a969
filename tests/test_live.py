"""Live reload: a changed data file is picked up; a bad one never causes an outage."""
from __future__ import annotations

import logging
import shutil
import time
from dataclasses import replace

import pytest

from feedsvc import SHIPPED_DATA, create_app
from feedsvc.live import LiveCatalog
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


def test_live_catalog_reloads_changed_file(data_file):
    live = LiveCatalog(data_file, INTERVAL)
    before = live.current()
    retitled(data_file, "h-mem", "H-Mem, corrected")
    assert live.current() is before  # not yet due
    after_interval()
    assert live.current().programme.events_by_id["h-mem"].title == "H-Mem, corrected"


def test_live_catalog_keeps_last_good_data_on_bad_file(data_file, caplog):
    live = LiveCatalog(data_file, INTERVAL)
    good = live.current()
    data_file.write_text(SHIPPED_DATA.read_text(encoding="utf-8")[:3000], encoding="utf-8")
    after_interval()
    with caplog.at_level(logging.ERROR, logger="feedsvc"):
        assert live.current() is good
    assert f"still serving the last good data: {data_file}: not valid JSON (truncated?)" in caplog.text
    retitled_source = SHIPPED_DATA.read_text(encoding="utf-8").replace('"title": "Break"', '"title": "Coffee"', 1)
    data_file.write_text(retitled_source, encoding="utf-8")
    after_interval()
    assert live.current().programme.events_by_id["break-20201208-0645"].title == "Coffee"


def test_live_catalog_survives_file_removed(data_file, caplog):
    live = LiveCatalog(data_file, INTERVAL)
    good = live.current()
    data_file.unlink()
    after_interval()
    with caplog.at_level(logging.ERROR, logger="feedsvc"):
        assert live.current() is good
    assert "cannot read it" in caplog.text


def test_live_catalog_interval_zero_never_reloads(data_file):
    live = LiveCatalog(data_file, 0)
    before = live.current()
    retitled(data_file, "h-mem", "Changed")
    after_interval()
    assert live.current() is before


def test_app_serves_new_data_and_new_etag(data_file):
    client = create_app({"DATA": str(data_file), "RELOAD_SECONDS": INTERVAL}).test_client()
    first = client.get("/events/h-mem.ics")
    retitled(data_file, "h-mem", "H-Mem, corrected")
    after_interval()
    second = client.get("/events/h-mem.ics", headers={"If-None-Match": first.headers["ETag"]})
    assert second.status_code == 200
    assert b"\r\nSUMMARY:H-Mem\\, corrected\r\n" in second.data
    assert second.headers["ETag"] != first.headers["ETag"]
    data_file.write_text("{", encoding="utf-8")
    after_interval()
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
    after_interval()
    with caplog.at_level(logging.ERROR, logger="feedsvc"):
        assert live.current() is before
    assert "over the limit" in caplog.text and "still serving the last good data" in caplog.text
