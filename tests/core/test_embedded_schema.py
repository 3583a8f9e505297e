"""The embedded SQLite default creates any schema's tables: what SQLite cannot express is left
out with one warning line naming it, never a crash, and PostgreSQL's metadata stays as it was."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from loguru import logger
from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    Computed,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    Table,
    Text,
    create_engine,
    func,
    text,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import CITEXT, INET, TSVECTOR, UUID
from sqlalchemy.engine import Engine
from sqlalchemy.schema import CreateTable

from app.core.embedded import create_tables


def fixture_metadata() -> MetaData:
    """Tables as sqlacodegen reflects them from a PostgreSQL schema with PostgreSQL-only DDL."""
    metadata = MetaData()
    Table(
        "Account",
        metadata,
        Column(
            "id", UUID(as_uuid=False), primary_key=True, server_default=text("gen_random_uuid()")
        ),
        Column("email", CITEXT, nullable=False),
        Column("ip", INET),
        Column("search", TSVECTOR),
        Column("name", Text, nullable=False, server_default=text("'anonymous'::text")),
        Column("createdAt", postgresql.TIMESTAMP(precision=3), server_default=text("now()")),
        Column("seq", Integer, server_default=text("nextval('\"Account_seq_seq\"'::regclass)")),
        Column("balance", Integer, nullable=False, server_default=text("0")),
        Column("upper_name", Text, Computed("upper(name)")),
        Column("slug", Text, Computed("regexp_replace(name, '\\s', '-', 'g')")),
        CheckConstraint("(name ~ '^[a-z]+$'::text)", name="Account_name_check"),
        CheckConstraint("balance >= 0", name="Account_balance_check"),
        Index(
            "Account_search_idx",
            text("to_tsvector('english'::regconfig, name)"),
            postgresql_using="gin",
        ),
        Index("Account_ip_idx", "ip", postgresql_using="gist"),
        Index("Account_email_lower_key", func.lower(text("email")), unique=True),
        Index("Account_name_live_key", "name", unique=True, postgresql_where=text("(balance > 0)")),
        Index(
            "Account_seq_cast_key", "seq", unique=True, postgresql_where=text("(name <> ''::text)")
        ),
        Index("Account_empty_idx"),
        Index("Account_fts_idx", text("to_tsvector('english', name)")),
    )
    # A foreign-key cycle, closed by a use_alter constraint (as the generator emits it).
    Table(
        "Team",
        metadata,
        Column("id", BigInteger, primary_key=True, autoincrement=True),
        Column("ownerId", UUID(as_uuid=False)),
        ForeignKeyConstraint(["ownerId"], ["Account.id"], name="Team_ownerId_fkey", use_alter=True),
    )
    Table(
        "Member",
        metadata,
        Column("teamId", BigInteger, primary_key=True),
        Column("accountId", UUID(as_uuid=False), primary_key=True),
        ForeignKeyConstraint(["teamId"], ["Team.id"], name="Member_teamId_fkey"),
        ForeignKeyConstraint(["accountId"], ["Account.id"], name="Member_accountId_fkey"),
    )
    return metadata


@pytest.fixture
def warning_lines() -> Iterator[list[str]]:
    lines: list[str] = []
    sink = logger.add(
        lambda message: lines.append(str(message).strip()), level="WARNING", format="{message}"
    )
    try:
        yield lines
    finally:
        logger.remove(sink)


def create_on_sqlite(metadata: MetaData, path: Path) -> tuple[int, Engine]:
    """Run the embedded default's create on an SQLite file; the count and the engine."""
    engine = create_engine(f"sqlite:///{path}")
    with engine.begin() as connection:
        connection.exec_driver_sql("PRAGMA foreign_keys=ON")
        created = create_tables(connection, metadata)
    return created, engine


def test_postgresql_only_ddl_is_left_out_with_one_line_each(
    tmp_path: Path, warning_lines: list[str]
) -> None:
    metadata = fixture_metadata()
    before = {
        name: str(CreateTable(t).compile(dialect=postgresql.dialect()))
        for name, t in metadata.tables.items()
    }
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no SQLAlchemy warning either (foreign-key cycles)
        created, engine = create_on_sqlite(metadata, tmp_path / "pg.sqlite3")
    engine.dispose()
    assert created == 3
    joined = "\n".join(warning_lines)
    # SQLite computes a UUID v4 itself: gen_random_uuid() is translated, not left out.
    assert "gen_random_uuid" not in joined
    one_each = [
        "column Account.email of type CITEXT created as TEXT",
        "column Account.ip of type INET created as TEXT",
        "column Account.search of type TSVECTOR created as TEXT",
        "default nextval",
        "CHECK constraint Account_name_check",
        "generated column Account.slug",
        "index Account_search_idx",
        "index Account_ip_idx",
        "index Account_empty_idx",
        "index Account_fts_idx on Account left out on SQLite (no such function: to_tsvector)",
        "index Account_seq_cast_key",  # its WHERE has a PostgreSQL cast
    ]
    for fragment in one_each:
        assert sum(fragment in line for line in warning_lines) == 1, (fragment, joined)
    # What SQLite can express is kept; nothing else is mentioned.
    for kept in (
        "balance_check",
        "upper_name",
        "email_lower_key",
        "name_live_key",
        "Team",
        "Member",
    ):
        assert kept not in joined
    assert len(warning_lines) == len(one_each)
    # PostgreSQL's metadata is what it was.
    after = {
        name: str(CreateTable(t).compile(dialect=postgresql.dialect()))
        for name, t in metadata.tables.items()
    }
    assert after == before
    assert len(metadata.tables["Account"].indexes) == 7


def test_sqlite_tables_keep_what_sqlite_can_express(tmp_path: Path) -> None:
    created, engine = create_on_sqlite(fixture_metadata(), tmp_path / "kept.sqlite3")
    assert created == 3
    with engine.begin() as connection:
        connection.exec_driver_sql("PRAGMA foreign_keys=ON")
        connection.execute(text("INSERT INTO \"Account\" (email, name) VALUES ('A@x.io', 'ada')"))
        row = connection.execute(
            text('SELECT id, "createdAt", upper_name, name FROM "Account"')
        ).one()
        assert len(row.id) == 36
        assert row.id[14] == "4"
        assert row.createdAt is not None
        assert row.upper_name == "ADA"
        # The kept CHECK constraint and the expression unique index hold on SQLite.
        with pytest.raises(Exception, match="CHECK"):
            connection.execute(
                text("INSERT INTO \"Account\" (email, name, balance) VALUES ('b@x.io', 'b', -1)")
            )
        with pytest.raises(Exception, match="UNIQUE"):
            connection.execute(text("INSERT INTO \"Account\" (email, name) VALUES ('a@X.IO', 'c')"))
        # A BIGINT key numbers itself, as BIGSERIAL does.
        connection.execute(text('INSERT INTO "Team" ("ownerId") VALUES (:id)'), {"id": row.id})
        assert connection.execute(text('SELECT id FROM "Team"')).scalar_one() == 1
        found = connection.execute(
            text("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'Account'")
        )
        indexes = {name for name in found.scalars() if not name.startswith("sqlite_")}
        assert indexes == {"Account_email_lower_key", "Account_name_live_key"}
    engine.dispose()


def test_existing_tables_are_left_as_they_are(tmp_path: Path, warning_lines: list[str]) -> None:
    path = tmp_path / "twice.sqlite3"
    for expected in (3, 0):
        created, engine = create_on_sqlite(fixture_metadata(), path)
        engine.dispose()
        assert created == expected
        if expected:
            warning_lines.clear()
    assert warning_lines == []
