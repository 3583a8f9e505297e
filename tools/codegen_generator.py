"""The project's sqlacodegen generator: SQLModel classes that fit a Prisma-owned schema.

What it changes in sqlacodegen 4.0.4's ``SQLModelGenerator`` (hooks overridden below):

- ``_prisma_migrations`` is never generated; ``schema='public'`` is never emitted (tables are
  reflected from the connection's default schema only).
- Enum classes keep the Prisma/PostgreSQL names (``PageStatus``, not ``Pagestatus``) and member
  names, as ``enum.StrEnum``; columns use ``Enum(X, name=..., values_callable=enum_values)``.
- Class names are exactly the Prisma model names (``PageRevision`` for
  ``@@map("page_revisions")``, ``Field`` too: an import a model name takes is aliased,
  ``from sqlmodel import Field as SQLField``). Every model is a class: one keyed only by
  ``@@unique``/``@unique`` gets that criterion as its SQLAlchemy primary key; ``@@ignore``
  models stay bare Tables (others' foreign keys may point at them); ``@ignore`` fields are
  left out of the Table.
- Relationships come from ``schema.prisma``, one per Prisma relation field, never from the
  foreign keys (the database may have none: ``relationMode = "prisma"``). The attribute is
  the field name (a keyword or clashing name gets a Python spelling, ``from_``, plus
  ``sa_relationship_kwargs={"info": {"prisma": "from"}}``); ``back_populates`` pairs the
  two sides; ``X[]`` is a list, ``X``/``X?`` one object (``uselist=False`` on the back side
  of a one-to-one). Where SQLAlchemy cannot infer the join from one foreign key (none in the
  database, a self-relation, several relations between two models) it is spelled out as a
  string ``primaryjoin`` with ``foreign()``/``remote()``; implicit many-to-many use the
  ``_<Relation>`` table as ``secondary`` (column ``A`` = side A's key, as prisma-engines).
- Foreign keys closing a cycle get ``use_alter=True`` (no SAWarning from ``sorted_tables``);
  expression indexes are rendered with ``text(...)``; PostgreSQL types SQLite cannot create
  (citext, tsvector, …) get a SQLite variant.
- Portable to SQLite: ARRAY/JSONB get ``.with_variant(JSON(), "sqlite")``; ``'X'::"Type"``
  casts are stripped from server defaults (the PostgreSQL DDL types stay as reflected).
- JSON is typed ``Any`` with ``none_as_null=True`` (Python ``None`` is SQL ``NULL``).
- Columns with a server default or autoincrement get ``default=None`` (optional in the
  constructor; SQLAlchemy leaves ``None`` out of the INSERT so the database default applies).
- Prisma client-side defaults (``cuid()``, ``uuid()``, ``nanoid()``, ``ulid()``,
  ``@updatedAt``) become ``default_factory`` plus Column ``default``/``onupdate``.
- Views (``mode="views"``) become read-only classes whose primary key is the Prisma
  ``@id``/``@unique``, kept out of ``create_all`` (see ``VIEW_HELPER``).
"""

from __future__ import annotations

import datetime
import io
import json
import re
import tokenize
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from keyword import iskeyword
from typing import Any, Literal

from sqlacodegen.generators import SQLModelGenerator
from sqlacodegen.models import (
    ColumnAttribute,
    Model,
    ModelClass,
    RelationshipAttribute,
    RelationshipType,
)
from sqlacodegen.utils import render_callable
from sqlalchemy import (
    ARRAY,
    JSON,
    Column,
    DefaultClause,
    Enum,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    Interval,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
    TextClause,
    Uuid,
)
from sqlalchemy.dialects import sqlite
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.sql import text
from sqlalchemy.sql.ddl import sort_tables_and_constraints

from tools.prisma_schema import PrismaField, PrismaModel, PrismaSchema

EXCLUDED_TABLES = frozenset({"_prisma_migrations"})
DEFAULTS_MODULE = "app.prisma_defaults"

# `'USER'::"Role"`, `'{}'::jsonb`, `0::integer`, `'a'::character varying` -> the literal.
_CAST_DEFAULT = re.compile(
    r"""^\(?(?P<literal>'(?:[^']|'')*'|-?\d+(?:\.\d+)?|true|false)\)?"""
    r"""(?:::(?:"[^"]+"|[\w .]+)(?:\(\d+(?:,\s*\d+)?\))?(?:\[\])*)+$""",
    re.IGNORECASE,
)
_INVALID_IDENTIFIER = re.compile(r"\W")
# `ARRAY[]::text[]`, `ARRAY['a', 'b']::text[]`, `'{}'::text[]` (array defaults)
_ARRAY_DEFAULT = re.compile(
    r"""^(?:ARRAY\[(?P<items>.*?)\]|'\{(?P<braces>[^'"]*)\}')(?:::(?:"[^"]+"|[\w .]+)(?:\[\])+)?$""",
    re.IGNORECASE | re.DOTALL,
)
_ARRAY_ITEM = re.compile(
    r"""^(?:'(?P<str>(?:[^']|'')*)'(?:::(?:"[^"]+"|[\w .]+))?|(?P<num>-?\d+(?:\.\d+)?))$"""
)

