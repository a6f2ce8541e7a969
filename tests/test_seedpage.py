"""The seed manifest's reader on the real seed page, on broken copies of it, and through `import`."""
from __future__ import annotations

import json
import shutil
from datetime import datetime, timezone
from pathlib import Path

import pytest

from feedsvc import SHIPPED_DATA
from feedsvc.filters import FILTERS
from feedsvc.model import Link, Programme
from feedsvc.sources import ImportOptions, parse_source
from feedsvc.sources.seedpage import LinksError, SeedFormatError

from .conftest import EXPECTED_EVENTS, SEED_PAGE, SEEDS, utc

STAMP = datetime(2026, 11, 27, tzinfo=timezone.utc)
SESSION_URL = "https://neurips.cc/virtual/2020/public/session_oral_21071.html"


def import_programme(manifest: Path, stamp: datetime) -> Programme:
    return parse_source(manifest.read_bytes(), str(manifest), ImportOptions(stamp))


@pytest.fixture(scope="module")
def programme():
    return import_programme(SEEDS / "programme.json", STAMP)


def seed_copy(tmp_path: Path, edit=lambda text: text, links=lambda text: text) -> Path:
    """A manifest in `tmp_path` over an edited copy of the seed page and links table."""
    shutil.copy(SEEDS / "programme.json", tmp_path / "programme.json")
    page = SEED_PAGE.read_text(encoding="utf-8")
    (tmp_path / SEED_PAGE.name).write_text(edit(page), encoding="utf-8")
    table = (SEEDS / "talk-links.tsv").read_text(encoding="utf-8")
    (tmp_path / "talk-links.tsv").write_text(links(table), encoding="utf-8")
    return tmp_path / "programme.json"


def test_import_programme_events_in_page_order(programme):
    events = programme.sessions[0].events
    assert [(e.id, e.type, e.title) for e in events] == [(i, t, title) for i, t, _, _, title in EXPECTED_EVENTS]
    assert [(e.start.astimezone(timezone.utc), e.end.astimezone(timezone.utc)) for e in events] == [
        (utc(s), utc(e)) for _, _, s, e, _ in EXPECTED_EVENTS]


def test_import_programme_counts_types(programme):
    types = [e.type for e in programme.events]
    assert {t: types.count(t) for t in FILTERS["type"].labels(programme)} == {"oral": 3, "break": 2, "spotlight": 8, "qa": 2}
    assert FILTERS["type"].labels(programme) == {"oral": "Oral", "break": "Break", "spotlight": "Spotlight", "qa": "Q&A"}


def test_import_programme_times_are_pacific(programme):
    first, last = programme.events[0], programme.events[-1]
    assert first.start.isoformat() == "2020-12-08T06:00:00-08:00"
    assert first.start.tzinfo.zone == "America/Los_Angeles"
    assert last.end.isoformat() == "2020-12-08T09:00:00-08:00"


def test_import_programme_session_metadata(programme):
    (session,) = programme.sessions
    assert session.title == "Orals & Spotlights Track 08: Deep Learning"
    assert session.chairs == ("Graham Taylor", "Mario Lucic")
    assert session.area == "Deep Learning"
    assert session.url == SESSION_URL
    assert programme.conference.name == "NeurIPS 2020"
    assert programme.conference.timezone == "America/Los_Angeles"


def test_import_programme_authors_ordered_with_ids(programme):
    events = programme.events_by_id
    assert [(a.id, a.name) for a in events["multiscale-deep-equilibrium-models"].authors] == [
        ("shaojie-bai", "Shaojie Bai"), ("vladlen-koltun", "Vladlen Koltun"), ("j-zico-kolter", "J. Zico Kolter")]
    assert [a.name for a in events["gait-prop"].authors] == [
        "Nasir Ahmad", "Marcel A. J. van Gerven", "Luca Ambrogioni"]
    assert len(events["training-generative-adversarial-networks-with-limited"].authors) == 6
    assert len(programme.authors) == 41
    assert programme.authors_by_id["marcel-a-j-van-gerven"].name == "Marcel A. J. van Gerven"


