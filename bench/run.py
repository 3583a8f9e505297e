"""`make bench`: app-api under wrk, against a seeded scratch PostgreSQL database.

What it does, in order (about 5.5 minutes on 2 cores, plus about 20 s the first time for
`npm ci`; the scratch database is always dropped):

1. Creates a database on ``BENCH_DATABASE_URL`` / ``TEST_DATABASE_URL`` /
   postgresql://postgres@127.0.0.1:5432, migrates it from prisma/migrations and seeds 1,000
   users, 100,000 pages, 1,000 tags and 3 tags per page (bench/seed.py).
2. Installs the Node + Prisma reference when its lock or the Prisma schema changed
   (bench/prisma_node: ``npm ci`` from the npm registry, then ``prisma generate`` into
   bench/prisma_node/generated; both git-ignored). Without Node ≥ 20.6 or npm, or when the
   install fails, it says so and measures the rest.
3. Starts, each with its own pool of the service's size (10):
   - app-api as in production: ``uvicorn app.main:app --workers 1 --no-access-log`` with
     ``ENVIRONMENT=staging``, a random ``SECRET_KEY``, ``LOG_JSON=true`` (the JSON access log of
     our middleware is on, written to a file), ``METRICS_ENABLED=true`` and a random
     ``METRICS_TOKEN`` (outside local, metrics are recorded only when /metrics is served, and it
     is served only with a token);
   - the same app-api with ``METRICS_ENABLED=false`` (the cost of the Prometheus metrics); after
     the scenarios both are asked for /metrics (200 with the requests counted / 404), and the
     metrics targets fail unless the first answered 200;
   - the raw reference (bench/reference.py: Starlette + asyncpg + orjson), same uvicorn flags;
   - the Node + Prisma reference (bench/prisma_node/server.ts: ``node:http`` + the Prisma 7
     client over ``@prisma/adapter-pg``), run as ``node --import tsx server.ts``.
4. Walks ``GET /api/v1/pages/?limit=100`` through real cursors to depths 50,000 and 99,900
   (the last full page of 100,000 rows).
5. Runs each scenario with wrk from a second process on loopback: 2 threads, 32 connections
   (3x the pool of 10: requests queue for a connection, as under real load), 3 s warm-up then
   15 s measured, 5 s request timeout. The scenarios of one group (an operation on every
   server, and what a target compares with it) are measured in 3 interleaved rounds of 5 s,
   every other one in reverse order (A B C, C B A, A B C), so drifts in what else the shared
   machine is doing hit all of them alike (see measure_group; shorter rounds weigh the latency
   burst of wrk opening its 32 connections too much in p99). A throughput target is the median
   over the rounds of the two scenarios' ratio in that round: one disturbed round cannot pass
   or fail it.
   ``--duration`` (or ``BENCH_DURATION``), ``--rounds``, ``--warmup`` and ``--connections``
   change that.
6. Prints a table per scenario (with the server's CPU time per request, which depends less on
   what else the machine is doing than req/s) and one per operation (app-api, raw reference,
   Node + Prisma side by side), checks the targets (PASS/FAIL) and writes bench/results.json.
   Non-2xx responses (a route that does not exist yet answers 404) are counted and reported:
   the targets that involve them fail, and the run still finishes.

Exit code 0 when the measurement ran (even if a target fails), 2 on a harness error, 130 when
interrupted.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import platform
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import httpx

from app.core.config import Settings
from app.core.security import create_token
from bench import seed
from tools.migrate import database_name, drop_database, to_conninfo

ROOT = Path(__file__).resolve().parent.parent
WRK_DIR = Path(__file__).resolve().parent / "wrk"
RESULTS = Path(__file__).resolve().parent / "results.json"
PRISMA_NODE = Path(__file__).resolve().parent / "prisma_node"
PRISMA_SCHEMA = ROOT / "prisma" / "schema.prisma"
NODE_MIN = (20, 6)  # `node --import` (tsx's loader)

THREADS = 2
CONNECTIONS = 32
WARMUP_S = 3
DURATION_S = 15
ROUNDS = 3
TIMEOUT = "5s"
USERS = 1_000
PAGES = 100_000
TAGS = 1_000
TAGS_PER_PAGE = 3
SCOPES = ["pages:read", "pages:write", "users:read", "tags:read", "tags:write"]
INCLUDE = "?include=author,tagItems"
WALK_LIMIT = 100
DEPTHS = {"list_depth_50k": 50_000, "list_depth_100k": 100_000}
API = "/api/v1/pages/"
TAGS_API = "/api/v1/tags/"
UVICORN = ["-m", "uvicorn", "--workers", "1", "--host", "127.0.0.1", "--no-access-log"]
STARTED = time.monotonic()


class HarnessError(RuntimeError):
    """The benchmark itself could not run (as opposed to a target being missed)."""


def log(message: str) -> None:
    print(f"[bench {time.monotonic() - STARTED:6.1f}s] {message}", flush=True)


# ------------------------------------------------------------------------------ processes


def ensure_wrk() -> str:
    """The wrk binary; installs the Debian package when it is missing."""
    found = shutil.which("wrk")
    if found:
        return found
    log("wrk not found: installing it with `apt-get install -y wrk`")
    sudo = [] if os.geteuid() == 0 or not shutil.which("sudo") else ["sudo", "-n"]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = [*sudo, "apt-get", "install", "-y", "-q", "wrk"]
    done = subprocess.run(install, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        log("apt-get install failed: running `apt-get update`, then trying again")
        subprocess.run(
            [*sudo, "apt-get", "update", "-q"], capture_output=True, env=env, check=False
        )
        done = subprocess.run(install, capture_output=True, text=True, env=env, check=False)
    found = shutil.which("wrk")
    if not found:
        output = (done.stderr or done.stdout).strip()[-300:]
        raise HarnessError(f"wrk is missing and `apt-get install -y wrk` failed ({output})")
    log(f"installed {found}")
    return found


def free_ports(count: int) -> list[int]:
    """Ports free on loopback (held open together, so they differ)."""
    with contextlib.ExitStack() as stack:
        socks = [stack.enter_context(socket.socket()) for _ in range(count)]
        for sock in socks:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in socks]


def _tail(path: Path, lines: int = 15) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def uvicorn(app: str, probe: str) -> list[str]:
    """`python -m uvicorn … <app>` on the port of `probe`."""
    return [sys.executable, *UVICORN, "--port", str(urlsplit(probe).port), app]


@contextlib.contextmanager
def serve(
    name: str,
    argv: list[str],
    env: dict[str, str],
    probe: str,
    log_path: Path,
    cwd: Path = ROOT,
    ready_s: float = 30,
) -> Iterator[int]:
    """Run `argv` (output to `log_path`) for the block; yields the worker's pid once `probe`
    answers 200."""
    with log_path.open("wb") as out:
        # Own session: a Ctrl-C reaches the harness only, which then stops the server itself.
        proc = subprocess.Popen(
            argv, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        deadline = time.monotonic() + ready_s
        while not _answers(probe):
            if proc.poll() is not None:
                raise HarnessError(f"{name} exited with {proc.returncode}:\n{_tail(log_path)}")
            if time.monotonic() > deadline:
                raise HarnessError(f"{name} not ready after {ready_s:.0f} s:\n{_tail(log_path)}")
            time.sleep(0.2)
        yield worker_pid(proc.pid)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def worker_pid(pid: int) -> int:
    """The process that serves requests. `uvicorn --workers 1` serves in its own process; under
    a supervisor (more workers, a wrapper) the worker is a descendant: follow the newest child."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return worker_pid(int(children[-1])) if children else pid


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise HarnessError(f"no VmRSS for pid {pid}")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def git(*args: str) -> str:
    done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False)
    return done.stdout.strip()


