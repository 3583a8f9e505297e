"""Helpers of the diagnostics tests: scratch PostgreSQL databases and one-shot app calls."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import psycopg

from app.main import create_app
from tests.conftest import ROOT, app_client, make_settings
from tools.migrate import (
    apply_migrations,
    create_scratch_database,
    drop_database,
    to_conninfo,
)

PRISMA_DIR = ROOT / "prisma"
SERVER = "/api/v1/private/diagnostics/server"
DATABASE = "/api/v1/private/diagnostics/database"


@contextmanager
def scratch_database(server_url: str, prisma_dir: Path = PRISMA_DIR) -> Iterator[str]:
    """A database migrated from `prisma_dir`, dropped on exit."""
    url = create_scratch_database(server_url, "app_api_diag")
    try:
        apply_migrations(url, prisma_dir / "migrations")
        yield url
    finally:
        drop_database(url)


def run_sql(url: str, statement: str) -> None:
    with psycopg.connect(to_conninfo(url), autocommit=True) as conn:
        conn.execute(statement.encode())


def copy_prisma(tmp_path: Path) -> Path:
    target = tmp_path / "prisma"
    shutil.copytree(PRISMA_DIR, target)
    return target


def add_migration(prisma_dir: Path, name: str, sql: str) -> Path:
    folder = prisma_dir / "migrations" / name
    folder.mkdir()
    script = folder / "migration.sql"
    script.write_text(sql)
    return script


def with_password(url: str, password: str) -> str:
    """The URL with `password` unless it already has one (trust auth ignores it)."""
    parts = urlsplit(url)
    if parts.password or not parts.username:
        return url
    netloc = f"{parts.username}:{password}@{parts.netloc.rpartition('@')[2]}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


async def fetch(path: str, *, lifespan: bool = True, **overrides: Any) -> httpx.Response:
    """GET `path` from an app built with these settings (its lifespan run when asked)."""
    app = create_app(make_settings(**overrides))
    if not lifespan:
        async with await app_client(app) as client:
            return await client.get(path)
    async with app.router.lifespan_context(app), await app_client(app) as client:
        return await client.get(path)


def differences(body: dict[str, Any]) -> list[dict[str, Any]]:
    return body["schemaDrift"]["differences"]


def find(body: dict[str, Any], kind: str, **where: str | None) -> dict[str, Any]:
    """The one difference of `kind` matching `where` (fails with all of them shown)."""
    found = [
        d
        for d in differences(body)
        if d["kind"] == kind and all(d.get(key) == value for key, value in where.items())
    ]
    assert len(found) == 1, f"no single {kind} {where} in {differences(body)}"
    return found[0]
