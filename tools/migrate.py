"""Apply the monorepo's Prisma migrations the way `prisma migrate deploy` does.

Usage::

    python -m tools.migrate [--database-url URL] [--prisma-dir prisma]

Each ``prisma/migrations/<name>/migration.sql`` is applied in lexical order of the folder
names, one transaction per migration (``ALTER TYPE … ADD VALUE`` cannot be used in the
transaction that adds it), and recorded in ``_prisma_migrations`` exactly like Prisma does
(uuid id, sha256 checksum of the file bytes, ``applied_steps_count`` 1, ``finished_at`` set).
A failed migration is rolled back and recorded with ``finished_at`` NULL and its error in
``logs`` (as Prisma does), and later runs refuse to continue until it is resolved.

This is a development/CI tool: production schema changes stay with ``prisma migrate deploy``.

Library API (used by the test harness and ``tools.orm_check``):
``apply_migrations``, ``create_scratch_database``, ``drop_database``, ``to_conninfo``.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

import psycopg
from psycopg import sql

# The advisory lock key `prisma migrate` takes on PostgreSQL, so a concurrent Prisma run and
# this applier never interleave.
PRISMA_ADVISORY_LOCK_KEY = 72707369

MIGRATIONS_TABLE = "_prisma_migrations"

# Exactly the table `prisma migrate deploy` creates.
CREATE_MIGRATIONS_TABLE = """
CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id"                    VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum"              VARCHAR(64) NOT NULL,
    "finished_at"           TIMESTAMPTZ,
    "migration_name"        VARCHAR(255) NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        TIMESTAMPTZ,
    "started_at"            TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count"   INTEGER NOT NULL DEFAULT 0
)
"""

# libpq keywords that may appear in a Prisma URL query and mean the same thing to psycopg.
_LIBPQ_PARAMS = frozenset(
    {
        "sslmode",
        "sslcert",
        "sslkey",
        "sslrootcert",
        "sslpassword",
        "connect_timeout",
        "application_name",
        "host",
        "port",
        "user",
        "password",
        "dbname",
        "options",
        "target_session_attrs",
        "keepalives",
        "keepalives_idle",
    }
)
# Prisma-only parameters (pool/engine settings) that libpq would reject.
_PRISMA_ONLY_PARAMS = frozenset(
    {
        "schema",
        "connection_limit",
        "pool_timeout",
        "pgbouncer",
        "statement_cache_size",
        "socket_timeout",
        "sslidentity",
        "sslaccept",
        "single_use_connections",
        "max_idle_connection_lifetime",
        "max_connection_lifetime",
    }
)

DEFAULT_SERVER_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


class MigrationError(RuntimeError):
    """A migration could not be applied (or the database disagrees with the folder)."""


@dataclass(frozen=True)
class Migration:
    name: str
    path: Path
    checksum: str
    # Prisma also accepts a file whose only change is CRLF <-> LF line endings.
    alt_checksums: frozenset[str]

    @property
    def sql(self) -> str:
        return self.path.read_bytes().decode("utf-8")


# --------------------------------------------------------------------------------------- URLs


def _split(url: str) -> tuple[str, str, str, list[tuple[str, str]]]:
    """(scheme without driver, netloc, database name, query pairs)."""
    parts = urlsplit(url)
    scheme = parts.scheme.split("+", 1)[0].lower()
    if scheme not in ("postgres", "postgresql"):
        raise ValueError(f"not a PostgreSQL URL (scheme {parts.scheme!r})")
    dbname = unquote(parts.path.lstrip("/"))
    return scheme, parts.netloc, dbname, parse_qsl(parts.query, keep_blank_values=True)


def url_schema(url: str) -> str | None:
    """The Prisma ``?schema=`` of a URL, if any."""
    return next((v for k, v in _split(url)[3] if k == "schema" and v), None)


def to_conninfo(url: str) -> str:
    """Convert a Prisma/SQLAlchemy PostgreSQL URL into a libpq URI psycopg accepts.

    ``postgres://``/``postgresql://``/``postgresql+asyncpg://`` all work; ``?schema=x``
    becomes ``options=-csearch_path=x``; Prisma-only parameters (``connection_limit``,
    ``pgbouncer``, ``pool_timeout``, …) are dropped; libpq ones (``sslmode``, …) are kept.
    """
    _, netloc, dbname, query = _split(url)
    kept: list[tuple[str, str]] = []
    schema: str | None = None
    for key, value in query:
        if key == "schema":
            schema = value or None
        elif key in _LIBPQ_PARAMS:
            kept.append((key, value))
        elif key in _PRISMA_ONLY_PARAMS:
            continue
        # Unknown parameters are dropped too: libpq fails hard on them.
    if schema:
        options = f"-csearch_path={schema}"
        existing = [v for k, v in kept if k == "options"]
        kept = [(k, v) for k, v in kept if k != "options"]
        kept.append(("options", " ".join([*existing, options])))
    path = "/" + quote(dbname, safe="") if dbname else ""
    return urlunsplit(("postgresql", netloc, path, urlencode(kept, quote_via=quote), ""))


def with_database(url: str, dbname: str) -> str:
    """The same URL (scheme and query kept) pointing at another database."""
    parts = urlsplit(url)
    return urlunsplit(
        (parts.scheme, parts.netloc, "/" + quote(dbname, safe=""), parts.query, parts.fragment)
    )


def database_name(url: str) -> str:
    return _split(url)[2]


def _connect(url: str, *, autocommit: bool = False) -> psycopg.Connection[tuple[object, ...]]:
    return psycopg.connect(to_conninfo(url), autocommit=autocommit)


# ------------------------------------------------------------------------ scratch databases


def create_scratch_database(server_url: str, prefix: str) -> str:
    """Create an empty database with a unique name on ``server_url``'s server; return its URL."""
    safe_prefix = "".join(c if c.isalnum() or c == "_" else "_" for c in prefix.lower())
    name = f"{safe_prefix or 'scratch'}_{uuid.uuid4().hex[:12]}"
    with _connect(server_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return with_database(server_url, name)


def drop_database(url: str) -> None:
    """Drop the database named by ``url`` (terminating its connections first)."""
    name = database_name(url)
    if not name or name in ("postgres", "template0", "template1"):
        raise ValueError(f"refusing to drop database {name!r}")
    maintenance = with_database(url, "postgres")
    with _connect(maintenance, autocommit=True) as conn:
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = %s AND pid <> pg_backend_pid()",
            (name,),
        )
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