def plain_postgres_url(url: str) -> str:
    """The Prisma-style URL app-web would pass: scheme `postgresql://`, no driver."""
    parts = urlsplit(url)
    return urlunsplit(("postgresql", *parts[1:]))


# ---------------------------------------------------------------- the Node + Prisma reference

NODE_NOTES = (
    "Node + Prisma: node:http + Prisma 7 client (prisma-client generator, query compiler) over "
    "@prisma/adapter-pg with a pg pool of the service's size; verifies the HS256 bearer token "
    "(signature, exp, scope) and caches verified tokens, as app-api does; sets an ETag (SHA-1) "
    "on single-page responses; POST derives the slug from the title when absent (no suffix on "
    "a clash: 409). Unlike app-api: no access log, no request id, minimal input validation "
    "(a field allow-list and a required title), one process like the service's one worker."
)


def _digest(*paths: Path) -> str:
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _node_version(node: str) -> tuple[int, ...]:
    done = subprocess.run([node, "--version"], capture_output=True, text=True, check=False)
    found = re.match(r"v(\d+)\.(\d+)", done.stdout.strip())
    return tuple(int(part) for part in found.groups()) if found else (0, 0)


def _step(what: str, argv: list[str], env: dict[str, str], log_path: Path, timeout: int) -> None:
    """Run one install step in bench/prisma_node (output appended to `log_path`)."""
    with log_path.open("ab") as out:
        out.write(f"$ {' '.join(argv)}\n".encode())
        out.flush()
        try:
            done = subprocess.run(
                argv, cwd=PRISMA_NODE, env=env, stdout=out, stderr=subprocess.STDOUT,
                timeout=timeout, check=False,
            )  # fmt: skip
        except subprocess.TimeoutExpired:
            raise HarnessError(f"{what} took over {timeout} s (see {log_path})") from None
    if done.returncode != 0:
        raise HarnessError(f"{what} exited with {done.returncode}:\n{_tail(log_path, 8)}")


