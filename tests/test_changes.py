"""Schedule changes reach subscribers: a running service, re-imports of edited
copies of the seed page, and what a subscribed calendar then sees."""
from __future__ import annotations

import shutil
import time
from datetime import datetime, timezone

import icalendar
import pytest

from feedsvc import create_app

from .conftest import BASE_URL, SEED_PAGE, SEEDS, expected_times, parse_both, utc

GAN = "training-generative-adversarial-networks-with-limited"
RANDOM_LABELS = "what-do-neural-networks-learn-when"
OLD_TITLE = "What Do Neural Networks Learn When Trained With Random Labels?"
NEW_TITLE = "What Do Deep Networks Learn When Trained With Random Labels?"
RELOAD = 0.05


class Conference:
    """A seed directory, its data file, and the service running on it."""

    def __init__(self, root):
        self.root = root
        for name in ("programme.json", "talk-links.tsv"):
            shutil.copy(SEEDS / name, root / name)
        self.page = SEED_PAGE.read_text(encoding="utf-8")
        self.links = (SEEDS / "talk-links.tsv").read_text(encoding="utf-8")
        self.data = root / "data.json"
        self.cli = create_app({"BASE_URL": BASE_URL}).test_cli_runner()  # the importer needs no data
        self.live = None  # no service yet
        self.reimport("2026-11-27T00:00:00Z", fresh=True)
        app = create_app({"DATA": str(self.data), "BASE_URL": BASE_URL, "RELOAD_SECONDS": RELOAD})
        self.client = app.test_client()
        self.live = app.extensions["feedsvc"]

    def reimport(self, stamp: str, fresh: bool = False, dry_run: bool = False) -> str:
        (self.root / SEED_PAGE.name).write_text(self.page, encoding="utf-8")
        (self.root / "talk-links.tsv").write_text(self.links, encoding="utf-8")
        args = ["import-seed", str(self.root / "programme.json"), "-o", str(self.data), "--stamp", stamp]
        result = self.cli.invoke(args=args + ["--fresh"] * fresh + ["--dry-run"] * dry_run)
        assert result.exit_code == 0, result.output
        if self.live:
            time.sleep(RELOAD * 2)
            self.live.settled()  # the service has loaded the new file
        return result.output

    def events(self, url: str = "/calendar.ics") -> dict[str, icalendar.Event]:
        response = self.client.get(url)
        assert response.status_code == 200
        parse_both(response.data)
        events = icalendar.Calendar.from_ical(response.data).walk("VEVENT")
        uids = [str(e["UID"]) for e in events]
        assert len(uids) == len(set(uids)), "a duplicated event"
        return {uid.removesuffix("@feedsvc.org"): e for uid, e in zip(uids, events)}

    def etag(self, url: str) -> str:
        return self.client.get(url).headers["ETag"]

    def revalidate(self, url: str, etag: str) -> int:
        return self.client.get(url, headers={"If-None-Match": etag}).status_code


@pytest.fixture
def conference(tmp_path):
    return Conference(tmp_path)


def state(event: icalendar.Event) -> tuple:
    return (int(event["SEQUENCE"]), str(event["STATUS"]), event["LAST-MODIFIED"].to_ical().decode())


