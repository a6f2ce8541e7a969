"""The benchmark, in one command: the app against its server's floor, nginx, and data sizes.

    .venv/bin/python -m bench.run            # about three minutes; needs nginx and wrk:
                                             # apt-get install -y nginx wrk

On loopback only, it starts the Procfile's server (with the app), the same
server with a bare Flask route returning the same bytes (the floor,
bench/floor.py) and nginx with deploy/nginx.conf (caching proxy in front of
the app, and the static export), measures each with wrk, and stops them all.
Then it loads 15 / 1,500 / 15,000 events in a process of their own each
(bench/assembly.py) for load time, peak RSS and cold feed assembly.
`--server NAME` runs the HTTP part under another candidate server instead
(to choose the Procfile's). Everything it writes goes to bench/out/.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from feedsvc import SHIPPED_DATA
from feedsvc.export import export
from feedsvc.feeds import Catalog
from feedsvc.store import write_programme

from .procfile import (family, fetch, free_port, loopback_argv, process_stats, procfile_command, status_kb,
                       stop_server, wait_until_up)
from .synthetic import generate

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
BASE_URL = "https://feeds.example.org"
APP_TARGET = "feedsvc:create_app"
FLOOR_TARGET = "bench.floor:create_app"
# Candidate production servers, all with two workers, as the Procfile; the app writes the access log.
SERVERS = {
    "gunicorn-sync": "gunicorn --bind 0.0.0.0:$PORT --workers 2 'feedsvc:create_app()'",
    "gunicorn-gthread": "gunicorn --bind 0.0.0.0:$PORT --workers 2 --worker-class gthread --threads 4 "
                        "'feedsvc:create_app()'",
    "granian": "granian --interface wsgi --host 0.0.0.0 --port $PORT --workers 2 "
               "--factory feedsvc:create_app",
    # granian's default is 256 Python threads per WSGI worker, taking turns at the GIL.
    "granian-1-thread": "granian --interface wsgi --host 0.0.0.0 --port $PORT --workers 2 --blocking-threads 1 "
                        "--factory feedsvc:create_app",
}
# What deploy/nginx.conf names, and what the benchmark puts there.
NGINX_PLACES = ("listen 80;", "listen 8080;", "server 127.0.0.1:8000;",
                "/var/lib/nginx/feedsvc-cache", "/srv/feedsvc/export")


class BenchError(RuntimeError):
    """Something the benchmark needs is missing or misbehaves: said plainly, then exit 1."""


# ---- processes ------------------------------------------------------------------------------

@contextmanager
def running(name: str, argv: list[str], ready_url: str, env: dict[str, str] | None = None):
    """Start `argv` in a process group of its own, wait for `ready_url`, and always stop it."""
    log = OUT / f"{name}.log"
    with log.open("wb") as output:
        process = subprocess.Popen(argv, cwd=ROOT, env={**os.environ, **(env or {})},
                                   stdout=output, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        try:
            wait_until_up(ready_url, process, seconds=120)
        except RuntimeError as error:
            raise BenchError(f"{name}: {error}; see {log}:\n" + log.read_text(errors="replace")[-2000:]) from error
        yield process
    finally:
        stop_server(process)


def server_argv(command: str, port: int, target: str) -> list[str]:
    """A Procfile-style command on a loopback port, serving `target` instead of the app."""
    if APP_TARGET not in command:
        raise BenchError(f"the server command does not name {APP_TARGET}: {command}")
    return loopback_argv(command.replace(APP_TARGET, target), port)


# ---- wrk ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Load:
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    cpu_us: float  # the server's CPU time per request, all its processes and threads


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of `pid` and of all its descendants, threads included."""
    stats = process_stats()
    return sum(stats[p][1] for p in family(pid, stats) if p in stats) / os.sysconf("SC_CLK_TCK")


def peak_rss_mb(pid: int) -> float:
    """The largest peak resident memory (VmHWM) among `pid` and its descendants: a worker's."""
    return max((status_kb(member, "VmHWM") for member in family(pid)), default=0) / 1024


def to_ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1, "s": 1000, "m": 60000}[unit]


NEW_URLS = ", new URLs"  # the label of rows measuring a URL's first request, which are no target
# Each request names another host: for the app a URL it has not answered yet (feedsvc/replay.py
# keys answers by host), so it goes through Flask; the floor, and the bytes, do not change.
FRESH_HOSTS_SCRIPT = """
local count = 0
request = function()
  count = count + 1
  return wrk.format(nil, nil, {["Host"] = "client" .. count .. ".example"})
end
"""


