"""The Procfile's production server, started for real, answering over HTTP."""
from __future__ import annotations

from .conftest import expected_times, parse_both
from .serving import fetch, start_server


def test_procfile_server_serves_orals(server):
    status, headers, body = fetch(f"{server}/calendar.ics?type=oral")
    assert status == 200
    assert headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert parse_both(body) == expected_times({"multiscale-deep-equilibrium-models",
                                               "on-the-modularity-of-hypernetworks",
                                               "training-generative-adversarial-networks-with-limited"})
    assert fetch(f"{server}/calendar.ics?type=oral", headers={"If-None-Match": headers["ETag"]})[0] == 304


def test_procfile_server_single_event_and_head(server):
    status, headers, body = fetch(f"{server}/events/meshsdf.ics")
    assert (status, headers["Content-Disposition"]) == (200, "attachment; filename=meshsdf.ics")
    assert parse_both(body) == expected_times({"meshsdf"})
    status, head_headers, head_body = fetch(f"{server}/events/meshsdf.ics", method="HEAD")
    assert (status, head_body, head_headers["Content-Length"]) == (200, b"", str(len(body)))


def test_procfile_server_bad_input_is_400(server):
    status, _, body = fetch(f"{server}/calendar.ics?types=oral")
    assert status == 400 and b"unknown parameter 'types'" in body


def test_procfile_server_refuses_bad_data_file(tmp_path):
    broken = tmp_path / "programme.json"
    broken.write_text('{"format": 1, "conference": {', encoding="utf-8")
    process, _ = start_server({"FEEDSVC_DATA": str(broken)})
    output, _ = process.communicate(timeout=30)
    assert process.returncode != 0
    assert f"{broken}: not valid JSON (truncated?)" in output
