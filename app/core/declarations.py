"""The resource declarations (`app/resources.py`), loaded once with a message that says what to do.

When the declarations no longer match the generated models (a model renamed or removed by
`make orm`, a schema adopted without `make resources`), the start stops here with one line
naming the file, the model and the command that fixes it, before any framework error.
"""

from __future__ import annotations

import importlib
import os
import re
from pathlib import Path
from types import ModuleType, TracebackType

from app.core.config import get_settings
from app.core.startup import StartupError, prisma_model_names
from app.resource import Link, Resource, ResourceError

MODULE = "app.resources"
_GENERATED = ("app.models", "app.view_tables")
_CANNOT_IMPORT = re.compile(r"cannot import name '(?P<name>[^']+)'")


class DeclarationError(StartupError):
    """`app/resources.py` does not match the generated models; the message names the fix."""


def load_resources() -> ModuleType:
    """Import `app.resources`; a mismatch with the models raises DeclarationError (one line)."""
    try:
        module = importlib.import_module(MODULE)
    except ModuleNotFoundError as exc:
        if exc.name != MODULE:
            raise DeclarationError(_stale(exc, exc.name or "", _missing_name(exc))) from None
        raise DeclarationError(
            "app/resources.py is missing: run `make resources` to declare every model"
        ) from None
    except ImportError as exc:
        if exc.name not in _GENERATED:
            raise
        raise DeclarationError(_stale(exc, exc.name or "", _missing_name(exc))) from None
    except AttributeError as exc:
        module = getattr(exc, "obj", None)
        if not isinstance(module, ModuleType) or module.__name__ not in _GENERATED:
            raise
        raise DeclarationError(_stale(exc, module.__name__, exc.name or "")) from None
    except ResourceError as exc:
        raise DeclarationError(
            f"{_where(exc.__traceback__)}: {str(exc).rstrip('.')}: fix this declaration to match the models, or "
            "run `make resources FRESH=1` to declare the current models anew (`make orm` "
            "first if app/models.py is older than the Prisma schema)"
        ) from None
    if not isinstance(getattr(module, "V1", None), tuple):
        raise DeclarationError(
            "app/resources.py defines no V1 (the registered resources): "
            "run `make resources FRESH=1` to declare every model"
        )
    return module


def _stale(exc: BaseException, module: str, name: str) -> str:
    """The one line for a declaration naming a model the generated module does not have."""
    where = _where(exc.__traceback__)
    generated = module.replace(".", "/") + ".py"
    if not name:
        return f"{where}: {exc}: run `make orm`, then `make resources`"
    if name in prisma_models():
        return (
            f"{where}: {generated} has no {name}, which the Prisma schema declares: "
            "run `make orm` to regenerate the models"
        )
    return (
        f"{where}: {name} is not in {generated} (no longer in the Prisma schema): remove its "
        "declaration, or run `make resources FRESH=1` to declare the current models anew"
    )


def _missing_name(exc: ImportError) -> str:
    match = _CANNOT_IMPORT.search(str(exc))
    return match.group("name") if match else ""


def _where(traceback: TracebackType | None) -> str:
    """`app/resources.py:12`: the line of the declarations that failed (the innermost module
    body of the project in the traceback: the import, or the declaration that raised)."""
    location = "app/resources.py"
    root = Path.cwd()
    while traceback is not None:
        code = traceback.tb_frame.f_code
        path = Path(code.co_filename)
        if code.co_name == "<module>" and path.is_relative_to(root) and ".venv" not in path.parts:
            location = f"{path.relative_to(root)}:{traceback.tb_lineno}"
        traceback = traceback.tb_next
    return location


def prisma_models() -> set[str]:
    """The model and view names of the Prisma schema in PRISMA_DIR (empty when unreadable)."""
    try:
        folder = get_settings().PRISMA_DIR
    except ValueError:  # the settings' own error comes later, with its own message
        folder = Path(os.environ.get("PRISMA_DIR") or "prisma")
    return prisma_model_names(folder)


_declarations = load_resources()
V1: tuple[Resource, ...] = _declarations.V1
LINKS: tuple[Link, ...] = getattr(_declarations, "LINKS", ())