def prepare_prisma_node(log_path: Path) -> tuple[list[str] | None, dict[str, Any]]:
    """Install and generate the Node + Prisma reference when needed; its argv, or None (and the
    reason in the status) when it cannot run here."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        missing = " and ".join(n for n, path in (("node", node), ("npm", npm)) if path is None)
        return None, {"status": f"skipped: {missing} not found on PATH"}
    version = _node_version(node)
    status: dict[str, Any] = {"node": ".".join(map(str, version))}
    if version < NODE_MIN:
        status["status"] = f"skipped: Node {status['node']} is older than 20.6"
        return None, status
    lock = PRISMA_NODE / "package-lock.json"
    lock_digest = _digest(PRISMA_NODE / "package.json", lock)
    modules = PRISMA_NODE / "node_modules"
    generated = PRISMA_NODE / "generated"
    env = {
        **os.environ,
        "CHECKPOINT_DISABLE": "1",  # no telemetry request from the Prisma CLI
        "PRISMA_HIDE_UPDATE_MESSAGE": "1",
        "NPM_CONFIG_UPDATE_NOTIFIER": "false",
    }
    started = time.perf_counter()
    try:
        stamp = modules / ".bench-lock-sha256"
        if not stamp.exists() or stamp.read_text() != lock_digest:
            log("Node + Prisma reference: `npm ci` in bench/prisma_node (the lock changed)…")
            # Scripts off: none is needed (esbuild's binary is an optional dependency), and
            # @prisma/engines' postinstall would try to download engines the bench never uses.
            argv = [npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund"]
            _step("npm ci", argv, env, log_path, timeout=600)
            stamp.write_text(lock_digest)
        schema_digest = _digest(lock, PRISMA_SCHEMA)
        stamp = generated / ".bench-schema-sha256"
        if not stamp.exists() or stamp.read_text() != schema_digest:
            log("Node + Prisma reference: `prisma generate` into bench/prisma_node/generated…")
            shutil.rmtree(generated, ignore_errors=True)
            generated.mkdir()
            schema, replaced = re.subn(
                r'(?m)^(\s*output\s*=\s*)"[^"]*"', r'\1"./prisma"', PRISMA_SCHEMA.read_text()
            )
            if replaced != 1:
                raise HarnessError(f"{PRISMA_SCHEMA}: expected one generator `output` line")
            (generated / "schema.prisma").write_text(schema)
            # The query compiler is WebAssembly: generate needs no engine, only a path that exists.
            placeholder = generated / "no-schema-engine"
            placeholder.write_text("")
            gen_env = {"PRISMA_SCHEMA_ENGINE_BINARY": str(placeholder), **env}
            prisma = str(modules / ".bin" / "prisma")
            argv = [prisma, "generate", "--schema", "generated/schema.prisma"]
            _step("prisma generate", argv, gen_env, log_path, timeout=300)
            stamp.write_text(schema_digest)
    except HarnessError as exc:
        status["status"] = f"skipped: {exc}"
        return None, status
    status["install_seconds"] = round(time.perf_counter() - started, 1)
    status["packages"] = _locked_versions(lock)
    status["status"] = "measured"
    return [node, "--import", "tsx", "server.ts"], status


def _locked_versions(lock: Path) -> dict[str, str]:
    packages = json.loads(lock.read_text()).get("packages", {})
    names = ("prisma", "@prisma/client", "@prisma/adapter-pg", "pg", "tsx")
    return {name: packages.get(f"node_modules/{name}", {}).get("version", "?") for name in names}


# -------------------------------------------------------------------------------- scenarios


SERVICE, BASELINE, RAW, NODE = "app-api", "app-api, metrics off", "raw reference", "Node + Prisma"


@dataclass
class Scenario:
    name: str
    server: str  # SERVICE, BASELINE, RAW or NODE
    script: str  # in bench/wrk
    url: str
    pid: int  # the server worker, for CPU time
    args: list[str] = field(default_factory=list[str])
    reference: str | None = None  # the raw-reference scenario this one is compared with
    node: str | None = None  # the Node + Prisma scenario this one is compared with
    read: bool = True
    result: dict[str, Any] = field(default_factory=dict[str, Any])


def run_wrk(
    wrk: str, scenario: Scenario, token: str, seconds: int, connections: int, label: str
) -> dict[str, Any]:
    """One wrk run; the JSON line its Lua `done()` prints (see bench/wrk/common.lua). The
    scripts get the run label first (unique per scenario and round: POST titles never clash),
    then the scenario's arguments."""
    argv = [wrk, f"-t{THREADS}", f"-c{connections}", f"-d{seconds}s", "--timeout", TIMEOUT]
    argv += ["-H", f"Authorization: Bearer {token}", "-s", scenario.script, scenario.url]
    argv += ["--", f"{label}-{scenario.name}", *scenario.args]
    done = subprocess.run(argv, cwd=WRK_DIR, capture_output=True, text=True, check=False)
    for line in done.stdout.splitlines():
        if line.startswith("BENCH_JSON "):
            return json.loads(line.removeprefix("BENCH_JSON "))
    raise HarnessError(f"wrk failed for {scenario.name} (exit {done.returncode}): {done.stderr}")


