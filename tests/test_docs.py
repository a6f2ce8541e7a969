"""The README's promises: its two commands, CI running the same test command, every route documented."""
from __future__ import annotations

import re

from bench.procfile import procfile_command

from .conftest import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")


def commands() -> list[str]:
    return re.findall(r"```sh\n(.+?)\n```", README)


def test_readme_starts_with_run_and_test_commands():
    run, test = commands()[:2]
    assert README.index(run) < README.index(test) < README.index("## ")
    assert run.startswith("python3 -m venv .venv && .venv/bin/pip install -r requirements.txt && ")
    assert test == ("{ command -v chromium && test -x /usr/sbin/nginx && "  # /usr/sbin: not on a user's PATH
                    "test -e /usr/lib/nginx/modules/ngx_http_brotli_static_module.so && "
                    "python3 -c 'import ensurepip'; } >/dev/null 2>&1 || "
                    "(apt-get update && apt-get install -y chromium nginx libnginx-mod-http-brotli-static "
                    "python3-venv) && "  # only where missing
                    "python3 -m venv .venv && .venv/bin/pip install -r requirements-dev.txt && "
                    ".venv/bin/python -m pytest")


def test_readme_runs_the_procfile_server():
    run = commands()[0]
    server = procfile_command().replace("$PORT", "8000").replace("--host 0.0.0.0", "--host 127.0.0.1")
    assert run.endswith(" && .venv/bin/" + server)


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert commands()[1] in ci


def test_every_route_is_documented(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint != "static":
            documented = re.sub(r"<(\w+:)?(\w+)>", lambda m: "<" + m.group(2).replace("_", "-") + ">", rule.rule)
            documented = documented.replace("<name>", "oral").replace("<author-id>", "j-zico-kolter")
            documented = documented.replace("<event-id>", "meshsdf").replace("<ident>", "<id>")
            documented = documented.replace("<session-id>", "orals-spotlights-track-08-deep-learning")
            assert f"`{documented}" in README, f"{rule.rule} is not in the README"
