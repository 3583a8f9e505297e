"""Why the service cannot start, in one line a developer can act on."""

from __future__ import annotations

from pydantic import ValidationError
from pydantic_core import ErrorDetails


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