# Prisma `@default(fn())` -> (factory for str columns, factory for uuid.UUID columns)
_PRISMA_FACTORIES: dict[str, tuple[str, str]] = {
    "cuid()": ("cuid", "cuid"),
    "cuid(1)": ("cuid", "cuid"),
    "cuid(2)": ("cuid2", "cuid2"),
    "uuid()": ("uuid4", "uuid4_value"),
    "uuid(4)": ("uuid4", "uuid4_value"),
    "uuid(7)": ("uuid7", "uuid7_value"),
    "nanoid()": ("nanoid", "nanoid"),
    "ulid()": ("ulid", "ulid"),
}
_NANOID_SIZED = re.compile(r"^nanoid\((\d+)\)$")

VIEW_HELPER = '''

def _register_view(model: type[SQLModel]) -> None:
    """Keep a view's Table out of ``SQLModel.metadata`` and refuse writes through it.

    The class is mapped on SQLModel's registry like any table (so ``select(Model)`` and
    sessions work), then its Table is removed from ``SQLModel.metadata``: ``create_all`` and
    ``drop_all`` never see it, on SQLite or anywhere. ``table.info["is_view"]`` marks it.
    """
    table = cast("Table[Any]", inspect(model).local_table)
    table.info["is_view"] = True
    if table.metadata.tables.get(table.key) is table:
        table.metadata.remove(table)
    for event_name in ("before_insert", "before_update", "before_delete"):
        event.listen(model, event_name, _refuse_write)


def _refuse_write(mapper: Mapper[Any], connection: Connection, target: object) -> None:
    raise TypeError(f"{type(target).__name__} maps a database view: it is read-only")
'''


def portable_array_default(expression: str) -> str | None:
    """A PostgreSQL array default as a JSON text literal (what the SQLite variant stores)."""
    match = _ARRAY_DEFAULT.match(expression.strip())
    if not match:
        return None
    raw = match.group("items") if match.group("items") is not None else match.group("braces")
    values: list[object] = []
    for part in (p.strip() for p in raw.split(",")) if raw.strip() else ():
        item = _ARRAY_ITEM.match(part)
        if item is None:
            if match.group("braces") is not None and re.fullmatch(r"[\w.-]+", part):
                values.append(part)  # '{a,b}' lists are unquoted
                continue
            return None
        if item.group("num") is not None:
            number = item.group("num")
            values.append(float(number) if "." in number else int(number))
        else:
            values.append(item.group("str").replace("''", "'"))
    literal = json.dumps(values).replace("'", "''")
    return f"'{literal}'"


def alias_clashing_imports(code: str) -> str:
    """Import ``X as SQLX`` where a generated class is named ``X`` (a Prisma model ``Field``).

    Classes keep Prisma's names; the import is renamed wherever it is used as a name outside
    strings (generated code refers to classes only inside strings, in ``class X(`` and in
    ``_register_view(X)``).
    """
    # Model classes only: enum classes are referred to by bare name, which would be ambiguous.
    classes = set(re.findall(r"^class (\w+)\(SQLModel\b", code, re.MULTILINE))
    imported: set[str] = set()
    for match in re.finditer(r"^from \S+ import (.+)$", code, re.MULTILINE):
        imported.update(name.strip() for name in match.group(1).split(","))
    clashes = classes & imported
    if not clashes:
        return code
    lines = code.splitlines(keepends=True)
    edits: list[tuple[int, int, int, str]] = []
    skipped = (tokenize.NL, tokenize.NEWLINE, tokenize.COMMENT, tokenize.INDENT, tokenize.DEDENT)
    tokens = [
        t for t in tokenize.generate_tokens(io.StringIO(code).readline) if t.type not in skipped
    ]
    for i, token in enumerate(tokens):
        name = token.string
        if token.type != tokenize.NAME or name not in clashes:
            continue
        before = [t.string for t in tokens[max(i - 2, 0) : i]]
        after = tokens[i + 1].string if i + 1 < len(tokens) else ""
        (row, start), (_, end) = token.start, token.end
        if token.line.startswith("from "):
            edits.append((row, start, end, f"{name} as {_import_alias(name)}"))
        elif before[-1:] == ["."] or after in (":", "="):
            continue  # an attribute (`Dashboard.Field`, `Field: list[...]`), a keyword
        elif before[-1:] != ["class"] and before != ["_register_view", "("]:
            edits.append((row, start, end, _import_alias(name)))
    for row, start, end, replacement in reversed(edits):
        line = lines[row - 1]
        lines[row - 1] = line[:start] + replacement + line[end:]
    return "".join(lines)


def _camel_to_snake(name: str) -> str:
    name = re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name)
    return re.sub(r"_+", "_", name).strip("_").lower()


def _identifier(name: str) -> str:
    name = _INVALID_IDENTIFIER.sub("_", name) or "_"
    if name[0].isdigit():
        name = "_" + name
    if iskeyword(name):
        name += "_"
    return name


def _strip_id_suffix(name: str) -> str:
    stripped = re.sub(r"(_id|Id|ID|_ID)$", "", name)
    return stripped or name


