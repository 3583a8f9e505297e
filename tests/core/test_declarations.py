"""Declarations that no longer match the generated models stop the start with one line naming
the file, the model and the command that fixes it (in-process; test_startup_failure.py runs
the same through `python -m app.serve`)."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.core import declarations
from app.core.config import get_settings
from app.core.declarations import DeclarationError, load_resources
from app.core.startup import StartupError, startup_reason
from app.serve import check_startup
from tests.conftest import TEST_SECRET


def write(path: Path, source: str) -> None:
    """Write a module the import system has not seen yet (its directory listing is cached)."""
    path.write_text(source)
    importlib.invalidate_caches()


@pytest.fixture
def declarations_module(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Path, str]]:
    """A declarations module of the test's own, loaded in place of app.resources."""
    name = f"declarations_{tmp_path.name.replace('-', '_')}"
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(declarations, "MODULE", name)
    monkeypatch.chdir(tmp_path)
    yield tmp_path / f"{name}.py", name
    sys.modules.pop(name, None)


def test_a_model_the_models_lack_names_the_line_and_make_resources(
    declarations_module: tuple[Path, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path, _ = declarations_module
    monkeypatch.setenv("PRISMA_DIR", str(path.parent / "no-prisma-here"))
    write(path, "import app.models\n\nfrom app.models import Widget\n")
    with pytest.raises(DeclarationError) as raised:
        load_resources()
    message = str(raised.value)
    assert message.startswith(f"{path.name}:3: Widget is not in app/models.py")
    assert "make resources FRESH=1" in message


@pytest.mark.usefixtures("fresh_settings")
def test_a_model_only_the_schema_has_says_make_orm(
    declarations_module: tuple[Path, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path, _ = declarations_module
    prisma = path.parent / "schema_dir" / "models"
    prisma.mkdir(parents=True)
    (prisma / "widget.prisma").write_text("model Widget {\n  id Int @id\n}\n")
    monkeypatch.setenv("PRISMA_DIR", str(path.parent / "schema_dir"))
    write(path, "import app.models as M\n\nWIDGETS = M.Widget\n")
    with pytest.raises(
        DeclarationError, match=r":3: app/models.py has no Widget, which the Prisma"
    ):
        load_resources()


def test_a_declaration_the_machinery_refuses_names_its_line(
    declarations_module: tuple[Path, str],
) -> None:
    path, _ = declarations_module
    write(
        path,
        "from tests.machinery.fixture.models import Account\nfrom app.resource import Resource\n\n"
        "ACCOUNTS = Resource(model=Account, segment='accounts')\n"
        "ACCOUNTS.field_named('nope', role='ordering')\n",
    )
    with pytest.raises(DeclarationError) as raised:
        load_resources()
    assert str(raised.value).startswith(f"{path.name}:5: ")
    assert "nope" in str(raised.value)


def test_declarations_without_v1_or_missing_say_make_resources(
    declarations_module: tuple[Path, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path, _ = declarations_module
    write(path, "LINKS = ()\n")
    with pytest.raises(DeclarationError, match="defines no V1"):
        load_resources()
    monkeypatch.setattr(declarations, "MODULE", "no_declarations_here")
    with pytest.raises(DeclarationError, match=r"missing: run `make resources`"):
        load_resources()


def test_startup_reasons_are_one_line() -> None:
    assert startup_reason(StartupError("SQLITE_PATH: nope")) == "SQLITE_PATH: nope"
    assert startup_reason(ValueError("bad\nsecond line")) == "ValueError: bad"


@pytest.fixture
def fresh_settings() -> Iterator[None]:
    """Settings read again from the (patched) environment, and again after the test."""
    get_settings.cache_clear()
    try:
        yield
    finally:
        get_settings.cache_clear()


@pytest.mark.usefixtures("fresh_settings")
def test_check_startup_gives_the_reason_of_a_failed_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SECRET_KEY", TEST_SECRET)
    monkeypatch.setenv("SQLITE_PATH", str(tmp_path / "missing" / "db.sqlite3"))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    reason = check_startup("app.main:app")
    assert reason is not None
    assert reason.startswith(f"embedded SQLite database {tmp_path / 'missing' / 'db.sqlite3'}")
    get_settings.cache_clear()
    monkeypatch.setenv("SQLITE_PATH", str(tmp_path / "db.sqlite3"))
    assert check_startup("app.main:app") is None


async def test_a_prisma_dir_set_without_a_model_stops_the_start_naming_it(tmp_path: Path) -> None:
    from app.main import create_app
    from tests.conftest import make_settings, running

    empty = tmp_path / "schema_dir"
    (empty / "migrations").mkdir(parents=True)
    settings = make_settings(PRISMA_DIR=empty, SQLITE_PATH=str(tmp_path / "db.sqlite3"))
    with pytest.raises(StartupError) as raised:
        async with running(create_app(settings, resources=(), links=())):
            pass
    assert str(raised.value).startswith(f"PRISMA_DIR={empty}: no Prisma model could be read")
    (empty / "schema.prisma").write_text("model Note {\n  id Int @id\n}\n")
    async with running(create_app(settings, resources=(), links=())) as application:
        assert application.state.engine is not None