def wrk(url: str, server: int, options: argparse.Namespace, headers: dict[str, str] | None = None,
        expect: int = 200, fresh_hosts: bool = False) -> Load:
    """wrk's requests/s and latency percentiles, and the CPU the `server` process spent on
    them (less disturbed than a rate by other work on the machine); every answer must be `expect`.
    With `fresh_hosts`, every request carries a Host header of its own."""
    status, _, _ = fetch(url, headers)
    if status != expect:
        raise BenchError(f"{url} answered {status}, not {expect}")
    argv = ["wrk", "-t1", f"-c{options.connections}", f"-d{options.seconds}s", "--timeout", "30s",
            "--latency", url]  # a 30 MB feed (15,000 events) can take over wrk's default 2 s
    for name, value in (headers or {}).items():
        argv[1:1] = ["-H", f"{name}: {value}"]
    if fresh_hosts:
        script = OUT / "fresh-hosts.lua"
        script.write_text(FRESH_HOSTS_SCRIPT)
        argv[1:1] = ["-s", str(script)]
    cpu_before = cpu_seconds(server)
    output = subprocess.run(argv, capture_output=True, text=True, check=True,
                            timeout=options.seconds + 30).stdout
    cpu = cpu_seconds(server) - cpu_before
    if "Non-2xx or 3xx responses" in output or "Socket errors" in output:
        raise BenchError(f"wrk saw errors on {url}:\n{output}")
    percentile = dict(re.findall(r"^\s+(50|99)%\s+(\S+)\s*$", output, re.M))  # "1.01s " is padded
    rate = float(re.search(r"^Requests/sec:\s+([\d.]+)$", output, re.M).group(1))
    requests = int(re.search(r"^\s+(\d+) requests in", output, re.M).group(1))
    return Load(rate, to_ms(percentile["50"]), to_ms(percentile["99"]), cpu / requests * 1e6)


# ---- the HTTP part --------------------------------------------------------------------------

@dataclass(frozen=True)
class Target:
    """One thing to load: the app's URL, and the floor's URL for the same bytes."""

    label: str
    app_path: str
    floor_path: str
    revalidate: bool = False
    fresh: bool = False  # a URL the app has not answered before: Flask's cost, not a target


def targets(programme) -> list[Target]:
    event = f"events/{programme.events[0].id}.ics"
    return [Target("(a) whole feed", "/calendar.ics", "/calendar.ics"),
            Target("(b) filtered feed", "/calendar.ics?type=spotlight", "/types/spotlight.ics"),
            Target("(c) single event", f"/{event}", f"/{event}"),
            Target("(d) 304 revalidation", "/calendar.ics", "/calendar.ics", revalidate=True),
            Target(f"(a) whole feed{NEW_URLS}", "/calendar.ics", "/calendar.ics", fresh=True)]


BROTLI_STATIC = "/usr/lib/nginx/modules/ngx_http_brotli_static_module.so"  # Debian's module


def nginx_config(prefix: Path, app_port: int, proxy_port: int, static_port: int, export_dir: Path,
                 worker_connections: int = 1024, open_files: int | None = None) -> Path:
    """deploy/nginx.conf with loopback ports and paths below `prefix` (a cache of its own: a cached
    feed of another size must not answer), inside a minimal main config. The main config's
    `worker_connections` and `worker_rlimit_nofile` (`open_files`, if given) are raised for
    thousands of idle connections (tests/test_nginx.py): deploy/nginx.conf cannot set them."""
    for folder in ("cache", "temp"):
        (prefix / folder).mkdir(parents=True, exist_ok=True)
    site = (ROOT / "deploy" / "nginx.conf").read_text()
    swaps = dict(zip(NGINX_PLACES, (f"listen 127.0.0.1:{proxy_port};", f"listen 127.0.0.1:{static_port};",
                                    f"server 127.0.0.1:{app_port};", str(prefix / "cache"), str(export_dir))))
    for place, value in swaps.items():
        if place not in site:
            raise BenchError(f"deploy/nginx.conf no longer has {place!r}; update NGINX_PLACES")
        site = site.replace(place, value)
    (prefix / "feedsvc.conf").write_text(site)
    user = "user root root;" if os.geteuid() == 0 else ""  # workers must read bench/out
    temp = prefix / "temp"
    (prefix / "nginx.conf").write_text(f"""
{user}
load_module {BROTLI_STATIC};
worker_processes 2;
daemon off;
pid {prefix / 'nginx.pid'};
error_log {prefix / 'error.log'} warn;
{f"worker_rlimit_nofile {open_files};" if open_files else ""}
events {{ worker_connections {worker_connections}; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    client_body_temp_path {temp / 'body'};
    proxy_temp_path {temp / 'proxy'};
    fastcgi_temp_path {temp / 'fastcgi'};
    uwsgi_temp_path {temp / 'uwsgi'};
    scgi_temp_path {temp / 'scgi'};
    include {prefix / 'feedsvc.conf'};
}}
""")
    return prefix / "nginx.conf"


