"""feedsvc: a conference session as subscribable, filterable iCalendar feeds."""
from __future__ import annotations

import os
from pathlib import Path

import click
from flask import Flask
from flask.cli import FlaskGroup

from .feeds import Catalog

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SHIPPED_DATA = PROJECT_ROOT / "data" / "programme.json"


def create_app(test_config: dict | None = None) -> Flask:
    """The application. Configuration: defaults, then the environment
    (FEEDSVC_DATA, FEEDSVC_BASE_URL), then `test_config`.

    The data is loaded and rendered here, once: a bad data file stops the
    server from starting, naming the file and the reason. Only the `flask`
    command's own tools (such as the importer that repairs the data) start
    without it.
    """
    app = Flask(__name__)
    app.config.from_mapping(
        DATA=os.environ.get("FEEDSVC_DATA") or str(SHIPPED_DATA),
        BASE_URL=os.environ.get("FEEDSVC_BASE_URL", ""),
    )
    if test_config:
        app.config.from_mapping(test_config)

    from . import cli, views
    app.register_blueprint(views.bp)
    cli.register(app)
    if _serving():
        app.extensions["feedsvc"] = Catalog.load(app.config["DATA"])
    return app


def _serving() -> bool:
    """False only inside a `flask` command other than `run` (e.g. `flask import-seed`);
    a server with a click command line of its own (granian) is serving."""
    context = click.get_current_context(silent=True)
    if context is None or not isinstance(context.find_root().command, FlaskGroup):
        return True
    return context.info_name == "run"
