"""Apply the monorepo's Prisma migrations the way `prisma migrate deploy` does.

Usage::

    python -m tools.migrate [--database-url URL] [--prisma-dir prisma]

Each ``prisma/migrations/<name>/migration.sql`` is applied in lexical order of the folder
names, as Prisma Migrate 7.4+ runs it on PostgreSQL: no wrapping transaction; the script is
split into statements (outside quotes, dollar-quoted bodies and comments) and each is sent as
a simple-protocol query on an autocommit connection. So ``CREATE INDEX CONCURRENTLY`` works,
a file's own ``BEGIN; … COMMIT;`` is its transaction, and a failing statement leaves the
statements before it applied, as Prisma leaves them. (Prisma before 7.4 sent the whole file
as one query, i.e. one implicit transaction; every file that applies that way applies here
too, except one relying on its statements sharing a transaction: ``SET LOCAL``, deferred
constraints, an ``ON COMMIT DROP`` temporary table; Prisma 7.4+ splits those files too.)
A script that cannot be split safely (a ``BEGIN ATOMIC`` body) is sent whole, as Prisma
sends a script its parser cannot split.

``_prisma_migrations`` is kept exactly as Prisma keeps it: a row (uuid id, sha256 checksum of
the file bytes) inserted before the script runs; ``applied_steps_count`` 1 and
``finished_at`` after it; on failure ``finished_at`` stays NULL and ``logs`` holds the error,
and later runs refuse to continue until it is resolved (Prisma's P3009).

This is a development/CI tool: production schema changes stay with ``prisma migrate deploy``.

Library API (used by the test harness, ``tools.orm_check`` and ``tools.codegen``):
``apply_migrations``, ``migrated_scratch_database``, ``scratch_server_url``,
``create_scratch_database``, ``drop_database``, ``to_conninfo``.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

import psycopg
from psycopg import sql

from app.core.urls import redact_url

# The advisory lock key `prisma migrate` takes on PostgreSQL, so a concurrent Prisma run and
# this applier never interleave.
PRISMA_ADVISORY_LOCK_KEY = 72707369

MIGRATIONS_TABLE = "_prisma_migrations"

# Exactly the table `prisma migrate deploy` creates.
CREATE_MIGRATIONS_TABLE = """
CREATE TABLE IF NOT EXISTS {table} (
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


def scratch_server_url() -> str:
    """The PostgreSQL server where ``make orm``/``make orm-check`` build scratch databases.

    ``ORM_DATABASE_URL``, else ``TEST_DATABASE_URL``, else ``DATABASE_URL`` (each only when it
    is a PostgreSQL URL), else ``postgresql://postgres@127.0.0.1:5432/postgres``.
    """
    for name in ("ORM_DATABASE_URL", "TEST_DATABASE_URL", "DATABASE_URL"):
        value = os.environ.get(name, "")
        if value.split(":", 1)[0].split("+", 1)[0].lower() in ("postgres", "postgresql"):
            return value
    return DEFAULT_SERVER_URL


@contextmanager
def migrated_scratch_database(prisma_dir: Path, prefix: str) -> Iterator[str]:
    """A new database on ``scratch_server_url()``'s server with every migration of
    ``prisma_dir/migrations`` applied; dropped on exit, also when the body fails."""
    migrations_dir = prisma_dir / "migrations"
    if not list_migrations(migrations_dir):
        raise MigrationError(f"no migrations in {migrations_dir} (no <name>/migration.sql)")
    server = scratch_server_url()
    try:
        url = create_scratch_database(server, prefix)
    except psycopg.OperationalError as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise MigrationError(
            f"cannot build a scratch database from {migrations_dir}: cannot connect to PostgreSQL"
            f" at {redact_url(server)} ({reason}); set ORM_DATABASE_URL to a server where you may"
            " create databases, or DATABASE_URL to a migrated database"
        ) from exc
    print(f"scratch database {database_name(url)} created on {urlsplit(redact_url(server)).netloc}")
    try:
        apply_migrations(url, migrations_dir)
        yield url
    finally:
        drop_database(url)
        print(f"scratch database {database_name(url)} dropped")


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


def migrations_table(database_url: str) -> sql.Composed:
    """``"<schema>"."_prisma_migrations"``, qualified as Prisma qualifies it (``public`` by default).

    Qualified so that a migration changing ``search_path`` cannot move the bookkeeping.
    """
    schema = url_schema(database_url) or "public"
    return sql.SQL("{}.{}").format(sql.Identifier(schema), sql.Identifier(MIGRATIONS_TABLE))


def applied_migrations(database_url: str) -> list[tuple[str, str, bool]]:
    """(name, checksum, finished) of the rows Prisma considers live, in applied order."""
    table = migrations_table(database_url)
    with _connect(database_url) as conn:
        exists = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (table.as_string(conn),))
        row = exists.fetchone()
        if not row or not row[0]:
            return []
        rows = conn.execute(
            sql.SQL(
                "SELECT migration_name, checksum, finished_at IS NOT NULL FROM {}"
                " WHERE rolled_back_at IS NULL ORDER BY started_at, migration_name"
            ).format(table)
        ).fetchall()
    return [(str(n), str(c), bool(f)) for n, c, f in rows]


