"""Load: a real uvicorn process on loopback serving the machinery fixture's articles,
LOAD_SECONDS (default 60) of mixed reads and writes at concurrency 32. No 5xx, the pool goes
back to idle, memory stays flat.

Figures are printed (see them with `-s`) and written to tests/reliability/.last_load.json.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.faults import free_port
from tests.reliability.support import (
    ARTICLES,
    HERE,
    READY,
    REL_SECRET,
    ROOT,
    WATCH,
    WRITER,
    PgDatabase,
    PgRole,
    percentile,
    scratch_database,
)

CONCURRENCY = 32
POOL_SIZE = 10  # DB_POOL_SIZE default, DB_MAX_OVERFLOW 0
RESULTS = HERE / ".last_load.json"
ORDERS = ["-createdAt", "createdAt", "title", "-views", "-updatedAt", "publishedAt"]


def load_seconds() -> float:
    return float(os.environ.get("LOAD_SECONDS", "60"))


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process, from /proc/<pid>/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmRSS for pid {pid}")


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list[float])
    statuses: Counter[int] = field(default_factory=Counter[int])
    by_op: Counter[str] = field(default_factory=Counter[str])
    errors: Counter[str] = field(default_factory=Counter[str])
    server_errors: list[str] = field(default_factory=list[str])


class Mix:
    """The request mix: mostly reads, a steady trickle of writes."""

    def __init__(self, client: httpx.AsyncClient, ids: list[str]) -> None:
        self.client = client
        self.ids = ids

    async def one(self, rng: random.Random, tally: Tally) -> None:
        roll = rng.random()
        if roll < 0.30:
            op, call = (
                "list",
                self.client.get(ARTICLES, params=self._list_params(rng), headers=WRITER),
            )
        elif roll < 0.40:
            op, call = "list+cursor", self._follow_cursor(rng)
        elif roll < 0.65 and self.ids:
            op, call = "get", self.client.get(f"{ARTICLES}{rng.choice(self.ids)}", headers=WRITER)
        elif roll < 0.78:
            op, call = "create", self._create(rng)
        elif roll < 0.90 and self.ids:
            op = "patch"
            call = self.client.patch(
                f"{ARTICLES}{rng.choice(self.ids)}",
                json={"views": rng.randrange(1000), "tags": [f"t{rng.randrange(20)}"]},
                headers=WRITER,
            )
        elif roll < 0.96 and len(self.ids) > 50:
            op, call = "delete", self._delete(rng)
        else:
            op, call = "ready", self.client.get(READY)
        started = time.perf_counter()
        try:
            response = await call
        except httpx.HTTPError as exc:
            tally.errors[f"{op}: {type(exc).__name__}"] += 1
            return
        tally.latencies.append(time.perf_counter() - started)
        tally.statuses[response.status_code] += 1
        tally.by_op[op] += 1
        if response.status_code >= 500:
            tally.server_errors.append(f"{op} {response.status_code} {response.text[:200]}")

    @staticmethod
    def _list_params(rng: random.Random) -> dict[str, Any]:
        params: dict[str, Any] = {
            "limit": rng.choice([5, 10, 20, 50]),
            "orderBy": rng.choice(ORDERS),
        }
        if rng.random() < 0.2:
            params["q"] = rng.choice(["load", "article", "zz"])
        if rng.random() < 0.1:
            params["count"] = "true"
        if rng.random() < 0.1:
            params["tag"] = f"t{rng.randrange(20)}"
        return params

    async def _follow_cursor(self, rng: random.Random) -> httpx.Response:
        params = {"limit": 10, "orderBy": rng.choice(ORDERS)}
        first = await self.client.get(ARTICLES, params=params, headers=WRITER)
        cursor = first.json().get("nextCursor") if first.status_code == 200 else None
        if not cursor:
            return first
        return await self.client.get(ARTICLES, params={**params, "cursor": cursor}, headers=WRITER)

    async def _create(self, rng: random.Random) -> httpx.Response:
        response = await self.client.post(
            ARTICLES,
            json={
                "title": f"Load article {rng.randrange(10**9)}",
                "tags": [f"t{rng.randrange(20)}"],
            },
            headers=WRITER,
        )
        if response.status_code == 201:
            self.ids.append(response.json()["id"])
        return response

    async def _delete(self, rng: random.Random) -> httpx.Response:
        article_id = self.ids.pop(rng.randrange(len(self.ids)))
        return await self.client.delete(f"{ARTICLES}{article_id}", headers=WRITER)


async def drive(mix: Mix, seconds: float, *, seed: int) -> tuple[Tally, float]:
    tally = Tally()
    deadline = time.perf_counter() + seconds

    async def worker(number: int) -> None:
        rng = random.Random(seed * 1000 + number)
        while time.perf_counter() < deadline:
            await mix.one(rng, tally)

    started = time.perf_counter()
    async with asyncio.timeout(seconds + 60):
        await asyncio.gather(*(worker(n) for n in range(CONCURRENCY)))
    return tally, time.perf_counter() - started


@pytest.fixture(scope="module")
def load_db(pg_role: PgRole) -> Any:
    with scratch_database(pg_role, "app_api_load") as database:
        yield database


def _start(command: list[str], *, cwd: Path, env: dict[str, str], log_path: Path) -> Any:
    with log_path.open("wb") as log:
        return subprocess.Popen(command, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT)


@pytest.fixture
async def server(load_db: PgDatabase, tmp_path: Path) -> Any:
    """uvicorn serving the fixture app (tests/machinery/fixture/asgi.py) on a free loopback port,
    as staging would run it."""
    port = free_port()
    log_path = tmp_path / "server.log"
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/tmp"),
        "LANG": "C.UTF-8",
        "PYTHONPATH": str(ROOT),
        "ENVIRONMENT": "staging",
        "SECRET_KEY": REL_SECRET,
        "DATABASE_URL": load_db.app_url(),
    }
    process = _start(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "tests.machinery.fixture.asgi:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--no-access-log",
        ],
        cwd=tmp_path,  # no .env there: only the environment above counts
        env=env,
        log_path=log_path,
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        async with httpx.AsyncClient(base_url=base_url, timeout=2) as probe:
            while True:
                assert process.poll() is None, log_path.read_text()[-3000:]
                try:
                    if (await probe.get(READY)).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert time.monotonic() < deadline, "uvicorn did not get ready in 30 s"
                await asyncio.sleep(0.1)
        yield process, base_url, log_path
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
        WATCH.record("uvicorn log", log_path.read_text(errors="replace"))


@pytest.mark.slow
async def test_mixed_load(load_db: PgDatabase, server: Any) -> None:
    process, base_url, log_path = server
    seconds = load_seconds()
    warmup_seconds = min(10.0, max(3.0, seconds / 10))
    limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
    async with httpx.AsyncClient(base_url=base_url, timeout=15, limits=limits) as client:
        ids: list[str] = []
        mix = Mix(client, ids)
        for n in range(100):
            created = await client.post(
                ARTICLES, json={"title": f"Seed load article {n}"}, headers=WRITER
            )
            assert created.status_code == 201, created.text
            ids.append(created.json()["id"])
        warm, _ = await drive(mix, warmup_seconds, seed=1)
        rss_warm = rss_kib(process.pid)
        server_cpu, client_cpu = cpu_seconds(process.pid), time.process_time()
        tally, elapsed = await drive(mix, seconds, seed=2)
        rss_end = rss_kib(process.pid)
        server_cpu = cpu_seconds(process.pid) - server_cpu
        client_cpu = time.process_time() - client_cpu

    # The pool goes back to idle once the load stops.
    active: list[Any] = []
    for _ in range(50):
        active = await load_db.app_backends(state="active")
        if not active:
            break
        await asyncio.sleep(0.1)
    backends = await load_db.app_backends()

    total = len(tally.latencies)
    figures = {
        "seconds": round(elapsed, 2),
        "warmup_seconds": warmup_seconds,
        "concurrency": CONCURRENCY,
        "requests": total,
        "req_per_s": round(total / elapsed, 1),
        "p50_ms": round(percentile(tally.latencies, 0.50) * 1000, 2),
        "p90_ms": round(percentile(tally.latencies, 0.90) * 1000, 2),
        "p99_ms": round(percentile(tally.latencies, 0.99) * 1000, 2),
        "max_ms": round(max(tally.latencies, default=0) * 1000, 2),
        "statuses": {str(k): v for k, v in sorted(tally.statuses.items())},
        "ops": dict(sorted(tally.by_op.items())),
        "client_errors": dict(tally.errors),
        "server_5xx": len(tally.server_errors),
        "warmup_requests": len(warm.latencies),
        "server_cpu_pct": round(server_cpu / elapsed * 100, 1),
        "load_generator_cpu_pct": round(client_cpu / elapsed * 100, 1),
        "rss_kib_after_warmup": rss_warm,
        "rss_kib_end": rss_end,
        "rss_change_pct": round((rss_end - rss_warm) / rss_warm * 100, 2),
        "pg_backends_after": len(backends),
        "pg_active_after": len(active),
    }
    RESULTS.write_text(json.dumps(figures, indent=2) + "\n")
    print("\nload figures:\n" + json.dumps(figures, indent=2))

    assert not tally.server_errors, tally.server_errors[:5]
    assert not warm.server_errors, warm.server_errors[:5]
    assert not tally.errors, tally.errors
    assert set(tally.statuses) <= {200, 201, 204, 404}, tally.statuses
    assert total > 0
    assert active == [], f"connections still active after the load: {active}"
    assert len(backends) <= POOL_SIZE, backends
    assert abs(rss_end - rss_warm) <= rss_warm * 0.10, (rss_warm, rss_end)
    log = log_path.read_text(errors="replace")
    assert '"level":"ERROR"' not in log, [line for line in log.splitlines() if '"ERROR"' in line][
        :3
    ]
    assert "Traceback" not in log
