"""The embedded default seeds the example's demo pages once (a restart adds none)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from app.core.demo import ROWS_PER_TABLE
from app.main import create_app
from tests.conftest import make_settings


async def test_embedded_default_seeds_demo_pages(tmp_path: Path) -> None:
    app = create_app(make_settings(SQLITE_PATH=tmp_path / "demo.sqlite3"))
    async with app.router.lifespan_context(app):
        async with app.state.engine.connect() as connection:
            pages = (await connection.execute(text('SELECT count(*) FROM "Page"'))).scalar_one()
        assert pages == ROWS_PER_TABLE
    # A restart neither duplicates the demo rows nor fails on existing tables.
    app = create_app(make_settings(SQLITE_PATH=tmp_path / "demo.sqlite3"))
    async with app.router.lifespan_context(app):
        async with app.state.engine.connect() as connection:
            pages = (await connection.execute(text('SELECT count(*) FROM "Page"'))).scalar_one()
        assert pages == ROWS_PER_TABLE
