"""Local-only diagnostics: what the process runs with and how the database compares.

Everything here is free of HTTP (`app/api/v1/private.py` serves it): redacting settings,
reading `prisma/migrations`, reflecting the live database and comparing it with the generated
models (`app/models.py`, `app/view_tables.py`).
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import platform
import re
import shlex
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, cast
from urllib.parse import urlsplit

from pydantic import Field, JsonValue, SecretStr
from sqlalchemy import ARRAY, Connection, Enum, Table, inspect, text
from sqlalchemy.engine import Dialect
from sqlalchemy.engine.interfaces import ReflectedColumn
from sqlalchemy.exc import CompileError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import Pool, QueuePool
from sqlalchemy.types import TypeEngine

from app import __version__
from app import view_tables as generated_views
from app.core.config import Settings
from app.core.embedded import data_tables, served_schemas
from app.core.urls import MASK, looks_secret, redact_url
from app.models import SQLModel
from app.schemas import OutputModel

if TYPE_CHECKING:
    from app.resource import Resource

MIGRATIONS_TABLE = "_prisma_migrations"
ORM_FIX = "make orm"
PACKAGES = ("fastapi", "starlette", "pydantic", "sqlalchemy", "sqlmodel", "asyncpg", "uvicorn")
# URL-valued secret settings: shown with the secret parts masked; True = the user part too
# (a Sentry DSN's user part is its key).
_URL_SETTINGS = {"DATABASE_URL": False, "SENTRY_DSN": True}
# Shorter secrets are not searched for inside other values: they would mask everything.
_MIN_SCRUB_LENGTH = 4

# Taken when the app is imported, i.e. when the process starts serving.
_STARTED_AT = datetime.now(UTC)
_STARTED_MONOTONIC = time.monotonic()


# ------------------------------------------------------------------------- response models


class AppInfo(OutputModel):
    name: str
    version: str


class PythonInfo(OutputModel):
    version: str
    implementation: str


class PackageVersions(OutputModel):
    """Installed versions (None when a package is not installed)."""

    fastapi: str | None
    starlette: str | None
    pydantic: str | None
    sqlalchemy: str | None
    sqlmodel: str | None
    asyncpg: str | None
    uvicorn: str | None


class ServerDiagnostics(OutputModel):
    app: AppInfo
    environment: str
    python: PythonInfo
    platform: str
    pid: int
    started_at: datetime
    uptime_seconds: float
    resident_memory_bytes: int | None = Field(description="Current RSS (Linux /proc)")
    peak_resident_memory_bytes: int | None = Field(description="Peak RSS (getrusage)")
    event_loop: str = Field(description="Class of the running event loop, e.g. `uvloop.Loop`")
    packages: PackageVersions
    settings: dict[str, JsonValue] = Field(description="Effective settings, secrets masked")


class PoolStats(OutputModel):
    """Connection pool counters (None for pools that keep none, e.g. NullPool)."""

    implementation: str
    size: int | None
    checked_in: int | None
    checked_out: int | None
    overflow: int | None = Field(description="Connections open beyond `size`")


class MigrationsReport(OutputModel):
    """`_prisma_migrations` compared with the migrations folder (names only)."""

    folder: str
    applied: list[str] = Field(description="Finished and not rolled back, in applied order")
    pending: list[str] = Field(description="In the folder, not applied")
    modified: list[str] = Field(description="Applied, but the file's checksum changed since")
    failed: list[str] = Field(description="Started, neither finished nor rolled back")
    missing_from_folder: list[str] = Field(description="Recorded in the database only")


DifferenceKind = Literal[
    "missing_table",  # in the models, not in the database
    "extra_table",  # in the database, not in the models
    "missing_view",
    "extra_view",
    "missing_column",
    "extra_column",
    "type_mismatch",
    "nullability_mismatch",
    "missing_enum",
    "missing_enum_value",
    "extra_enum_value",
]
Compared = Literal["tables", "columns", "types", "nullability", "views", "enums"]


class Difference(OutputModel):
    """One way the live database differs from the generated models.

    `missing_*`: declared in the models, absent from the database; `extra_*`: present in the
    database, unknown to the models.
    """

    kind: DifferenceKind
    table: str | None = Field(default=None, description="Table or view")
    column: str | None = None
    enum: str | None = None
    detail: str


class SchemaDrift(OutputModel):
    verdict: Literal["in_sync", "drift"]
    compared: list[Compared]
    differences: list[Difference]
    fix: str | None = Field(description="One command that brings the two back in line")


class DatabaseDiagnostics(OutputModel):
    url: str = Field(description="The engine URL, password masked")
    dialect: str
    driver: str
    server_version: str
    database: str | None
    default_schema: str | None
    latency_ms: float = Field(description="Round trip of `SELECT 1`")
    pool: PoolStats
    migrations: MigrationsReport | None = Field(description="None where not applicable (SQLite)")
    schema_drift: SchemaDrift
    notes: list[str]


# ---------------------------------------------------------------------------------- server


def secret_values(settings: Settings) -> set[str]:
    """Every secret a setting holds, including the ones embedded in URLs."""
    found: set[str] = set()
    for name in type(settings).model_fields:
        value: object = getattr(settings, name)
        if not isinstance(value, SecretStr):
            continue
        raw = value.get_secret_value()
        found.add(raw)
        if name not in _URL_SETTINGS:
            continue
        try:
            parts = urlsplit(raw)
            username, password = parts.username, parts.password
        except ValueError:
            continue
        if password:
            found.add(password)
        if username and _URL_SETTINGS[name]:
            found.add(username)
    return {secret for secret in found if secret}


def _plain(value: object) -> JsonValue:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list | tuple | set | frozenset):
        items = cast("Iterable[object]", value)
        return [_plain(item) for item in items]
    if isinstance(value, Mapping):
        pairs = cast("Mapping[object, object]", value)
        return {str(key): _plain(item) for key, item in pairs.items()}
    return str(value)


def _scrub(value: JsonValue, secrets: set[str]) -> JsonValue:
    """Mask any string that still contains a secret (defence in depth)."""
    if isinstance(value, str):
        return MASK if any(secret in value for secret in secrets) else value
    if isinstance(value, list):
        return [_scrub(item, secrets) for item in value]
    if isinstance(value, dict):
        return {key: _scrub(item, secrets) for key, item in value.items()}
    return value


def redacted_settings(settings: Settings) -> dict[str, JsonValue]:
    """The effective settings by variable name, every secret masked."""
    secrets = {s for s in secret_values(settings) if len(s) >= _MIN_SCRUB_LENGTH}
    shown: dict[str, JsonValue] = {}
    for name in type(settings).model_fields:
        value: object = getattr(settings, name)
        if value is None:
            shown[name] = None
        elif isinstance(value, SecretStr) and name in _URL_SETTINGS:
            url = redact_url(value.get_secret_value(), hide_username=_URL_SETTINGS[name])
            shown[name] = _scrub(url, secrets)
        elif isinstance(value, SecretStr) or looks_secret(name):
            shown[name] = MASK
        else:
            shown[name] = _scrub(_plain(value), secrets)
    return shown


def resident_memory_bytes() -> int | None:
    """Current resident set size, from /proc (Linux); None elsewhere."""
    try:
        fields = Path("/proc/self/statm").read_text().split()
        return int(fields[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


def peak_resident_memory_bytes() -> int | None:
    if sys.platform == "win32":
        return None
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Linux reports KiB, macOS bytes.
    return peak if sys.platform == "darwin" else peak * 1024


def package_versions() -> PackageVersions:
    versions: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return PackageVersions.model_validate(versions)


def loop_name(loop: asyncio.AbstractEventLoop) -> str:
    cls = type(loop)
    return f"{cls.__module__}.{cls.__qualname__}"


def collect_server_diagnostics(settings: Settings, *, event_loop: str) -> ServerDiagnostics:
    return ServerDiagnostics(
        app=AppInfo(name=settings.PROJECT_NAME, version=__version__),
        environment=settings.ENVIRONMENT,
        python=PythonInfo(
            version=platform.python_version(), implementation=platform.python_implementation()
        ),
        platform=platform.platform(),
        pid=os.getpid(),
        started_at=_STARTED_AT,
        uptime_seconds=round(time.monotonic() - _STARTED_MONOTONIC, 3),
        resident_memory_bytes=resident_memory_bytes(),
        peak_resident_memory_bytes=peak_resident_memory_bytes(),
        event_loop=event_loop,
        packages=package_versions(),
        settings=redacted_settings(settings),
    )


# ------------------------------------------------------------------------------ migrations


@dataclass(frozen=True)
class MigrationFile:
    name: str
    # sha256 of the bytes as they are, plus the LF/CRLF variants Prisma also accepts.
    checksums: frozenset[str]


@dataclass(frozen=True)
class MigrationRecord:
    """One row of `_prisma_migrations`."""

    name: str
    checksum: str
    finished: bool
    rolled_back: bool


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_migration_folder(migrations_dir: Path) -> list[MigrationFile] | None:
    """The `<name>/migration.sql` files in lexical order; None when the folder is missing."""
    if not migrations_dir.is_dir():
        return None
    found: list[MigrationFile] = []
    for folder in sorted(p for p in migrations_dir.iterdir() if p.is_dir()):
        script = folder / "migration.sql"
        if not script.is_file():
            continue
        data = script.read_bytes()
        lf = data.replace(b"\r\n", b"\n")
        checksums = {_sha256(data), _sha256(lf), _sha256(lf.replace(b"\n", b"\r\n"))}
        found.append(MigrationFile(folder.name, frozenset(checksums)))
    return found


def compare_migrations(
    folder: Path, files: Sequence[MigrationFile] | None, records: Sequence[MigrationRecord]
) -> MigrationsReport:
    """Classify migrations the way `prisma migrate status` would (rolled-back rows ignored)."""
    live = [record for record in records if not record.rolled_back]
    finished = {record.name: record for record in live if record.finished}
    failed = list(dict.fromkeys(record.name for record in live if not record.finished))
    on_disk = {file.name: file for file in files or []}
    modified = [
        name
        for name, record in finished.items()
        if name in on_disk and record.checksum not in on_disk[name].checksums
    ]
    recorded = set(finished) | set(failed)
    return MigrationsReport(
        folder=str(folder),
        applied=list(finished),
        pending=[file.name for file in files or [] if file.name not in recorded],
        modified=modified,
        failed=failed,
        missing_from_folder=[] if files is None else sorted(recorded - set(on_disk)),
    )


def _qualified(dialect: Dialect, name: str, schema: str | None) -> str:
    preparer = dialect.identifier_preparer
    quoted = preparer.quote_identifier(name)
    return f"{preparer.quote_schema(schema)}.{quoted}" if schema else quoted


def read_migration_records(
    connection: Connection, schema: str | None = None
) -> list[MigrationRecord] | None:
    """The rows of `_prisma_migrations` (PostgreSQL); None when the table does not exist."""
    table = _qualified(connection.dialect, MIGRATIONS_TABLE, schema)
    exists = connection.execute(
        text("SELECT to_regclass(:name) IS NOT NULL"), {"name": table}
    ).scalar_one()
    if not exists:
        return None
    rows = connection.execute(
        text(
            "SELECT migration_name, checksum, finished_at IS NOT NULL, rolled_back_at IS NOT NULL"
            f" FROM {table} ORDER BY started_at, migration_name"
        )
    ).all()
    return [
        MigrationRecord(str(name), str(checksum), bool(finished), bool(rolled_back))
        for name, checksum, finished, rolled_back in rows
    ]


# ---------------------------------------------------------------------------------- schema


@dataclass(frozen=True)
class ColumnShape:
    type: str
    nullable: bool


@dataclass(frozen=True)
class SchemaSnapshot:
    """Relations as {name: {column: shape}}; None where a kind does not apply (SQLite)."""

    tables: dict[str, dict[str, ColumnShape]]
    views: dict[str, dict[str, ColumnShape]] | None
    enums: dict[str, frozenset[str]] | None


_TYPE_ALIASES = (
    (r"\bDECIMAL\b", "NUMERIC"),
    (r"\bINT4\b|\bINT\b", "INTEGER"),
    (r"\bINT8\b", "BIGINT"),
    (r"\bINT2\b", "SMALLINT"),
    (r"\bBOOL\b", "BOOLEAN"),
    (r"\bCHARACTER VARYING\b", "VARCHAR"),
    (r"\bFLOAT8\b", "DOUBLE PRECISION"),
)


def normalise_type_name(compiled: str, *, dialect_name: str) -> str:
    """A canonical spelling of a compiled column type, so equal types compare equal.

    Quoted names (enums) keep their case; `TIMESTAMP(3) WITHOUT TIME ZONE` is `TIMESTAMP(3)`,
    `NUMERIC(10, 2)` is `NUMERIC(10,2)`. On SQLite lengths of VARCHAR are ignored (not enforced,
    and an enum column's length follows its longest value).
    """
    pieces = re.split(r'("[^"]*")', compiled)
    for index in range(0, len(pieces), 2):
        piece = " ".join(pieces[index].upper().split())
        piece = re.sub(r"\s*,\s*", ",", piece)
        piece = re.sub(r"\s*\(\s*", "(", piece)
        piece = re.sub(r"\s*\)", ")", piece)
        piece = piece.replace(" WITHOUT TIME ZONE", "")
        piece = re.sub(r"\b(TIMESTAMP|TIME)(\(\d+\))? WITH TIME ZONE", r"\1TZ\2", piece)
        for pattern, replacement in _TYPE_ALIASES:
            piece = re.sub(pattern, replacement, piece)
        if dialect_name == "postgresql":
            # 6 is PostgreSQL's default (and maximum) fractional precision.
            piece = re.sub(r"\b(TIMESTAMPTZ|TIMESTAMP|TIMETZ|TIME)\(6\)", r"\1", piece)
        if dialect_name == "sqlite":
            piece = re.sub(r"\b(VARCHAR|CHARACTER|NVARCHAR)\(\d+\)", r"\1", piece)
        pieces[index] = piece
    return re.sub(r"(\[\])+", "[]", "".join(pieces)).strip()


def type_name(type_: TypeEngine[Any], dialect: Dialect) -> str:
    enum = _enum_of(type_)
    if enum is not None and enum.name and dialect.name == "postgresql":
        # The enum's own name, whatever its case (an unquoted `mx_status` would be upper-cased).
        return f'"{enum.name}"' + ("[]" if isinstance(type_, ARRAY) else "")
    try:
        compiled = type_.compile(dialect=dialect)
    except CompileError:
        compiled = type(type_).__name__
    return normalise_type_name(compiled, dialect_name=dialect.name)


def model_views() -> list[Table]:
    """The views of `app/view_tables.py`."""
    found: list[Table] = []
    for value in list(vars(generated_views).values()):
        if not (isinstance(value, type) and issubclass(value, SQLModel)):
            continue
        table: object = getattr(value, "__table__", None)
        if isinstance(table, Table) and table.info.get("is_view"):
            found.append(cast("Table[Any]", table))
    return sorted(found, key=lambda table: table.name)


def served_schema(resources: Sequence[Resource]) -> tuple[list[Table], list[Table]]:
    """The tables and views the drift check compares with: those of the models the served
    resources come from (`served_schemas`: every table of their `MetaData`, models no resource
    serves and link tables too); views: app/view_tables.py's for the project's models, plus any
    a resource serves."""
    schemas = served_schemas(resources)
    tables = {t.name: t for s in schemas for t in data_tables(s.metadata)}
    views = {r.table.name: r.table for r in resources if r.table.info.get("is_view")}
    if any(s.is_project for s in schemas):
        views |= {t.name: t for t in model_views()}
    return sorted(tables.values(), key=lambda t: t.name), sorted(
        views.values(), key=lambda t: t.name
    )


def _applies(dialect: Dialect) -> tuple[bool, bool]:
    """(views, enums) are compared on PostgreSQL only: the embedded SQLite has neither."""
    postgres = dialect.name == "postgresql"
    return postgres, postgres


def _enum_of(type_: TypeEngine[Any]) -> Enum | None:
    if isinstance(type_, ARRAY):
        type_ = cast("ARRAY[Any]", type_).item_type
    return type_ if isinstance(type_, Enum) else None


def model_snapshot(
    tables: Sequence[Table], views: Sequence[Table], dialect: Dialect
) -> SchemaSnapshot:
    """What the generated models declare, spelt as `dialect` would."""

    def shapes(table: Table) -> dict[str, ColumnShape]:
        return {
            column.name: ColumnShape(type_name(column.type, dialect), bool(column.nullable))
            for column in table.columns
        }

    compare_views, compare_enums = _applies(dialect)
    enums: dict[str, frozenset[str]] = {}
    for table in [*tables, *views]:
        for column in table.columns:
            enum = _enum_of(column.type)
            if enum is not None and enum.name:
                enums[enum.name] = frozenset(enum.enums)
    return SchemaSnapshot(
        tables={table.name: shapes(table) for table in tables},
        views={view.name: shapes(view) for view in views} if compare_views else None,
        enums=enums if compare_enums else None,
    )


def _live_shapes(columns: list[ReflectedColumn], dialect: Dialect) -> dict[str, ColumnShape]:
    return {
        column["name"]: ColumnShape(type_name(column["type"], dialect), column["nullable"])
        for column in columns
    }


def live_snapshot(connection: Connection, schema: str | None = None) -> SchemaSnapshot:
    """Reflect the live database (`_prisma_migrations` left out). Run with `run_sync`."""
    inspector = inspect(connection)
    dialect = connection.dialect
    compare_views, compare_enums = _applies(dialect)
    tables = {
        name: _live_shapes(inspector.get_columns(name, schema=schema), dialect)
        for name in inspector.get_table_names(schema=schema)
        if name != MIGRATIONS_TABLE
    }
    views = (
        {
            name: _live_shapes(inspector.get_columns(name, schema=schema), dialect)
            for name in inspector.get_view_names(schema=schema)
        }
        if compare_views
        else None
    )
    enums = _live_enums(connection, schema) if compare_enums else None
    return SchemaSnapshot(tables=tables, views=views, enums=enums)


def _live_enums(connection: Connection, schema: str | None) -> dict[str, frozenset[str]]:
    rows = connection.execute(
        text(
            "SELECT t.typname, e.enumlabel FROM pg_catalog.pg_enum e"
            " JOIN pg_catalog.pg_type t ON t.oid = e.enumtypid"
            " JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace"
            " WHERE n.nspname = COALESCE(:schema, current_schema())"
            " ORDER BY t.typname, e.enumsortorder"
        ),
        {"schema": schema},
    ).all()
    labels: dict[str, list[str]] = {}
    for name, label in rows:
        labels.setdefault(str(name), []).append(str(label))
    return {name: frozenset(values) for name, values in labels.items()}


def _describe(shape: ColumnShape, *, with_nullability: bool) -> str:
    if not with_nullability:
        return shape.type
    return f"{shape.type}, {'nullable' if shape.nullable else 'NOT NULL'}"


def _compare_relations(
    kind: Literal["table", "view"],
    expected: dict[str, dict[str, ColumnShape]],
    live: dict[str, dict[str, ColumnShape]],
) -> list[Difference]:
    # Views carry no NOT NULL in PostgreSQL: their nullability is not compared.
    nullability = kind == "table"
    source = "app/models.py" if kind == "table" else "app/view_tables.py"
    missing: DifferenceKind = "missing_table" if kind == "table" else "missing_view"
    extra: DifferenceKind = "extra_table" if kind == "table" else "extra_view"
    found: list[Difference] = []
    for name in sorted(expected.keys() - live.keys()):
        detail = f'{kind} "{name}" is in {source} but not in the database'
        found.append(Difference(kind=missing, table=name, detail=detail))
    for name in sorted(live.keys() - expected.keys()):
        detail = f'{kind} "{name}" is in the database but not in {source}'
        found.append(Difference(kind=extra, table=name, detail=detail))
    for name in sorted(expected.keys() & live.keys()):
        want, have = expected[name], live[name]
        for column, shape in want.items():
            label = f'column "{name}"."{column}"'
            got = have.get(column)
            if got is None:
                described = _describe(shape, with_nullability=nullability)
                detail = f"{label} ({described}) is in {source} but not in the database"
                found.append(
                    Difference(kind="missing_column", table=name, column=column, detail=detail)
                )
                continue
            if got.type != shape.type:
                detail = f"{label} is {got.type} in the database, {shape.type} in {source}"
                found.append(
                    Difference(kind="type_mismatch", table=name, column=column, detail=detail)
                )
            if nullability and got.nullable != shape.nullable:
                db = "nullable" if got.nullable else "NOT NULL"
                model = "nullable" if shape.nullable else "NOT NULL"
                detail = f"{label} is {db} in the database, {model} in {source}"
                found.append(
                    Difference(
                        kind="nullability_mismatch", table=name, column=column, detail=detail
                    )
                )
        for column, got in have.items():
            if column in want:
                continue
            described = _describe(got, with_nullability=nullability)
            detail = (
                f'column "{name}"."{column}" ({described}) is in the database but not in {source}'
            )
            found.append(Difference(kind="extra_column", table=name, column=column, detail=detail))
    return found


def _compare_enums(
    expected: dict[str, frozenset[str]], live: dict[str, frozenset[str]]
) -> list[Difference]:
    # Only the enums the models use: an enum no column uses is not generated either.
    found: list[Difference] = []
    for name in sorted(expected):
        values = live.get(name)
        if values is None:
            detail = f'enum "{name}" is used by app/models.py but does not exist in the database'
            found.append(Difference(kind="missing_enum", enum=name, detail=detail))
            continue
        for value in sorted(expected[name] - values):
            detail = f"enum \"{name}\" value '{value}' is in app/models.py but not in the database"
            found.append(Difference(kind="missing_enum_value", enum=name, detail=detail))
        for value in sorted(values - expected[name]):
            detail = f"enum \"{name}\" has value '{value}' in the database, not in app/models.py"
            found.append(Difference(kind="extra_enum_value", enum=name, detail=detail))
    return found


def compare_schemas(expected: SchemaSnapshot, live: SchemaSnapshot) -> list[Difference]:
    """Every difference between the models and the live database, in a stable order."""
    found = _compare_relations("table", expected.tables, live.tables)
    if expected.views is not None and live.views is not None:
        found += _compare_relations("view", expected.views, live.views)
    if expected.enums is not None and live.enums is not None:
        found += _compare_enums(expected.enums, live.enums)
    return found


def schema_drift(expected: SchemaSnapshot, live: SchemaSnapshot, *, fix: str) -> SchemaDrift:
    compared: list[Compared] = ["tables", "columns", "types", "nullability"]
    if expected.views is not None and live.views is not None:
        compared.append("views")
    if expected.enums is not None and live.enums is not None:
        compared.append("enums")
    differences = compare_schemas(expected, live)
    return SchemaDrift(
        verdict="drift" if differences else "in_sync",
        compared=compared,
        differences=differences,
        fix=fix if differences else None,
    )


# -------------------------------------------------------------------------------- database


def pool_stats(pool: Pool) -> PoolStats:
    name = type(pool).__name__
    if not isinstance(pool, QueuePool):
        return PoolStats(
            implementation=name, size=None, checked_in=None, checked_out=None, overflow=None
        )
    return PoolStats(
        implementation=name,
        size=pool.size(),
        checked_in=pool.checkedin(),
        checked_out=pool.checkedout(),
        # The counter starts at -size: only what exceeds the pool size is overflow.
        overflow=max(pool.overflow(), 0),
    )


def _sqlite_fix(database: str | None) -> str:
    """Delete the stale file (and its WAL) so the next start recreates it from the models."""
    default: object = Settings.model_fields["SQLITE_PATH"].default
    if not database or Path(database).resolve() == Path(str(default)).resolve():
        return "make clean"
    return f"rm -f {shlex.quote(database)}*"


async def collect_database_diagnostics(
    engine: AsyncEngine,
    *,
    migrations_dir: Path,
    migration_files: list[MigrationFile] | None,
    schema: str | None = None,
    resources: Sequence[Resource] = (),
) -> DatabaseDiagnostics:
    """Ping, describe and compare the database behind `engine` (one connection) with the
    models `resources` come from (`served_schema`)."""
    dialect = engine.dialect
    postgres = dialect.name == "postgresql"
    notes: list[str] = []
    async with engine.connect() as connection:
        started = time.perf_counter()
        await connection.execute(text("SELECT 1"))
        latency_ms = round((time.perf_counter() - started) * 1000, 3)
        if postgres:
            row = (
                await connection.execute(
                    text(
                        "SELECT current_setting('server_version'), current_database(),"
                        " COALESCE(:schema, current_schema())"
                    ),
                    {"schema": schema},
                )
            ).one()
            server_version, database, default_schema = str(row[0]), str(row[1]), str(row[2])
        else:
            version = await connection.execute(text("SELECT sqlite_version()"))
            server_version, database, default_schema = (
                str(version.scalar_one()),
                engine.url.database,
                None,
            )
        live = await connection.run_sync(live_snapshot, schema)
        records = await connection.run_sync(read_migration_records, schema) if postgres else None

    migrations: MigrationsReport | None = None
    if postgres:
        migrations = compare_migrations(migrations_dir, migration_files, records or [])
        if records is None:
            notes.append(f"no {MIGRATIONS_TABLE} table: no Prisma migration was ever applied")
        if migration_files is None:
            notes.append(
                f"no migrations folder at {migrations_dir}: set PRISMA_DIR to the prisma folder"
            )
        if migrations.pending:
            notes.append(
                f"{len(migrations.pending)} pending migration(s): apply them "
                "(prisma migrate deploy, or uv run python -m tools.migrate) before trusting "
                "the schema drift below"
            )
        fix = ORM_FIX
    else:
        notes += [
            "migrations: not applicable on SQLite (the embedded database is created from "
            "app/models.py, not by Prisma migrations)",
            "views: not applicable on SQLite (the embedded database has none)",
            "enums: not applicable on SQLite (enum columns are stored as VARCHAR)",
        ]
        # On SQLite the file is the stale side: recreate it from the models.
        fix = _sqlite_fix(database)

    tables, views = served_schema(resources)
    drift = schema_drift(model_snapshot(tables, views, dialect), live, fix=fix)
    return DatabaseDiagnostics(
        url=engine.url.render_as_string(hide_password=True),
        dialect=dialect.name,
        driver=dialect.driver,
        server_version=server_version,
        database=database,
        default_schema=default_schema,
        latency_ms=latency_ms,
        pool=pool_stats(engine.pool),
        migrations=migrations,
        schema_drift=drift,
        notes=notes,
    )
