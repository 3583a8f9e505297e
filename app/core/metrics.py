"""Prometheus metrics: what the service does, per route, summed over workers.

`install_metrics` (from `create_app`) adds `GET /metrics`; `RequestContextMiddleware`, the
outermost middleware, hands `Metrics.observe` every answered request with the status it ended
with (the body guard's 413/415 and the 500/503 it answers for an unhandled error included).

Labels stay bounded whatever callers send: `route` is the template of the route that answered
(`/api/v1/pages/{id}`, read from `scope["route"]`, which Starlette's router sets for a match or
a partial match (405) and HotPath for the reads it serves), one value for every other path;
`method` is one of the HTTP methods or `other`; `status` is the status sent.

One worker (no `PROMETHEUS_MULTIPROC_DIR`): the app has its own registry (its metrics, the
process and platform collectors) and a scrape reads it. Several workers: prometheus-client's
multiprocess mode. Every worker writes its values to files in that directory (`python -m
app.serve` creates and empties it before the workers start) and a scrape, whichever worker
answers it, sums the files of all of them.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import multiprocessing
import os
import re
from bisect import bisect_left
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import asyncpg  # pyright: ignore[reportMissingTypeStubs]
from fastapi import FastAPI, Request
from loguru import logger
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client import multiprocess as prometheus_multiprocess
from prometheus_client import values as prometheus_values
from prometheus_client.gc_collector import GCCollector
from prometheus_client.metrics import disable_created_metrics
from prometheus_client.metrics_core import Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector
from sqlalchemy import exc as sa_exc
from sqlalchemy.pool import QueuePool
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Scope

from app import __version__
from app.core.config import Settings
from app.core.errors import UnauthorizedError, is_connection_error
from app.serve import worker_count

if TYPE_CHECKING:
    from app.core.db import Database

# Removes a dead process's live-gauge files (its parameters carry no annotations).
mark_process_dead: Callable[[int, str], None] = prometheus_multiprocess.mark_process_dead  # pyright: ignore[reportUnknownMemberType, reportUnknownVariableType]

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
METRICS_PATH = "/metrics"
UNMATCHED = "unmatched"
OTHER = "other"
HTTP_METHODS = frozenset(
    {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT"}
)
# A by-id read takes well under a millisecond: the default buckets (from 5 ms) would put
# nearly every request in the first one.
REQUEST_BUCKETS = (
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
)
# An admission without waiting is observed as 0; a timed-out wait as DB_POOL_TIMEOUT.
POOL_WAIT_BUCKETS = (0.0001, 0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
# How often each worker writes its pool gauges to its file in multiprocess mode (the worker
# answering a scrape writes its own just before).
GAUGE_REFRESH_SECONDS = 1.0

# PostgreSQL conditions that mean the server cannot be reached or will not take the session:
# class 08 (connection exception) and these.
_UNREACHABLE_SQLSTATES = frozenset({"53300", "57P01", "57P02", "57P03"})
_STATEMENT_TIMEOUT_SQLSTATE = "57014"
# Files prometheus-client writes in multiprocess mode: counter_123.db, gauge_livesum_123.db …
_METRIC_FILE = re.compile(r"^(?:counter|histogram|summary|gauge_[a-z]+)_(?P<pid>\d+)\.db$")


def multiprocess_dir() -> str | None:
    """The directory of multiprocess mode, or None (one process)."""
    return os.environ.get(MULTIPROC_ENV) or None


def metrics_served(settings: Settings) -> bool:
    """Whether this app serves /metrics (and so measures anything at all)."""
    if not settings.METRICS_ENABLED:
        return False
    return settings.METRICS_TOKEN is not None or settings.ENVIRONMENT == "local"


def database_error_kind(exc: BaseException) -> str | None:
    """`statement_timeout`, `unreachable` or `other` for a database error; None otherwise.

    A pool timeout and a constraint violation (answered 409) are not database errors here:
    the first has a counter of its own, the second is the client's data.
    """
    if isinstance(exc, sa_exc.TimeoutError | sa_exc.IntegrityError):
        return None
    state = _sqlstate(exc)
    if state == _STATEMENT_TIMEOUT_SQLSTATE:
        return "statement_timeout"
    if state is not None:
        return (
            "unreachable" if state.startswith("08") or state in _UNREACHABLE_SQLSTATES else "other"
        )
    if is_connection_error(exc):
        return "unreachable"
    if isinstance(exc, sa_exc.SQLAlchemyError | asyncpg.PostgresError | asyncpg.InterfaceError):
        return "other"
    return None


def _sqlstate(exc: BaseException) -> str | None:
    """The SQLSTATE of `exc` or of what it wraps (SQLAlchemy's `orig`, the chained cause)."""
    seen: set[int] = set()
    pending: list[BaseException | None] = [exc]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        state = getattr(current, "sqlstate", None)
        if isinstance(state, str) and state:
            return state
        orig = getattr(current, "orig", None)
        pending += [current.__cause__, orig if isinstance(orig, BaseException) else None]
    return None


class Metrics:
    """The app's metric objects, the label children already bound, and the scrape."""

    def __init__(self, *, multiprocess_dir: str | None = None, routes: Sequence[Any] = ()) -> None:
        # No `*_created` series: multiprocess mode has none, so both modes expose the same.
        disable_created_metrics()
        self.multiprocess_dir = multiprocess_dir
        if multiprocess_dir is not None:
            if not getattr(prometheus_values.ValueClass, "_multiprocess", False):
                raise RuntimeError(
                    f"{MULTIPROC_ENV} was set after prometheus_client was imported: "
                    "set it in the environment the server starts with (python -m app.serve)"
                )
            Path(multiprocess_dir).mkdir(parents=True, exist_ok=True)
            # In multiprocess mode values live in the directory's files, not in a registry.
            self.registry: CollectorRegistry | None = None
        else:
            self.registry = CollectorRegistry(auto_describe=True)
            ProcessCollector(registry=self.registry)
            PlatformCollector(registry=self.registry)
            GCCollector(registry=self.registry)
        registry = self.registry
        self.requests = Counter(
            "http_requests",
            "HTTP requests answered, by method, route template and status.",
            ["method", "route", "status"],
            registry=registry,
        )
        self.duration = Histogram(
            "http_request_duration_seconds",
            "Time from the request's arrival to the end of its response, by method and route.",
            ["method", "route"],
            buckets=REQUEST_BUCKETS,
            registry=registry,
        )
        self.pool_wait = Histogram(
            "app_api_db_pool_wait_seconds",
            "Time a request waited for a database connection (0 when one was free).",
            buckets=POOL_WAIT_BUCKETS,
            registry=registry,
        )
        self.pool_timeouts = Counter(
            "app_api_db_pool_timeouts",
            "Requests answered 503 because no database connection was free in time.",
            registry=registry,
        )
        self.db_errors = Counter(
            "app_api_db_errors",
            "Database errors that failed a request, by kind.",
            ["kind"],
            registry=registry,
        )
        self.connections = Gauge(
            "app_api_db_connections",
            "Database connections: in_use by a request, idle in the pool, warm (held by the "
            "read path between reads).",
            ["state"],
            multiprocess_mode="livesum",
            registry=registry,
        )
        self.build_info = Gauge(
            "app_api_build_info",
            "The running version of app-api (always 1).",
            ["version"],
            multiprocess_mode="livemax",
            registry=registry,
        )
        for kind in ("unreachable", "statement_timeout", "other"):
            self.db_errors.labels(kind)  # exported as 0 before the first error
        self._in_use = self.connections.labels("in_use")
        self._idle = self.connections.labels("idle")
        self._warm = self.connections.labels("warm")
        self.build_info.labels(__version__).set(1)
        # Observed per request, written to the objects above by flush().
        self.pool_waits = Observations(len(POOL_WAIT_BUCKETS) + 1, bounds=POOL_WAIT_BUCKETS)
        Observations.check(self.pool_wait)
        self._database: Database | None = None
        self._admitted_seen = 0
        self._pending: dict[tuple[str, str, int], Observations] = {}
        self._flushes: list[tuple[Observations, Counter, Histogram]] = []
        self._templates: dict[int, tuple[object, str]] = {}
        # The app's routes (a live list): plain routes are matched for requests without a route.
        self.routes = routes
        self._plain_routes: list[Route] = []
        self._plain_routes_from = -1

    # ------------------------------------------------------------------------ per request

    def observe(self, scope: Scope, status: int, seconds: float) -> None:
        """Count one answered request: a few dictionary lookups and additions (under a
        microsecond), written to prometheus-client's objects by `flush`."""
        method: str = scope["method"]
        if method not in HTTP_METHODS:
            method = OTHER
        route = scope.get("route")
        if route is None:
            template = self._unrouted(scope)
        else:
            known = self._templates.get(id(route))
            template = (
                known[1]
                if known is not None and known[0] is route
                else self._learn(route, _route_path(scope))
            )
        key = (method, template, status)
        pending = self._pending.get(key)
        if pending is None:
            pending = self._bind(key)
        pending.count += 1
        pending.total += seconds
        pending.buckets[bisect_left(REQUEST_BUCKETS, seconds)] += 1

    def _bind(self, key: tuple[str, str, int]) -> Observations:
        method, template, status = key
        label = str(status) if 100 <= status <= 599 else OTHER
        pending = Observations(len(REQUEST_BUCKETS) + 1)
        self._pending[key] = pending
        self._flushes.append(
            (
                pending,
                self.requests.labels(method, template, label),
                self.duration.labels(method, template),
            )
        )
        return pending

    def flush(self) -> None:
        """Write the observations made since the last flush into prometheus-client's
        counters and histograms (before a scrape; every second in multiprocess mode)."""
        for pending, counter, histogram in self._flushes:
            if pending.count:
                counter.inc(pending.count)
                pending.drain_into(histogram)
        database = self._database
        if database is not None:
            at_once = database.gate.admitted_at_once
            if at_once != self._admitted_seen:  # no wait: observations of 0
                self.pool_waits.add_zeros(at_once - self._admitted_seen)
                self._admitted_seen = at_once
        if self.pool_waits.count:
            self.pool_waits.drain_into(self.pool_wait)

    def _learn(self, route: object, path: str) -> str:
        """The full template of `route`, computed once per route object.

        FastAPI 0.16x matches included routers level by level: an included route's
        `path_format` lacks the prefix it was included with (`/pages/{id}` under `/api/v1`).
        That prefix is the part of the path in front of where the route's pattern matches.
        """
        template = getattr(route, "path_format", None) or getattr(route, "path", None)
        if not isinstance(template, str) or not template:
            template = UNMATCHED
        else:
            pattern = getattr(route, "path_regex", None)
            if isinstance(pattern, re.Pattern):
                compiled = cast("re.Pattern[str]", pattern)
                start = 0
                while start >= 0:
                    if compiled.match(path[start:]):
                        template = path[:start] + template
                        break
                    start = path.find("/", start + 1)
        self._templates[id(route)] = (route, template)
        return template

    def _unrouted(self, scope: Scope) -> str:
        """Routes FastAPI answers without setting `scope["route"]` (/docs, the OpenAPI
        document): the app's own plain routes, whose paths are whole. Anything else: one value."""
        if len(self.routes) != self._plain_routes_from:
            self._plain_routes = [r for r in self.routes if type(r) is Route]
            self._plain_routes_from = len(self.routes)
        if self._plain_routes:
            path = _route_path(scope)
            for route in self._plain_routes:
                if route.path_regex.match(path):
                    return route.path_format
        return UNMATCHED

    # --------------------------------------------------------------------- error handlers

    def database_error(self, exc: BaseException) -> None:
        """Count an error the app's handler turned into a response (see errors.py)."""
        if isinstance(exc, sa_exc.TimeoutError):
            self.pool_timeouts.inc()  # SQLAlchemy's pool, should the gate not have caught it
            return
        kind = database_error_kind(exc)
        if kind is not None:
            self.db_errors.labels(kind).inc()

    # ------------------------------------------------------------------------- lifespan

    def bind(self, database: Database) -> None:
        """Measure this database: the gate's waits and timeouts, the pool's connections."""
        self._database = database
        self._admitted_seen = database.gate.admitted_at_once
        database.gate.observe_wait = self.pool_waits.observe
        database.gate.on_timeout = self.pool_timeouts.inc
        self.refresh()

    def refresh(self) -> None:
        """Flush; write the pool's current state into the connection gauges."""
        self.flush()
        database = self._database
        if database is None:
            return
        pool = database.engine.sync_engine.pool
        warm = database.warm
        if isinstance(pool, QueuePool):
            self._in_use.set(max(pool.checkedout() - warm, 0))
            self._idle.set(pool.checkedin())
        self._warm.set(warm)

    # ----------------------------------------------------------------------------- scrape

    def exposition(self) -> bytes:
        """The text format of every metric (summed over the workers in multiprocess mode)."""
        if self.registry is not None:
            return generate_latest(self.registry)
        assert self.multiprocess_dir is not None
        registry = CollectorRegistry(auto_describe=True)
        MultiProcessCollector(registry, path=self.multiprocess_dir)
        registry.register(WorkerProcessCollector(live_workers(self.multiprocess_dir)))
        PlatformCollector(registry=registry)
        return generate_latest(registry)


def _route_path(scope: Scope) -> str:
    """The path without the root path the server gave (a mount extends scope["root_path"] on
    its way in and keeps the server's in scope["app_root_path"])."""
    path: str = scope["path"]
    root_path: str = scope.get("app_root_path", scope.get("root_path", ""))
    if root_path and path.startswith(root_path):
        return path[len(root_path) :]
    return path


def live_workers(directory: str) -> list[int]:
    """The pids that wrote metrics to `directory` and still run, oldest first.

    The live gauges (connections, build info) of a worker that is gone are removed, as
    prometheus-client's `mark_process_dead` does; its counters and histograms stay in the
    sums, so totals never go down when uvicorn replaces a worker.
    """
    pids: set[int] = set()
    with contextlib.suppress(FileNotFoundError):
        for entry in os.scandir(directory):
            match = _METRIC_FILE.match(entry.name)
            if match:
                pids.add(int(match["pid"]))
    alive: list[int] = []
    for pid in sorted(pids):
        if _running(pid):
            alive.append(pid)
        else:
            with contextlib.suppress(FileNotFoundError):
                mark_process_dead(pid, directory)
    return alive


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Observations:
    """Histogram observations not yet written to prometheus-client: a count, a sum and a
    count per bucket (the last one is +Inf).

    `Histogram.observe` costs 1.5 to 4 µs (a lock and a file write per value in multiprocess
    mode), the request counter as much again: several per cent of a fast read. Adding here
    and draining once per scrape (or per second) costs a fraction of that. prometheus-client
    has no public call to add many observations at once, so `drain_into` adds to the child's
    `_sum` and `_buckets`, the values `observe` itself adds to; `check` verifies at startup
    that they are there, and tests/metrics compare the exposition with `observe`'s.
    """

    __slots__ = ("bounds", "buckets", "count", "total")

    def __init__(self, size: int, *, bounds: tuple[float, ...] = REQUEST_BUCKETS) -> None:
        self.bounds = bounds
        self.count = 0
        self.total = 0.0
        self.buckets = [0] * size

    def observe(self, seconds: float) -> None:
        self.count += 1
        self.total += seconds
        self.buckets[bisect_left(self.bounds, seconds)] += 1

    def add_zeros(self, count: int) -> None:
        """`count` observations of 0 (the first bucket, nothing to the sum)."""
        self.count += count
        self.buckets[0] += count

    def drain_into(self, histogram: Histogram) -> None:
        target: Any = histogram
        target._sum.inc(self.total)
        for index, count in enumerate(self.buckets):
            if count:
                target._buckets[index].inc(count)
                self.buckets[index] = 0
        self.count = 0
        self.total = 0.0

    @staticmethod
    def check(histogram: Histogram) -> None:
        """Fail at startup, not at the first scrape, if prometheus-client's internals moved."""
        target: Any = histogram
        if not hasattr(target, "_sum") or not isinstance(getattr(target, "_buckets", None), list):
            raise RuntimeError("prometheus-client's Histogram changed: see Observations")


class WorkerProcessCollector(Collector):
    """prometheus-client's process metrics (CPU, memory, open fds) of every worker, by `pid`.

    In multiprocess mode the scrape is answered by any one worker: its own ProcessCollector
    would describe that worker alone, a different one at each scrape. This reads every live
    worker's /proc entry instead, with the library's own collector.
    """

    def __init__(self, pids: Iterable[int]) -> None:
        self.pids = list(pids)

    def collect(self) -> Iterable[Metric]:
        families: dict[str, Metric] = {}
        for pid in self.pids:
            collector = ProcessCollector(pid=_constant(pid), registry=None)
            for family in collector.collect():
                merged = families.get(family.name)
                if merged is None:
                    merged = families[family.name] = Metric(
                        family.name, family.documentation, family.type
                    )
                for sample in family.samples:
                    merged.add_sample(sample.name, {**sample.labels, "pid": str(pid)}, sample.value)
        return list(families.values())


def _constant(pid: int) -> Callable[[], int]:
    return lambda: pid


def _bearer(request: Request) -> str | None:
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not credentials.strip():
        return None
    return credentials.strip()


def install_metrics(app: FastAPI, settings: Settings) -> Metrics | None:
    """Add GET /metrics; the Metrics whose `observe` RequestContextMiddleware calls for every
    answered request, or None when metrics are off (then nothing is measured at all)."""
    app.state.metrics = None
    if not metrics_served(settings):
        return None
    metrics = Metrics(multiprocess_dir=multiprocess_dir(), routes=app.router.routes)
    app.state.metrics = metrics
    token = settings.METRICS_TOKEN.get_secret_value().encode() if settings.METRICS_TOKEN else None

    async def serve_metrics(request: Request) -> Response:
        if token is not None:
            given = _bearer(request)
            if given is None:
                raise UnauthorizedError("/metrics needs the METRICS_TOKEN bearer token.", error="")
            if not hmac.compare_digest(given.encode(), token):
                raise UnauthorizedError("The metrics token is not valid.")
        metrics.refresh()
        body = await asyncio.to_thread(metrics.exposition)
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    app.add_api_route(
        METRICS_PATH,
        serve_metrics,
        methods=["GET"],
        include_in_schema=False,
        name="metrics",
    )
    return metrics


def start_metrics(app: FastAPI) -> asyncio.Task[None] | None:
    """In the lifespan, once the database exists: measure it; in multiprocess mode, keep this
    worker's gauges current for the scrapes the other workers answer."""
    metrics: Metrics | None = app.state.metrics
    if metrics is None:
        return None
    metrics.bind(app.state.db)
    if metrics.multiprocess_dir is None:
        if _one_of_several_workers():
            logger.warning(
                "metrics: this is one of several worker processes but {} is unset: /metrics "
                "shows this worker only (start with python -m app.serve)",
                MULTIPROC_ENV,
            )
        return None
    task = asyncio.get_running_loop().create_task(_refresh_forever(metrics))
    app.state.metrics_task = task
    return task


def _one_of_several_workers() -> bool:
    """Is this a worker of `uvicorn --workers N` (N > 1)? Its parent's arguments tell; a
    `--reload` child has a parent too, but no siblings."""
    parent = multiprocessing.parent_process()
    if parent is None or parent.pid is None:
        return False
    try:
        args = Path(f"/proc/{parent.pid}/cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return False
    return worker_count(args.split("\0"), os.environ) > 1


async def _refresh_forever(metrics: Metrics) -> None:
    while True:
        await asyncio.sleep(GAUGE_REFRESH_SECONDS)
        metrics.refresh()


async def stop_metrics(app: FastAPI) -> None:
    """In the lifespan's end: stop refreshing; take this worker out of the live gauges."""
    metrics: Metrics | None = getattr(app.state, "metrics", None)
    task: asyncio.Task[None] | None = getattr(app.state, "metrics_task", None)
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        app.state.metrics_task = None
    if metrics is not None and metrics.multiprocess_dir is not None:
        metrics.flush()  # the last requests of this worker still count
        with contextlib.suppress(FileNotFoundError):
            mark_process_dead(os.getpid(), metrics.multiprocess_dir)