def measure_group(wrk: str, group: list[Scenario], token: str, args: argparse.Namespace) -> None:
    """Warm each scenario up, then measure them in interleaved rounds (A B C, C B A, …).

    A target compares scenarios of one group (service vs reference, deep page vs first page).
    On a shared machine the background load drifts within seconds; interleaving short rounds
    puts every scenario of a group under the same drift instead of giving one the quiet ten
    seconds and the other the noisy ten. Throughput and CPU are totals over the rounds;
    p50 and p99 are the medians of the rounds' values (one disturbed round cannot move them).
    """
    for scenario in group:
        if args.warmup:
            run_wrk(wrk, scenario, token, args.warmup, args.connections, "warm")
    rounds = max(1, min(args.rounds, args.duration))
    seconds = max(1, args.duration // rounds)
    raws: dict[str, list[tuple[dict[str, Any], float]]] = {s.name: [] for s in group}
    for number in range(1, rounds + 1):
        # Every other round in reverse (A B C, C B A, …): no scenario always runs first, or
        # always right after the same neighbour, and a steady drift cancels out over two rounds.
        for scenario in group if number % 2 else reversed(group):
            cpu_before = cpu_seconds(scenario.pid)
            raw = run_wrk(wrk, scenario, token, seconds, args.connections, f"run{number}")
            raws[scenario.name].append((raw, cpu_seconds(scenario.pid) - cpu_before))
    for scenario in group:
        scenario.result = _aggregate(raws[scenario.name])


def _aggregate(rounds: list[tuple[dict[str, Any], float]]) -> dict[str, Any]:
    requests = sum(raw["requests"] for raw, _ in rounds)
    seconds = sum(raw["duration_us"] for raw, _ in rounds) / 1e6
    cpu = sum(cpu for _, cpu in rounds)
    p50 = statistics.median(raw["latency_us"]["p50"] for raw, _ in rounds) / 1000
    p99 = statistics.median(raw["latency_us"]["p99"] for raw, _ in rounds) / 1000
    return {
        "rps": requests / seconds,
        "bytes_per_response": round(sum(raw["bytes"] for raw, _ in rounds) / max(requests, 1)),
        "p50_ms": p50,
        "p99_ms": p99,
        "p99_over_p50": p99 / p50 if p50 else float("inf"),
        "non2xx": sum(raw["non2xx"] for raw, _ in rounds),
        "last_bad_status": next(
            (raw["last_bad_status"] for raw, _ in reversed(rounds) if raw["last_bad_status"]), None
        ),
        "errors": sum(
            raw["errors"][k] for raw, _ in rounds for k in ("connect", "read", "write", "timeout")
        ),
        "server_cpu_ms_per_request": 1000 * cpu / max(requests, 1),
        "server_cpu_utilisation": cpu / seconds,
        "rounds": [raw for raw, _ in rounds],
    }


def walk_cursors(base: str, token: str) -> tuple[dict[str, str], dict[str, Any]]:
    """Follow `nextCursor` at limit=100; keep the cursor found at each depth of DEPTHS."""
    wanted = {name: min(depth, PAGES - WALK_LIMIT) for name, depth in DEPTHS.items()}
    found: dict[str, str] = {}
    timings: list[float] = []
    cursor: str | None = None
    rows = 0
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
        while len(found) < len(wanted):
            params: dict[str, Any] = {"limit": WALK_LIMIT}
            if cursor:
                params["cursor"] = cursor
            started = time.perf_counter()
            response = client.get(API, params=params)
            timings.append(time.perf_counter() - started)
            if response.status_code != 200:
                raise HarnessError(f"cursor walk: {response.status_code} after {rows} rows")
            body = response.json()
            rows += len(body["data"])
            cursor = body["nextCursor"]
            if cursor is None:
                raise HarnessError(f"cursor walk: the list ended at {rows} rows")
            found.update({name: cursor for name, depth in wanted.items() if depth == rows})
    stats = {
        "requests": len(timings),
        "seconds": round(sum(timings), 2),
        "first_100_mean_ms": round(1000 * sum(timings[:100]) / len(timings[:100]), 2),
        "last_100_mean_ms": round(1000 * sum(timings[-100:]) / len(timings[-100:]), 2),
        "depths": wanted,
    }
    return found, stats


# ------------------------------------------------------------------------------ reporting


OPERATIONS = {  # the per-operation table: app-api's scenario, compared across the servers
    "GET by id": "get_by_id",
    "list 20": "list_first",
    "POST": "create",
    "PATCH": "update",
}


def paired_ratios(value: list[dict[str, Any]], other: list[dict[str, Any]]) -> list[float]:
    """req/s of `value` over req/s of `other`, round by round (wrk's raw figures per round)."""

    def rps(raw: dict[str, Any]) -> float:
        return raw["requests"] / (raw["duration_us"] / 1e6)

    return [rps(a) / rps(b) for a, b in zip(value, other, strict=True)]


def check_targets(
    by_name: dict[str, Scenario], rss: float, *, metrics_on: bool
) -> list[dict[str, Any]]:
    def target(name: str, value: float, limit: float, passed: bool, **extra: Any) -> dict[str, Any]:
        return {"target": name, "value": round(value, 3), "limit": limit, "pass": passed, **extra}

    def failed(*names: str) -> list[str]:
        return [n for n in names if by_name[n].result["non2xx"] or by_name[n].result["errors"]]

    def at_least(name: str, value: str, other: str, limit: float) -> dict[str, Any]:
        """`value` / `other` req/s >= `limit`: the median of the rounds' ratios (the two ran
        side by side in each round); a FAIL whenever either had non-2xx or errors (a 404 is
        fast: the ratio would mean nothing)."""
        rounds = paired_ratios(by_name[value].result["rounds"], by_name[other].result["rounds"])
        ratio = statistics.median(rounds)
        extra = {"rounds": [round(r, 3) for r in rounds]}
        bad = failed(value, other)
        if bad:
            note = f"non-2xx or errors in {', '.join(bad)}"
            return target(name, ratio, limit, False, note=note, **extra)
        return target(name, ratio, limit, ratio >= limit, **extra)

    def with_metrics(name: str, value: str, other: str) -> dict[str, Any]:
        check = at_least(name, value, other, 0.95)
        if not metrics_on:  # both servers measured nothing: the ratio would be noise only
            return {**check, "pass": False, "note": "the service's /metrics did not answer 200"}
        return check

    def latency(name: str, value: str, other: str, limit: float) -> dict[str, Any]:
        """`value` / `other` p50 latency <= `limit` (a FAIL with non-2xx or errors)."""
        ratio = by_name[value].result["p50_ms"] / by_name[other].result["p50_ms"]
        bad = failed(value, other)
        if bad:
            return target(name, ratio, limit, False, note=f"non-2xx or errors in {', '.join(bad)}")
        return target(name, ratio, limit, ratio <= limit)

    checks = [
        at_least("GET by id req/s >= 1.0x raw reference", "get_by_id", "ref_get_by_id", 1.0),
        at_least("list-20 req/s >= 0.9x raw reference", "list_first", "ref_list_first", 0.9),
        latency(
            "keyset depth 100k p50 <= 1.2x first page p50", "list_depth_100k", "list_first", 1.2
        ),
        at_least("tag by id req/s >= 0.9x page by id", "tag_by_id", "get_by_id", 0.9),
        latency(
            "list-20 include=author p50 <= 1.3x list-20 p50",
            "list_first_include",
            "list_first",
            1.3,
        ),
        with_metrics(
            "GET by id req/s with metrics >= 0.95x without", "get_by_id", "get_by_id_nometrics"
        ),
        with_metrics(
            "list-20 req/s with metrics >= 0.95x without", "list_first", "list_first_nometrics"
        ),
    ]
    for write, node in (("create", "node_create"), ("update", "node_update")):
        if node in by_name:
            name = (
                f"{write} ({'POST' if write == 'create' else 'PATCH'}) req/s >= 1.5x Node + Prisma"
            )
            checks.append(at_least(name, write, node, 1.5))
    for s in by_name.values():
        if s.read and s.server == SERVICE:
            value = s.result["p99_over_p50"]
            checks.append(target(f"{s.name}: p99 <= 3x p50", value, 3.0, value <= 3.0))
    bad = failed(*by_name)
    total = sum(by_name[n].result["non2xx"] + by_name[n].result["errors"] for n in bad)
    extra = {"note": f"in {', '.join(bad)}"} if bad else {}
    checks.append(
        target("zero non-2xx responses (and socket errors)", total, 0, total == 0, **extra)
    )
    checks.append(target("service worker RSS after the run <= 150 MB", rss, 150, rss <= 150))
    return checks


def compare(by_name: dict[str, Scenario]) -> dict[str, dict[str, Any]]:
    """Per operation: req/s and CPU ms/request of app-api, the raw reference and Node + Prisma
    (None where that server does not serve it or was not measured)."""

    def figures(name: str | None) -> dict[str, Any] | None:
        if name is None or name not in by_name:
            return None
        r = by_name[name].result
        return {
            "scenario": name,
            "rps": round(r["rps"], 1),
            "p50_ms": round(r["p50_ms"], 2),
            "p99_ms": round(r["p99_ms"], 2),
            "server_cpu_ms_per_request": round(r["server_cpu_ms_per_request"], 3),
            "non2xx": r["non2xx"],
        }

    table: dict[str, dict[str, Any]] = {}
    for operation, name in OPERATIONS.items():
        s = by_name[name]
        row = {
            "app_api": figures(name),
            "raw": figures(s.reference),
            "node_prisma": figures(s.node),
        }
        for key in ("raw", "node_prisma"):
            other = row[key]
            row[f"app_api_vs_{key}"] = round(s.result["rps"] / other["rps"], 3) if other else None
        table[operation] = row
    return table


def _ratio(s: Scenario, other: str | None, by_name: dict[str, Scenario]) -> str:
    if other is None or other not in by_name:
        return ""
    return f"{s.result['rps'] / by_name[other].result['rps']:.2f}x"


def print_report(
    scenarios: list[Scenario],
    rss: dict[str, float],
    checks: list[dict[str, Any]],
    comparison: dict[str, dict[str, Any]],
    log_file: Path,
) -> None:
    by_name = {s.name: s for s in scenarios}
    columns = ("req/s", "p50 ms", "p99 ms", "p99/p50", "non-2xx", "errors", "vs raw", "vs node")
    header = f"{'scenario':<21}{'server':<22}" + "".join(f"{c:>9}" for c in columns)
    header += f"{'cpu ms/req':>12}"
    print("\n" + header + "\n" + "-" * len(header))
    for s in scenarios:
        r = s.result
        cells = (
            f"{r['rps']:.0f}",
            f"{r['p50_ms']:.2f}",
            f"{r['p99_ms']:.2f}",
            f"{r['p99_over_p50']:.2f}",
            r["non2xx"],
            r["errors"],
            _ratio(s, s.reference, by_name),
            _ratio(s, s.node, by_name),
        )
        line = f"{s.name:<21}{s.server:<22}" + "".join(f"{c:>9}" for c in cells)
        print(line + f"{r['server_cpu_ms_per_request']:>12.2f}")

    def cell(figures: dict[str, Any] | None) -> str:
        if figures is None:
            return "—"
        return f"{figures['rps']:.0f} ({figures['server_cpu_ms_per_request']:.2f})"

    names = ("app-api", "raw reference", "Node + Prisma", "app/raw", "app/node")
    print("\nper operation: req/s (server CPU ms/request)")
    header = f"{'operation':<12}" + "".join(f"{n:>17}" for n in names)
    print(header + "\n" + "-" * len(header))
    for operation, row in comparison.items():
        ratios = (row["app_api_vs_raw"], row["app_api_vs_node_prisma"])
        cells = [cell(row["app_api"]), cell(row["raw"]), cell(row["node_prisma"])]
        cells += [f"{value:.2f}x" if value is not None else "—" for value in ratios]
        print(f"{operation:<12}" + "".join(f"{c:>17}" for c in cells))
    worker_rss = ", ".join(f"{server} {mb:.1f} MB" for server, mb in rss.items())
    print(f"\nworker RSS after the run: {worker_rss}; access log: {log_file}\n")
    for check in checks:
        verdict = "PASS" if check["pass"] else "FAIL"
        note = f"; {check['note']}" if "note" in check else ""
        if "rounds" in check:
            note = f"; rounds {' '.join(f'{r:.3f}' for r in check['rounds'])}{note}"
        print(f"  {verdict}  {check['target']}  (got {check['value']}{note})")
    print()


def write_results(payload: dict[str, Any]) -> None:
    tmp = RESULTS.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(payload, indent=2) + "\n")
    os.replace(tmp, RESULTS)
    log(f"wrote {RESULTS.relative_to(ROOT)}")


