"""The sidecar of rendered pieces (feedsvc/pieces.py): used only for the very data bytes and
renderer it was made for, never when damaged, never in the way of a load."""
from __future__ import annotations

import logging
import shutil
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from bench.synthetic import generate
from feedsvc import SHIPPED_DATA
from feedsvc.feeds import Catalog
from feedsvc import pieces as pieces_module
from feedsvc.ical import HeldPieces
from feedsvc.pieces import HEADER, LENGTH, StoredPieces, prepare, sidecar
from feedsvc.query import parse_feed_query
from feedsvc.store import load_programme, write_programme

from .conftest import BASE_URL
from .test_imports import FRAB, run


@pytest.fixture(params=["shipped", "synthetic-300"])
def data_file(request, tmp_path) -> Path:
    path = tmp_path / "programme.json"
    if request.param == "shipped":
        shutil.copy(SHIPPED_DATA, path)
    else:
        write_programme(generate(300), path)
    return path


def whole_feed(catalog: Catalog):
    return catalog.feed(parse_feed_query([], catalog.programme), BASE_URL)


def pieces_of(catalog: Catalog) -> tuple[bytes, ...]:
    """The pieces the whole feed is assembled from, as bytes."""
    feed = whole_feed(catalog)
    return tuple(map(bytes, feed.store.read(feed.positions)))


def rendered(path: Path) -> tuple[bytes, ...]:
    """Each event's piece as rendered by the library, with no sidecar involved."""
    return pieces_of(Catalog(load_programme(path)))


def loaded(path: Path, caplog) -> tuple[Catalog, str]:
    """The catalog `Catalog.load` makes, and what it logged about the sidecar."""
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="feedsvc"):
        catalog = Catalog.load(path)
    return catalog, caplog.text


def test_the_same_bytes_for_every_event_with_and_without_the_sidecar(data_file, caplog):
    first, said = loaded(data_file, caplog)
    assert f"{sidecar(data_file)} not used" in said and sidecar(data_file).exists()
    second, said = loaded(data_file, caplog)
    assert f"pieces from {sidecar(data_file)}" in said
    assert pieces_of(second) == pieces_of(first) == rendered(data_file)
    assert len(pieces_of(second)) == len(second.programme.events)
    assert whole_feed(second).body() == whole_feed(first).body()
    assert whole_feed(second).etag == whole_feed(first).etag


def test_a_changed_data_file_does_not_use_the_old_sidecar(data_file, caplog):
    loaded(data_file, caplog)
    programme = load_programme(data_file)
    event = programme.events[-1]
    session = programme.sessions_by_id[event.session_id]
    retitled = replace(session, events=tuple(replace(e, title="Retitled") if e is event else e for e in session.events))
    write_programme(replace(programme, sessions=tuple(retitled if s is session else s for s in programme.sessions)),
                    data_file)
    catalog, said = loaded(data_file, caplog)
    assert "not used (made for other data)" in said
    assert b"\r\nSUMMARY:Retitled\r\n" in pieces_of(catalog)[-1]
    assert pieces_of(catalog) == rendered(data_file)
    assert f"pieces from {sidecar(data_file)}" in loaded(data_file, caplog)[1]  # rewritten for the new data


def flip(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 1]) + data[at + 1:]


def shifted_boundary(data: bytes) -> bytes:
    """The first piece a byte longer and the second a byte shorter: the same bytes, cut elsewhere."""
    first, second = (HEADER.size + i * LENGTH.size for i in (0, 1))
    grown = LENGTH.pack(LENGTH.unpack_from(data, first)[0] + 1) + LENGTH.pack(LENGTH.unpack_from(data, second)[0] - 1)
    return data[:first] + grown + data[second + LENGTH.size:]


DAMAGE = {
    "empty": (lambda data: b"", "shorter than its header"),
    "header cut": (lambda data: data[:HEADER.size - 1], "shorter than its header"),
    "lengths cut": (lambda data: data[:HEADER.size + 3], "shorter than its table of lengths"),
    "last byte cut": (lambda data: data[:-1], "its header says"),
    "a byte more": (lambda data: data + b"\n", "its header says"),
    "magic": (lambda data: flip(data, 0), "not a pieces file"),
    "another data file's key": (lambda data: flip(data, 16), "made for other data"),
    "another renderer's key": (lambda data: flip(data, 48), "made by another renderer"),
    "digest": (lambda data: flip(data, 80), "its pieces are damaged"),
    "count": (lambda data: flip(data, 112), "events, not"),
    "a byte of a piece": (lambda data: flip(data, len(data) - 5), "its pieces are damaged"),
    "pieces cut elsewhere": (shifted_boundary, "its pieces are damaged"),
}


