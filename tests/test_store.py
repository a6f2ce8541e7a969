"""The data file: refused whole with the file and the reason; written atomically."""
from __future__ import annotations

import json
from dataclasses import replace

import pytest
from hypothesis import given, strategies as st

from feedsvc import SHIPPED_DATA
from feedsvc.store import DataFileError, load_programme, parse_piecewise, programme_to_json, write_programme

from .conftest import ROOT




def broken_copy(tmp_path, edit):
    raw = json.loads(SHIPPED_DATA.read_text(encoding="utf-8"))
    edit(raw)
    path = tmp_path / "programme.json"
    path.write_text(json.dumps(raw), encoding="utf-8")
    return path


def first_event(raw):
    return raw["sessions"][0]["events"][0]


@pytest.mark.parametrize("content, reason", [
    ("", "it is empty"),
    ("  \n", "it is empty"),
    (SHIPPED_DATA.read_text(encoding="utf-8")[:5000], "not valid JSON (truncated?)"),
    ("[]", "not a valid programme"),
    (b"\xff\xfe".decode("latin-1"), "not UTF-8 text"),
])
def test_load_programme_refuses_unusable_text(tmp_path, content, reason):
    path = tmp_path / "programme.json"
    path.write_text(content, encoding="latin-1" if "\xff" in content else "utf-8")
    with pytest.raises(DataFileError) as caught:
        load_programme(path)
    assert str(caught.value).startswith(f"{path}: {reason}")


def test_load_programme_refuses_missing_file(tmp_path):
    with pytest.raises(DataFileError, match=r"missing\.json: cannot read it \(\[Errno 2\]"):
        load_programme(tmp_path / "missing.json")


@pytest.mark.parametrize("edit, reason", [
    (lambda raw: raw.update(format=3), "format must be 2, not 3"),
    (lambda raw: first_event(raw).pop("title"), "missing field 'title'"),
    (lambda raw: first_event(raw).update(end="2020-12-08T05:59:00-08:00"),
     "event 'multiscale-deep-equilibrium-models' ends before it starts"),
    (lambda raw: first_event(raw).update(start="2020-12-08T06:00:00"), "has no UTC offset"),
    (lambda raw: first_event(raw).update(status="maybe"), "status must be confirmed or cancelled"),
    (lambda raw: first_event(raw).update(sequence=-1), "sequence must be a whole number"),
    (lambda raw: first_event(raw).update(id="meshsdf"), "event ids repeat"),
    (lambda raw: raw["sessions"][0]["events"][8].update(covers=["nope"]), "Q&As cover unknown events ['nope']"),
    (lambda raw: raw["sessions"][0].update(events=[]), "holds no events"),
    (lambda raw: raw["conference"].update(timezone="Mars/Olympus"), "Mars/Olympus"),
])
def test_load_programme_refuses_invalid_programme(tmp_path, edit, reason):
    path = broken_copy(tmp_path, edit)
    with pytest.raises(DataFileError) as caught:
        load_programme(path)
    assert str(caught.value).startswith(f"{path}: not a valid programme: ")
    assert reason in str(caught.value)


def test_write_programme_round_trips(tmp_path):
    programme = load_programme(SHIPPED_DATA)
    write_programme(programme, tmp_path / "copy.json")
    assert (tmp_path / "copy.json").read_bytes() == SHIPPED_DATA.read_bytes()


def test_write_programme_failure_leaves_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "programme.json"
    target.write_text("the old, good file", encoding="utf-8")
    unserialisable = replace(load_programme(SHIPPED_DATA), conference=object())
    with pytest.raises(TypeError):
        write_programme(unserialisable, target)
    assert target.read_text(encoding="utf-8") == "the old, good file"
    assert [p.name for p in tmp_path.iterdir()] == ["programme.json"]


def test_a_data_file_of_the_previous_format_loads_as_the_importer_makes_it_now():
    """Upgrading keeps serving the data file of the seed-only version and the next import keeps
    its history: it is the shipped file (format 2) in all but the recorded sources."""
    old = programme_to_json(load_programme(ROOT / "tests" / "fixtures" / "programme-format-1.json"))
    new = programme_to_json(load_programme(SHIPPED_DATA))
    assert old == {**new, "sources": []}


def test_nothing_over_the_size_limit_is_written(tmp_path):
    programme = load_programme(SHIPPED_DATA)
    with pytest.raises(DataFileError, match=r"not written: it would be [\d,]+ bytes, over the limit of 1,000 "
                                            r"\(FEEDSVC_MAX_DATA_BYTES\) that the service loads$"):
        write_programme(programme, tmp_path / "out.json", max_bytes=1000)
    assert list(tmp_path.iterdir()) == []


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=20)


@given(JSON_VALUES, st.sampled_from([None, 0, 2]))
def test_parsing_piecewise_reads_what_json_loads_reads(value, indent):
    text = json.dumps(value, indent=indent)
    assert parse_piecewise(text) == json.loads(text)


@given(JSON_VALUES, st.data())
def test_parsing_piecewise_refuses_what_json_loads_refuses(value, data):
    """Cut, or with a byte put in, as a damaged file would be: the same verdict as json.loads."""
    text = json.dumps({"sessions": [value, {"events": [value]}]}, indent=1)
    where = data.draw(st.integers(0, len(text)))
    damaged = data.draw(st.sampled_from([text[:where], text[:where] + data.draw(st.sampled_from(",:]}[{\"x ")) + text[where:]]))
    try:
        expected = json.loads(damaged)
    except json.JSONDecodeError:
        with pytest.raises(json.JSONDecodeError):
            parse_piecewise(damaged)
    else:
        assert parse_piecewise(damaged) == expected
