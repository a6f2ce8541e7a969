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


def cut(text: str, size: int) -> list[str]:
    """`text` in parts of `size` characters, as the file is read."""
    return [text[start:start + size] for start in range(0, len(text), size)] or [""]


@given(JSON_VALUES, st.sampled_from([None, 0, 2]), st.integers(1, 40))
def test_parsing_piecewise_reads_what_json_loads_reads(value, indent, size):
    """Whatever parts the text comes in: a value may span any number of them."""
    text = json.dumps(value, indent=indent)
    assert parse_piecewise(cut(text, size)) == json.loads(text)


@given(JSON_VALUES, st.data())
def test_parsing_piecewise_refuses_what_json_loads_refuses(value, data):
    """Cut, or with a byte put in, as a damaged file would be: the same verdict as json.loads,
    and an error at the same line, column and character however the text is read."""
    text = json.dumps({"sessions": [value, {"events": [value]}]}, indent=1)
    where = data.draw(st.integers(0, len(text)))
    damaged = data.draw(st.sampled_from([text[:where], text[:where] + data.draw(st.sampled_from(",:]}[{\"x ")) + text[where:]]))
    parts = cut(damaged, data.draw(st.integers(1, 60)))
    try:
        expected = json.loads(damaged)
    except json.JSONDecodeError as error:
        with pytest.raises(json.JSONDecodeError) as caught:
            parse_piecewise(parts)
        assert (caught.value.lineno, caught.value.colno, caught.value.pos) == (error.lineno, error.colno, error.pos)
    else:
        assert parse_piecewise(parts) == expected


def test_a_file_in_any_order_of_keys_loads_the_same(tmp_path):
    """Events are converted as they are parsed when the file gives its format and conference
    first, and a session its id first, as the writer does; in any other order they are
    converted after, to the same programme."""
    written = programme_to_json(load_programme(SHIPPED_DATA))
    backwards = {key: written[key] for key in reversed(written)}
    backwards["sessions"] = [{key: s[key] for key in reversed(s)} for s in written["sessions"]]
    path = tmp_path / "programme.json"
    path.write_text(json.dumps(backwards), encoding="utf-8")
    assert load_programme(path) == load_programme(SHIPPED_DATA)


def test_a_file_that_gives_its_conference_twice_is_refused(tmp_path):
    """Its events may have been read in the first one's zone: refused, never served so."""
    text = SHIPPED_DATA.read_text(encoding="utf-8")
    path = tmp_path / "programme.json"
    path.write_text(text.rstrip().removesuffix("}") + ', "conference": {"name": "X", "venue": "", "timezone": "UTC"}}',
                    encoding="utf-8")
    with pytest.raises(DataFileError, match=r"not a valid programme: the file gives its format or conference twice$"):
        load_programme(path)


def test_a_session_that_gives_its_id_again_after_its_events_keeps_the_last(tmp_path):
    """As json.loads reads repeated keys: the last wins, and its events belong to it."""
    text = SHIPPED_DATA.read_text(encoding="utf-8")
    raw = json.loads(text)
    session = raw["sessions"][0]
    path = tmp_path / "programme.json"
    body = json.dumps(raw, indent=2)
    path.write_text(body.replace('"events": [', '"events": [', 1).rstrip().removesuffix("}").rstrip().removesuffix("]")
                    .rstrip().removesuffix("}") + ', "id": "renamed"}]}', encoding="utf-8")
    programme = load_programme(path)
    assert [s.id for s in programme.sessions] == ["renamed"]
    assert {e.session_id for e in programme.events} == {"renamed"} and session["id"] != "renamed"


@pytest.mark.parametrize("order", [1, -1])
@pytest.mark.parametrize("field, value", [("type", ["talk"]), ("room", {"name": "Hall"}), ("title", 7)])
def test_a_field_that_is_not_text_is_refused_naming_it_in_any_order_of_keys(tmp_path, order, field, value):
    raw = json.loads(SHIPPED_DATA.read_text(encoding="utf-8"))
    first_event(raw)[field] = value
    ordered = {key: raw[key] for key in list(raw)[::order]}
    path = tmp_path / "programme.json"
    path.write_text(json.dumps(ordered), encoding="utf-8")
    with pytest.raises(DataFileError, match=rf"not a valid programme: event '{first_event(raw)['id']}' {field} must be text$"):
        load_programme(path)


def test_a_byte_that_is_not_utf8_is_placed_in_the_file(tmp_path):
    """Past the first megabyte read, its place in the file, not in the megabyte."""
    path = tmp_path / "programme.json"
    head = b'{"format": 2, "padding": "' + b"a" * 1_500_000
    path.write_bytes(head + b'\xff"}')
    with pytest.raises(DataFileError, match=rf"not UTF-8 text \(.*invalid start byte, at byte {len(head):,} of the file\)$"):
        load_programme(path)


def test_a_file_nested_deeper_than_the_interpreter_goes_is_refused(tmp_path):
    path = tmp_path / "programme.json"
    path.write_text('{"format": 2, "sessions": [{"events": [' + "[" * 100_000 + "]" * 100_000 + "]}]}")
    with pytest.raises(DataFileError, match=r"not valid JSON: nested too deeply$"):
        load_programme(path)