@dataclass(eq=False)
class PrismaRelationship(RelationshipAttribute):
    """A relationship made from a Prisma relation field (``schema.prisma``), not from a
    foreign key: the database may have none (``relationMode = "prisma"``)."""

    prisma_name: str = ""
    optional: bool = False
    # The side holding the relation scalars (`fields:`) and the side they reference.
    owner: ModelClass | None = None
    referenced: ModelClass | None = None
    fk_columns: list[Column[Any]] = field(default_factory=list[Column[Any]])
    ref_columns: list[Column[Any]] = field(default_factory=list[Column[Any]])
    # Implicit many-to-many: (column of this side, column of the target) in the join table.
    link_columns: tuple[str, str] = ("", "")
    # No single foreign key SQLAlchemy could infer the join from: spell it out.
    explicit_join: bool = False


def _sqlite_compiles(column_type: Any) -> bool:
    try:
        column_type.compile(dialect=sqlite.dialect())
    except SQLAlchemyError:
        return False
    return True


# Builtins and modules the generated annotations use: no column attribute may shadow them.
_ANNOTATION_BUILTINS = frozenset(
    {"bool", "bytes", "dict", "float", "int", "list", "str", "datetime", "decimal", "enum", "uuid"}
)


def _import_alias(name: str) -> str:
    """The alias of an import whose name a Prisma model takes (`Field` -> `SQLField`)."""
    return f"SQL{name}" if name[:1].isupper() else f"sql_{name}"


