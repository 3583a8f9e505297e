"""The PostgreSQL server the tests use: `TEST_DATABASE_URL`, else the local default."""

from __future__ import annotations

import os
from urllib.parse import urlsplit

import psycopg
import pytest

from tools.migrate import DEFAULT_SERVER_URL, to_conninfo


def pg_server_url() -> str:
    """`TEST_DATABASE_URL` when it names PostgreSQL, else the default local server."""
    url = os.environ.get("TEST_DATABASE_URL", "")
    if url.split(":", 1)[0].split("+", 1)[0] in ("postgres", "postgresql"):
        return url
    return DEFAULT_SERVER_URL


def require_pg_server() -> str:
    """The server URL, or skip the test when it cannot be reached."""
    url = pg_server_url()
    try:
        with psycopg.connect(to_conninfo(url), connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        pytest.skip(f"PostgreSQL unreachable at {urlsplit(url).hostname}: {exc}")
    return url