# ------------------------------------------------------------------------------- migrations


def _checksum(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def list_migrations(migrations_dir: Path) -> list[Migration]:
    """The migration folders that hold a ``migration.sql``, in lexical order."""
    if not migrations_dir.is_dir():
        raise MigrationError(f"no migrations folder at {migrations_dir}")
    found: list[Migration] = []
    for folder in sorted(p for p in migrations_dir.iterdir() if p.is_dir()):
        script = folder / "migration.sql"
        if not script.is_file():
            continue
        data = script.read_bytes()
        lf = data.replace(b"\r\n", b"\n")
        alts = frozenset({_checksum(lf), _checksum(lf.replace(b"\n", b"\r\n"))})
        found.append(Migration(folder.name, script, _checksum(data), alts))
    return found


def latest_migration_name(migrations_dir: Path) -> str | None:
    names = [m.name for m in list_migrations(migrations_dir)]
    return names[-1] if names else None


def _ensure_schema(conn: psycopg.Connection[tuple[object, ...]], schema: str | None) -> None:
    if schema:
        conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))


def applied_migrations(database_url: str) -> list[tuple[str, str, bool]]:
    """(name, checksum, finished) of the rows Prisma considers live, in applied order."""
    with _connect(database_url) as conn:
        exists = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (MIGRATIONS_TABLE,)).fetchone()
        if not exists or not exists[0]:
            return []
        rows = conn.execute(
            'SELECT migration_name, checksum, finished_at IS NOT NULL FROM "_prisma_migrations"'
            " WHERE rolled_back_at IS NULL ORDER BY started_at, migration_name"
        ).fetchall()
    return [(str(n), str(c), bool(f)) for n, c, f in rows]


