"""Run in a fresh interpreter by tests/orm/test_codegen.py, with the generated multi-file `app/`
first on sys.path: relationships as schema.prisma declares them (the database has no foreign key),
then rows round-tripped on SQLite. Any SQLAlchemy warning fails."""

from __future__ import annotations

import importlib
import warnings
from typing import Any

from sqlalchemy import create_engine, inspect, select
from sqlalchemy.exc import SAWarning
from sqlalchemy.orm import RelationshipDirection, configure_mappers
from sqlmodel import Session, SQLModel

warnings.simplefilter("error", SAWarning)

# The generated module, not the project's app.models (type-checked as Any on purpose).
models: Any = importlib.import_module("app.models")
ChartKind, Dashboard, Field, Message = (
    models.ChartKind,
    models.Dashboard,
    models.Field,
    models.Message,
)
Profile, Setting, Tag, User = models.Profile, models.Setting, models.Tag, models.User
Org, Team = models.Org, models.Team

configure_mappers()
ONE, MANY, LINK = (
    RelationshipDirection.MANYTOONE,
    RelationshipDirection.ONETOMANY,
    RelationshipDirection.MANYTOMANY,
)


def shape(model: type[SQLModel]) -> dict[str, tuple[RelationshipDirection, bool | None]]:
    return {name: (r.direction, r.uselist) for name, r in inspect(model).relationships.items()}


assert shape(Dashboard) == {"owner": (ONE, False), "Field": (MANY, True), "tags": (LINK, True)}
assert shape(Field) == {"Dashboard": (ONE, False)}
assert shape(Profile) == {"user": (ONE, False)}
assert shape(Message) == {"sender": (ONE, False), "recipient": (ONE, False)}
assert shape(Tag) == {"dashboards": (LINK, True)}
assert shape(User) == {
    "profile": (MANY, False),  # the back side of a one-to-one: one object or None
    "dashboards": (MANY, True),
    "sent": (MANY, True),
    "received": (MANY, True),
    "followers": (LINK, True),
    "following": (LINK, True),
    "manager": (ONE, False),
    "reports": (MANY, True),
}
assert shape(Org) == {"teams": (MANY, True)}
assert shape(Team) == {"org": (ONE, False), "next": (ONE, False), "previous": (MANY, False)}
pairs = inspect(Team).relationships["org"].local_remote_pairs
assert [(a.name, b.name) for a, b in pairs or []] == [("orgRegion", "region"), ("orgCode", "code")]
pairs = inspect(Field).relationships["Dashboard"].local_remote_pairs
assert [(a.name, b.name) for a, b in pairs or []] == [("dashboardId", "id")]
sync = inspect(User).relationships["reports"].synchronize_pairs
assert [(a.name, b.name) for a, b in sync] == [("id", "managerId")]
assert [c.name for c in inspect(Setting).primary_key] == ["scope", "key"]
assert "legacy" not in Field.__table__.c  # @ignore
assert "AuditTrail" in SQLModel.metadata.tables  # @@ignore: a Table, no class
assert all(m.class_.__name__ != "AuditTrail" for m in SQLModel._sa_registry.mappers)  # pyright: ignore[reportPrivateUsage]
assert ChartKind.BAR_CHART.value == "bar-chart"
assert ChartKind["LINE"] is ChartKind("line")

# The embedded default leaves out what SQLite cannot create (GIN, to_tsvector): as it would.
for table in SQLModel.metadata.tables.values():
    for index in list(table.indexes):
        if index.dialect_options["postgresql"]["using"]:
            table.indexes.discard(index)
engine = create_engine("sqlite://")
SQLModel.metadata.create_all(engine)

with Session(engine) as session:
    boss = User(email="boss@example.com")
    ann = User(email="ann@example.com", manager=boss)
    Profile(user=ann, bio="hi")
    board = Dashboard(title="Sales", owner=ann, tags=[Tag(name="q1")])
    Field(label="Revenue", Dashboard=board, weight=2.5, payload=b"\x00\x01", email="A@B.C")
    Message(body="hello", sender=boss, recipient=ann)
    ann.followers = [boss]
    org = Org(region="eu", code="x")
    first = Team(id=1, org=org)
    Team(id=2, org=org, previous=first)
    session.add_all([boss, ann, first, Setting(scope="ui", key="theme", value="dark")])
    session.commit()
    ann_id, boss_id = ann.id, boss.id

with Session(engine) as session:
    ann = session.get_one(User, ann_id)
    boss = session.get_one(User, boss_id)
    assert ann.profile is not None
    assert ann.profile.bio == "hi"
    assert ann.manager is boss
    assert [u.email for u in boss.reports] == ["ann@example.com"]
    assert [d.title for d in ann.dashboards] == ["Sales"]
    field = ann.dashboards[0].Field[0]
    assert (field.kind, field.weight, field.payload) == (ChartKind.BAR_CHART, 2.5, b"\x00\x01")
    assert [t.name for t in ann.dashboards[0].tags] == ["q1"]
    assert [m.body for m in boss.sent] == [m.body for m in ann.received] == ["hello"]
    assert boss.following == [ann]  # the first-named field's own key is column A
    link = SQLModel.metadata.tables["_Follows"]
    assert session.execute(select(link.c.A, link.c.B)).one() == (ann_id, boss_id)
    assert session.get_one(Setting, ("ui", "theme")).value == "dark"
    first = session.get_one(Team, 1)
    assert (first.nextId, first.next.id, first.next.previous is first) == (2, 2, True)
    assert [t.id for t in session.get_one(Org, ("eu", "x")).teams] == [1, 2]
print("multifile ok")
