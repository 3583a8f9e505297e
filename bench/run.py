"""`make bench`: app-api under wrk, against a seeded scratch PostgreSQL database.

What it does, in order (about 2.5 minutes on 2 cores; the scratch database is always dropped):

1. Creates a database on ``BENCH_DATABASE_URL`` / ``TEST_DATABASE_URL`` /
   postgresql://postgres@127.0.0.1:5432, migrates it from prisma/migrations and seeds 1,000
   users and 100,000 pages (bench/seed.py).
2. Starts app-api as in production: ``uvicorn app.main:app --workers 1 --no-access-log`` with
   ``ENVIRONMENT=staging``, a random ``SECRET_KEY`` and ``LOG_JSON=true`` (the JSON access log
   of our middleware is on, written to a file); and the reference app (bench/reference.py)
   with the same uvicorn flags and the same pool size.
3. Walks ``GET /api/v1/pages/?limit=100`` through real cursors to depths 50,000 and 99,900
   (the last full page of 100,000 rows).
4. Runs each scenario with wrk from a second process on loopback: 2 threads, 32 connections
   (3x the pool of 10: requests queue for a connection, as under real load), 3 s warm-up then
   10 s measured, 5 s request timeout. Scenarios a target compares (service and reference;
   first and deep pages) are measured in 2 interleaved rounds of 5 s, so drifts in what else
   the shared machine is doing hit all of them alike (see measure_group; shorter rounds weigh
   the latency burst of wrk opening its 32 connections too much in p99). ``--duration`` (or
   ``BENCH_DURATION``), ``--rounds``, ``--warmup`` and ``--connections`` change that.
5. Prints a table (with the server's CPU time per request, which depends less on what else
   the machine is doing than req/s), checks the targets (PASS/FAIL) and writes
   bench/results.json.

Exit code 0 when the measurement ran (even if a target fails), 2 on a harness error, 130 when
interrupted.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
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

THREADS = 2
CONNECTIONS = 32
WARMUP_S = 3
DURATION_S = 10
ROUNDS = 2
TIMEOUT = "5s"
USERS = 1_000
PAGES = 100_000
WALK_LIMIT = 100
DEPTHS = {"list_depth_50k": 50_000, "list_depth_100k": 100_000}
API = "/api/v1/pages/"
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


@contextlib.contextmanager
def serve(name: str, app: str, env: dict[str, str], probe: str, log_path: Path) -> Iterator[int]:
    """Run `uvicorn <app>` (output to `log_path`) for the block; yields the worker's pid once
    `probe` answers 200."""
    port = str(urlsplit(probe).port)
    argv = [sys.executable, *UVICORN, "--port", port, app]
    with log_path.open("wb") as out:
        # Own session: a Ctrl-C reaches the harness only, which then stops the server itself.
        proc = subprocess.Popen(
            argv, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        deadline = time.monotonic() + 30
        while not _answers(probe):
            if proc.poll() is not None:
                raise HarnessError(f"{name} exited with {proc.returncode}:\n{_tail(log_path)}")
            if time.monotonic() > deadline:
                raise HarnessError(f"{name} not ready after 30 s:\n{_tail(log_path)}")
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


# -------------------------------------------------------------------------------- scenarios


@dataclass
class Scenario:
    name: str
    script: str  # in bench/wrk
    url: str
    pid: int  # the server worker, for CPU time
    args: list[str] = field(default_factory=list[str])
    reference: str | None = None  # the scenario this one is compared with
    read: bool = True
    result: dict[str, Any] = field(default_factory=dict[str, Any])


def run_wrk(
    wrk: str, scenario: Scenario, token: str, seconds: int, connections: int, label: str
) -> dict[str, Any]:
    """One wrk run; the JSON line its Lua `done()` prints (see bench/wrk/common.lua)."""
    argv = [wrk, f"-t{THREADS}", f"-c{connections}", f"-d{seconds}s", "--timeout", TIMEOUT]
    argv += ["-H", f"Authorization: Bearer {token}", "-s", scenario.script, scenario.url]
    argv += ["--", *scenario.args, label]
    done = subprocess.run(argv, cwd=WRK_DIR, capture_output=True, text=True, check=False)
    for line in done.stdout.splitlines():
        if line.startswith("BENCH_JSON "):
            return json.loads(line.removeprefix("BENCH_JSON "))
    raise HarnessError(f"wrk failed for {scenario.name} (exit {done.returncode}): {done.stderr}")


def measure_group(wrk: str, group: list[Scenario], token: str, args: argparse.Namespace) -> None:
    """Warm each scenario up, then measure them in interleaved rounds (A B C, A B C, …).

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
    for _ in range(rounds):
        for scenario in group:
            cpu_before = cpu_seconds(scenario.pid)
            raw = run_wrk(wrk, scenario, token, seconds, args.connections, "run")
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
        "p50_ms": p50,
        "p99_ms": p99,
        "p99_over_p50": p99 / p50 if p50 else float("inf"),
        "non2xx": sum(raw["non2xx"] for raw, _ in rounds),
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