def apply_migrations(database_url: str, migrations_dir: Path) -> list[str]:
    """Apply the pending migrations of ``migrations_dir``; return the names newly applied.

    Raises ``MigrationError`` (naming the migration) when an applied migration was edited
    afterwards, when an earlier run left a failed migration, or when a migration fails.
    """
    migrations = list_migrations(migrations_dir)
    applied_now: list[str] = []
    with _connect(database_url, autocommit=True) as conn:
        _ensure_schema(conn, url_schema(database_url))
        conn.execute("SELECT pg_advisory_lock(%s)", (PRISMA_ADVISORY_LOCK_KEY,))
        try:
            conn.execute(CREATE_MIGRATIONS_TABLE)
            rows = conn.execute(
                'SELECT migration_name, checksum, finished_at IS NOT NULL FROM "_prisma_migrations"'
                " WHERE rolled_back_at IS NULL ORDER BY started_at"
            ).fetchall()
            failed = [str(name) for name, _, finished in rows if not finished]
            if failed:
                raise MigrationError(
                    f"migration {failed[0]} failed in an earlier run and is not resolved "
                    "(fix it, then `prisma migrate resolve --rolled-back "
                    f"{failed[0]}`, or drop the database)"
                )
            done = {str(name): str(checksum) for name, checksum, _ in rows}
            local = {m.name for m in migrations}
            for name in sorted(set(done) - local):
                print(
                    f"warning: {name} is applied in the database but missing from {migrations_dir}"
                )
            for migration in migrations:
                recorded = done.get(migration.name)
                if recorded is not None:
                    if recorded != migration.checksum and recorded not in migration.alt_checksums:
                        raise MigrationError(
                            f"migration {migration.name} was modified after it was applied "
                            f"(checksum {recorded[:12]}… in the database, "
                            f"{migration.checksum[:12]}… on disk): restore the file or "
                            "create a new migration instead"
                        )
                    continue
                _apply_one(conn, migration)
                applied_now.append(migration.name)
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (PRISMA_ADVISORY_LOCK_KEY,))
    return applied_now


def _apply_one(conn: psycopg.Connection[tuple[object, ...]], migration: Migration) -> None:
    print(f"applying {migration.name} …", end=" ", flush=True)
    row_id = str(uuid.uuid4())
    script = migration.sql
    try:
        with conn.transaction():
            conn.execute(
                'INSERT INTO "_prisma_migrations" (id, checksum, migration_name, started_at,'
                " applied_steps_count) VALUES (%s, %s, %s, now(), 0)",
                (row_id, migration.checksum, migration.name),
            )
            # No parameters: psycopg sends the script as is (several statements allowed).
            conn.execute(script.encode("utf-8"))
            conn.execute(
                'UPDATE "_prisma_migrations" SET finished_at = clock_timestamp(), applied_steps_count = 1'
                " WHERE id = %s",
                (row_id,),
            )
    except psycopg.Error as exc:
        print("FAILED")
        diag = exc.diag
        logs = (
            f"Migration name: {migration.name}\n\n"
            f"Database error code: {diag.sqlstate or '?'}\n\n"
            f"Database error:\n{diag.message_primary or exc}\n"
        )
        # Record it as Prisma does: started, not finished, with the error in `logs`.
        with conn.transaction():
            conn.execute(
                'INSERT INTO "_prisma_migrations" (id, checksum, migration_name, logs,'
                " started_at, applied_steps_count) VALUES (%s, %s, %s, %s, now(), 0)",
                (row_id, migration.checksum, migration.name, logs),
            )
        raise MigrationError(
            f"migration {migration.name} failed and was rolled back: "
            f"{(diag.message_primary or str(exc)).strip()}"
        ) from exc
    print("ok")


# ------------------------------------------------------------------------------------- CLI


def read_dotenv(path: Path) -> dict[str, str]:
    """Minimal ``.env`` parser: KEY=VALUE lines, optional ``export``, quotes, # comments."""
    values: dict[str, str] = {}
    if not path.is_file():
        return values
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        if line.startswith("export "):
            line = line[len("export ") :].lstrip()
        key, _, value = line.partition("=")
        key, value = key.strip(), value.strip()
        if value[:1] in ("'", '"') and value.endswith(value[0]) and len(value) >= 2:
            value = value[1:-1]
        elif " #" in value:
            value = value.split(" #", 1)[0].rstrip()
        values[key] = value
    return values


def resolve_database_url(explicit: str | None) -> str | None:
    """``--database-url``, else ``DATABASE_URL`` from the environment, else from ``./.env``."""
    if explicit:
        return explicit
    if env := os.environ.get("DATABASE_URL"):
        return env
    return read_dotenv(Path.cwd() / ".env").get("DATABASE_URL") or None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.migrate",
        description="Apply prisma/migrations like `prisma migrate deploy`.",
    )
    parser.add_argument("--database-url", help="default: $DATABASE_URL or DATABASE_URL in ./.env")
    parser.add_argument("--prisma-dir", default=os.environ.get("PRISMA_DIR", "prisma"))
    args = parser.parse_args(argv)
    url = resolve_database_url(args.database_url)
    if not url:
        print("error: no database URL (pass --database-url or set DATABASE_URL)", file=sys.stderr)
        return 2
    migrations_dir = Path(args.prisma_dir) / "migrations"
    try:
        applied = apply_migrations(url, migrations_dir)
    except (MigrationError, psycopg.Error, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if applied:
        print(f"{len(applied)} migration(s) applied")
    else:
        print("database is up to date: no pending migrations")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
