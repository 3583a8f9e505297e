"""Loguru, configured once: pretty in local, one JSON object per line elsewhere."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import re
import sys
import threading
import time
from collections.abc import Callable
from contextvars import ContextVar
from datetime import datetime
from typing import TYPE_CHECKING, Any, TextIO

import orjson
from loguru import logger

if TYPE_CHECKING:
    from loguru import Record

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)

# stdlib loggers that libraries write to; all of them end up in loguru.
INTERCEPTED = (
    "uvicorn",
    "uvicorn.error",
    "uvicorn.access",
    "fastapi",
    "sqlalchemy",
    "sqlalchemy.engine",
    "sqlalchemy.pool",
    "asyncpg",
    "aiosqlite",
)

# Anything shaped like a bearer token, a JWT or a password in a URL is masked before writing.
_SECRET_PATTERNS = (
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+"),
    re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*"),
    re.compile(r"(?i)(://[^:/@\s]+:)[^@\s]+(@)"),
)


def redact(text: str) -> str:
    """Mask tokens and URL passwords in a log message."""
    if "eyJ" not in text and "://" not in text and "earer" not in text and "EARER" not in text:
        return text  # the common case, without running three regular expressions
    text = _SECRET_PATTERNS[0].sub(r"\1[REDACTED]", text)
    text = _SECRET_PATTERNS[1].sub("[REDACTED]", text)
    return _SECRET_PATTERNS[2].sub(r"\1[REDACTED]\2", text)


class InterceptHandler(logging.Handler):
    """Send stdlib log records to loguru, keeping the caller's location."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            level: str | int = logger.level(record.levelname).name
        except ValueError:
            level = record.levelno
        frame, depth = logging.currentframe(), 2
        while frame is not None and frame.f_code.co_filename == logging.__file__:
            frame = frame.f_back
            depth += 1
        logger.bind(logger_name=record.name).opt(depth=depth, exception=record.exc_info).log(
            level, record.getMessage()
        )


def _patch(record: Record) -> None:
    record["message"] = redact(record["message"])
    extra = record["extra"]
    extra.setdefault("logger_name", record["name"])
    request_id = request_id_var.get()
    if request_id is not None:
        record["extra"].setdefault("requestId", request_id)


def _json_line(record: Record) -> str:
    payload: dict[str, Any] = {
        "time": record["time"].isoformat(timespec="milliseconds"),
        "level": record["level"].name,
        "message": record["message"],
        "logger": record["extra"].get("logger_name", record["name"]),
    }
    for key, value in record["extra"].items():
        if key != "logger_name":
            payload[key] = value
    exception = record["exception"]
    if exception is not None and exception.type is not None:
        payload["exception"] = {
            "type": exception.type.__name__,
            "value": redact(str(exception.value)),
        }
    return orjson.dumps(payload, default=str).decode()


def _json_lines(record: Record) -> str:
    """The record's JSON line; for a batch of access lines (AccessLog), one line per entry."""
    batch: list[tuple[float, AccessEntry]] | None = record["extra"].get(_ACCESS_BATCH)
    if batch is None:
        return _json_line(record) + "\n"
    zone = record["time"].tzinfo
    dumps, stamp = orjson.dumps, datetime.fromtimestamp
    lines: list[str] = []
    for ended, entry in batch:
        line = {
            "time": stamp(ended, zone).isoformat(timespec="milliseconds"),
            "level": "INFO",
            "message": redact(_access_message(entry)),
            "logger": _ACCESS_LOGGER,
            **_access_fields(entry),
        }
        lines.append(dumps(line).decode())
    lines.append("")
    return "\n".join(lines)


def json_sink(stream: TextIO) -> Callable[[Any], None]:
    def write(message: Any) -> None:
        stream.write(_json_lines(message.record))

    return write


