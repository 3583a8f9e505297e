"""Two uvicorn workers behind `python -m app.serve`: one scrape, whichever worker answers it,
reports the sum over both (prometheus-client's multiprocess mode), and the directory is
emptied at start (a real stale file of an earlier run is not counted). The server serves the
machinery fixture (tests.machinery.fixture.asgi:app) on an SQLite file."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.multiprocess import MultiProcessCollector

from app.core.config import Settings
from app.core.db import create_engine, prepare_embedded_database
from app.core.embedded import served_schemas
from tests.conftest import ROOT, TEST_SECRET, make_settings
from tests.faults import free_port
from tests.machinery.fixture.resources import RESOURCES
from tests.metrics.support import METRICS, METRICS_TOKEN, Scrape

pytestmark = pytest.mark.slow

HEALTH = "/api/v1/utils/health-check"
HEALTH_LABELS = {"method": "GET", "route": HEALTH, "status": "200"}
AUTH = {"Authorization": f"Bearer {METRICS_TOKEN}"}
CLOSE = {"Connection": "close"}  # a new connection per request: either worker may accept it


APP = "tests.machinery.fixture.asgi:app"


async def _sqlite_ready(path: Path, cwd: Path) -> str:
    """An SQLite file prepared once as each worker would at its start (the fixture's tables and
    demo rows, with the PRISMA_DIR the server will see: `prisma` of its working directory,
    absent), so that two workers starting together only read it."""
    url = f"sqlite:///{path}"
    settings: Settings = make_settings(DATABASE_URL=url)
    engine = create_engine(settings)
    try:
        await prepare_embedded_database(
            engine, prisma_dir=cwd / "prisma", schemas=served_schemas(RESOURCES)
        )
    finally:
        await engine.dispose()
    return url


def _children(parent: int) -> set[int]:
    found: set[int] = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == parent:
            found.add(int(entry.name))
    return found


def _start(
    command: list[str], *, cwd: Path, env: dict[str, str], log_path: Path
) -> subprocess.Popen[bytes]:
    with log_path.open("wb") as log:
        return subprocess.Popen(
            command,
            cwd=cwd,  # no .env there
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # the workers too can be killed as a group
        )


def _multiproc_dir_of(pid: int) -> Path:
    environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    (entry,) = [e for e in environ if e.startswith(b"PROMETHEUS_MULTIPROC_DIR=")]
    return Path(entry.split(b"=", 1)[1].decode())


def _files(directory: Path, pattern: str) -> list[Path]:
    return list(directory.glob(pattern))


@asynccontextmanager
async def serving(
    tmp_path: Path, *, multiproc_dir: Path | None
) -> AsyncIterator[tuple[subprocess.Popen[bytes], str]]:
    port = free_port()
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/tmp"),
        "LANG": "C.UTF-8",
        "TMPDIR": str(tmp_path),
        "PYTHONPATH": str(ROOT),
        "ENVIRONMENT": "local",
        "SECRET_KEY": TEST_SECRET,
        "DATABASE_URL": await _sqlite_ready(tmp_path / "workers.sqlite3", cwd=tmp_path),
        "LOG_LEVEL": "WARNING",
        "METRICS_TOKEN": METRICS_TOKEN,
    }
    if multiproc_dir is not None:
        env["PROMETHEUS_MULTIPROC_DIR"] = str(multiproc_dir)
    log_path = tmp_path / "server.log"
    command = [sys.executable, "-m", "app.serve", APP, "--workers", "2"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--no-access-log"]
    process = _start(command, cwd=tmp_path, env=env, log_path=log_path)
    try:
        yield process, f"http://127.0.0.1:{port}"
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=5)
        print(log_path.read_text(errors="replace")[-3000:])


async def scrape_over_http(client: httpx.AsyncClient) -> Scrape:
    response = await client.get(METRICS, headers={**AUTH, **CLOSE})
    assert response.status_code == 200, response.text
    return Scrape(response.text)


def worker_pids(result: Scrape) -> set[int]:
    return {int(dict(labels)["pid"]) for labels in result.series("process_cpu_seconds_total")}


async def until_both_workers_report(
    process: subprocess.Popen[bytes], client: httpx.AsyncClient
) -> Scrape:
    """Both workers started (each writes its files at import); bounded to 60 s."""
    deadline = time.monotonic() + 60
    while True:
        assert process.poll() is None, "the server exited"
        try:
            result = await scrape_over_http(client)
            if len(worker_pids(result)) == 2:
                return result
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, "two workers did not come up in 60 s"
        await asyncio.sleep(0.2)


async def send(client: httpx.AsyncClient, count: int) -> None:
    """`count` health checks, 6 at a time, each on its own connection."""
    semaphore = asyncio.Semaphore(6)

    async def one() -> None:
        async with semaphore:
            response = await client.get(HEALTH, headers=CLOSE)
            assert response.status_code == 200

    async with asyncio.timeout(120):
        await asyncio.gather(*(one() for _ in range(count)))


def per_worker(directory: Path) -> dict[int, float]:
    """Each worker's own count of the health checks, read from its file alone."""
    counts: dict[int, float] = {}
    for path in directory.glob("counter_*.db"):
        pid = int(path.stem.split("_")[1])
        for metric in MultiProcessCollector.merge([str(path)], accumulate=False):
            for sample in metric.samples:
                if sample.name == "http_requests_total" and sample.labels == HEALTH_LABELS:
                    counts[pid] = counts.get(pid, 0) + sample.value
    return counts


