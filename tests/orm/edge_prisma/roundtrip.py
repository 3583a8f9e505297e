"""Run in a fresh interpreter by tests/orm/test_codegen.py, with the generated edge-case `app/` first on
sys.path: import the generated modules, create the tables on SQLite, round-trip rows."""

from __future__ import annotations

import re
import warnings
from decimal import Decimal

from sqlalchemy import create_engine, inspect
from sqlalchemy.exc import SAWarning
from sqlalchemy.orm import configure_mappers
from sqlmodel import Session, SQLModel, col, select

# The Team <-> Member foreign-key cycle must not make SQLAlchemy warn (sorted_tables).
warnings.simplefilter("error", SAWarning)

from app.models import Account, Color, Member, Profile, Team, Transfer  # noqa: E402  # pyright: ignore[reportAttributeAccessIssue]
from app.view_tables import AccountColors  # noqa: E402  # pyright: ignore[reportAttributeAccessIssue]

configure_mappers()
assert "AccountColors" not in SQLModel.metadata.tables
assert [t.name for t in SQLModel.metadata.sorted_tables].index("Team") >= 0
assert inspect(Member).relationships["owns"].uselist is False  # back side of a one-to-one
assert inspect(Team).relationships["owner"].uselist is False
assert inspect(Account).relationships["children"].uselist is True
assert inspect(Transfer).relationships["from_"].info == {"prisma": "from"}
engine = create_engine("sqlite://")
SQLModel.metadata.create_all(engine)

with Session(engine) as session:
    root = Account(colors=[Color.RED, Color.GREEN], settings={"a": 1})
    child = Account(parent=root, settings={})
    Profile(account=root, accountId=root.id, bio="hi")
    Transfer(from_=root, to=child, fromId=root.id, toId=child.id, amount=Decimal("1.50"))
    session.add_all([root, child])
    team = Team()
    lead = Member(team=team, score=0.5, avatar=b"\xff")
    session.add(team)
    session.commit()
    team.owner = lead  # a second flush: the rows depend on each other
    session.commit()
    root_id, child_id, lead_id = root.id, child.id, lead.id

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
    lead = session.get_one(Member, lead_id)
    assert lead.owns is not None
    assert lead.owns.owner is lead
    assert (lead.score, lead.avatar) == (0.5, b"\xff")
print("edge ok")
