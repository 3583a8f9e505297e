"""Run in a fresh interpreter by tests/orm/test_codegen.py, with the generated edge-case `app/` first on
sys.path: import the generated modules, create the tables on SQLite, round-trip rows."""

from __future__ import annotations

import re
from decimal import Decimal

from sqlalchemy import create_engine
from sqlalchemy.orm import configure_mappers
from sqlmodel import Session, SQLModel, col, select

from app.models import Account, Color, Profile, Transfer  # pyright: ignore[reportAttributeAccessIssue]
from app.view_tables import AccountColors  # pyright: ignore[reportAttributeAccessIssue]

configure_mappers()
assert "AccountColors" not in SQLModel.metadata.tables
engine = create_engine("sqlite://")
SQLModel.metadata.create_all(engine)

with Session(engine) as session:
    root = Account(colors=[Color.RED, Color.GREEN], settings={"a": 1})
    child = Account(parent=root, settings={})
    Profile(account=root, accountId=root.id, bio="hi")
    Transfer(from_=root, to=child, fromId=root.id, toId=child.id, amount=Decimal("1.50"))
    session.add_all([root, child])
    session.commit()
    root_id, child_id = root.id, child.id

with Session(engine) as session:
    got = session.exec(select(Account).where(col(Account.id) == root_id)).one()
    assert re.fullmatch(r"[0-9a-f-]{36}", got.id), got.id
    assert re.fullmatch(r"[A-Za-z0-9_-]{10}", got.handle), got.handle
    assert re.fullmatch(r"[a-z][a-z0-9]{23}", got.ref), got.ref
    assert re.fullmatch(r"[0-9A-HJKMNP-TV-Z]{26}", got.ulid_col), got.ulid_col
    assert got.v7.version == 7
    assert got.favorite is Color.RED  # server default 'red' (cast stripped)
    assert got.labels == []  # ARRAY[]::text[] became '[]' for the JSON variant
    assert [c.id for c in got.children] == [child_id]
    assert got.profile is not None
    assert got.profile.bio == "hi"
    assert [t.amount for t in got.sent] == [Decimal("1.50")]
    assert got.received == []
    assert got.text_ is None
    assert AccountColors.__name__ == "AccountColors"
print("edge ok")