def apply_migrations(database_url: str, migrations_dir: Path) -> list[str]:
    """Apply the pending migrations of ``migrations_dir``; return the names newly applied.

    Raises ``MigrationError`` (naming the migration) when an applied migration was edited
    afterwards, when an earlier run left a failed migration, or when a migration fails.
    """
    migrations = list_migrations(migrations_dir)
    table = migrations_table(database_url)
    with _connect(database_url, autocommit=True) as conn:
        _ensure_schema(conn, url_schema(database_url))
        conn.execute("SELECT pg_advisory_lock(%s)", (PRISMA_ADVISORY_LOCK_KEY,))
        try:
            conn.execute(sql.SQL(CREATE_MIGRATIONS_TABLE).format(table=table))
            pending = _pending(conn, table, migrations, migrations_dir)
            for number, migration in enumerate(pending, start=1):
                _apply_one(conn, table, migration, f"[{number}/{len(pending)}]")
        finally:
            _end_open_transaction(conn)
            conn.execute("SELECT pg_advisory_unlock(%s)", (PRISMA_ADVISORY_LOCK_KEY,))
    return [m.name for m in pending]


def _pending(
    conn: psycopg.Connection[tuple[object, ...]],
    table: sql.Composed,
    migrations: list[Migration],
    migrations_dir: Path,
) -> list[Migration]:
    """The migrations still to apply, after the checks ``prisma migrate deploy`` makes first."""
    rows = conn.execute(
        sql.SQL(
            "SELECT migration_name, checksum, finished_at IS NOT NULL, started_at FROM {}"
            " WHERE rolled_back_at IS NULL ORDER BY started_at"
        ).format(table)
    ).fetchall()
    failed = [(str(name), started) for name, _, finished, started in rows if not finished]
    if failed:
        name, started = failed[0]
        raise MigrationError(
            f"migration {name} (started at {started}) failed in an earlier run and is not "
            "resolved, so no new migration is applied (Prisma's P3009): fix the database, then "
            f"`prisma migrate resolve --rolled-back {name}` (or `--applied`), or drop the database"
        )
    done = {str(name): str(checksum) for name, checksum, _, _ in rows}
    for name in sorted(set(done) - {m.name for m in migrations}):
        print(f"warning: {name} is applied in the database but missing from {migrations_dir}")
    pending: list[Migration] = []
    for migration in migrations:
        recorded = done.get(migration.name)
        if recorded is None:
            pending.append(migration)
        elif recorded != migration.checksum and recorded not in migration.alt_checksums:
            raise MigrationError(
                f"migration {migration.name} was modified after it was applied "
                f"(checksum {recorded[:12]}… in the database, "
                f"{migration.checksum[:12]}… on disk): restore the file or "
                "create a new migration instead"
            )
    if migrations and not pending:
        return pending
    print(f"{len(pending)} of {len(migrations)} migration(s) in {migrations_dir} to apply")
    return pending