def test_import_programme_abstracts_kept_exactly(programme):
    events = programme.events_by_id
    meshsdf = events["meshsdf"].abstract.split("\n\n")
    assert len(meshsdf) == 4
    assert meshsdf[0].startswith("Geometric Deep Learning has recently made striking progress")
    assert meshsdf[3].endswith("gives us an edge over state-of-the-art algorithms.")
    assert "$h_I:\\mathcal{X}\\to \\mathbb{R}$" in events["on-the-modularity-of-hypernetworks"].abstract
    assert "plausible \u2018targets\u2019 for every unit" in events["gait-prop"].abstract
    assert events["what-do-neural-networks-learn-when"].abstract.endswith("on CIFAR10 and ImageNet.")
    assert events["break-20201208-0645"].abstract == ""
    assert events["qa-20201208-0740"].title == "Joint Q&A for Preceeding Spotlights"


def test_import_programme_links_merged_by_title(programme):
    events = programme.events_by_id
    talk = "https://neurips.cc/virtual/2020/public/poster_3812f9a59b634c2a9c574610eaba5bed.html"
    assert events["multiscale-deep-equilibrium-models"].url == talk
    assert events["multiscale-deep-equilibrium-models"].links == (
        Link("Talk", talk),
        Link("Paper", "https://proceedings.neurips.cc/paper/2020/hash/3812f9a59b634c2a9c574610eaba5bed-Abstract.html"),
        Link("Preprint", "https://arxiv.org/abs/2006.08656"), Link("Code", "https://github.com/locuslab/mdeq"))
    assert [link.label for link in events["h-mem"].links] == ["Talk", "Paper", "Code"]
    assert [link.label for link in events["what-do-neural-networks-learn-when"].links] == ["Talk", "Paper", "Preprint"]
    for ident in ("break-20201208-0645", "qa-20201208-0740", "qa-20201208-0830", "break-20201208-0840"):
        assert events[ident].url == SESSION_URL
        assert events[ident].links == (Link("Session", SESSION_URL),)


def test_import_programme_places_each_event_in_its_session(programme):
    """A page names no rooms or tracks: the session is the room, its area the track."""
    assert {(e.room, e.track, e.day.isoformat(), e.language, e.source_key) for e in programme.events} == {
        ("Orals & Spotlights Track 08: Deep Learning", "Deep Learning", "2020-12-08", "", "")}


def test_import_programme_qa_covers_preceding_spotlights(programme):
    events = programme.events_by_id
    assert events["qa-20201208-0740"].covers == (
        "meshsdf", "gait-prop", "monotone-operator-equilibrium-networks", "what-do-neural-networks-learn-when")
    assert events["qa-20201208-0830"].covers == (
        "h-mem", "expandnets", "the-phase-diagram-of-approximation-rates", "optimal-lottery-tickets-via-subset-sum")


def test_import_programme_ids_do_not_depend_on_position(tmp_path):
    """Swapping two talks' slots keeps each talk's id."""
    def swap(text):
        return (text.replace("Tue 8 Dec. 6:00 - 6:15 PST", "SLOT-A")
                .replace("Tue 8 Dec. 6:15 - 6:30 PST", "Tue 8 Dec. 6:00 - 6:15 PST")
                .replace("SLOT-A", "Tue 8 Dec. 6:15 - 6:30 PST"))
    swapped = import_programme(seed_copy(tmp_path, swap), STAMP)
    events = swapped.events_by_id
    assert events["multiscale-deep-equilibrium-models"].start.strftime("%H:%M") == "06:15"
    assert events["on-the-modularity-of-hypernetworks"].start.strftime("%H:%M") == "06:00"


def repository_copy(tmp_path: Path) -> Path:
    """seeds/ and data/ as in the repository, so that the recorded source reads ../seeds/programme.json."""
    shutil.copytree(SEEDS, tmp_path / "seeds")
    (tmp_path / "data").mkdir()
    return tmp_path / "data" / "programme.json"


def test_committed_data_is_the_importers_output(app, tmp_path):
    """The shipped data file is exactly what `import` makes of seeds/, its source recorded."""
    output = repository_copy(tmp_path)
    stamp = json.loads(SHIPPED_DATA.read_text())["sessions"][0]["events"][0]["created"]
    result = app.test_cli_runner().invoke(args=[
        "import", str(tmp_path / "seeds" / "programme.json"), "--output", str(output), "--stamp", stamp])
    assert result.exit_code == 0, result.output
    assert result.output == f"Wrote {output}: 1 session(s), 15 events, 41 authors.\n"
    assert output.read_text(encoding="utf-8") == SHIPPED_DATA.read_text(encoding="utf-8")
    assert json.loads(output.read_text())["sources"] == [
        {"location": "../seeds/programme.json", "timezone": "", "etag": "", "last_modified": ""}]


