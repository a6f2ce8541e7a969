"""`flask export`: every readable feed as a static file, byte for byte what the service sends."""
from __future__ import annotations

from pathlib import Path

import pytest

from bench.synthetic import generate
from feedsvc import SHIPPED_DATA, create_app
from feedsvc.export import ExportError, export
from feedsvc.feeds import Catalog
from feedsvc.filters import FILTERS
from feedsvc.model import slugify
from feedsvc.store import write_programme

from .conftest import BASE_URL



@pytest.fixture(scope="module")
def synthetic(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("synthetic") / "programme.json"
    write_programme(generate(62), path)  # four sessions and a short fifth
    return path


def files_below(root: Path) -> dict[str, Path]:
    return {p.relative_to(root).as_posix(): p for p in root.rglob("*") if p.is_file()}


def expected_paths(programme) -> set[str]:
    return ({"calendar.ics"} | {f"types/{t}.ics" for t in FILTERS["type"].labels(programme)}
            | {f"authors/{a.id}.ics" for a in programme.authors}
            | {f"sessions/{s.id}.ics" for s in programme.sessions}
            | {f"events/{e.id}.ics" for e in programme.events}
            | {f"tracks/{slugify(e.track)}.ics" for e in programme.events}
            | {f"rooms/{slugify(e.room)}.ics" for e in programme.events}
            | {f"days/{e.day.isoformat()}.ics" for e in programme.events}
            | {f"languages/{e.language}.ics" for e in programme.events if e.language})


@pytest.mark.parametrize("data", ["shipped", "synthetic"])
def test_every_file_is_what_the_service_sends(data, synthetic, tmp_path):
    path = SHIPPED_DATA if data == "shipped" else synthetic
    catalog = Catalog.load(path)
    count = export(catalog, tmp_path / "site", BASE_URL)
    files = files_below(tmp_path / "site")
    feeds = {relative: file for relative, file in files.items() if relative.endswith(".ics")}
    assert set(feeds) == expected_paths(catalog.programme) and count == len(feeds)
    client = create_app({"DATA": str(path), "BASE_URL": BASE_URL}).test_client()
    compressed = 0
    for relative, file in feeds.items():
        response = client.get(f"/{relative}")
        assert response.status_code == 200, relative
        assert file.read_bytes() == response.data, relative
        for coding, suffix in (("br", ".br"), ("gzip", ".gz")):
            sent = client.get(f"/{relative}", headers={"Accept-Encoding": coding})
            if sent.headers.get("Content-Encoding") == coding:
                assert files[relative + suffix].read_bytes() == sent.data, relative + suffix
                compressed += 1
            else:  # under 1 KB: sent as it is, and no sibling
                assert len(response.data) < 1024 and relative + suffix not in files, relative
    assert len(files) == len(feeds) + compressed and compressed >= len(feeds)  # most feeds have both


def test_file_times_are_the_feeds_last_modified(tmp_path):
    export(Catalog.load(SHIPPED_DATA), tmp_path / "site", BASE_URL)
    client = create_app({"BASE_URL": BASE_URL}).test_client()
    for relative in ("calendar.ics", "types/oral.ics", "events/meshsdf.ics"):
        modified = client.get(f"/{relative}").last_modified
        assert (tmp_path / "site" / relative).stat().st_mtime == modified.timestamp()


def test_reexport_replaces_the_earlier_export_whole(tmp_path, synthetic):
    site = tmp_path / "site"
    export(Catalog.load(synthetic), site, BASE_URL)
    export(Catalog.load(SHIPPED_DATA), site, BASE_URL)
    assert {p for p in files_below(site) if p.endswith(".ics")} == expected_paths(Catalog.load(SHIPPED_DATA).programme)
    assert [p.name for p in tmp_path.iterdir()] == ["site"]  # no staging or retired copies left
    assert (site.stat().st_mode & 0o777) == 0o755


def test_refuses_to_replace_a_directory_that_is_not_an_export(tmp_path):
    (tmp_path / "notes.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(ExportError, match="not an earlier export"):
        export(Catalog.load(SHIPPED_DATA), tmp_path, BASE_URL)
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]


def test_cli_exports_with_the_base_url(tmp_path):
    runner = create_app({"BASE_URL": ""}).test_cli_runner()
    result = runner.invoke(args=["export", str(tmp_path / "site"), "--base-url", f"{BASE_URL}/"])
    assert result.exit_code == 0, result.output
    # the whole programme, 4 types, 41 authors, 1 session, 15 events, 1 track, 1 room, 1 day
    assert result.output == f"Wrote 65 feeds below {tmp_path / 'site'} for {BASE_URL}.\n"
    assert f"SOURCE;VALUE=URI:{BASE_URL}/calendar.ics\r\n".encode() in (tmp_path / "site" / "calendar.ics").read_bytes()


def test_cli_takes_the_configured_base_url(tmp_path):
    runner = create_app({"BASE_URL": BASE_URL}).test_cli_runner()
    assert runner.invoke(args=["export", str(tmp_path / "site")]).exit_code == 0


def test_cli_requires_a_base_url(tmp_path):
    result = create_app({"BASE_URL": ""}).test_cli_runner().invoke(args=["export", str(tmp_path / "site")])
    assert result.exit_code == 2
    assert "give the public base URL with --base-url or FEEDSVC_BASE_URL" in result.output
    assert not (tmp_path / "site").exists()


def test_cli_names_a_bad_data_file(tmp_path):
    broken = tmp_path / "programme.json"
    broken.write_text("", encoding="utf-8")
    runner = create_app({"BASE_URL": BASE_URL}).test_cli_runner()
    runner.app.config["DATA"] = str(broken)
    result = runner.invoke(args=["export", str(tmp_path / "site")])
    assert result.exit_code == 1 and f"{broken}: it is empty" in result.output
