"""feedsvc: a conference session as subscribable, filterable iCalendar feeds."""
from __future__ import annotations

import logging
import os
from pathlib import Path

import click
from flask import Flask
from flask.cli import FlaskGroup
from werkzeug.middleware.proxy_fix import ProxyFix

from .accesslog import AccessLog
from .feeds import Streaming
from .live import LiveCatalog
from .replay import Replay
from .store import MAX_DATA_BYTES

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SHIPPED_DATA = PROJECT_ROOT / "data" / "programme.json"


def create_app(test_config: dict | None = None) -> Flask:
    """The application. Configuration: defaults, then the environment
    (FEEDSVC_DATA, FEEDSVC_BASE_URL, FEEDSVC_RELOAD_SECONDS, FEEDSVC_TRUSTED_PROXIES,
    FEEDSVC_MAX_DATA_BYTES, FEEDSVC_STREAMED_FROM_BYTES, FEEDSVC_STREAMS, FEEDSVC_STREAM_BYTES_PER_SECOND),
    then `test_config`.

    The data is loaded and rendered here, once: a bad data file stops the
    server from starting, naming the file and the reason. Only the `flask`
    command's own tools (such as the importer that repairs the data) start
    without it.
    """
    app = Flask(__name__)
    app.config.from_mapping(
        DATA=os.environ.get("FEEDSVC_DATA") or str(SHIPPED_DATA),
        BASE_URL=os.environ.get("FEEDSVC_BASE_URL", ""),
        RELOAD_SECONDS=float(os.environ.get("FEEDSVC_RELOAD_SECONDS", "2")),
        TRUSTED_PROXIES=os.environ.get("FEEDSVC_TRUSTED_PROXIES", "0"),
        MAX_DATA_BYTES=int(os.environ.get("FEEDSVC_MAX_DATA_BYTES", MAX_DATA_BYTES)),
        STREAMED_FROM_BYTES=int(os.environ.get("FEEDSVC_STREAMED_FROM_BYTES", Streaming.from_bytes)),
        STREAMS=int(os.environ.get("FEEDSVC_STREAMS", Streaming.at_once)),
        STREAM_BYTES_PER_SECOND=int(os.environ.get("FEEDSVC_STREAM_BYTES_PER_SECOND", Streaming.bytes_per_second)),
    )
    if test_config:
        app.config.from_mapping(test_config)
    from . import api, cli, page, views
    app.register_blueprint(views.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(page.bp)
    cli.register(app)
    app.logger.setLevel(logging.INFO)
    if _serving():
        live = app.extensions["feedsvc"] = LiveCatalog(app.config["DATA"], app.config["RELOAD_SECONDS"],
                                                       app.config["MAX_DATA_BYTES"], streaming(app.config))
        app.wsgi_app = AccessLog(Replay(app.wsgi_app, live))
    trust_proxies(app, app.config["TRUSTED_PROXIES"])  # outermost: the rest sees the client's host
    return app


def streaming(config) -> Streaming:
    """How big uncompressed bodies go out, as configured (`feeds.Streaming`)."""
    for name in ("STREAMED_FROM_BYTES", "STREAMS", "STREAM_BYTES_PER_SECOND"):
        if config[name] < 0:
            raise ValueError(f"FEEDSVC_{name} must be a whole number, 0 or more (0: off), not {config[name]}")
    return Streaming(config["STREAMED_FROM_BYTES"], config["STREAMS"], config["STREAM_BYTES_PER_SECOND"])


def trust_proxies(app: Flask, configured: int | str) -> None:
    """Believe X-Forwarded-For/-Proto/-Host/-Port from exactly `configured` proxies.

    Off (0) by default: without a proxy in front, anyone could send those
    headers and make the service hand out feed and subscribe URLs on their host.
    """
    text = str(configured).strip()
    if not (text.isascii() and text.isdigit()):
        raise ValueError(f"FEEDSVC_TRUSTED_PROXIES must be a whole number of proxies (0 or more), "
                         f"not {configured!r}")
    count = int(text)
    if count:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count, x_host=count, x_port=count)


def _serving() -> bool:
    """False only inside a `flask` command other than `run` (e.g. `flask import-seed`);
    a server with a click command line of its own (granian) is serving."""
    context = click.get_current_context(silent=True)
    if context is None or not isinstance(context.find_root().command, FlaskGroup):
        return True
    return context.info_name == "run"