def test_cli_reimport_unchanged_changes_nothing(app, tmp_path):
    """Re-importing the same page over the data file writes nothing: every byte and the file stay."""
    output = repository_copy(tmp_path)
    shutil.copy(SHIPPED_DATA, output)
    before = output.stat()
    result = app.test_cli_runner().invoke(args=["import-seed", str(tmp_path / "seeds" / "programme.json"),
                                                "-o", str(output), "--stamp", "2030-01-01T00:00:00Z"])
    assert result.exit_code == 0, result.output
    assert result.output == ("added: none\nchanged: none\ncancelled: none\nrestored: none\nunchanged: 15\n"
                             f"Nothing changed: {output} left as it was.\n")
    assert output.read_bytes() == SHIPPED_DATA.read_bytes()
    assert (output.stat().st_ino, output.stat().st_mtime_ns) == (before.st_ino, before.st_mtime_ns)


BROKEN_PAGES = [
    ("no time lines", lambda t: t.replace(" PST", "").replace("Tue 8 Dec. ", "At "), 1, "no time lines"),
    ("block without a title", lambda t: t.replace("Break\nBreak\n\nTue 8 Dec. 7:00", "Break\n\nTue 8 Dec. 7:00"),
     41, "has no title"),
    ("time that does not parse", lambda t: t.replace("6:15 - 6:30 PST", "6:15 to 6:30 PST"), 23,
     "a time line must read like"),
    ("minute out of range", lambda t: t.replace("6:15 - 6:30 PST", "6:15 - 6:75 PST"), 23, "no such time"),
    ("end before start", lambda t: t.replace("6:30 - 6:45 PST", "6:30 - 6:20 PST"), 32, "ends before it starts"),
    ("weekday that does not match", lambda t: t.replace("Tue 8 Dec. 6:45", "Wed 8 Dec. 6:45"), 41,
     "is a Tue, not a Wed"),
    ("zone that does not match the date", lambda t: t.replace("6:00 - 6:15 PST", "6:00 - 6:15 PDT"), 14,
     "is PST on that date, not PDT"),
    ("no session header", lambda t: t.replace("Session\n", ""), 1, "no header"),
]


@pytest.mark.parametrize("edit, line, reason", [b[1:] for b in BROKEN_PAGES], ids=[b[0] for b in BROKEN_PAGES])
def test_import_programme_broken_page_names_line(tmp_path, edit, line, reason):
    with pytest.raises(SeedFormatError) as caught:
        import_programme(seed_copy(tmp_path, edit), STAMP)
    assert caught.value.line == line
    assert reason in caught.value.reason
    assert str(caught.value).startswith(f"{tmp_path / SEED_PAGE.name}:{line}: ")


def test_import_programme_links_row_without_talk_fails(tmp_path):
    extra = "A Talk Not On The Page\thttps://example.org/t\t\t\t\n"
    with pytest.raises(LinksError, match=r"talk-links.tsv:13: no talk titled 'A Talk Not On The Page'"):
        import_programme(seed_copy(tmp_path, links=lambda t: t + extra), STAMP)


def test_import_programme_talk_without_links_fails(tmp_path):
    def drop_hmem(table):
        return "".join(line for line in table.splitlines(True) if not line.startswith("H-Mem"))
    with pytest.raises(LinksError, match=r":\d+: the talk 'H-Mem: Harnessing .*' has no row in"):
        import_programme(seed_copy(tmp_path, links=drop_hmem), STAMP)


def test_cli_import_seed_broken_page_writes_nothing(app, tmp_path):
    manifest = seed_copy(tmp_path, lambda t: t.replace("Tue 8 Dec. 6:45", "Wed 8 Dec. 6:45"))
    output = tmp_path / "out.json"
    output.write_text("previous contents", encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["import-seed", str(manifest), "-o", str(output), "--fresh"])
    assert result.exit_code == 1
    assert f"{SEED_PAGE.name}:41: 08 Dec 2020 is a Tue, not a Wed" in result.output
    assert output.read_text(encoding="utf-8") == "previous contents"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [SEED_PAGE.name, "out.json", "programme.json", "talk-links.tsv"])