def _stale_counter_file(directory: Path) -> Path:
    """A file of an earlier run, written by prometheus-client itself: 1000 health checks."""
    code = (
        "from prometheus_client import Counter\n"
        "Counter('http_requests', 'x', ['method', 'route', 'status'])"
        f".labels('GET', {HEALTH!r}, '200').inc(1000)\n"
    )
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(directory)}
    subprocess.run([sys.executable, "-c", code], env=env, check=True, timeout=60)
    (stale,) = directory.glob("counter_*.db")
    return stale


async def test_two_workers_are_summed_in_one_scrape(tmp_path: Path) -> None:
    directory = tmp_path / "prometheus"
    directory.mkdir()
    stale = _stale_counter_file(directory)
    async with serving(tmp_path, multiproc_dir=directory) as (process, base_url):
        limits = httpx.Limits(max_keepalive_connections=0)
        async with httpx.AsyncClient(base_url=base_url, timeout=10, limits=limits) as client:
            started = await until_both_workers_report(process, client)
            pids = worker_pids(started)
            assert pids <= _children(process.pid)
            assert not stale.exists()
            assert started.value("http_requests_total", **HEALTH_LABELS) == 0

            sent = 0
            counts: dict[int, float] = {}
            for _ in range(5):  # until both workers have served some (bounded)
                await send(client, 200)
                sent += 200
                deadline = time.monotonic() + 10
                while sum((counts := per_worker(directory)).values()) < sent:
                    assert time.monotonic() < deadline, counts  # each flushes every second
                    await asyncio.sleep(0.2)
                if len([c for c in counts.values() if c > 0]) == 2:
                    break

            assert set(counts) == pids
            assert all(count > 0 for count in counts.values()), counts
            assert sum(counts.values()) == sent
            # Whichever worker answers, a scrape reports the sum of both.
            result = started
            for _ in range(6):
                result = await scrape_over_http(client)
                assert result.value("http_requests_total", **HEALTH_LABELS) == sent
                duration = {"method": "GET", "route": HEALTH}
                assert result.value("http_request_duration_seconds_count", **duration) == sent
                assert worker_pids(result) == pids
                assert result.value("app_api_build_info", version="0.1.0") == 1
                assert result.value("app_api_db_connections", state="idle") >= 2  # one each
            assert len(result.series("http_requests_total")) <= 3  # health checks and scrapes
            refused = await client.get(METRICS, headers=CLOSE)
            assert refused.status_code == 401
    # A graceful exit takes the workers out of the live gauges; their counts stay.
    assert process.returncode is not None
    assert not _files(directory, "gauge_live*")
    assert len(_files(directory, "counter_*.db")) == 2


async def test_without_a_directory_serve_makes_one_and_removes_it(tmp_path: Path) -> None:
    async with serving(tmp_path, multiproc_dir=None) as (process, base_url):
        limits = httpx.Limits(max_keepalive_connections=0)
        async with httpx.AsyncClient(base_url=base_url, timeout=10, limits=limits) as client:
            result = await until_both_workers_report(process, client)
            pid = next(iter(worker_pids(result)))
            directory = _multiproc_dir_of(pid)
            assert directory.parent == tmp_path  # made in TMPDIR
            assert directory.name.startswith("app-api-metrics-")
            assert _files(directory, "counter_*.db")
            await send(client, 20)
            deadline = time.monotonic() + 10
            total: Any = 0
            while total != 20:
                assert time.monotonic() < deadline, total
                await asyncio.sleep(0.2)
                total = (await scrape_over_http(client)).value(
                    "http_requests_total", **HEALTH_LABELS
                )
    assert process.returncode is not None
    assert not _files(tmp_path, "app-api-metrics-*")
