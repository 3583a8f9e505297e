"""The pieces on their own: buffered observations expose what `observe` would, route templates
of routers included with prefixes and of mounts, and `python -m app.serve`'s preparation."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from fastapi import APIRouter, FastAPI
from prometheus_client import CollectorRegistry, Histogram, generate_latest
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from app.core.metrics import (
    POOL_WAIT_BUCKETS,
    REQUEST_BUCKETS,
    Metrics,
    Observations,
    WorkerProcessCollector,
    live_workers,
)
from app.core.middleware import RequestContextMiddleware
from app.serve import main as serve_main
from app.serve import prepare_multiprocess_dir, worker_count
from tests.conftest import app_client
from tests.metrics.support import Scrape


def test_buffered_observations_expose_exactly_what_observe_would() -> None:
    rng = random.Random(7)
    values = [rng.choice([0.0, 1e-5, 0.0005, 0.3, 10.0, 99.0]) * rng.random() for _ in range(500)]
    values += list(REQUEST_BUCKETS)  # on every bound: `le` means less than or equal
    direct_registry, buffered_registry = CollectorRegistry(), CollectorRegistry()
    direct = Histogram("h", "h", ["x"], buckets=REQUEST_BUCKETS, registry=direct_registry)
    buffered = Histogram("h", "h", ["x"], buckets=REQUEST_BUCKETS, registry=buffered_registry)
    Observations.check(buffered.labels("a"))
    pending = Observations(len(REQUEST_BUCKETS) + 1)
    for index, value in enumerate(values):
        direct.labels("a").observe(value)
        pending.observe(value)
        if index % 97 == 0:  # drained several times, as the scrapes would
            pending.drain_into(buffered.labels("a"))
    pending.drain_into(buffered.labels("a"))

    assert pending.count == 0
    assert sum(pending.buckets) == 0
    direct_text = generate_latest(direct_registry).decode()
    buffered_text = generate_latest(buffered_registry).decode()

    def strip(text: str) -> list[str]:
        return [line for line in text.splitlines() if "_created" not in line and "_sum" not in line]

    assert strip(direct_text) == strip(buffered_text)
    direct_sum = Scrape(direct_text).value("h_sum", x="a")
    assert abs(Scrape(buffered_text).value("h_sum", x="a") - direct_sum) < 1e-9 * max(1, direct_sum)


def test_pool_waits_use_their_own_buckets() -> None:
    metrics = Metrics()
    for seconds in (0.0, 0.0, 0.003, 4.0, 31.0):
        metrics.pool_waits.observe(seconds)
    metrics.flush()
    result = Scrape(metrics.exposition().decode())
    bucket = "app_api_db_pool_wait_seconds_bucket"
    assert result.value(bucket, le="0.0001") == 2
    assert result.value(bucket, le="0.005") == 3
    assert result.value(bucket, le="5.0") == 4
    assert result.value(bucket, le="+Inf") == 5
    assert result.value("app_api_db_pool_wait_seconds_count") == 5
    assert len(result.series(bucket)) == len(POOL_WAIT_BUCKETS) + 1


async def _ok() -> str:
    return "ok"


async def test_templates_of_nested_prefixes_and_mounts() -> None:
    inner = APIRouter(prefix="/inner")
    inner.add_api_route("/items/{item_id}", _ok, methods=["GET"])
    outer = APIRouter(prefix="/outer")
    outer.include_router(inner)
    application = FastAPI()
    application.include_router(outer, prefix="/api")
    application.add_api_route("/top/{name}", _ok, methods=["GET"])

    async def plain(_request: object) -> PlainTextResponse:
        return PlainTextResponse("sub")

    application.mount("/sub", Starlette(routes=[Route("/x/{y}", plain)]))
    metrics = Metrics(routes=application.router.routes)
    application.add_middleware(RequestContextMiddleware, on_response=metrics.observe)

    async with await app_client(application) as client:
        for path in ("/api/outer/inner/items/1", "/api/outer/inner/items/2", "/top/a", "/sub/x/1"):
            assert (await client.get(path)).status_code == 200, path
        assert (await client.post("/top/b")).status_code == 405
        assert (await client.get("/docs")).status_code == 200  # a plain route of the app
        assert (await client.get("/api/outer/nothing")).status_code == 404
    metrics.flush()
    counts = Scrape(metrics.exposition().decode()).requests()

    assert dict(counts) == {
        ("GET", "/api/outer/inner/items/{item_id}", "200"): 2,
        ("GET", "/top/{name}", "200"): 1,
        ("POST", "/top/{name}", "405"): 1,
        ("GET", "/sub/x/{y}", "200"): 1,
        ("GET", "/docs", "200"): 1,
        ("GET", "unmatched", "404"): 1,
    }


def test_worker_count_reads_the_flag_then_web_concurrency() -> None:
    assert worker_count([], {}) == 1
    assert worker_count([], {"WEB_CONCURRENCY": "3"}) == 3
    assert worker_count(["--workers", "4"], {"WEB_CONCURRENCY": "3"}) == 4
    assert worker_count(["--workers=2"], {}) == 2
    assert worker_count(["--workers", "4", "--reload"], {}) == 1
    assert worker_count([], {"WEB_CONCURRENCY": "many"}) == 1


def test_a_configured_directory_is_created_and_emptied_of_metric_files_only(
    tmp_path: Path,
) -> None:
    directory = tmp_path / "metrics"
    environ = {"PROMETHEUS_MULTIPROC_DIR": str(directory)}
    assert prepare_multiprocess_dir([], environ) is None
    assert directory.is_dir()

    stale = ["counter_12.db", "histogram_12.db", "gauge_livesum_12.db", "gauge_all_7.db"]
    kept = ["notes.txt", "counter.db", "other_12.db"]
    for name in stale + kept:
        (directory / name).write_bytes(b"x")
    assert prepare_multiprocess_dir(["--workers", "2"], environ) is None
    assert sorted(p.name for p in directory.iterdir()) == sorted(kept)


def test_several_workers_without_a_directory_get_a_temporary_one(tmp_path: Path) -> None:
    environ: dict[str, str] = {"WEB_CONCURRENCY": "2"}
    created = prepare_multiprocess_dir([], environ)
    try:
        assert created is not None
        assert created.is_dir()
        assert environ["PROMETHEUS_MULTIPROC_DIR"] == str(created)
        assert not list(created.iterdir())
    finally:
        if created is not None:
            created.rmdir()
    single: dict[str, str] = {"PROMETHEUS_MULTIPROC_DIR": ""}
    assert prepare_multiprocess_dir(["--workers", "1"], single) is None
    assert "PROMETHEUS_MULTIPROC_DIR" not in single  # empty is unset, and not passed on


def test_live_workers_are_the_running_writers_and_dead_ones_lose_their_live_gauges(
    tmp_path: Path,
) -> None:
    finished = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    dead = int(finished.stdout)
    alive = os.getpid()
    for name in (f"counter_{alive}.db", f"gauge_livesum_{alive}.db"):
        (tmp_path / name).write_bytes(b"")
    for name in (
        f"counter_{dead}.db",
        f"histogram_{dead}.db",
        f"gauge_livesum_{dead}.db",
        f"gauge_livemax_{dead}.db",
    ):
        (tmp_path / name).write_bytes(b"")
    (tmp_path / "unrelated_1.db").write_bytes(b"")

    assert live_workers(str(tmp_path)) == [alive]
    left = sorted(p.name for p in tmp_path.iterdir())
    # The dead worker's counts stay in the sums; its live gauges go.
    assert left == sorted(
        [
            f"counter_{alive}.db",
            f"gauge_livesum_{alive}.db",
            f"counter_{dead}.db",
            f"histogram_{dead}.db",
            "unrelated_1.db",
        ]
    )
    assert live_workers(str(tmp_path / "missing")) == []


def test_process_metrics_of_each_worker_carry_its_pid() -> None:
    registry = CollectorRegistry()
    registry.register(WorkerProcessCollector([os.getpid(), os.getppid()]))
    result = Scrape(generate_latest(registry).decode())

    for pid in (os.getpid(), os.getppid()):
        assert result.value("process_resident_memory_bytes", pid=str(pid)) > 0
        assert result.value("process_open_fds", pid=str(pid)) > 0
    assert result.types["process_cpu_seconds"] == "counter"


def test_multiprocess_mode_needs_the_variable_before_prometheus_client_starts(
    tmp_path: Path,
) -> None:
    with pytest.raises(RuntimeError, match="PROMETHEUS_MULTIPROC_DIR was set after"):
        Metrics(multiprocess_dir=str(tmp_path))


def test_serve_runs_uvicorn_and_removes_the_folder_it_made(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    # Set by serve for uvicorn's workers; given back unset after the test.
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", "")
    tempfile.tempdir = None  # read TMPDIR again
    try:
        with pytest.raises(SystemExit) as exited:
            serve_main(["--workers", "2", "--version"])  # uvicorn prints its version and exits
    finally:
        tempfile.tempdir = None
    assert exited.value.code == 0
    assert "uvicorn" in capsys.readouterr().out.lower()
    assert os.environ.get("PROMETHEUS_MULTIPROC_DIR", "").startswith(str(tmp_path))
    assert not list(tmp_path.iterdir())  # made for the run, gone after it