def check_same_bytes(app: str, floor: str, proxy: str, static: str, target: Target) -> None:
    """Before timing anything: all four send the same body, with the headers promised."""
    bodies = {name: fetch(base + path) for name, base, path in (
        ("app", app, target.app_path), ("floor", floor, target.floor_path),
        ("proxy", proxy, target.app_path), ("static", static, target.floor_path))}
    reference = bodies["app"][2]
    for name, (status, headers, body) in bodies.items():
        if status != 200 or body != reference:
            raise BenchError(f"{name} sent other bytes for {target.label} (status {status})")
        if name != "floor" and headers["Content-Type"] != "text/calendar; charset=utf-8":
            raise BenchError(f"{name} sent Content-Type {headers['Content-Type']!r}")
    if target.app_path.startswith("/events/"):
        if bodies["static"][1].get("Content-Disposition") != bodies["app"][1]["Content-Disposition"]:
            raise BenchError("the static export's event has another Content-Disposition than the app's")
    if fetch(proxy + target.app_path)[1].get("X-Cache-Status") != "HIT":
        raise BenchError(f"nginx did not cache {target.app_path}; see {proxy}")


def measure_http(server: str, events: int, data: Path, command: str, options) -> tuple[list, tuple]:
    """(label, measured, its reference) for each row of the HTTP table at one size, and the
    peak RSS of the largest worker of the app (its data, the bodies it keeps, the responses
    in flight) and of the floor (the same responses in flight).
    Logs, nginx's prefix and its cache are `server`'s and this size's alone: a feed
    cached in an earlier run would come back stale."""
    tag = f"{server}-{events}"
    catalog = Catalog.load(data)
    export_dir = OUT / f"export-{events}"
    export(catalog, export_dir, BASE_URL)
    floor_files = OUT / f"floor-{events}"
    rows = targets(catalog.programme)
    for target in rows:
        source = export_dir / target.floor_path.lstrip("/")
        (floor_files / target.floor_path.lstrip("/")).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, floor_files / target.floor_path.lstrip("/"))
    ports = {name: free_port() for name in ("app", "floor", "proxy", "static")}
    env = {"FEEDSVC_DATA": str(data), "FEEDSVC_BASE_URL": BASE_URL,
           "FEEDSVC_FLOOR_FILES": str(floor_files), "FEEDSVC_FLOOR_HEADERS": "1" if options.floor_headers else "",
           "PYTHONPATH": str(ROOT), "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    base = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    prefix = OUT / f"{tag}-nginx"
    config = nginx_config(prefix, ports["app"], ports["proxy"], ports["static"], export_dir)
    with ExitStack() as stack:
        app = stack.enter_context(running(f"{tag}-app", server_argv(command, ports["app"], APP_TARGET),
                                          f"{base['app']}/healthz", env))
        floor = stack.enter_context(running(f"{tag}-floor", server_argv(command, ports["floor"], FLOOR_TARGET),
                                            f"{base['floor']}/calendar.ics", env))
        nginx = stack.enter_context(running(f"{tag}-nginx", ["nginx", "-e", str(prefix / "error.log"),
                                                                "-p", str(prefix), "-c", str(config)],
                                            f"{base['static']}/calendar.ics"))
        for target in rows:
            if not (target.revalidate or target.fresh):
                check_same_bytes(base["app"], base["floor"], base["proxy"], base["static"], target)
        results = []
        for target in rows:
            headers = None
            if target.revalidate:
                headers = {"If-None-Match": fetch(base["app"] + target.app_path)[1]["ETag"]}
            results.append((target.label, *paired((base["app"] + target.app_path, app.pid),
                                                  (base["floor"] + target.floor_path, floor.pid),
                                                  options, headers, 304 if target.revalidate else 200,
                                                  target.fresh)))
        for target in (rows[0], rows[2]):
            results.append((f"nginx proxy {target.label[4:]}",
                            *paired((base["proxy"] + target.app_path, nginx.pid),
                                    (base["static"] + target.floor_path, nginx.pid), options)))
        return results, (peak_rss_mb(app.pid), peak_rss_mb(floor.pid))


def paired(measured: tuple[str, int], reference: tuple[str, int], options, headers=None,
           expect: int = 200, fresh_hosts: bool = False) -> tuple[Load, Load]:
    """(url, server pid) each, loaded in `--rounds` alternating runs. The best run counts, and
    the least CPU per request: other work on the machine only ever makes either worse."""
    runs = [(wrk(*measured, options, headers, expect, fresh_hosts), wrk(*reference, options, headers, expect, fresh_hosts))
            for _ in range(options.rounds)]
    return best([m for m, _ in runs]), best([r for _, r in runs])


def best(loads: list[Load]) -> Load:
    fastest = max(loads, key=lambda load: load.requests_per_s)
    return replace(fastest, cpu_us=min(load.cpu_us for load in loads))


# ---- data, sizes and the report -------------------------------------------------------------

def data_file(events: int) -> Path:
    """The shipped session for 15 events, else a synthetic programme written to bench/out."""
    if events == 15:
        return SHIPPED_DATA
    path = OUT / f"programme-{events}.json"
    write_programme(generate(events), path)
    return path


def measure_assembly(data: Path) -> dict:
    result = subprocess.run([sys.executable, "-m", "bench.assembly", str(data)], cwd=ROOT,
                            capture_output=True, text=True, timeout=300)
    if result.returncode:
        raise BenchError(f"bench.assembly {data} failed:\n{result.stderr}")
    return json.loads(result.stdout)


def http_table(events: int, command: str, rows, options) -> str:
    lines = [f"HTTP, {events} events: {command}",
             f"wrk -t1 -c{options.connections} -d{options.seconds}s, best of {options.rounds} alternating runs, "
             "loopback; floor = bare Flask route, same server, same bytes"
             f"{' and the same headers' if options.floor_headers else ''}; nginx proxy vs nginx static export;",
             "CPU = the server's CPU time per request (all its processes), less disturbed by other load;",
             "new URLs = each request with a Host of its own: the app has not answered it yet (no target)",
             f"{'':28}{'req/s':>8}{'p50 ms':>8}{'p99 ms':>8}{'CPU us':>8}"
             f"{'floor req/s':>13}{'CPU us':>8}{'ratio':>8}{'CPU ratio':>11}"]
    for label, measured, reference in rows:
        lines.append(f"{label:28}{measured.requests_per_s:8.0f}{measured.p50_ms:8.2f}{measured.p99_ms:8.2f}"
                     f"{measured.cpu_us:8.0f}{reference.requests_per_s:13.0f}{reference.cpu_us:8.0f}"
                     f"{measured.requests_per_s / reference.requests_per_s:7.2f}x"
                     f"{reference.cpu_us / measured.cpu_us:10.2f}x")
    return "\n".join(lines)


def assembly_table(results: dict[int, dict]) -> str:
    kinds = list(next(iter(results.values()))["assembly_ms"])
    lines = ["Load and cold assembly (bench/assembly.py, one process per size; assembly: ms, median,",
             "cache bypassed: parse, select, head, body, ETag)",
             f"{'events':>7}{'load+render s':>15}{'us/event':>10}{'peak RSS MB':>13}"
             + "".join(f"{k:>14}" for k in kinds)]
    for events, r in results.items():
        lines.append(f"{events:7d}{r['load_s']:15.2f}{r['load_s'] / events * 1e6:10.0f}"
                     f"{r['peak_rss_mb']:13.0f}" + "".join(f"{r['assembly_ms'][k]:14.3f}" for k in kinds))
    return "\n".join(lines)


def verdict(name: str, value: float, limit: float, unit: str, at_least: bool = False) -> str:
    holds = value >= limit if at_least else value <= limit
    word = "holds" if holds else "MISSES"
    return f"  {word:7}{name}: {value:.2f}{unit} ({'≥' if at_least else '≤'} {limit:g}{unit})"


def targets_report(http: dict[int, list], assembly: dict[int, dict]) -> str:
    """Issue 4's targets, against what this run measured."""
    lines = ["Targets (issue 4)"]
    for events, rows in http.items():
        for label, measured, reference in rows:
            if label.endswith(NEW_URLS):
                continue
            name = f"{label} at {events} events, vs {'nginx static' if 'nginx' in label else 'the floor'}"
            lines.append(verdict(name, measured.requests_per_s / reference.requests_per_s,
                                 0.8 if "nginx" in label else 0.9, "x", at_least=True))
    if 1500 in assembly:
        filtered = {k: v for k, v in assembly[1500]["assembly_ms"].items() if k != "whole"}
        slowest = max(filtered, key=filtered.get)
        lines.append(verdict(f"slowest filtered feed at 1500 events ({slowest})", filtered[slowest], 1, " ms"))
    if 15000 in assembly:
        lines.append(verdict("load+render of 15000 events", assembly[15000]["load_s"], 10, " s"))
        lines.append(verdict("peak RSS at 15000 events", assembly[15000]["peak_rss_mb"], 250, " MB"))
    if {1500, 15000} <= set(assembly):
        small, large = assembly[1500], assembly[15000]
        for name, cost in (("load+render", lambda r: r["load_s"]),
                           ("whole-feed assembly", lambda r: r["assembly_ms"]["whole"])):
            growth = (cost(large) / 15000) / (cost(small) / 1500)
            lines.append(verdict(f"{name} per event, 15000 vs 1500 events (1 = linear)", growth, 1.5, "x"))
        lines.append(body_copy_report(small, large))
    return "\n".join(lines)


def body_copy_report(small: dict, large: dict) -> str:
    """How much of the whole feed's growth is the one copy of its body (memory, not the code)."""
    def per_event(result, ms):
        return ms / result["events"]

    copy = per_event(large, large["body_copy_ms"]) / per_event(small, small["body_copy_ms"])
    rest = (per_event(large, large["assembly_ms"]["whole"] - large["body_copy_ms"])
            / per_event(small, small["assembly_ms"]["whole"] - small["body_copy_ms"]))
    return (f"         of it, per event: the body's one copy {copy:.2f}x ({small['body_copy_ms']:.3f} -> "
            f"{large['body_copy_ms']:.3f} ms), everything else {rest:.2f}x")


def machine() -> str:
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), "unknown CPU")
    return f"{os.cpu_count()} CPUs ({model}), {os.uname().sysname} {os.uname().release}, Python {sys.version.split()[0]}"


