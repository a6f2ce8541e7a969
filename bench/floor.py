"""The floor: a bare Flask route returning ready bytes, run under the app's own server.

Whatever the app adds beyond this (parsing the query, finding the feed,
assembling it, validators, caching headers) is its own cost; the benchmark
divides the app's requests/s by this route's for the same bytes. The files to
serve are read once, at start, from the directory in `FEEDSVC_FLOOR_FILES`
(the benchmark copies them from the static export).
"""
from __future__ import annotations

import os
from pathlib import Path

from flask import Flask, Response, request

ICS_TYPE = "text/calendar; charset=utf-8"


def create_app() -> Flask:
    root = Path(os.environ["FEEDSVC_FLOOR_FILES"])
    bodies = {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*.ics")}
    app = Flask(__name__)

    @app.get("/<path:name>")
    def ready_bytes(name: str) -> Response:
        """A revalidation's floor is an empty 304, whatever the tag."""
        if "If-None-Match" in request.headers:
            return Response(status=304)
        return Response(bodies[name], content_type=ICS_TYPE)

    return app