# ------------------------------------------------------------------------------------ main


def prepare_database(db_url: str, workdir: Path) -> tuple[Path, Path, float]:
    """Migrate and seed; the page and tag ids go to files for the Lua scripts."""
    log("migrating the scratch database from prisma/migrations")
    seed.migrate(db_url)
    log(
        f"seeding {USERS:,} users, {PAGES:,} pages, {TAGS:,} tags and {TAGS_PER_PAGE} tags per "
        "page (COPY)…"
    )
    started = time.perf_counter()
    ids = seed.seed(db_url, users=USERS, pages=PAGES, tags=TAGS, tags_per_page=TAGS_PER_PAGE)
    seconds = time.perf_counter() - started
    log(f"seeded and analyzed in {seconds:.1f} s")
    ids_file = workdir / "ids.txt"
    ids_file.write_text("\n".join(ids) + "\n")
    tag_ids_file = workdir / "tag_ids.txt"
    tag_ids_file.write_text("".join(f"{n}\n" for n in range(1, TAGS + 1)))
    return ids_file, tag_ids_file, seconds


def scrape_metrics(base: str, token: str) -> dict[str, Any]:
    """`GET /metrics` with the metrics token: the status and the requests counted (the proof
    that the instrumentation was on, or off, while the scenarios ran)."""
    try:
        response = httpx.get(
            f"{base}/metrics", headers={"Authorization": f"Bearer {token}"}, timeout=10
        )
    except httpx.HTTPError as exc:
        return {"status": None, "error": f"{type(exc).__name__}: {exc}"}
    counted = 0.0
    if response.status_code == 200:
        for line in response.text.splitlines():
            if line.startswith("http_requests_total{"):
                counted += float(line.rsplit(" ", 1)[1])
    return {"status": response.status_code, "http_requests_total": int(counted)}