class BatchedJsonSink:
    """A loguru sink writing JSON lines in batches: one write per `interval`, not per line.

    Writing and flushing each access line was a tenth of a fast read's CPU (a system call per
    request). Lines wait at most `interval` seconds (or until `max_bytes` are pending); a
    WARNING or worse is written at once together with everything before it, and `stop` (loguru
    calls it on `logger.remove()` and at exit) writes what is left. A background thread does
    the periodic writes; lines keep their order.
    """

    def __init__(self, stream: TextIO, *, interval: float = 0.1, max_bytes: int = 64 * 1024):
        self._stream = stream
        self._interval = interval
        self._max_bytes = max_bytes
        self._pending: list[str] = []
        self._size = 0
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None

    def write(self, message: Any) -> None:
        record = message.record
        line = _json_lines(record)
        with self._lock:
            if self._size > 16 * self._max_bytes:  # the stream has been failing for a while
                self._pending, self._size = [], 0
            self._pending.append(line)
            self._size += len(line)
            urgent = record["level"].no >= _URGENT_LEVEL or self._size >= self._max_bytes
            if urgent:
                self._write_pending()
        if self._thread is None:
            self._start()

    def drain(self) -> None:
        """Write the pending lines now. (Not `flush`: loguru would call that after each line.)"""
        with self._lock:
            self._write_pending()

    def stop(self) -> None:
        self._stopped.set()
        self.drain()

    def _write_pending(self) -> None:  # with the lock held
        if self._pending:
            text = "".join(self._pending)
            self._stream.write(text)
            # Cleared once written: a failed write is retried with the next batch (bounded:
            # past 16 batches' worth the oldest lines are dropped).
            self._pending, self._size = [], 0
            self._stream.flush()

    def _start(self) -> None:
        with self._lock:
            if self._thread is None and not self._stopped.is_set():
                self._thread = threading.Thread(target=self._run, name="log-writer", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while not self._stopped.wait(self._interval):
            try:
                self.drain()
            except Exception as exc:  # the stream failed (EAGAIN, a closed pipe): keep going
                self._report(exc)

    def _report(self, exc: Exception) -> None:
        # Not through loguru (that is what failed); nowhere left to report to if this fails.
        with contextlib.suppress(Exception):
            sys.__stderr__.write(f"app-api: writing log lines failed: {exc!r}\n")  # pyright: ignore[reportOptionalMemberAccess]


_URGENT_LEVEL = 30  # WARNING
_batched: BatchedJsonSink | None = None
_ACCESS_BATCH = "_access"  # extra key of a batch record: its (ended, AccessEntry) pairs
_ACCESS_LOGGER = "app.core.middleware"  # the "logger" of access lines
_MAX_PENDING = 4096
_CHUNK = 64  # lines per batch record, one batch per turn of the event loop

# requestId, method, path, status, durationMs, actor
AccessEntry = tuple[str, str, str, int, float, str | None]


class AccessLog:
    """The access lines of RequestContextMiddleware, handed to loguru in batches.

    One loguru call per line was the largest cost we control of a fast read: 60-90 µs of a
    by-id read's 270 µs of CPU when logged at once (loguru's record building, the patcher and
    the sink are cold in the CPU's caches by the next request), still 12-13 µs when logged in a
    loop, about a tenth of the worker's CPU under load (py-spy under wrk).

    With `interval` > 0 (the service's batched JSON logs: they are written every 0.1 s anyway)
    a line waits at most `interval` seconds; an event-loop timer then logs the waiting lines as
    batch records, `_CHUNK` lines per loguru record and one record per turn of the loop (the
    loop serves requests in between). The record carries the lines under the extra key
    `_ACCESS_BATCH`; our JSON sinks (`json_sink`, `BatchedJsonSink`) write one JSON object per
    line, stamped with the time its response ended, exactly as a line logged on its own
    (about 2 µs a line). Loguru still filters the record by level and hands it to every sink.
    `flush()` logs them all now (at shutdown; `flush_logs` calls it). With 0 (pretty logs,
    local tools) each line is its own record, logged at once.
    """

    def __init__(self) -> None:
        self.interval = 0.0
        self._pending: list[tuple[float, AccessEntry]] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._scheduled: asyncio.Handle | None = None

    def add(self, entry: AccessEntry) -> None:
        if self.interval <= 0:
            _log_access(entry)
            return
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # the first line, or an earlier loop's lines (tests)
            self.flush()
            self._loop = loop
        self._pending.append((time.time(), entry))
        if self._scheduled is None:
            # An empty context: the timer belongs to no request (nor to its Sentry scope).
            self._scheduled = loop.call_later(
                self.interval, self._drain, context=contextvars.Context()
            )
        elif len(self._pending) >= _MAX_PENDING:
            self.flush()

    def _drain(self) -> None:
        """The timer: log the oldest `_CHUNK` lines; the rest at the loop's next turn."""
        self._scheduled = None
        chunk, self._pending = self._pending[:_CHUNK], self._pending[_CHUNK:]
        _log_batch(chunk)
        if self._pending and self._loop is not None:
            self._scheduled = self._loop.call_soon(self._drain, context=contextvars.Context())

    def flush(self) -> None:
        """Log every waiting line now, in the order their responses ended."""
        if self._scheduled is not None:
            self._scheduled.cancel()
            self._scheduled = None
        pending, self._pending = self._pending, []
        for start in range(0, len(pending), _CHUNK):
            _log_batch(pending[start : start + _CHUNK])


def _log_batch(chunk: list[tuple[float, AccessEntry]]) -> None:
    if chunk:
        logger.bind(logger_name=_ACCESS_LOGGER, **{_ACCESS_BATCH: chunk}).info(
            "{} access lines", len(chunk)
        )


def _access_message(entry: AccessEntry) -> str:
    _, method, path, status, duration_ms, _ = entry
    return f"{method} {path} {status} {duration_ms}ms"


def _access_fields(entry: AccessEntry) -> dict[str, Any]:
    """An access line's own keys, in their order (after time, level, message, logger)."""
    request_id, method, path, status, duration_ms, actor = entry
    return {
        "requestId": request_id,
        "method": method,
        "path": path,
        "status": status,
        "durationMs": duration_ms,
        "actor": actor,
    }


def _log_access(entry: AccessEntry) -> None:
    # A formatted message and no arguments: loguru does not format it again (a path's braces).
    logger.bind(logger_name=_ACCESS_LOGGER, **_access_fields(entry)).info(_access_message(entry))


access_log = AccessLog()


def flush_logs() -> None:
    """Log the waiting access lines and write the lines a batched sink still holds (at
    shutdown; tests call it before reading what was logged)."""
    access_log.flush()
    if _batched is not None:
        _batched.drain()


def configure_logging(
    *, level: str, json: bool, stream: TextIO | None = None, batched: bool = False
) -> None:
    """(Re)configure loguru and route the stdlib loggers into it. Safe to call twice.

    `batched` (JSON only): lines below WARNING are written every 0.1 s (BatchedJsonSink), and
    access lines are handed to loguru every 0.1 s (AccessLog).
    """
    global _batched
    out = stream or sys.stderr
    access_log.flush()  # to the sinks they were meant for
    access_log.interval = 0.1 if json and batched else 0.0
    logger.remove()
    logger.configure(patcher=_patch)
    _batched = None
    if json:
        sink: Any = json_sink(out)
        if batched:
            sink = _batched = BatchedJsonSink(out)
        logger.add(sink, level=level, format="{message}", backtrace=False, diagnose=False)
    else:
        logger.add(
            out,
            level=level,
            backtrace=False,
            diagnose=False,
            format=(
                "<green>{time:HH:mm:ss.SSS}</green> <level>{level: <7}</level> "
                "<cyan>{extra[logger_name]}</cyan> {message}"
            ),
            colorize=None,
        )
    logging.basicConfig(handlers=[InterceptHandler()], level=0, force=True)
    for name in INTERCEPTED:
        std = logging.getLogger(name)
        std.handlers = []
        std.propagate = True
    # SQL statements are DEBUG noise unless asked for; warnings still come through.
    logging.getLogger("sqlalchemy.engine").setLevel(logging.WARNING)
    logging.getLogger("sqlalchemy.pool").setLevel(logging.WARNING)
    logging.getLogger("aiosqlite").setLevel(logging.WARNING)
    # Our middleware writes the access line (with request id and actor); uvicorn's would repeat
    # it. Without a handler to reach, uvicorn does not even format its own (it checks
    # hasHandlers() per connection, then builds the line's arguments on every response).
    access = logging.getLogger("uvicorn.access")
    access.setLevel(logging.WARNING)
    access.propagate = False