def test_schedule_changes_reach_subscribers(conference):
    feeds = ["/calendar.ics", "/types/oral.ics", "/types/spotlight.ics", "/events/meshsdf.ics",
             f"/events/{GAN}.ics", "/events/expandnets.ics", "/types/qa.ics"]
    before = {url: conference.etag(url) for url in feeds}
    untouched = conference.client.get("/events/meshsdf.ics").data

    # 1. The GAN talk moves by 15 minutes.
    conference.page = conference.page.replace("Tue 8 Dec. 6:30 - 6:45 PST", "Tue 8 Dec. 6:45 - 7:00 PST")
    assert conference.reimport("2026-12-01T10:00:00Z") == (
        f"added: none\nchanged: {GAN} (time)\ncancelled: none\nrestored: none\nunchanged: 14\n"
        f"Wrote {conference.data}: 1 session(s), 15 events, 41 authors.\n")
    events = conference.events()
    assert set(events) == {i.removesuffix("@feedsvc.org") for i in expected_times()}
    gan = events[GAN]
    assert (gan.decoded("DTSTART").astimezone(timezone.utc), gan.decoded("DTEND").astimezone(timezone.utc)) == (
        utc("14:45"), utc("15:00"))
    assert state(gan) == (1, "CONFIRMED", "20261201T100000Z")
    assert state(events["meshsdf"]) == (0, "CONFIRMED", "20261127T000000Z")
    assert conference.client.get("/events/meshsdf.ics").data == untouched
    for url in ("/types/spotlight.ics", "/events/meshsdf.ics", "/types/qa.ics", "/events/expandnets.ics"):
        assert conference.revalidate(url, before[url]) == 304, url
    for url in ("/calendar.ics", "/types/oral.ics", f"/events/{GAN}.ics"):
        assert conference.revalidate(url, before[url]) == 200, url

    # 2. A title is corrected: the talk keeps its id (same slot, same authors), its Q&A names the new title.
    conference.page = conference.page.replace(OLD_TITLE, NEW_TITLE)
    conference.links = conference.links.replace(OLD_TITLE, NEW_TITLE)
    assert conference.reimport("2026-12-02T10:00:00Z").startswith(
        f"added: none\nchanged: {RANDOM_LABELS} (title), qa-20201208-0740 (covers)\ncancelled: none\n")
    events = conference.events()
    assert len(events) == 15
    assert str(events[RANDOM_LABELS]["SUMMARY"]) == NEW_TITLE
    assert state(events[RANDOM_LABELS]) == (1, "CONFIRMED", "20261202T100000Z")
    assert NEW_TITLE in str(events["qa-20201208-0740"]["DESCRIPTION"])
    assert int(events["qa-20201208-0740"]["SEQUENCE"]) == 1

    # 3. A spotlight is withdrawn: it stays in the feeds, cancelled.
    etag_spotlights = conference.etag("/types/spotlight.ics")
    withdrawn = conference.page[conference.page.index("Tue 8 Dec. 8:00 - 8:10 PST"):
                                conference.page.index("Tue 8 Dec. 8:10 - 8:20 PST")]
    conference.page = conference.page.replace(withdrawn, "")
    expandnets_links = next(line for line in conference.links.splitlines(True) if line.startswith("ExpandNets"))
    conference.links = conference.links.replace(expandnets_links, "")
    assert conference.reimport("2026-12-03T10:00:00Z").startswith(
        "added: none\nchanged: qa-20201208-0830 (covers)\ncancelled: expandnets\nrestored: none\nunchanged: 13\n")
    events = conference.events()
    assert len(events) == 15
    assert state(events["expandnets"]) == (1, "CANCELLED", "20261203T100000Z")
    assert str(events["expandnets"]["SUMMARY"]).startswith("Cancelled: ExpandNets:")
    assert conference.revalidate("/types/spotlight.ics", etag_spotlights) == 200
    assert "expandnets" in conference.events("/types/spotlight.ics")
    assert conference.client.get("/events/expandnets.ics").status_code == 200
    assert conference.client.get("/calendar.ics?event=expandnets").status_code == 200
    api = {e["id"]: e for e in conference.client.get("/api/events").json["events"]}
    assert (api["expandnets"]["status"], api["expandnets"]["sequence"]) == ("cancelled", 1)
    page = conference.client.get("/").get_data(as_text=True)
    assert page.count('<span class="badge badge-cancelled">Cancelled</span>') == 1
    assert 'class="event type-spotlight cancelled" id="expandnets"' in page

    # 4. It comes back.
    conference.page = conference.page.replace("Tue 8 Dec. 8:10 - 8:20 PST", withdrawn + "Tue 8 Dec. 8:10 - 8:20 PST")
    conference.links += expandnets_links
    assert conference.reimport("2026-12-04T10:00:00Z").startswith(
        "added: none\nchanged: qa-20201208-0830 (covers)\ncancelled: none\nrestored: expandnets\nunchanged: 13\n")
    events = conference.events()
    assert len(events) == 15
    assert state(events["expandnets"]) == (2, "CONFIRMED", "20261204T100000Z")
    assert str(events["expandnets"]["SUMMARY"]).startswith("ExpandNets:")
    assert state(events["qa-20201208-0830"])[0] == 2

    # Re-importing the same page again changes nothing, byte for byte.
    whole = conference.client.get("/calendar.ics")
    assert conference.reimport("2026-12-05T10:00:00Z").startswith("added: none\nchanged: none\n")
    assert conference.revalidate("/calendar.ics", whole.headers["ETag"]) == 304


def test_dry_run_prints_changes_and_writes_nothing(conference):
    written = conference.data.read_bytes()
    conference.page = conference.page.replace("Tue 8 Dec. 6:30 - 6:45 PST", "Tue 8 Dec. 6:45 - 7:00 PST")
    output = conference.reimport("2026-12-01T10:00:00Z", dry_run=True)
    assert output == (f"added: none\nchanged: {GAN} (time)\ncancelled: none\nrestored: none\nunchanged: 14\n"
                      f"Dry run: {conference.data} left as it was.\n")
    assert conference.data.read_bytes() == written


def test_moved_break_keeps_its_id(conference):
    """A break's id comes from its start; moved, it is matched by type and title."""
    conference.page = conference.page.replace("Tue 8 Dec. 8:40 - 9:00 PST", "Tue 8 Dec. 8:45 - 9:00 PST")
    assert conference.reimport("2026-12-01T10:00:00Z").startswith(
        "added: none\nchanged: break-20201208-0840 (time)\ncancelled: none\n")
    events = conference.events("/types/break.ics")
    assert set(events) == {"break-20201208-0645", "break-20201208-0840"}
    assert events["break-20201208-0840"].decoded("DTSTART").astimezone(timezone.utc) == utc("16:45")


def test_new_talk_is_added_with_fresh_stamps(conference):
    conference.page += ("\nTue 8 Dec. 9:00 - 9:10 PST\n\nSpotlight\nA Late Addition\n\nAda Lovelace\n\n"
                        "An abstract.\n")
    conference.links += "A Late Addition\thttps://neurips.cc/virtual/2020/public/poster_late.html\t\t\t\n"
    assert conference.reimport("2026-12-01T10:00:00Z").startswith(
        "added: a-late-addition\nchanged: none\ncancelled: none\nrestored: none\nunchanged: 15\n")
    events = conference.events("/authors/ada-lovelace.ics")
    assert state(events["a-late-addition"]) == (0, "CONFIRMED", "20261201T100000Z")
    assert datetime.fromisoformat("2026-12-01T10:00:00+00:00") == events["a-late-addition"].decoded("CREATED")
