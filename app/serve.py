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
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import tempfile
from collections.abc import MutableMapping, Sequence
from pathlib import Path

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
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


def main(argv: Sequence[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
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
