"""Why the service cannot start, in one line a developer can act on."""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import ValidationError
from pydantic_core import ErrorDetails

_MODEL = re.compile(r"^\s*(?:model|view)\s+(?P<name>\w+)\s*\{", re.MULTILINE)


class StartupError(RuntimeError):
    """The service cannot start; the message says why and what to do."""


def startup_reason(exc: BaseException) -> str:
    """One line for a failed start: the message of our own errors, the first line of others."""
    if isinstance(exc, ValidationError):
        return "; ".join(_setting_problem(error) for error in exc.errors()) or str(exc)
    if isinstance(exc, StartupError):
        return str(exc)
    # SQLAlchemy wraps the driver's error and appends the statement and a link: the driver's
    # own first line is the reason.
    orig = getattr(exc, "orig", None)
    message = str(orig if isinstance(orig, BaseException) else exc).strip()
    first = message.splitlines()[0] if message else ""
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__


def _setting_problem(error: ErrorDetails) -> str:
    message = error["msg"].removeprefix("Value error, ")
    location = ".".join(str(part) for part in error["loc"])
    return f"{location}: {message}" if location else message


def prisma_model_names(folder: Path) -> set[str]:
    """The model and view names of the Prisma schema files under `folder` (not migrations/)."""
    names: set[str] = set()
    for path in folder.rglob("*.prisma") if folder.is_dir() else ():
        if "migrations" not in path.relative_to(folder).parts:
            names.update(_MODEL.findall(path.read_text(encoding="utf-8", errors="replace")))
    return names


def check_prisma_dir(folder: Path, *, explicit: bool) -> None:
    """A PRISMA_DIR the team set must hold their schema: never serve on without it."""
    if explicit and not prisma_model_names(folder):
        raise StartupError(
            f"PRISMA_DIR={folder}: no Prisma model could be read there (a schema.prisma or a "
            "schema folder of *.prisma files): set PRISMA_DIR to your Prisma folder"
        )