def _apply_one(
    conn: psycopg.Connection[tuple[object, ...]],
    table: sql.Composed,
    migration: Migration,
    progress: str,
) -> None:
    """Run one migration script and keep ``_prisma_migrations`` exactly as Prisma does.

    The row is inserted (committed) before the script runs; success sets
    ``applied_steps_count`` to 1 and ``finished_at``; failure leaves ``finished_at`` NULL and
    puts the error in ``logs``. Statements that ran before the failing one stay applied.
    """
    print(f"{progress} applying {migration.name} …", end=" ", flush=True)
    started = time.monotonic()
    row_id = str(uuid.uuid4())
    conn.execute(
        sql.SQL(
            "INSERT INTO {} (id, checksum, migration_name, started_at) VALUES (%s, %s, %s, now())"
        ).format(table),
        (row_id, migration.checksum, migration.name),
    )
    try:
        run_script(conn, migration.sql)
    except StatementError as exc:
        print("FAILED")
        _end_open_transaction(conn)
        conn.execute(
            sql.SQL("UPDATE {} SET logs = %s WHERE id = %s").format(table),
            (exc.prisma_logs(migration.name), row_id),
        )
        raise MigrationError(f"migration {migration.name} failed: {exc}") from exc
    conn.execute(
        sql.SQL(
            "UPDATE {} SET applied_steps_count = applied_steps_count + 1,"
            " finished_at = clock_timestamp() WHERE id = %s"
        ).format(table),
        (row_id,),
    )
    print(f"ok ({time.monotonic() - started:.2f} s)")


def _end_open_transaction(conn: psycopg.Connection[tuple[object, ...]]) -> None:
    """Roll back a transaction a script opened and did not close (``BEGIN`` without ``COMMIT``)."""
    status = conn.info.transaction_status
    if status in (psycopg.pq.TransactionStatus.INTRANS, psycopg.pq.TransactionStatus.INERROR):
        conn.execute("ROLLBACK")


# ------------------------------------------------------------------- running one script