def check_targets(by_name: dict[str, Scenario], rss: float) -> list[dict[str, Any]]:
    def target(name: str, value: float, limit: float, passed: bool) -> dict[str, Any]:
        return {"target": name, "value": round(value, 3), "limit": limit, "pass": passed}

    def ratio(name: str, other: str, key: str) -> float:
        return by_name[name].result[key] / by_name[other].result[key]

    by_id = ratio("get_by_id", "ref_get_by_id", "rps")
    first = ratio("list_first", "ref_list_first", "rps")
    deep = ratio("list_depth_100k", "list_first", "p50_ms")
    checks = [
        target("GET by id req/s >= 0.7x reference", by_id, 0.7, by_id >= 0.7),
        target("list-20 req/s >= 0.7x reference", first, 0.7, first >= 0.7),
        target("keyset depth 100k p50 <= 1.2x first page p50", deep, 1.2, deep <= 1.2),
    ]
    for s in by_name.values():
        if s.read and not s.name.startswith("ref_"):
            value = s.result["p99_over_p50"]
            checks.append(target(f"{s.name}: p99 <= 3x p50", value, 3.0, value <= 3.0))
    failed = sum(s.result["non2xx"] + s.result["errors"] for s in by_name.values())
    checks.append(target("zero non-2xx responses (and socket errors)", failed, 0, failed == 0))
    checks.append(target("service worker RSS after the run <= 150 MB", rss, 150, rss <= 150))
    return checks


def print_report(
    scenarios: list[Scenario], rss: float, checks: list[dict[str, Any]], log_file: Path
) -> None:
    by_name = {s.name: s for s in scenarios}
    columns = ("req/s", "p50 ms", "p99 ms", "p99/p50", "non-2xx", "errors", "vs ref", "cpu ms/req")
    header = f"{'scenario':<17}" + "".join(f"{c:>11}" for c in columns)
    print("\n" + header + "\n" + "-" * len(header))
    for s in scenarios:
        r = s.result
        vs_ref = f"{r['rps'] / by_name[s.reference].result['rps']:.2f}x" if s.reference else ""
        cells = (
            f"{r['rps']:.0f}",
            f"{r['p50_ms']:.2f}",
            f"{r['p99_ms']:.2f}",
            f"{r['p99_over_p50']:.2f}",
            r["non2xx"],
            r["errors"],
            vs_ref,
            f"{r['server_cpu_ms_per_request']:.2f}",
        )
        print(f"{s.name:<17}" + "".join(f"{c:>11}" for c in cells))
    print(f"\nservice worker RSS after the run: {rss:.1f} MB; access log: {log_file}\n")
    for check in checks:
        verdict = "PASS" if check["pass"] else "FAIL"
        print(f"  {verdict}  {check['target']}  (got {check['value']})")
    print()


def write_results(payload: dict[str, Any]) -> None:
    tmp = RESULTS.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(payload, indent=2) + "\n")
    os.replace(tmp, RESULTS)
    log(f"wrote {RESULTS.relative_to(ROOT)}")


# ------------------------------------------------------------------------------------ main


def prepare_database(db_url: str, workdir: Path) -> tuple[Path, float]:
    """Migrate and seed; the page ids go to a file for the Lua scripts."""
    log("migrating the scratch database from prisma/migrations")
    seed.migrate(db_url)
    log(f"seeding {USERS:,} users and {PAGES:,} pages (COPY)…")
    started = time.perf_counter()
    ids = seed.seed(db_url, users=USERS, pages=PAGES)
    seconds = time.perf_counter() - started
    log(f"seeded and analyzed in {seconds:.1f} s")
    ids_file = workdir / "ids.txt"
    ids_file.write_text("\n".join(ids) + "\n")
    return ids_file, seconds


