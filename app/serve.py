"""`python -m app.serve [uvicorn's arguments]`: uvicorn, with the metrics directory ready.

With several workers (`--workers N` or `WEB_CONCURRENCY`), prometheus-client's multiprocess
mode needs a directory that every worker writes its metrics to, named in
`PROMETHEUS_MULTIPROC_DIR` *before* the workers start and emptied between runs (files left by
an earlier run would be read as this run's, and a reused pid would carry on from old values).
uvicorn's supervisor imports nothing of the app, so the app cannot do it: this wrapper does,
then runs uvicorn in this same process (PID 1 in the image, signals go to uvicorn as before).

- `PROMETHEUS_MULTIPROC_DIR` set: the directory is created if missing and emptied of
  prometheus-client's files (only those: `counter_<pid>.db`, `gauge_<mode>_<pid>.db`, …).
- unset, more than one worker: a fresh temporary directory, removed when uvicorn exits.
- unset, one worker: nothing to do; the app keeps its metrics in memory.

Every argument goes to uvicorn unchanged: `python -m app.serve app.main:app --port 8000`.

With `--reload` (`make run`), the app is first imported and started once in this process: a
start that fails (a setting, the embedded database, declarations that no longer match the
models) exits 1 with one line saying why, instead of uvicorn's reloader watching on with
nothing served.
"""

from __future__ import annotations

import asyncio
import importlib
import os
import re
import shutil
import sys
import tempfile
from collections.abc import MutableMapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from loguru import logger

if TYPE_CHECKING:
    from fastapi import FastAPI

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
_APP_TARGET = re.compile(r"^[\w.]+:[\w.]+$")
_METRIC_FILE = re.compile(r"^(?:counter|histogram|summary|gauge_[a-z]+)_\d+\.db$")


def worker_count(args: Sequence[str], environ: MutableMapping[str, str]) -> int:
    """How many workers uvicorn will start for these arguments (it reads WEB_CONCURRENCY
    when --workers is not given)."""
    value: str | None = environ.get("WEB_CONCURRENCY")
    for index, arg in enumerate(args):
        if arg == "--workers" and index + 1 < len(args):
            value = args[index + 1]
        elif arg.startswith("--workers="):
            value = arg.split("=", 1)[1]
    if "--reload" in args:
        return 1  # uvicorn ignores --workers with --reload
    try:
        return max(int(value or 1), 1)
    except ValueError:
        return 1  # uvicorn will refuse it with its own message


def prepare_multiprocess_dir(args: Sequence[str], environ: MutableMapping[str, str]) -> Path | None:
    """Set up the metrics directory for these arguments; the directory to remove at exit
    (one this function created), or None."""
    configured = environ.get(MULTIPROC_ENV)
    if configured:
        directory = Path(configured)
        directory.mkdir(parents=True, exist_ok=True)
        for entry in directory.iterdir():
            if _METRIC_FILE.match(entry.name) and entry.is_file():
                entry.unlink()
        return None
    # Empty counts as unset (prometheus-client would take it as "the working directory").
    environ.pop(MULTIPROC_ENV, None)
    if worker_count(args, environ) <= 1:
        return None
    created = Path(tempfile.mkdtemp(prefix="app-api-metrics-"))
    environ[MULTIPROC_ENV] = str(created)
    return created


def check_startup(target: str) -> str | None:
    """Import `target` (`app.main:app`) and run the app's startup and shutdown once, logging
    warnings only; the one-line reason it cannot start, or None."""
    from app.core.startup import startup_reason

    module_name, _, attribute = target.partition(":")
    level = os.environ.get("LOG_LEVEL")
    os.environ["LOG_LEVEL"] = "WARNING"  # read by the settings the target builds at import
    try:
        module = sys.modules.get(module_name)
        # Built anew from the current environment if this process imported it already.
        module = importlib.reload(module) if module else importlib.import_module(module_name)
        application = getattr(module, attribute or "app")
        asyncio.run(_start_and_stop(application))
    except Exception as exc:
        return startup_reason(exc)
    finally:
        # The reloader's worker is a new process: it starts with the environment as it was.
        if level is None:
            os.environ.pop("LOG_LEVEL", None)
        else:
            os.environ["LOG_LEVEL"] = level
    return None


async def _start_and_stop(app: FastAPI) -> None:
    try:
        async with app.router.lifespan_context(app):
            pass
    except Exception:
        # A driver thread (aiosqlite's, after a failed open) hands its last result back to this
        # loop: keep the loop open for it, or the thread prints a traceback of its own.
        await asyncio.sleep(0.2)
        raise


def _exit_if_it_cannot_start(args: Sequence[str]) -> None:
    """Under `--reload`: a start that fails here exits 1 with its reason, in one line."""
    target = next((arg for arg in args if _APP_TARGET.match(arg)), None)
    if "--reload" not in args or target is None:
        return
    reason = check_startup(target)
    if reason is None:
        return
    from app.core.logging import flush_logs

    flush_logs()
    logger.remove()
    logger.add(sys.stderr, level="ERROR", format="{message}", colorize=False)
    logger.error("app-api cannot start: {}", reason)
    raise SystemExit(1)


def main(argv: Sequence[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    _exit_if_it_cannot_start(args)
    created = prepare_multiprocess_dir(args, os.environ)
    # Imported after the environment is ready; uvicorn's workers are spawned with it.
    from uvicorn.main import main as uvicorn_main

    try:
        uvicorn_main.main(args=args, prog_name="uvicorn")
    finally:
        if created is not None:
            shutil.rmtree(created, ignore_errors=True)


if __name__ == "__main__":
    main()