@pytest.mark.parametrize("damage", DAMAGE, ids=str)
def test_a_damaged_sidecar_is_ignored_and_rewritten(data_file, caplog, damage):
    change, reason = DAMAGE[damage]
    loaded(data_file, caplog)
    sidecar(data_file).write_bytes(change(sidecar(data_file).read_bytes()))
    catalog, said = loaded(data_file, caplog)
    assert f"{sidecar(data_file)} not used (" in said and reason in said
    assert pieces_of(catalog) == rendered(data_file)
    assert f"pieces from {sidecar(data_file)}" in loaded(data_file, caplog)[1]


def test_the_sidecar_has_the_data_files_mode_and_leaves_no_temporary(tmp_path, caplog):
    data_file = tmp_path / "programme.json"
    shutil.copy(SHIPPED_DATA, data_file)
    data_file.chmod(0o640)
    loaded(data_file, caplog)
    assert sidecar(data_file).stat().st_mode & 0o777 == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["programme.json", "programme.json.pieces"]


def test_a_sidecar_that_cannot_be_written_does_not_stop_the_load(tmp_path, caplog):
    """A directory in its place: unwritable even for root, who may write in any directory."""
    data_file = tmp_path / "programme.json"
    shutil.copy(SHIPPED_DATA, data_file)
    sidecar(data_file).mkdir()
    catalog, said = loaded(data_file, caplog)
    assert f"{sidecar(data_file)} not written (" in said
    assert pieces_of(catalog) == rendered(data_file)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["programme.json", "programme.json.pieces"]


def test_import_writes_the_sidecar_the_service_then_uses(app, tmp_path, caplog):
    output = tmp_path / "programme.json"
    assert run(app, "import", str(FRAB), "--timezone", "Europe/Berlin", "--output", str(output)).exit_code == 0
    assert sidecar(output).stat().st_mode == output.stat().st_mode
    catalog, said = loaded(output, caplog)
    assert f"pieces from {sidecar(output)}" in said
    assert pieces_of(catalog) == rendered(output)


def test_a_catalog_reads_its_own_pieces_after_the_importer_replaced_the_sidecar(data_file, caplog):
    """The pieces stay in the sidecar, read as feeds are assembled; the importer writes the next
    data's sidecar as a new file, and a worker still serving the old data reads the one it checked."""
    loaded(data_file, caplog)  # renders and writes the sidecar
    catalog, said = loaded(data_file, caplog)
    assert f"pieces from {sidecar(data_file)}" in said and isinstance(catalog.renderer.pieces, StoredPieces)
    before, pieces = whole_feed(catalog).body(), pieces_of(catalog)
    programme = load_programme(data_file)
    first = programme.sessions[0]
    write_programme(replace(programme, sessions=(replace(first, events=tuple(replace(e, title="New") for e in first.events)),
                                                 *programme.sessions[1:])), data_file)
    prepare(data_file.read_bytes(), data_file)
    assert whole_feed(Catalog.load(data_file)).body() != before
    assert whole_feed(catalog).body() == before and pieces_of(catalog) == pieces


@pytest.fixture(scope="module")
def both_kinds(tmp_path_factory):
    """The pieces of 300 events left in their sidecar, and the same held in memory."""
    data = tmp_path_factory.mktemp("pieces") / "programme.json"
    write_programme(generate(300), data)
    stored = Catalog.load(data).renderer.pieces
    stored = Catalog.load(data).renderer.pieces  # the second load reads the sidecar the first wrote
    assert isinstance(stored, StoredPieces)
    return stored, HeldPieces(tuple(map(bytes, stored.read(range(len(stored))))))


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_stored_pieces_read_as_held_ones_whatever_the_positions(both_kinds, monkeypatch, data):
    """Any ascending positions, read one by one and in runs, with runs cut at any size (a piece
    longer than a run comes alone)."""
    stored, held = both_kinds
    monkeypatch.setattr(pieces_module, "RUN_BYTES", data.draw(st.sampled_from([1, 3000, 64 * 2**10, 2**30])))
    positions = data.draw(st.one_of(
        st.builds(range, st.integers(0, 300), st.integers(0, 300)),
        st.lists(st.integers(0, 299), unique=True, max_size=300).map(sorted)))
    expected = list(held.read(positions))
    assert list(map(bytes, stored.read(positions))) == expected
    assert b"".join(stored.runs(positions)) == b"".join(expected)
    assert [stored.lengths[p] for p in positions] == list(map(len, expected))