def bench(db_url: str, wrk: str, workdir: Path, args: argparse.Namespace) -> dict[str, Any]:
    load_before = os.getloadavg()[0]
    if load_before > 0.5 * (os.cpu_count() or 1):
        log(
            f"warning: load average {load_before:.1f} on {os.cpu_count()} CPUs: other processes "
            "compete with the benchmark, so its numbers will be noisy"
        )
    ids_file, seed_seconds = prepare_database(db_url, workdir)

    overrides = {
        "ENVIRONMENT": "staging",
        "SECRET_KEY": secrets.token_urlsafe(36),  # 48 characters
        "DATABASE_URL": plain_postgres_url(db_url),
        "LOG_JSON": "true",
    }
    # Built as the service builds its own (environment, .env, these values) for the token and
    # the pool size the reference must match.
    settings = Settings(**overrides)
    pool_size = settings.database.pool_size
    token = create_token(settings, subject="bench@app-web", scopes=["pages:read", "pages:write"])
    service, ref = (f"http://127.0.0.1:{port}" for port in free_ports(2))
    service_env = {**os.environ, **overrides, "SENTRY_DSN": ""}  # never report to a real Sentry
    ref_env = {
        **os.environ,
        "REF_DATABASE_URL": to_conninfo(db_url),
        "REF_POOL_SIZE": str(pool_size),
    }
    service_log = workdir / "service.log"

    log(f"starting the service ({service}) and the reference ({ref}), pool size {pool_size}…")
    with (
        serve("app-api", "app.main:app", service_env, f"{service}/api/v1/utils/ready", service_log) as pid,
        serve("reference", "bench.reference:app", ref_env, f"{ref}/pages/", workdir / "reference.log") as ref_pid,
    ):  # fmt: skip
        log(f"service ready (worker pid {pid}, RSS {rss_mb(pid):.1f} MB); walking the cursors…")
        cursors, walk = walk_cursors(service, token)
        log(
            f"walked {walk['requests']} pages of {WALK_LIMIT} in {walk['seconds']} s (mean "
            f"{walk['first_100_mean_ms']} ms for the first 100, {walk['last_100_mean_ms']} ms for the last 100)"
        )
        deep = {name: f"{service}{API}?limit=20&cursor={quote(c)}" for name, c in cursors.items()}
        ids = [str(ids_file)]
        groups = [
            [
                Scenario("ref_get_by_id", "by_id.lua", f"{ref}/pages/", ref_pid, ids),
                Scenario("get_by_id", "by_id.lua", f"{service}{API}", pid, ids, "ref_get_by_id"),
            ],
            [
                Scenario("ref_list_first", "get.lua", f"{ref}/pages/", ref_pid),
                Scenario("list_first", "get.lua", f"{service}{API}?limit=20", pid, reference="ref_list_first"),
                Scenario("list_depth_50k", "get.lua", deep["list_depth_50k"], pid),
                Scenario("list_depth_100k", "get.lua", deep["list_depth_100k"], pid),
            ],
            [Scenario("create", "post.lua", f"{service}{API}", pid, read=False)],
            [Scenario("update", "patch.lua", f"{service}{API}", pid, ids, read=False)],
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
                log(
                    f"  {s.name}: {r['rps']:.0f} req/s, p50 {r['p50_ms']:.2f} ms, "
                    f"p99 {r['p99_ms']:.2f} ms, non-2xx {r['non2xx']}, errors {r['errors']}, "
                    f"server CPU {r['server_cpu_ms_per_request']:.2f} ms/req"
                )
        rss = rss_mb(pid)
    log("servers stopped")
    access_lines = sum(1 for line in service_log.open() if '"durationMs"' in line)

    checks = check_targets({s.name: s for s in scenarios}, rss)
    print_report(scenarios, rss, checks, service_log)
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
            "pool_size": pool_size,
            "uvicorn": " ".join(UVICORN[2:]) + " (uvloop, httptools)",
            "service_env": {"ENVIRONMENT": "staging", "LOG_JSON": "true"},
            "cpus": os.cpu_count(),
            "load_average_1m": {"before": load_before, "after": os.getloadavg()[0]},
            "python": platform.python_version(),
        },
        "seed_seconds": round(seed_seconds, 2),
        "cursor_walk": walk,
        "scenarios": {s.name: s.result for s in scenarios},
        "service_rss_mb": round(rss, 1),
        "service_access_log_lines": access_lines,
        "targets": checks,
        "all_pass": all(c["pass"] for c in checks),
    }


def _terminated(_signum: int, _frame: object) -> None:
    raise SystemExit(143)  # unwinds through the `finally` blocks: servers stopped, database dropped


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    default_duration = int(os.environ.get("BENCH_DURATION", DURATION_S))
    parser.add_argument("--duration", type=int, default=default_duration, help="measured seconds per scenario (default 10, or BENCH_DURATION)")  # fmt: skip
    parser.add_argument("--warmup", type=int, default=WARMUP_S, help="warm-up seconds per scenario (default 3)")  # fmt: skip
    parser.add_argument("--connections", type=int, default=CONNECTIONS, help="wrk connections (default 32)")  # fmt: skip
    parser.add_argument("--rounds", type=int, default=ROUNDS, help="interleaved rounds the measured seconds are split into (default 2)")  # fmt: skip
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
        if db_url is not None:
            drop_database(db_url)
            log(f"dropped the scratch database {database_name(db_url)}")


if __name__ == "__main__":
    raise SystemExit(main())
