"""The floor: a bare Flask route returning ready bytes, run under the app's own server.

Whatever the app adds beyond this (parsing the query, finding the feed,
assembling it, validators, caching headers) is its own cost; the benchmark
divides the app's requests/s by this route's for the same bytes. The files to
serve are read once, at start, from the directory in `FEEDSVC_FLOOR_FILES`
(the benchmark copies them from the static export). With
`FEEDSVC_FLOOR_HEADERS=1` it also sends the headers the app promises, made
once from each file, to tell the cost of sending them from the app's own.
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

from flask import Flask, Response, request
from werkzeug.http import dump_options_header, http_date

from feedsvc.views import CACHE_CONTROL, ICS_TYPE


def promised_headers(name: str, path: Path, body: bytes) -> list[tuple[str, str]]:
    """The app's headers for this file: validators, caching, CORS, and a download for an event."""
    headers = [("ETag", f'"{hashlib.sha256(body).hexdigest()[:32]}"'),
               ("Last-Modified", http_date(path.stat().st_mtime)), ("Cache-Control", CACHE_CONTROL),
               ("Access-Control-Allow-Origin", "*"), ("X-Content-Type-Options", "nosniff")]
    if name.startswith("events/"):
        headers.append(("Content-Disposition", dump_options_header("attachment", {"filename": Path(name).name})))
    return headers


def create_app() -> Flask:
    root = Path(os.environ["FEEDSVC_FLOOR_FILES"])
    files = {p.relative_to(root).as_posix(): p for p in root.rglob("*.ics")}
    bodies = {name: path.read_bytes() for name, path in files.items()}
    with_headers = os.environ.get("FEEDSVC_FLOOR_HEADERS") == "1"
    headers = {name: promised_headers(name, path, bodies[name]) if with_headers else []
               for name, path in files.items()}
    app = Flask(__name__)

    @app.get("/<path:name>")
    def ready_bytes(name: str) -> Response:
        """A revalidation's floor is an empty 304, whatever the tag."""
        if "If-None-Match" in request.headers:
            return Response(status=304, headers=headers[name])
        return Response(bodies[name], headers=headers[name], content_type=ICS_TYPE)

    return app
