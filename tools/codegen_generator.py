"""The project's sqlacodegen generator: SQLModel classes that fit a Prisma-owned schema.

What it changes in sqlacodegen 4.0.4's ``SQLModelGenerator`` (hooks overridden below):

- ``_prisma_migrations`` is never generated; ``schema='public'`` is never emitted (tables are
  reflected from the connection's default schema only).
- Enum classes keep the Prisma/PostgreSQL names (``PageStatus``, not ``Pagestatus``) and member
  names, as ``enum.StrEnum``; columns use ``Enum(X, name=..., values_callable=enum_values)``.
- Class names are Prisma model names (``PageRevision`` for ``@@map("page_revisions")``);
  relationship attributes are Prisma relation fields (``Page.author``, ``User.pages``,
  ``Page.tagItems``). Without ``schema.prisma`` they are derived from the foreign key columns
  only, so they do not shift when an unrelated foreign key appears.
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

import json
import re
from collections.abc import Mapping
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
from sqlalchemy import (
    ARRAY,
    JSON,
    Column,
    DefaultClause,
    Enum,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    TextClause,
    Uuid,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.sql import text

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
            model.name = self.find_free_name(_identifier(prisma_model.name), global_names)
            local_names: set[str] = set()
            for column_attr in model.columns:
                self.generate_column_attr_name(column_attr, global_names, local_names)
                local_names.add(column_attr.name)
            for relationship in model.relationships:
                self.generate_relationship_name(relationship, global_names, local_names)
                local_names.add(relationship.name)
            return
        super().generate_model_name(model, global_names)

    def generate_relationship_name(
        self,
        relationship: RelationshipAttribute,
        global_names: set[str],
        local_names: set[str],
    ) -> None:
        preferred = self._prisma_relationship_name(relationship) or self._fk_relationship_name(
            relationship
        )
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

    @staticmethod
    def _relation_columns(model: PrismaModel, field_names: list[str]) -> list[str]:
        columns: list[str] = []
        for name in field_names:
            fld = model.field_by_name(name)
            columns.append(fld.db_name if fld else name)
        return columns

    def _prisma_relationship_name(self, relationship: RelationshipAttribute) -> str | None:
        prisma = self.prisma
        if prisma is None:
            return None
        source = self.prisma_model(relationship.source.table)
        target = self.prisma_model(relationship.target.table)
        constraint = relationship.constraint
        if source is None or target is None or constraint is None:
            return None
        candidates = [f for f in prisma.relation_fields(source) if f.type == target.name]
        if relationship.type is RelationshipType.MANY_TO_MANY:
            association = relationship.association_table
            if association is None:
                return None
            for fld in candidates:
                relation = prisma.relation_of(source, fld)
                if (
                    fld.is_list
                    and not relation.fields
                    and f"_{relation.name}" == association.table.name
                ):
                    return fld.name
            return None
        fk_columns = [c.name for c in constraint.columns]
        if self._is_owning_side(relationship):
            # The field whose @relation(fields: [...]) are the FK columns.
            for fld in candidates:
                relation = prisma.relation_of(source, fld)
                if self._relation_columns(source, relation.fields) == fk_columns:
                    return fld.name
            return None
        # Back-reference: the field of the same relation (by name) without `fields`.
        owning_relations = {
            prisma.relation_of(target, f).name
            for f in prisma.relation_fields(target)
            if f.type == source.name
            and self._relation_columns(target, prisma.relation_of(target, f).fields) == fk_columns
        }
        for fld in candidates:
            relation = prisma.relation_of(source, fld)
            if not relation.fields and relation.name in owning_relations:
                return fld.name
        return None

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
        return super().render_column_type(column)

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

    # ------------------------------------------------------------------------ relationships

    def render_relationship_annotation(self, relationship: RelationshipAttribute) -> str:
        target = relationship.target.name
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
        body = super().generate()
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