class PrismaSQLModelGenerator(SQLModelGenerator):
    def __init__(
        self,
        metadata: MetaData,
        bind: Connection | Engine,
        *,
        prisma: PrismaSchema | None,
        mode: Literal["models", "views"] = "models",
        models_module: str = "app.models",
        header: str = "",
    ) -> None:
        super().__init__(metadata, bind, ["nojoined"])
        self.prisma = prisma
        self.mode = mode
        self.models_module = models_module
        self.header = header
        self._current_column: Column[Any] | None = None
        # Names a relationship attribute may not take (imports, aliases): set by generate_models.
        self._taken_names: set[str] = set()

    # ----------------------------------------------------------------------------- helpers

    def prisma_model(self, table: Table) -> PrismaModel | None:
        if self.prisma is None:
            return None
        model = self.prisma.model_for_table(table.name)
        if model is None:
            return None
        if (model.kind == "view") != (self.mode == "views"):
            return None
        return model

    def prisma_field(self, column: Column[Any]) -> PrismaField | None:
        model = self.prisma_model(column.table)
        return model.field_by_column(column.name) if model else None

    def client_default_factory(self, column: Column[Any]) -> str | None:
        """The Python expression of a Prisma client-side default, if the column has one."""
        fld = self.prisma_field(column)
        if fld is None or self.mode == "views":
            return None
        if fld.updated_at:
            self.add_literal_import(DEFAULTS_MODULE, "utcnow")
            return "utcnow"
        default = (fld.default or "").replace(" ", "")
        if default in _PRISMA_FACTORIES:
            as_str, as_uuid = _PRISMA_FACTORIES[default]
            name = as_uuid if isinstance(column.type, Uuid) else as_str
            self.add_literal_import(DEFAULTS_MODULE, name)
            return name
        if match := _NANOID_SIZED.match(default):
            self.add_literal_import(DEFAULTS_MODULE, "nanoid")
            return f"lambda: nanoid({int(match.group(1))})"
        return None

    # ------------------------------------------------------------------ models from Prisma

    def generate_models(self) -> list[Model]:
        self._break_foreign_key_cycles()
        if self.prisma is None or self.mode == "views":
            return super().generate_models()
        link_tables = self._implicit_link_tables()
        models: dict[str, Model] = {}
        for table in self.metadata.sorted_tables:
            models[table.name] = self._model_for(table, link_tables)
        by_field: dict[tuple[str, str], PrismaRelationship] = {}
        for model in models.values():
            prisma_model = self.prisma_model(model.table)
            if not isinstance(model, ModelClass) or prisma_model is None:
                continue
            for fld in self.prisma.relation_fields(prisma_model):
                relationship = self._prisma_relationship(model, prisma_model, fld, models)
                if relationship is not None:
                    model.relationships.append(relationship)
                    by_field[prisma_model.name, fld.name] = relationship
        self._link_back_populates(by_field)
        self.collect_imports(models.values())
        global_names = {name for names in self.imports.values() for name in names}
        class_names = {
            _identifier(m.name) for m in self.prisma.models.values() if m.kind == "model"
        }
        aliased = global_names & class_names
        self._taken_names = (global_names - aliased) | {_import_alias(n) for n in aliased}
        for model in models.values():
            self.generate_model_name(model, global_names)
            global_names.add(model.name)
        return list(models.values())

    def _model_for(self, table: Table, link_tables: set[str]) -> Model:
        """A class for each Prisma model (``@@ignore``: a bare Table), a Table for the rest."""
        prisma_model = self.prisma_model(table)
        if table.name in link_tables or not table.primary_key.columns:
            return Model(table)
        if prisma_model is None:
            foreign_keys = table.foreign_key_constraints
            if len(foreign_keys) == 2 and all(c.foreign_keys for c in table.columns):
                return Model(table)  # a link table sqlacodegen would not map either
        elif prisma_model.ignored:
            return Model(table)
        model = ModelClass(table)
        model.columns = [ColumnAttribute(model, column) for column in table.columns]
        return model

    def _implicit_link_tables(self) -> set[str]:
        """``_<RelationName>`` tables of Prisma's implicit many-to-many relations."""
        assert self.prisma is not None
        prisma = self.prisma
        return {
            f"_{prisma.relation_of(model, fld).name}"
            for model in prisma.models.values()
            for fld in prisma.relation_fields(model)
            if self._is_implicit_many_to_many(model, fld)
        }

    def _is_implicit_many_to_many(self, model: PrismaModel, fld: PrismaField) -> bool:
        assert self.prisma is not None
        opposite = self.prisma.opposite(model, fld)
        return (
            fld.is_list
            and opposite is not None
            and opposite.is_list
            and not self.prisma.relation_of(model, fld).fields
        )

    def _prisma_relationship(
        self,
        model: ModelClass,
        prisma_model: PrismaModel,
        fld: PrismaField,
        models: Mapping[str, Model],
    ) -> PrismaRelationship | None:
        """The relationship of one Prisma relation field, or None if it cannot be mapped."""
        assert self.prisma is not None
        prisma = self.prisma
        target_prisma = prisma.models[fld.type]
        target = models.get(target_prisma.db_name)
        if not isinstance(target, ModelClass) or target_prisma.kind != "model":
            return None
        if self._is_implicit_many_to_many(prisma_model, fld):
            return self._many_to_many(model, prisma_model, fld, target, models)
        relation = prisma.relation_of(prisma_model, fld)
        owning = bool(relation.fields)
        owner, owner_prisma, referenced, referenced_prisma = (
            model,
            prisma_model,
            target,
            target_prisma,
        )
        if not owning:
            opposite = prisma.opposite(prisma_model, fld)
            if opposite is None:
                return None
            relation = prisma.relation_of(target_prisma, opposite)
            owner, owner_prisma, referenced, referenced_prisma = (
                target,
                target_prisma,
                model,
                prisma_model,
            )
        fk_columns = self._columns(owner, owner_prisma, relation.fields)
        ref_columns = self._columns(referenced, referenced_prisma, relation.references)
        if not fk_columns or len(fk_columns) != len(ref_columns):
            return None
        if owning:
            kind = RelationshipType.MANY_TO_ONE
        else:
            kind = RelationshipType.ONE_TO_MANY if fld.is_list else RelationshipType.ONE_TO_ONE
        relationship = PrismaRelationship(
            kind,
            model,
            target,
            constraint=self._foreign_key(owner.table, referenced.table, fk_columns, ref_columns),
            prisma_name=fld.name,
            optional=fld.optional,
            owner=owner,
            referenced=referenced,
            fk_columns=fk_columns,
            ref_columns=ref_columns,
        )
        relationship.explicit_join = not self._inferable_join(relationship)
        return relationship

    def _many_to_many(
        self,
        model: ModelClass,
        prisma_model: PrismaModel,
        fld: PrismaField,
        target: ModelClass,
        models: Mapping[str, Model],
    ) -> PrismaRelationship | None:
        assert self.prisma is not None
        link = models.get(f"_{self.prisma.relation_of(prisma_model, fld).name}")
        if link is None or not {"A", "B"} <= set(link.table.c.keys()):
            return None
        # Side A's own key is column A (prisma-engines: the model named first, or for a
        # self-relation the field named first).
        own, other = ("A", "B") if self.prisma.is_side_a(prisma_model, fld) else ("B", "A")
        relationship = PrismaRelationship(
            RelationshipType.MANY_TO_MANY,
            model,
            target,
            association_table=link,
            prisma_name=fld.name,
            link_columns=(own, other),
        )
        has_keys = len(link.table.foreign_key_constraints) == 2
        single_keys = (
            len(model.table.primary_key.columns) == 1 == len(target.table.primary_key.columns)
        )
        relationship.explicit_join = single_keys and (model is target or not has_keys)
        return relationship

    @staticmethod
    def _columns(
        model: ModelClass, prisma_model: PrismaModel, names: list[str]
    ) -> list[Column[Any]]:
        columns: list[Column[Any]] = []
        for name in names:
            fld = prisma_model.field_by_name(name)
            column_name = fld.db_name if fld else name
            if column_name not in model.table.c:
                return []
            columns.append(model.table.c[column_name])
        return columns

    @staticmethod
    def _foreign_key(
        owner: Table,
        referenced: Table,
        fk_columns: list[Column[Any]],
        ref_columns: list[Column[Any]],
    ) -> ForeignKeyConstraint | None:
        """The database's foreign key for these columns, if it has one."""
        for constraint in owner.foreign_key_constraints:
            if (
                constraint.referred_table is referenced
                and list(constraint.columns) == fk_columns
                and [e.column for e in constraint.elements] == ref_columns
            ):
                return constraint
        return None

    @staticmethod
    def _inferable_join(relationship: PrismaRelationship) -> bool:
        """True when SQLAlchemy finds the join alone: one foreign key between two tables."""
        owner, referenced = relationship.owner, relationship.referenced
        if relationship.constraint is None or owner is None or referenced is None:
            return False
        if owner is referenced:
            return False
        between = [
            c for c in owner.table.foreign_key_constraints if c.referred_table is referenced.table
        ] + [c for c in referenced.table.foreign_key_constraints if c.referred_table is owner.table]
        return len(between) == 1

    def _link_back_populates(self, by_field: Mapping[tuple[str, str], PrismaRelationship]) -> None:
        assert self.prisma is not None
        for (model_name, field_name), relationship in by_field.items():
            prisma_model = self.prisma.models[model_name]
            fld = prisma_model.field_by_name(field_name)
            opposite = self.prisma.opposite(prisma_model, fld) if fld else None
            if opposite is not None:
                relationship.backref = by_field.get((fld.type if fld else "", opposite.name))

    def _break_foreign_key_cycles(self) -> None:
        """``use_alter`` on the foreign keys that close a cycle (chosen deterministically):
        ``metadata.sorted_tables`` then sorts without SQLAlchemy's cycle warning."""
        tables = sorted(self.metadata.tables.values(), key=lambda t: t.name)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ordered = sort_tables_and_constraints(tables)
        for table, constraints in ordered:
            if table is None:
                for constraint in constraints:
                    constraint.use_alter = True

    def _drop_ignored_columns(self, table: Table, model: PrismaModel) -> None:
        """``@ignore`` fields: Prisma Client has no such field, so no attribute (the column,
        its indexes and constraints are left out of the generated Table)."""
        for fld in model.fields:
            if not fld.ignored or fld.db_name not in table.c:
                continue
            column = table.c[fld.db_name]
            if column.primary_key:
                continue
            for index in [i for i in table.indexes if column.name in i.columns]:
                table.indexes.discard(index)
            for constraint in list(table.constraints):
                columns = getattr(constraint, "columns", None)
                if columns is not None and column.name in columns:
                    table.constraints.discard(constraint)
            for foreign_key in list(column.foreign_keys):
                table.foreign_keys.discard(foreign_key)
            table._columns.remove(column)  # no public way to drop a column

    def _key_unique_only_model(self, table: Table, model: PrismaModel) -> None:
        """A model without ``@id`` is keyed by its first unique criterion (``@@unique``)."""
        if table.primary_key.columns:
            return
        names = [
            f.db_name for name in model.id_fields() if (f := model.field_by_name(name)) is not None
        ]
        if not names or not all(name in table.c for name in names):
            return
        table.append_constraint(PrimaryKeyConstraint(*names))
        for name in names:
            table.c[name].nullable = False

    # ----------------------------------------------------------------- metadata preparation

    def should_ignore_table(self, table: Table) -> bool:
        return table.name in EXCLUDED_TABLES or super().should_ignore_table(table)

    def fix_column_types(self, table: Table) -> None:
        super().fix_column_types(table)
        for column in table.columns:
            default = column.server_default
            if isinstance(default, DefaultClause) and isinstance(default.arg, TextClause):
                expression = default.arg.text.strip()
                if isinstance(column.type, ARRAY):
                    # Only create_all reads server defaults, and only on SQLite (JSON variant).
                    if (portable := portable_array_default(expression)) is not None:
                        column.server_default = DefaultClause(text(portable))
                elif match := _CAST_DEFAULT.match(expression):
                    column.server_default = DefaultClause(text(match.group("literal")))
            if isinstance(column.type, JSON):  # JSONB is a JSON subclass
                column.type.none_as_null = True
        if self.mode == "views":
            self._prepare_view(table)
            return
        model = self.prisma_model(table)
        if model is not None and not model.ignored:
            self._drop_ignored_columns(table, model)
            self._key_unique_only_model(table, model)

    def _prepare_view(self, table: Table) -> None:
        """Views have no key: use the Prisma @id/@unique (else `id`, else every column)."""
        model = self.prisma_model(table)
        key_columns: list[str] = []
        if model is not None:
            for fld in model.fields:
                if fld.db_name in table.c:
                    table.c[fld.db_name].nullable = fld.optional
            key_columns = [
                f.db_name
                for name in model.id_fields()
                if (f := model.field_by_name(name)) and f.db_name in table.c
            ]
        if not key_columns:
            key_columns = ["id"] if "id" in table.c else [c.name for c in table.columns]
        table.append_constraint(PrimaryKeyConstraint(*key_columns))
        for name in key_columns:
            table.c[name].nullable = False
        table.info["is_view"] = True

    # --------------------------------------------------------------------------------- names

    def _enum_name_to_class_name(self, enum_name: str) -> str:
        if self.prisma and (prisma_enum := self.prisma.enum_for_type(enum_name)):
            return _identifier(prisma_enum.name)
        return _identifier(enum_name)

    def generate_model_name(self, model: Model, global_names: set[str]) -> None:
        if not isinstance(model, ModelClass):
            preferred = "t_" + _identifier(_camel_to_snake(model.table.name) or model.table.name)
            model.name = self.find_free_name(preferred, global_names)
            return
        prisma_model = self.prisma_model(model.table)
        if prisma_model is not None:
            # Exactly the Prisma name: an import it clashes with is aliased (see generate()).
            model.name = _identifier(prisma_model.name)
            local_names: set[str] = set()
            for column_attr in model.columns:
                self.generate_column_attr_name(column_attr, global_names, local_names)
                local_names.add(column_attr.name)
            for relationship in model.relationships:
                self.generate_relationship_name(relationship, global_names, local_names)
                local_names.add(relationship.name)
            return
        super().generate_model_name(model, global_names)

    def generate_column_attr_name(
        self,
        column_attr: ColumnAttribute,
        global_names: set[str],
        local_names: set[str],
    ) -> None:
        # A column named like a type or module the class body uses (`bytes`, `datetime`,
        # `str`, `uuid`) would shadow it for the attributes after it: `bytes_` (the JSON key
        # stays the column's name, see app.schemas.wire_name).
        taken = global_names | _ANNOTATION_BUILTINS
        column_attr.name = self.find_free_name(column_attr.column.name, taken, local_names)

    def generate_relationship_name(
        self,
        relationship: RelationshipAttribute,
        global_names: set[str],
        local_names: set[str],
    ) -> None:
        if isinstance(relationship, PrismaRelationship):
            # The Prisma field name; a model's name is no clash (`Dashboard Dashboard[]`), an
            # import, a keyword or another attribute is: a Python spelling + info["prisma"].
            relationship.name = self.find_free_name(
                relationship.prisma_name, self._taken_names, local_names
            )
            return
        preferred = self._fk_relationship_name(relationship)
        relationship.name = self.find_free_name(preferred, global_names, local_names)

    def _fk_relationship_name(self, relationship: RelationshipAttribute) -> str:
        """Stable names from the foreign key alone (used without schema.prisma)."""
        constraint = relationship.constraint
        if constraint is None:  # pragma: no cover - sqlacodegen always sets it
            return relationship.target.table.name
        columns = [c.name for c in constraint.columns]
        qualifier = "_".join(_strip_id_suffix(c) for c in columns)
        if relationship.type is RelationshipType.MANY_TO_MANY and relationship.association_table:
            association = relationship.association_table.table.name.strip("_")
            return f"{relationship.target.table.name}_{association}"
        if self._is_owning_side(relationship):
            # many-to-one / one-to-one, owning side: `authorId` -> `author`
            if qualifier in columns:
                qualifier = f"{qualifier}_{relationship.target.table.name}"
            return qualifier
        # the reverse side: `<referencing table>_<fk column>`, e.g. `Page_author`
        return f"{constraint.table.name}_{qualifier}"

    @staticmethod
    def _is_owning_side(relationship: RelationshipAttribute) -> bool:
        """True for the side whose table holds the foreign key (many-to-one, one-to-one)."""
        constraint = relationship.constraint
        if constraint is None or constraint.table is not relationship.source.table:
            return False
        if relationship.type is RelationshipType.ONE_TO_MANY:
            return False
        if relationship.source is relationship.target:
            # Self-referential: sqlacodegen gives the reverse side remote_side = the FK columns.
            fk_columns = {c.name for c in constraint.columns}
            return {a.column.name for a in relationship.remote_side} != fk_columns
        return True

    # ------------------------------------------------------------------------------ imports

    def collect_imports(self, models: Any) -> None:
        super().collect_imports(models)
        # Relationships are rendered with Optional["X"] (a string inside works at runtime).
        self.remove_literal_import("typing", "Optional")

    def group_imports(self) -> list[list[str]]:
        # remove_literal_import can leave an empty set behind: never render `from x import`.
        for package in [p for p, names in self.imports.items() if not names]:
            del self.imports[package]
        return super().group_imports()

    # ------------------------------------------------------------------------------- enums

    def render_enum_classes(self) -> str:
        if not self.enum_values:
            return ""
        if self.mode == "views":
            # The enum classes live in app/models.py: reuse them.
            for name in self.enum_values:
                self.add_literal_import(self.models_module, name)
            return ""
        self.add_module_import("enum")
        rendered: list[str] = []
        for class_name, values in sorted(self.enum_values.items()):
            prisma_enum = self.prisma.enums.get(class_name) if self.prisma else None
            names = {db: name for name, db in prisma_enum.values} if prisma_enum else {}
            members = [
                f"    {_identifier(names.get(value, value))} = {value!r}" for value in values
            ]
            rendered.append(f"class {class_name}(enum.StrEnum):\n" + "\n".join(members))
        return "\n\n\n".join(rendered)

    # ------------------------------------------------------------------------------ columns

    def render_column(self, column: Column[Any], show_name: bool, is_table: bool = False) -> str:
        self._current_column = column
        try:
            return super().render_column(column, show_name, is_table)
        finally:
            self._current_column = None

    def render_column_callable(self, is_table: bool, *args: Any, **kwargs: Any) -> str:
        column = self._current_column
        fld = self.prisma_field(column) if column is not None else None
        if column is not None and fld is not None and fld.name != column.name:
            # `@map("page_id")`: the API speaks the Prisma field name (`pageId`).
            kwargs["info"] = repr({"prisma": fld.name})
        if column is not None and (factory := self.client_default_factory(column)):
            kwargs["default"] = factory
            fld = self.prisma_field(column)
            if fld is not None and fld.updated_at:
                kwargs["onupdate"] = factory
        return super().render_column_callable(is_table, *args, **kwargs)

    def _render_enum(self, enum_type: Enum, class_name: str) -> str:
        self.add_import(Enum)
        self.add_literal_import(DEFAULTS_MODULE, "enum_values")
        kwargs = ""
        if enum_type.name is not None:
            kwargs += f", name={enum_type.name!r}"
        if enum_type.schema is not None:
            kwargs += f", schema={enum_type.schema!r}"
        return f"Enum({class_name}{kwargs}, values_callable=enum_values)"

    def render_column_type(self, column: Column[Any]) -> str:
        column_type = column.type
        enum_class = self.enum_classes.get((column.table.name, column.name))
        if isinstance(column_type, Enum) and enum_class:
            return self._render_enum(column_type, enum_class)
        if isinstance(column_type, ARRAY):
            item = column_type.item_type
            if isinstance(item, Enum) and enum_class:
                rendered_item = self._render_enum(item, enum_class)
                dims = f", dimensions={column_type.dimensions}" if column_type.dimensions else ""
                rendered = f"{type(column_type).__name__}({rendered_item}{dims})"
            else:
                rendered = super().render_column_type(column)
            self.add_import(JSON)
            return f'{rendered}.with_variant(JSON(), "sqlite")'
        if isinstance(column_type, JSONB):
            self.add_import(JSON)
            return 'JSONB(none_as_null=True).with_variant(JSON(none_as_null=True), "sqlite")'
        if isinstance(column_type, JSON):
            self.add_import(JSON)
            return "JSON(none_as_null=True)"
        rendered = super().render_column_type(column)
        if self.mode == "models" and not _sqlite_compiles(column_type):
            # citext, tsvector, inet, money, unknown types…: the PostgreSQL type stays (read
            # and written as reflected); SQLite (embedded default) gets a type it can create.
            variant = self._sqlite_variant(column_type)
            if "(" not in rendered:
                rendered += "()"  # `CITEXT` -> `CITEXT()`: with_variant needs an instance
            return f'{rendered}.with_variant({variant}, "sqlite")'
        return rendered

    def _sqlite_variant(self, column_type: Any) -> str:
        try:
            python_type = column_type.python_type
        except NotImplementedError:
            python_type = object
        generic = {bytes: LargeBinary, datetime.timedelta: Interval}.get(python_type, Text)
        self.add_import(generic)
        return f"{generic.__name__}()"

    def render_column_python_type(self, column: Column[Any]) -> str:
        column_type = column.type
        if isinstance(column_type, JSON):
            self.add_literal_import("typing", "Any")
            return "Any"
        rendered = super().render_column_python_type(column)
        # sqlacodegen writes Optional[...]: use PEP 604 unions instead.
        if rendered.startswith("Optional[") and rendered.endswith("]"):
            rendered = rendered[len("Optional[") : -1] + " | None"
        return rendered

    def _has_database_default(self, column: Column[Any]) -> bool:
        if column.server_default is not None or column.default is not None:
            return True
        if column.primary_key and column.autoincrement is True:
            return True
        return (
            column.primary_key
            and column.autoincrement == "auto"
            and len(column.table.primary_key.columns) == 1
            and isinstance(column.type, Integer)
            and not column.foreign_keys
        )

    def render_column_attribute(self, column_attr: ColumnAttribute) -> str:
        column = column_attr.column
        rendered_column = self.render_column(column, True)
        python_type = self.render_column_python_type(column)
        kwargs: dict[str, Any] = {}
        factory = self.client_default_factory(column)
        if factory and self.mode == "models":
            kwargs["default_factory"] = factory
        elif column.nullable or (self.mode == "models" and self._has_database_default(column)):
            kwargs["default"] = None
        kwargs["sa_column"] = rendered_column
        rendered_field = "Field(" + ", ".join(f"{k}={v}" for k, v in kwargs.items()) + ")"
        return f"{column_attr.name}: {python_type} = {rendered_field}"

    def render_index(self, index: Index) -> str:
        if index.columns and all(isinstance(e, Column) for e in index.expressions):
            return super().render_index(index)
        # An expression index (`to_tsvector(...)`, `lower(email)`): its SQL as text(), never
        # an Index without columns. The embedded SQLite default skips what SQLite refuses.
        self.add_literal_import("sqlalchemy", "text")
        parts = [
            repr(e.name) if isinstance(e, Column) else f"text({str(e)!r})"
            for e in index.expressions
        ]
        kwargs: dict[str, Any] = {
            key: repr(value) if isinstance(value, str) else value
            for key, value in sorted(index.kwargs.items())
            if value not in ([], {}, None)
        }
        if index.unique:
            kwargs["unique"] = True
        return render_callable("Index", repr(index.name), *parts, kwargs=kwargs)

    def render_constraint(self, constraint: Any) -> str:
        rendered = super().render_constraint(constraint)
        key = constraint.constraint if isinstance(constraint, ForeignKey) else constraint
        if isinstance(key, ForeignKeyConstraint) and key.use_alter:
            rendered = rendered[:-1] + ", use_alter=True)"
        return rendered

    # ------------------------------------------------------------------------ relationships

    def render_relationship(self, relationship: RelationshipAttribute) -> str:
        if not isinstance(relationship, PrismaRelationship):
            return super().render_relationship(relationship)
        kwargs: dict[str, str] = {}
        if relationship.backref is not None:
            kwargs["back_populates"] = repr(relationship.backref.name)
        options: dict[str, str] = {}
        if relationship.association_table is not None:
            options["secondary"] = relationship.association_table.name
            if relationship.explicit_join:
                options.update(self._link_joins(relationship))
        elif relationship.explicit_join:
            options["primaryjoin"] = repr(self._join(relationship))
        if relationship.type is RelationshipType.ONE_TO_ONE:
            options["uselist"] = "False"  # the back side of a one-to-one: one object or None
        if relationship.name != relationship.prisma_name:
            options["info"] = repr({"prisma": relationship.prisma_name})
        if options:
            kwargs["sa_relationship_kwargs"] = (
                "{" + ", ".join(f"{key!r}: {value}" for key, value in options.items()) + "}"
            )
        annotation = self.render_relationship_annotation(relationship)
        return (
            f"{relationship.name}: {annotation} = {render_callable('Relationship', kwargs=kwargs)}"
        )

    @staticmethod
    def _attribute(model: ModelClass, column: Column[Any]) -> str:
        return f"{model.name}.{model.get_column_attribute(column.name).name}"

    def _join(self, relationship: PrismaRelationship) -> str:
        """``primaryjoin`` as a string: ``foreign()`` on the relation scalars, ``remote()`` on
        the far side of a self-relation (SQLAlchemy then needs no foreign key)."""
        owner, referenced = relationship.owner, relationship.referenced
        assert owner is not None
        assert referenced is not None
        terms: list[str] = []
        for fk, ref in zip(relationship.fk_columns, relationship.ref_columns, strict=True):
            left, right = self._attribute(owner, fk), self._attribute(referenced, ref)
            if owner is not referenced:
                left = f"foreign({left})"
            elif relationship.source is owner and relationship.type is RelationshipType.MANY_TO_ONE:
                left, right = f"foreign({left})", f"remote({right})"
            else:
                left = f"foreign(remote({left}))"
            terms.append(f"{left} == {right}")
        return terms[0] if len(terms) == 1 else "and_(" + ", ".join(terms) + ")"

    def _link_joins(self, relationship: PrismaRelationship) -> dict[str, str]:
        """``primaryjoin``/``secondaryjoin`` of an implicit many-to-many through ``_X.c.A``."""
        link = relationship.association_table
        assert link is not None
        own, other = relationship.link_columns
        source_key = next(iter(relationship.source.table.primary_key.columns))
        target_key = next(iter(relationship.target.table.primary_key.columns))
        table = link.table.name
        return {
            "primaryjoin": repr(
                f"{self._attribute(relationship.source, source_key)} == foreign({table}.c.{own})"
            ),
            "secondaryjoin": repr(
                f"{self._attribute(relationship.target, target_key)} == foreign({table}.c.{other})"
            ),
        }

    def render_relationship_annotation(self, relationship: RelationshipAttribute) -> str:
        target = relationship.target.name
        if isinstance(relationship, PrismaRelationship):
            # Prisma's cardinality: `X[]` a list, `X?` Optional, `X` the object.
            if relationship.type in (RelationshipType.ONE_TO_MANY, RelationshipType.MANY_TO_MANY):
                return f'list["{target}"]'
            if relationship.optional:
                self.add_literal_import("typing", "Optional")
                return f'Optional["{target}"]'
            return f'"{target}"'
        match relationship.type:
            case RelationshipType.ONE_TO_MANY | RelationshipType.MANY_TO_MANY:
                return f'list["{target}"]'
            case _:
                constraint = relationship.constraint
                if (
                    relationship.type is RelationshipType.ONE_TO_ONE
                    and constraint is not None
                    and constraint.table is not relationship.source.table
                ) or (constraint is not None and any(c.nullable for c in constraint.columns)):
                    self.add_literal_import("typing", "Optional")
                    return f'Optional["{target}"]'
                return f'"{target}"'

    def render_relationship_arguments(
        self, relationship: RelationshipAttribute
    ) -> Mapping[str, Any]:
        kwargs = dict(super().render_relationship_arguments(relationship))
        if relationship.association_table is not None:
            # Refer to the Table object, not its name: no string lookup at mapper time.
            kwargs["secondary"] = relationship.association_table.name
        return kwargs

    # ------------------------------------------------------------------------------ classes

    def render_class_variables(self, model: ModelClass) -> str:
        # SQLModel declares __tablename__ as a declared_attr: pyright rejects a plain str.
        variables = [
            f"__tablename__ = {model.table.name!r}  # pyright: ignore[reportAssignmentType]"
        ]
        table_args = self.render_table_args(model.table)
        if self.mode == "views":
            variables.append('__table_args__ = {"info": {"is_view": True}}')
        elif table_args:
            variables.append(f"__table_args__ = {table_args}")
        return "\n".join(variables)

    def render_table_args(self, table: Table) -> str:
        if self.mode == "views":
            return ""
        return super().render_table_args(table)

    def render_models(self, models: list[Model]) -> str:
        # Association tables first: classes refer to them as `secondary=`.
        tables = [m for m in models if not isinstance(m, ModelClass)]
        classes = [m for m in models if isinstance(m, ModelClass)]
        return super().render_models(tables + classes)

    def generate(self) -> str:
        body = alias_clashing_imports(super().generate())
        if self.mode == "views":
            model_names: list[str] = re.findall(
                r"^class (\w+)\(SQLModel, table=True\):", body, re.MULTILINE
            )
            body = self._add_view_imports(body)
            body += VIEW_HELPER + "\n\n" + "".join(f"_register_view({n})\n" for n in model_names)
        return self.header + body

    def _add_view_imports(self, body: str) -> str:
        extra = (
            "from typing import Any, cast\n"
            "from sqlalchemy import Table, event, inspect\n"
            "from sqlalchemy.engine import Connection\n"
            "from sqlalchemy.orm import Mapper\n"
        )
        return extra + body