def _uptime() -> str:
    done = subprocess.run(["uptime"], capture_output=True, text=True, check=False)
    return done.stdout.strip()


def bench(db_url: str, wrk: str, workdir: Path, args: argparse.Namespace) -> dict[str, Any]:
    load_before = os.getloadavg()[0]
    uptime_before = _uptime()
    log(f"machine: {uptime_before}")
    if load_before > 0.5 * (os.cpu_count() or 1):
        log(
            f"warning: load average {load_before:.1f} on {os.cpu_count()} CPUs: other processes "
            "compete with the benchmark, so its numbers will be noisy"
        )
    ids_file, tag_ids_file, seed_seconds = prepare_database(db_url, workdir)
    node_argv, node_status = prepare_prisma_node(workdir / "prisma-node-install.log")
    if node_argv is None:
        log(f"Node + Prisma reference {node_status['status']}: measuring the rest without it")

    overrides = {
        "ENVIRONMENT": "staging",
        "SECRET_KEY": secrets.token_urlsafe(36),  # 48 characters
        "DATABASE_URL": plain_postgres_url(db_url),
        "LOG_JSON": "true",
        # Metrics are measured only where /metrics is served: outside local, with a token.
        "METRICS_TOKEN": secrets.token_urlsafe(24),
    }
    # Built as the service builds its own (environment, .env, these values) for the token and
    # the pool size the references must match.
    settings = Settings(**overrides)
    pool_size = settings.database.pool_size
    token = create_token(settings, subject="bench@app-web", scopes=SCOPES)
    service, baseline, ref, node = (f"http://127.0.0.1:{port}" for port in free_ports(4))
    service_env = {**os.environ, **overrides, "SENTRY_DSN": ""}  # never report to a real Sentry
    ref_env = {
        **os.environ,
        "REF_DATABASE_URL": to_conninfo(db_url),
        "REF_POOL_SIZE": str(pool_size),
    }
    node_env = {
        **os.environ,
        "NODE_ENV": "production",
        "PORT": str(urlsplit(node).port),
        "DATABASE_URL": plain_postgres_url(db_url),
        "SECRET_KEY": overrides["SECRET_KEY"],
        "PRISMA_POOL_SIZE": str(pool_size),
    }
    service_log = workdir / "service.log"
    ready = "/api/v1/utils/ready"

    log(
        f"starting app-api ({service}), app-api with metrics off ({baseline}), the raw "
        f"reference ({ref})"
        + (f" and Node + Prisma ({node})" if node_argv else "")
        + f", pool size {pool_size} each…"
    )
    with contextlib.ExitStack() as stack:
        pid = stack.enter_context(
            serve("app-api", uvicorn("app.main:app", service), {**service_env, "METRICS_ENABLED": "true"}, f"{service}{ready}", service_log)
        )  # fmt: skip
        base_pid = stack.enter_context(
            serve("app-api (metrics off)", uvicorn("app.main:app", baseline), {**service_env, "METRICS_ENABLED": "false"}, f"{baseline}{ready}", workdir / "service-metrics-off.log")
        )  # fmt: skip
        ref_pid = stack.enter_context(
            serve("reference", uvicorn("bench.reference:app", ref), ref_env, f"{ref}/pages/", workdir / "reference.log")
        )  # fmt: skip
        node_pid: int | None = None
        if node_argv is not None:
            try:
                node_pid = stack.enter_context(
                    serve("Node + Prisma", node_argv, node_env, f"{node}/ready", workdir / "prisma-node.log", cwd=PRISMA_NODE, ready_s=60)
                )  # fmt: skip
            except HarnessError as exc:
                node_status["status"] = f"skipped: {exc}"
                log(f"Node + Prisma reference did not start, measuring the rest without it: {exc}")
        log(f"service ready (worker pid {pid}, RSS {rss_mb(pid):.1f} MB); walking the cursors…")
        cursors, walk = walk_cursors(service, token)
        log(
            f"walked {walk['requests']} pages of {WALK_LIMIT} in {walk['seconds']} s (mean "
            f"{walk['first_100_mean_ms']} ms for the first 100, {walk['last_100_mean_ms']} ms for the last 100)"
        )
        deep = {name: f"{service}{API}?limit=20&cursor={quote(c)}" for name, c in cursors.items()}
        ids, tag_ids = [str(ids_file)], [str(tag_ids_file)]

        def on_node(*scenarios: Scenario) -> list[Scenario]:
            return list(scenarios) if node_pid is not None else []

        n = node_pid or 0
        groups = [
            [
                Scenario("ref_get_by_id", RAW, "by_id.lua", f"{ref}/pages/", ref_pid, ids),
                *on_node(Scenario("node_get_by_id", NODE, "by_id.lua", f"{node}/pages/", n, ids)),
                Scenario("get_by_id", SERVICE, "by_id.lua", f"{service}{API}", pid, ids, "ref_get_by_id", "node_get_by_id"),
                Scenario("get_by_id_nometrics", BASELINE, "by_id.lua", f"{baseline}{API}", base_pid, ids, "ref_get_by_id", "node_get_by_id"),
                Scenario("tag_by_id", SERVICE, "by_id.lua", f"{service}{TAGS_API}", pid, tag_ids),
                Scenario("get_by_id_include", SERVICE, "by_id.lua", f"{service}{API}", pid, [*ids, INCLUDE]),
            ],
            [
                Scenario("ref_list_first", RAW, "get.lua", f"{ref}/pages/", ref_pid),
                *on_node(Scenario("node_list_first", NODE, "get.lua", f"{node}/pages/?limit=20", n)),
                Scenario("list_first", SERVICE, "get.lua", f"{service}{API}?limit=20", pid, reference="ref_list_first", node="node_list_first"),
                Scenario("list_first_nometrics", BASELINE, "get.lua", f"{baseline}{API}?limit=20", base_pid, reference="ref_list_first", node="node_list_first"),
                Scenario("list_first_include", SERVICE, "get.lua", f"{service}{API}?limit=20&include=author", pid),
                Scenario("list_depth_50k", SERVICE, "get.lua", deep["list_depth_50k"], pid),
                Scenario("list_depth_100k", SERVICE, "get.lua", deep["list_depth_100k"], pid),
            ],
            [
                *on_node(Scenario("node_create", NODE, "post.lua", f"{node}/pages/", n, read=False)),
                Scenario("create", SERVICE, "post.lua", f"{service}{API}", pid, node="node_create", read=False),
            ],
            [
                *on_node(Scenario("node_update", NODE, "patch.lua", f"{node}/pages/", n, ids, read=False)),
                Scenario("update", SERVICE, "patch.lua", f"{service}{API}", pid, ids, node="node_update", read=False),
            ],
        ]  # fmt: skip
        scenarios = [s for group in groups for s in group]
        for group in groups:
            names = ", ".join(s.name for s in group)
            log(
                f"{names}: {args.warmup} s warm-up each, then {args.duration} s each in "
                f"{min(args.rounds, args.duration)} interleaved rounds…"
            )
            measure_group(wrk, group, token, args)
            for s in group:
                r = s.result
                bad = f" (last {r['last_bad_status']})" if r["last_bad_status"] else ""
                log(
                    f"  {s.name}: {r['rps']:.0f} req/s, p50 {r['p50_ms']:.2f} ms, "
                    f"p99 {r['p99_ms']:.2f} ms, non-2xx {r['non2xx']}{bad}, errors {r['errors']}, "
                    f"server CPU {r['server_cpu_ms_per_request']:.2f} ms/req"
                )
        metrics = {
            SERVICE: scrape_metrics(service, overrides["METRICS_TOKEN"]),
            BASELINE: scrape_metrics(baseline, overrides["METRICS_TOKEN"]),
        }
        log(f"GET /metrics: {metrics[SERVICE]} (metrics on), {metrics[BASELINE]} (metrics off)")
        rss = rss_mb(pid)
        worker_rss = {SERVICE: rss, BASELINE: rss_mb(base_pid), RAW: rss_mb(ref_pid)}
        if node_pid is not None:
            worker_rss[NODE] = rss_mb(node_pid)
    log("servers stopped")
    access_lines = sum(1 for line in service_log.open() if '"durationMs"' in line)

    by_name = {s.name: s for s in scenarios}
    checks = check_targets(by_name, rss, metrics_on=metrics[SERVICE].get("status") == 200)
    comparison = compare(by_name)
    print_report(scenarios, worker_rss, checks, comparison, service_log)
    print(f"  note: {NODE_NOTES}\n")
    uptime_after = _uptime()
    log(f"machine: {uptime_after}")
    return {
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
        "git": {"commit": git("rev-parse", "HEAD"), "dirty": bool(git("status", "--porcelain"))},
        "parameters": {
            "wrk_threads": THREADS,
            "connections": args.connections,
            "warmup_s": args.warmup,
            "duration_s": args.duration,
            "rounds": min(args.rounds, args.duration),
            "timeout": TIMEOUT,
            "users": USERS,
            "pages": PAGES,
            "tags": TAGS,
            "tags_per_page": TAGS_PER_PAGE,
            "pool_size": pool_size,
            "token_scopes": SCOPES,
            "uvicorn": " ".join(UVICORN[2:]) + " (uvloop, httptools)",
            "service_env": {
                "ENVIRONMENT": "staging",
                "LOG_JSON": "true",
                "METRICS_ENABLED": "true",
                "METRICS_TOKEN": "(random)",
            },
            "baseline_env": {
                "ENVIRONMENT": "staging",
                "LOG_JSON": "true",
                "METRICS_ENABLED": "false",
                "METRICS_TOKEN": "(random)",
            },
            "cpus": os.cpu_count(),
            "load_average_1m": {"before": load_before, "after": os.getloadavg()[0]},
            "uptime": {"before": uptime_before, "after": uptime_after},
            "python": platform.python_version(),
        },
        "prisma_node": {**node_status, "notes": NODE_NOTES},
        "seed_seconds": round(seed_seconds, 2),
        "cursor_walk": walk,
        "scenarios": {s.name: {"server": s.server, **s.result} for s in scenarios},
        "comparison": comparison,
        "service_rss_mb": round(rss, 1),
        "worker_rss_mb": {server: round(mb, 1) for server, mb in worker_rss.items()},
        "service_access_log_lines": access_lines,
        "metrics_scrape": metrics,
        "targets": checks,
        "all_pass": all(c["pass"] for c in checks),
    }