def check_tools(command: str) -> None:
    missing = [tool for tool in ("wrk", "nginx") if not shutil.which(tool)]
    if missing:
        raise BenchError(f"{' and '.join(missing)} not found: install them with "
                         "`apt-get install -y nginx wrk` (Debian), then run again")
    server = command.split()[0]
    if not (Path(sys.executable).parent / server).exists() and not shutil.which(server):
        raise BenchError(f"{server} is not installed next to {sys.executable}: "
                         ".venv/bin/pip install -r requirements-bench.txt")


def parse_options(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--server", action="append", choices=sorted(SERVERS),
                        help="measure the HTTP part under this server instead of the Procfile's (repeatable)")
    parser.add_argument("--seconds", type=int, default=3, help="per wrk run (default 3)")
    parser.add_argument("--rounds", type=int, default=2, help="alternating runs per pair; the best counts (default 2)")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections (default 16)")
    parser.add_argument("--floor-headers", action="store_true",
                        help="the floor sends the app's headers too (ETag, Last-Modified, Cache-Control, CORS, ...)")
    parser.add_argument("--http-sizes", default="15,1500", help="events, for the HTTP part")
    parser.add_argument("--sizes", default="15,1500,15000", help="events, for load and assembly")
    return parser.parse_args(argv)