class StatementError(RuntimeError):
    """A statement of a migration script failed (or the script left a transaction open)."""

    def __init__(self, message: str, *, line: int, code: str | None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.code = code

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"

    def prisma_logs(self, migration_name: str) -> str:
        """The ``logs`` text Prisma records for a failed migration (its P3018 error)."""
        return (
            "A migration failed to apply. New migrations cannot be applied before the error is"
            " recovered from. Read more about how to resolve migration issues in a production"
            " database: https://pris.ly/d/migrate-resolve\n\n"
            f"Migration name: {migration_name}\n\n"
            f"Database error code: {self.code or 'none'}\n\n"
            f"Database error:\nERROR: {self.message}\n"
        )


@dataclass(frozen=True)
class Statement:
    line: int  # 1-based line of the script where the statement's code starts
    sql: str


def run_script(conn: psycopg.Connection[tuple[object, ...]], script: str) -> None:
    """Run a migration script as Prisma Migrate (7.4 and later) runs it on PostgreSQL.

    Each statement is sent on its own as a simple-protocol query on an autocommit connection,
    so it commits by itself, ``CREATE INDEX CONCURRENTLY`` works anywhere in a file, and a
    script's own ``BEGIN; … COMMIT;`` is the only transaction. A script that cannot be split
    safely goes as one query, which PostgreSQL runs as one implicit transaction (Prisma's
    fallback too). Raises ``StatementError`` on the first failing statement.
    """
    statements = split_statements(script)
    if statements is None:
        statements = [Statement(1, script)]
    for statement in statements:
        try:
            # No parameters and prepare=False: psycopg sends it with the simple query protocol.
            conn.execute(statement.sql.encode("utf-8"), prepare=False)
        except psycopg.Error as exc:
            message = (exc.diag.message_primary or str(exc)).strip()
            raise StatementError(message, line=statement.line, code=exc.diag.sqlstate) from exc
    if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
        line = statements[-1].line if statements else 1
        raise StatementError(
            "the script opened a transaction (BEGIN) and did not end it (COMMIT)",
            line=line,
            code=None,
        )


# A dollar-quote opening tag: $$ or $name$ (a name cannot start with a digit).
_DOLLAR_TAG = re.compile(r"\$(?:[A-Za-z_\u0080-\uffff][A-Za-z0-9_\u0080-\uffff]*)?\$")
_WORD = re.compile(r"[A-Za-z_\u0080-\uffff][A-Za-z0-9_$\u0080-\uffff]*")


def _is_identifier_char(char: str) -> bool:
    return char.isalnum() or char in "_$" or ord(char) >= 0x80


def split_statements(script: str) -> list[Statement] | None:
    """The statements of ``script`` in order, each with the comments before it.

    A lexical split on ``;`` outside quotes, quoted identifiers, dollar-quoted bodies and
    comments; pieces holding only comments are dropped. ``None`` when the script cannot be
    split safely: a ``BEGIN ATOMIC`` function body (its statements end with ``;``) or an
    unterminated quote or comment (PostgreSQL then reports the error on the whole script).
    """
    statements: list[Statement] = []
    start, index, code_at = 0, 0, -1
    previous_word = ""
    while index < len(script):
        char = script[index]
        after = _skip_non_code(script, index)
        if after is None:
            return None
        if after > index:
            if script[index] not in "-/" and code_at < 0:
                code_at = index  # a quoted string or identifier is code
            index = after
            continue
        if char == ";":
            if code_at >= 0:
                statements.append(Statement(_line_of(script, code_at), script[start : index + 1]))
            start, index, code_at, previous_word = index + 1, index + 1, -1, ""
            continue
        if char.isspace():
            index += 1
            continue
        if code_at < 0:
            code_at = index
        word = _WORD.match(script, index)
        if word and (index == 0 or not _is_identifier_char(script[index - 1])):
            if previous_word == "BEGIN" and word.group(0).upper() == "ATOMIC":
                return None
            previous_word = word.group(0).upper()
            index = word.end()
            continue
        previous_word = ""
        index += 1
    if code_at >= 0:
        statements.append(Statement(_line_of(script, code_at), script[start:]))
    return statements


def _skip_non_code(script: str, index: int) -> int | None:
    """Index after the comment or quoted token starting at ``index`` (``index`` if none).

    ``None`` when that token is never closed.
    """
    char = script[index]
    if script.startswith("--", index):
        end = script.find("\n", index)
        return len(script) if end < 0 else end + 1
    if script.startswith("/*", index):
        return _skip_block_comment(script, index)
    if char == "'":
        backslash = index > 0 and script[index - 1] in "eE"
        backslash = backslash and (index < 2 or not _is_identifier_char(script[index - 2]))
        return _skip_quoted(script, index, "'", backslash=backslash)
    if char == '"':
        return _skip_quoted(script, index, '"', backslash=False)
    if char == "$" and (index == 0 or not _is_identifier_char(script[index - 1])):
        tag = _DOLLAR_TAG.match(script, index)
        if tag:
            end = script.find(tag.group(0), tag.end())
            return None if end < 0 else end + len(tag.group(0))
    return index


def _skip_block_comment(script: str, index: int) -> int | None:
    """PostgreSQL block comments nest: ``/* a /* b */ c */`` is one comment."""
    depth, index = 0, index
    while index < len(script):
        if script.startswith("/*", index):
            depth, index = depth + 1, index + 2
        elif script.startswith("*/", index):
            depth, index = depth - 1, index + 2
            if depth == 0:
                return index
        else:
            index += 1
    return None


def _skip_quoted(script: str, index: int, quote: str, *, backslash: bool) -> int | None:
    """End of a quoted token: the quote doubled is a literal quote; ``E''`` honours backslashes."""
    index += 1
    while index < len(script):
        char = script[index]
        escaped = backslash and char == "\\"
        if escaped or script.startswith(quote * 2, index):
            index += 2
        elif char == quote:
            return index + 1
        else:
            index += 1
    return None


def _line_of(script: str, offset: int) -> int:
    return script.count("\n", 0, offset) + 1


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