def _terminated(_signum: int, _frame: object) -> None:
    raise SystemExit(143)  # unwinds through the `finally` blocks: servers stopped, database dropped


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    default_duration = int(os.environ.get("BENCH_DURATION", DURATION_S))
    parser.add_argument("--duration", type=int, default=default_duration, help="measured seconds per scenario (default 15, or BENCH_DURATION)")  # fmt: skip
    parser.add_argument("--warmup", type=int, default=WARMUP_S, help="warm-up seconds per scenario (default 3)")  # fmt: skip
    parser.add_argument("--connections", type=int, default=CONNECTIONS, help="wrk connections (default 32)")  # fmt: skip
    parser.add_argument("--rounds", type=int, default=ROUNDS, help="interleaved rounds the measured seconds are split into (default 3)")  # fmt: skip
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, _terminated)
    # Ctrl-C must reach us even when started from a shell that ignores SIGINT (a background job).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    db_url: str | None = None
    workdir = Path(tempfile.mkdtemp(prefix="app-api-bench-"))
    try:
        wrk = ensure_wrk()
        server = seed.server_url()
        log(f"creating a scratch database on {urlsplit(server).hostname}:{urlsplit(server).port}")
        db_url = seed.create_database(server)
        write_results(bench(db_url, wrk, workdir, args))
        return 0
    except KeyboardInterrupt:
        print("bench: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        print(f"bench: error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    finally:
        (workdir / "ids.txt").unlink(missing_ok=True)
        (workdir / "tag_ids.txt").unlink(missing_ok=True)
        if db_url is not None:
            drop_database(db_url)
            log(f"dropped the scratch database {database_name(db_url)}")


if __name__ == "__main__":
    raise SystemExit(main())