def stop_on_term(signum, frame):
    """A TERM unwinds like Ctrl-C, so every server this benchmark started is stopped."""
    raise SystemExit(128 + signum)


def event_counts(text: str) -> list[int]:
    return [int(n) for n in text.split(",") if n.strip()]


def main(argv: list[str] | None = None) -> int:
    options = parse_options(argv)
    signal.signal(signal.SIGTERM, stop_on_term)
    commands = {name: SERVERS[name] for name in options.server or []} or {"Procfile": procfile_command()}
    http_sizes, sizes = event_counts(options.http_sizes), event_counts(options.sizes)
    try:
        for command in commands.values():
            check_tools(command)
        shutil.rmtree(OUT, ignore_errors=True)
        OUT.mkdir(parents=True)
        print(shlex.join(["python", "-m", "bench.run", *(sys.argv[1:] if argv is None else argv)]))
        print(f"{machine()}\n", flush=True)
        files = {events: data_file(events) for events in sorted(set(http_sizes) | set(sizes))}
        http = {}
        for name, command in commands.items():
            for events in http_sizes:
                http[events], (app_rss, floor_rss) = measure_http(name, events, files[events], command, options)
                print(http_table(events, command, http[events], options), end="\n", flush=True)
                print(f"peak RSS of the largest worker: app {app_rss:.0f} MB, floor {floor_rss:.0f} MB\n",
                      flush=True)
        assembly = {events: measure_assembly(files[events]) for events in sizes}
        if assembly:
            print(assembly_table(assembly), end="\n\n")
        if len(commands) == 1 and not options.floor_headers:  # the targets are against the bare floor
            print(targets_report(http, assembly))
    except BenchError as error:
        print(f"bench: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
