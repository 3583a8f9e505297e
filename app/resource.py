"""What a resource is: one declaration per Prisma model, and everything derived from it.

A `Resource` is data: the generated model class, its URL segment, what may be written,
filtered, ordered and included, and named hooks for what differs (a page's slug). From it this
module derives, once at import, the wire models (named after the Prisma model in OpenAPI:
`Page`, `PageCreate`, `PageReplace`, `PageUpdate`, `PageList`), the `orderBy` enum, the query
models and the JSON encoder of a row. `app.crud` runs the statements, `app.api.routes` turns
a resource into routes and `app.api.hot` serves its reads without FastAPI's machinery.

Keys: every primary key shape is served, one path parameter per key field named after it
(`/rate-limits/{key}/{action}/{bucket}`); a nested resource's parent part is named after its
own foreign key fields (`/pages/{pageId}/revisions/{revision}`). Relations are named by their
Prisma field (`info["prisma"]` when the Python attribute differs) and come back in Prisma's
shape. `hidden` fields are never served, included, filtered or ordered on; a hidden field also
listed in `writable` is write-only (a password hash the caller sets): accepted in bodies and
documented there, never returned.

A declaration naming a field or relation the generated model does not have raises
`ResourceError` at import (the app does not start, `make smoke` and the tests fail) with the
model and the field, so `make orm` after a migration shows what to fix.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Annotated, Any, Literal, cast, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, create_model, field_validator
from sqlalchemy import Column, Table, inspect
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import RelationshipDirection, RelationshipProperty
from sqlmodel import SQLModel

from app.core.db import Tx
from app.pagination import Order, order_enum
from app.schemas import (
    InputModel,
    ListOf,
    RecordModel,
    WireType,
    row_encoder,
    strip_defaults,
    text_type,
    wire_name,
    wire_type,
)

Row = Mapping[Any, Any]
MAX_OFFSET = 1_000_000
MAX_LIMIT = 100
INCLUDE_LIMIT = 100


class ResourceError(TypeError):
    """A declaration that does not match the generated models."""


# ------------------------------------------------------------------------------ declarations


@dataclass(frozen=True, slots=True)
class Filter:
    """A query parameter of a list: `equals` a field, `has` an element, or `search` text."""

    kind: Literal["equals", "has", "search"]
    fields: tuple[str, ...] = ()


def equals(field: str | None = None) -> Filter:
    """Rows whose field (default: the parameter's name) equals the value."""
    return Filter("equals", (field,) if field else ())


def has(field: str) -> Filter:
    """Rows whose list field contains the value."""
    return Filter("has", (field,))


def search(*fields: str) -> Filter:
    """Rows where any of the text fields contains the value, case-insensitively."""
    return Filter("search", fields)


# A hook gets the request's `Tx` (app.core.db) and the column values about to be written.
CreateHook = Callable[[Tx, dict[str, Any]], Awaitable[None]]
ReplaceHook = Callable[[Tx, dict[str, Any], Row], Awaitable[None]]
# Called when an insert hit a unique constraint on `field`; True: values changed, try again.
ConflictHook = Callable[[Tx, dict[str, Any], str, frozenset[str]], Awaitable[bool]]


@dataclass(frozen=True, slots=True)
class Hooks:
    """Per-model behaviour, by name (values are keyed by column name)."""

    before_create: CreateHook | None = None
    before_replace: ReplaceHook | None = None
    retry_conflict: ConflictHook | None = None


@dataclass(frozen=True, eq=False)
class Resource:
    """One Prisma model served over HTTP. Field names are Prisma's (`authorId`)."""

    model: type[SQLModel]
    # The URL segment; default: the kebab-case plural of the model name (`site-settings`).
    segment: str = ""
    writable: tuple[str, ...] = ()
    orderings: tuple[str, ...] = ()
    default_order: str | None = None
    filters: Mapping[str, Filter] = field(default_factory=dict[str, Filter])
    includes: tuple[str, ...] = ()
    # Input types with the model's own bounds (otherwise: the column type's defaults).
    types: Mapping[str, Any] = field(default_factory=dict[str, Any])
    descriptions: Mapping[str, str] = field(default_factory=dict[str, str])
    # Required columns a hook fills in when the client leaves them out.
    derived: tuple[str, ...] = ()
    hooks: Hooks = Hooks()
    # Nested under the resource of this relation (`page` → /pages/{id}/revisions/...).
    parent: str | None = None
    # The plural of the model name in operation ids (`listSiteSettings`); default: English rules.
    plural: str | None = None
    include_limit: int = INCLUDE_LIMIT
    # Fields never served, filtered or ordered on (`password`, `twoFactorSecret`); also in
    # `writable`: write-only (accepted in bodies, never returned).
    hidden: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.segment:
            object.__setattr__(self, "segment", segment_of(self.plural_name))

    # ---------------------------------------------------------------- the table

    @cached_property
    def name(self) -> str:
        """The Prisma model name (`PageRevision`): schema names and operation ids. A class the
        generator renamed for Python (`Field_`: `Field` is SQLModel's) keeps Prisma's name."""
        return model_name(self.model)

    @cached_property
    def plural_name(self) -> str:
        return self.plural or plural_of(self.name)

    @cached_property
    def label(self) -> str:
        """For messages: `page revision`."""
        return label_of(self.name)

    @cached_property
    def a_label(self) -> str:
        """The label with its article: `a page`, `an envelope`."""
        return with_article(self.label)

    @cached_property
    def table(self) -> Table:
        return cast("Table", inspect(self.model).local_table)

    @cached_property
    def read_only(self) -> bool:
        return not self.writable

    @cached_property
    def all_fields(self) -> dict[str, FieldInfo]:
        """Every column by Prisma field name, in the model's order, hidden ones included."""
        return {info.name: info for info in map(FieldInfo.of, self.table.columns)}

    @cached_property
    def fields(self) -> dict[str, FieldInfo]:
        """The fields the API serves: every column but the hidden ones."""
        hidden = self.hidden_fields
        return {name: info for name, info in self.all_fields.items() if info not in hidden}

    @cached_property
    def hidden_fields(self) -> tuple[FieldInfo, ...]:
        found: list[FieldInfo] = []
        for name in self.hidden:
            info = self.all_fields.get(name)
            if info is None:
                raise self._unknown(name, "hidden")
            found.append(info)
        return tuple(found)

    @cached_property
    def columns(self) -> tuple[Column[Any], ...]:
        return tuple(self.table.columns)

    @cached_property
    def primary_key(self) -> tuple[FieldInfo, ...]:
        return tuple(f for f in self.all_fields.values() if f.column.primary_key)

    @cached_property
    def parent_relation(self) -> Relation | None:
        return self.relation(self.parent) if self.parent else None

    @cached_property
    def parent_fields(self) -> tuple[FieldInfo, ...]:
        """Fields the parent's key fills (`pageId`), from the URL."""
        if self.parent_relation is None:
            return ()
        return tuple(self.field_of(column) for column, _ in self.parent_relation.pairs)

    @cached_property
    def own_key(self) -> tuple[FieldInfo, ...]:
        """The primary key fields after the parent's part of the URL (all of them at the top
        level): `/{segment}/{key}/{key}…`. In a list they break ties of the ordering."""
        if not self.primary_key:
            raise ResourceError(f"{self.name}: the generated model has no primary key to serve")
        own = tuple(f for f in self.primary_key if f not in self.parent_fields)
        if not own:
            raise ResourceError(
                f"{self.name}: its primary key is its parent's ({', '.join(names(self.parent_fields))}),"
                " so it has no URL of its own under the parent: declare it without `parent`"
            )
        hidden = [f.name for f in own + self.parent_fields if f in self.hidden_fields]
        if hidden:
            raise ResourceError(f"{self.name}: key fields cannot be hidden ({', '.join(hidden)})")
        return own

    @cached_property
    def key_fields(self) -> tuple[FieldInfo, ...]:
        """The path parameters of an item, in URL order, each named after its field:
        `/pages/{pageId}/revisions/{revision}`, `/rate-limits/{key}/{action}/{bucket}`."""
        return self.parent_fields + self.own_key

    def ties(self, info: FieldInfo) -> tuple[FieldInfo, ...]:
        """The key fields that break ties of an ordering on `info` (in a nested list the
        parent's part is fixed): none when `info` is the whole key."""
        return tuple(f for f in self.own_key if f is not info)

    def field_of(self, column: Column[Any]) -> FieldInfo:
        return next(f for f in self.all_fields.values() if f.column is column)

    def field_named(self, name: str, *, role: str) -> FieldInfo:
        info = self.fields.get(name)
        if info is None:
            raise self._unknown(name, role)
        return info

    def input_field(self, name: str, *, role: str) -> FieldInfo:
        """A field a body may carry: a served one, or a write-only one (hidden and writable)."""
        info = self.all_fields.get(name)
        if info is None or (info in self.hidden_fields and name not in self.writable):
            raise self._unknown(name, role)
        return info

    @cached_property
    def write_only(self) -> frozenset[str]:
        """Hidden fields a body may still carry (listed in `writable` too)."""
        return frozenset(f.name for f in self.hidden_fields if f.name in self.writable)

    def _unknown(self, name: str, role: str) -> ResourceError:
        if name in self.all_fields:
            return ResourceError(
                f"resource {self.segment!r}: {role} names {name!r}, which is hidden "
                "(hidden fields are never served, filtered or ordered on; listed in `writable` "
                "too, a hidden field is write-only: accepted in bodies, never returned)."
            )
        known = ", ".join(self.all_fields)
        return ResourceError(
            f"resource {self.segment!r}: {role} names {name!r}, which the generated model "
            f"{self.model.__module__}.{self.model.__name__} does not have (fields: {known}). "
            "Update the declaration after `make orm`."
        )

    @cached_property
    def scope(self) -> str:
        """Token scopes are `<scope>:read` / `<scope>:write`; nested resources use the parent's."""
        parent = parent_of(self)
        return parent.scope if parent else self.segment

    # ---------------------------------------------------------------- relations

    @cached_property
    def all_relations(self) -> dict[str, Relation]:
        """Every relation of the model by its Prisma field name (the generator records it in
        `info["prisma"]` when the Python attribute differs, e.g. `from_` for `from`)."""
        relationships = inspect(self.model).relationships
        found = (Relation.of(attribute, prop) for attribute, prop in relationships.items())
        return {relation.name: relation for relation in found}

    def relation(self, name: str) -> Relation:
        relation = self.all_relations.get(name)
        if relation is None:
            known = ", ".join(self.all_relations) or "none"
            raise ResourceError(
                f"resource {self.segment!r}: relation {name!r} is not on the generated model "
                f"{self.model.__module__}.{self.model.__name__} (relations: {known})."
            )
        return relation

    @cached_property
    def relations(self) -> dict[str, Relation]:
        """The relations `include=` may name."""
        return {name: self.relation(name) for name in self.includes}

    # ---------------------------------------------------------------- wire models

    @cached_property
    def to_json(self) -> Callable[[Row], dict[str, Any]]:
        """A row (asyncpg Record or SQLAlchemy mapping) as its JSON object, without validation."""
        return self.encoder()

    def encoder(self, prefix: str = "") -> Callable[[Row], dict[str, Any]]:
        """`to_json` for rows whose columns are labelled `prefix + column` (a joined relation's
        are `author.id`, …): built anew each call, so callers keep it."""
        fields = self.fields.values()
        return row_encoder(
            [(f.name, prefix + f.column.name, None) for f in fields if not f.wire.to_json]
            + [(f.name, prefix + f.column.name, f.wire.to_json) for f in fields if f.wire.to_json]
        )

    @cached_property
    def output_model(self) -> type[BaseModel]:
        """The JSON of one row, named after the Prisma model (`Page`)."""
        definitions: dict[str, Any] = {}
        for info in self.fields.values():
            output = info.wire.output
            if info.nullable and not info.is_list:
                output = optional(output)
            definitions[info.name] = (output, _described(info, self.descriptions))
        return create_model(
            self.name,
            __base__=RecordModel,
            __doc__=f"{capitalized(self.a_label)} as the API returns it: the fields of Prisma's `{self.name}`.",
            **definitions,
        )

    @cached_property
    def included_model(self) -> type[BaseModel]:
        """The JSON of one row with the relations `include=` adds (each key only when asked)."""
        if not self.relations:
            return self.output_model
        definitions: dict[str, Any] = {}
        for name, relation in self.relations.items():
            target = resource_for(relation.target).output_model
            shape: Any = list_of(target) if relation.many else target
            if not relation.many and not relation.required:
                shape = optional(shape)
            definitions[name] = (shape, Field(default=None, description=relation.description))
        return create_model(
            f"{self.name}WithRelations",
            __base__=self.output_model,
            __doc__=f"{capitalized(self.a_label)} with the relations named in `include`.",
            **definitions,
        )

    @cached_property
    def list_model(self) -> type[BaseModel]:
        return create_model(
            f"{self.name}List",
            __base__=ListOf,
            __doc__="One page of results.",
            data=(list_of(self.included_model), ...),
        )

    def _input_type(self, info: FieldInfo) -> Any:
        return self.types.get(info.name, info.wire.input)

    @cached_property
    def writable_fields(self) -> tuple[FieldInfo, ...]:
        return tuple(self.input_field(name, role="writable") for name in self.writable)

    @cached_property
    def changeable_fields(self) -> tuple[FieldInfo, ...]:
        """What PUT and PATCH may change: the writable fields outside the primary key."""
        return tuple(f for f in self.writable_fields if not f.column.primary_key)

    def _body_model(self, suffix: str, *, partial: bool, doc: str) -> type[BaseModel]:
        definitions: dict[str, Any] = {}
        required = () if partial else self.required
        fields = self.writable_fields if suffix == "Create" else self.changeable_fields
        for info in fields:
            annotation = self._input_type(info)
            description = self.descriptions.get(info.name) or info.default_description
            if info.name in self.write_only:
                note = "Write-only: accepted here, never returned"
                description = f"{description}. {note}" if description else note
            if info in required:
                definitions[info.name] = (annotation, Field(description=description))
            else:
                definitions[info.name] = (
                    optional(annotation),
                    Field(default=None, description=description),
                )
        validators: dict[str, Any] = {}
        base: type[BaseModel] = InputModel
        if partial:
            non_null = [f.name for f in fields if not f.nullable]
            base = type(
                f"{self.name}{suffix}Base",
                (InputModel,),
                {"model_config": ConfigDict(json_schema_extra=_non_nullable(non_null))},
            )
            if non_null:
                validators["not_null"] = field_validator(*non_null, mode="before")(_not_null)
        return create_model(
            f"{self.name}{suffix}",
            __base__=base,
            __doc__=doc,
            __validators__=validators,
            **definitions,
        )

    @cached_property
    def required(self) -> tuple[FieldInfo, ...]:
        """Writable fields a create must carry: NOT NULL, no default, not derived by a hook."""
        derived = {self.input_field(name, role="derived").name for name in self.derived}
        return tuple(
            f for f in self.writable_fields if f.required_on_create and f.name not in derived
        )

    @cached_property
    def create_model(self) -> type[BaseModel]:
        names = ", ".join(f"`{f.name}`" for f in self.required) or "nothing"
        return self._body_model(
            "Create",
            partial=False,
            doc=f"Body of a create: {names} required; omitted fields take Prisma's defaults.",
        )

    @cached_property
    def replace_model(self) -> type[BaseModel]:
        return self._body_model(
            "Replace",
            partial=False,
            doc="Body of a full replace (PUT): omitted fields are reset to their defaults.",
        )

    @cached_property
    def update_model(self) -> type[BaseModel]:
        return self._body_model(
            "Update",
            partial=True,
            doc="Body of a partial update (PATCH): only the fields sent change; `null` clears a nullable one.",
        )

    # ---------------------------------------------------------------- queries

    @cached_property
    def order(self) -> type[Order]:
        for name in self.orderings:
            self.field_named(name, role="orderings")
        return order_enum(f"{self.name}OrderBy", self.order_fields)

    @cached_property
    def default(self) -> Order:
        return self.order(self.default_order or self.order_fields[0])

    @cached_property
    def order_fields(self) -> tuple[str, ...]:
        return self.orderings or (self.own_key[0].name,)

    def filter_fields(self, name: str, spec: Filter) -> tuple[FieldInfo, ...]:
        return tuple(self.field_named(f, role=f"filter {name!r}") for f in spec.fields or (name,))

    @cached_property
    def list_query(self) -> type[BaseModel]:
        """Query parameters of the list route, validated in one call (see app.api.query)."""
        definitions: dict[str, Any] = {
            "limit": (
                int,
                Field(
                    default=20, ge=1, le=MAX_LIMIT, description=f"Rows per page (1 to {MAX_LIMIT})"
                ),
            ),
            "cursor": (
                optional(Annotated[str, StringConstraints(max_length=512)]),
                Field(
                    default=None,
                    description="`nextCursor` of the previous page (keyset pagination)",
                ),
            ),
            "offset": (
                int | None,
                Field(
                    default=None,
                    ge=0,
                    le=MAX_OFFSET,
                    description="Rows to skip (use `cursor` for deep pages)",
                ),
            ),
            "orderBy": (
                self.order,
                Field(
                    default=self.default,
                    description="Sort field; `-` prefix for descending. Ties are broken by the id.",
                ),
            ),
        }
        for name, spec in self.filters.items():
            definitions[name] = (
                optional(self._filter_type(name, spec)),
                Field(default=None, description=_filter_doc(spec)),
            )
        if self.includes:
            definitions["include"] = _include_field(self)
        definitions["count"] = (
            bool,
            Field(default=False, description="Also return the exact total (`count`)"),
        )
        return create_model(
            f"{self.name}ListQuery",
            __config__=ConfigDict(extra="forbid", frozen=True),
            __doc__=f"Query parameters of the {self.label} list.",
            **definitions,
        )

    def _filter_type(self, name: str, spec: Filter) -> Any:
        fields = self.filter_fields(name, spec)
        if spec.kind == "search":
            return text_type(min_length=1, max_length=200)
        info = fields[0]
        declared = self.types.get(info.name)
        if spec.kind == "has":
            if not info.is_list:
                raise ResourceError(
                    f"resource {self.segment!r}: filter {name!r} needs a list field"
                )
            item = _list_item(declared) if declared is not None else None
            wire_item = info.wire.item
            if item is None and wire_item is not None and wire_item.output is not str:
                item = wire_item.input  # the item's own type: an unknown enum name is a 422
            return item or text_type(min_length=1, max_length=200)
        if info.wire.cursor_kind == "str" and not info.is_enum:
            return text_type(min_length=1, max_length=200)
        return declared if declared is not None else info.wire.input

    @cached_property
    def get_query(self) -> type[BaseModel]:
        """Query parameters of the by-key route (only `include`; others are ignored)."""
        definitions: dict[str, Any] = {}
        if self.includes:
            definitions["include"] = _include_field(self)
        return create_model(
            f"{self.name}GetQuery",
            __config__=ConfigDict(extra="ignore", frozen=True),
            **definitions,
        )

    def _check_parent(self) -> None:
        relation = self.parent_relation
        if relation is None:
            return
        if relation.direction != "one":
            raise ResourceError(
                f"{self.name}: parent {self.parent!r} must be a to-one relation with the foreign key "
                "on this model"
            )
        parent = resource_for(relation.target)
        if parent.parent is not None:
            raise ResourceError(
                f"{self.name}: parent {parent.name} is itself nested; nest one level only"
            )

    def check(self) -> None:
        """Derive everything now: a declaration that does not match the models fails at import."""
        _ = self.hidden_fields
        inputs = {"writable": self.writable, "derived": self.derived, "types": tuple(self.types)}
        inputs |= {"descriptions": tuple(self.descriptions)}
        for role, names in inputs.items():
            for name in names:
                self.input_field(name, role=role)
        for name in self.orderings:
            self.field_named(name, role="orderings")
        for name, spec in self.filters.items():
            self._filter_type(name, spec)
        _ = (self.key_fields, self.order, self.default, self.relations)
        _ = (self.list_query, self.get_query)
        self._check_parent()
        _ = (self.output_model, self.included_model, self.list_model, self.to_json)
        if self.writable:
            _ = (self.create_model, self.replace_model, self.update_model)


@dataclass(frozen=True, eq=False)
class Link:
    """An implicit many-to-many relation: `PUT`/`DELETE /{owner}/{id}/{segment}/{targetId}`."""

    owner: Resource
    relation: str
    segment: str

    @cached_property
    def info(self) -> Relation:
        info = self.owner.relation(self.relation)
        if info.secondary is None:
            raise ResourceError(f"{self.owner.name}.{self.relation}: not a many-to-many relation")
        return info

    @cached_property
    def target(self) -> Resource:
        return resource_for(self.info.target)

    @cached_property
    def item_name(self) -> str:
        """`tagItems` → `TagItem` (operation ids `linkPageTagItem`, `unlinkPageTagItem`)."""
        singular = self.relation[:-1] if self.relation.endswith("s") else self.relation
        return singular[0].upper() + singular[1:]

    @cached_property
    def owner_key(self) -> FieldInfo:
        return _single_key(self.owner, "a link's owner")

    @cached_property
    def target_key(self) -> FieldInfo:
        return _single_key(self.target, "a link's target")

    @cached_property
    def param(self) -> str:
        """The path parameter of the target's key: `tagId` (never the owner's own name)."""
        name = self.target.name[0].lower() + self.target.name[1:]
        param = name + self.target_key.name[0].upper() + self.target_key.name[1:]
        return param if param != self.owner_key.name else f"target{param[0].upper()}{param[1:]}"


def _single_key(resource: Resource, role: str) -> FieldInfo:
    if resource.parent is not None or len(resource.own_key) != 1:
        raise ResourceError(f"{resource.name}: {role} needs a single-field key at the top level")
    return resource.own_key[0]


# ------------------------------------------------------------------------------ derived parts


@dataclass(frozen=True, eq=False)
class FieldInfo:
    """One column as the API sees it."""

    name: str
    column: Column[Any]
    wire: WireType

    @classmethod
    def of(cls, column: Column[Any]) -> FieldInfo:
        return cls(name=wire_name(column), column=column, wire=wire_type(column))

    @property
    def nullable(self) -> bool:
        return bool(self.column.nullable)

    @property
    def is_list(self) -> bool:
        return isinstance(self.column.type, ARRAY)

    @property
    def is_enum(self) -> bool:
        return getattr(self.column.type, "enum_class", None) is not None

    @property
    def has_default(self) -> bool:
        column = self.column
        return (
            column.server_default is not None
            or column.default is not None
            or (column.primary_key and column.autoincrement is True)
        )

    @property
    def required_on_create(self) -> bool:
        return not self.nullable and not self.has_default

    @property
    def default_description(self) -> str | None:
        server_default = self.column.server_default
        text = getattr(getattr(server_default, "arg", None), "text", None)
        if isinstance(text, str) and text.upper() != "CURRENT_TIMESTAMP":
            return f"Default `{text.strip(chr(39))}`"
        if self.is_list:
            return "Default `[]`"
        return None


@dataclass(frozen=True, eq=False)
class Relation:
    """A relation field of a model, as the include loader needs it."""

    name: str
    target: type[SQLModel]
    # "one" (the foreign key is here: many-to-one, or the owning side of a one-to-one),
    # "many" (the foreign key is on the target), "link" (many-to-many through a join table).
    direction: str
    # (column on this side, column on the other side) — for "link": this side ↔ join table.
    pairs: tuple[tuple[Column[Any], Column[Any]], ...]
    secondary: Table | None = None
    # For "link": (target column, join table column).
    target_pairs: tuple[tuple[Column[Any], Column[Any]], ...] = ()
    # Prisma's shape: a list (`X[]`), or one object or null (`X`, `X?`, a one-to-one's back side).
    to_many: bool = True

    @classmethod
    def of(cls, attribute: str, prop: RelationshipProperty[Any]) -> Relation:
        target = cast("type[SQLModel]", prop.mapper.class_)
        name = relation_name(prop, attribute)
        if prop.direction is RelationshipDirection.MANYTOMANY:
            assert prop.secondary is not None
            assert prop.secondary_synchronize_pairs is not None
            return cls(
                name,
                target,
                "link",
                _pairs(prop.synchronize_pairs),
                secondary=cast("Table", prop.secondary),
                target_pairs=_pairs(prop.secondary_synchronize_pairs),
            )
        pairs = _pairs(prop.local_remote_pairs or [])
        if prop.direction is RelationshipDirection.MANYTOONE:
            return cls(name, target, "one", pairs, to_many=False)
        return cls(name, target, "many", pairs, to_many=bool(prop.uselist))

    @property
    def many(self) -> bool:
        """True when Prisma returns a list for it."""
        return self.to_many

    @property
    def required(self) -> bool:
        """A to-one relation Prisma types as never null (`author Account`): its foreign key
        is here and NOT NULL."""
        return self.direction == "one" and all(not local.nullable for local, _ in self.pairs)

    @property
    def target_name(self) -> str:
        return model_name(self.target)

    @property
    def description(self) -> str:
        if self.many:
            return (
                f"With `include={self.name}`: the related {self.target_name} rows "
                f"(at most {INCLUDE_LIMIT})"
            )
        if self.required:
            return f"With `include={self.name}`: the related {self.target_name}"
        return f"With `include={self.name}`: the related {self.target_name}, or null"


def _pairs(pairs: Sequence[tuple[Any, Any]]) -> tuple[tuple[Column[Any], Column[Any]], ...]:
    return tuple((cast("Column[Any]", a), cast("Column[Any]", b)) for a, b in pairs)


def optional(annotation: Any) -> Any:
    """`annotation | None`, for annotations built at run time."""
    return annotation | None


def list_of(annotation: Any) -> Any:
    """`list[annotation]`, for annotations built at run time."""
    return list.__class_getitem__(annotation)


# ------------------------------------------------------------------------------ names

_WORD = re.compile(r"[A-Z]+(?=[A-Z][a-z0-9])|[A-Z]?[a-z0-9]+|[A-Z]+")
_SAME_PLURAL = frozenset(
    [
        "data",
        "metadata",
        "media",
        "information",
        "feedback",
        "news",
        "series",
        "species",
        "equipment",
        "analytics",
        "sheep",
        "fish",
        "deer",
        "staff",
        "software",
        "hardware",
    ]
)
_IRREGULAR = {
    "person": "people",
    "child": "children",
    "man": "men",
    "woman": "women",
    "mouse": "mice",
    "foot": "feet",
    "tooth": "teeth",
}
# Words starting with a vowel letter but a consonant sound, and the reverse (`an hour`).
_A_BEFORE = ("uni", "use", "usa", "usu", "uti", "ura", "eu", "one", "once")
_AN_BEFORE = ("hour", "honest", "honor", "honour", "heir")


def relation_name(prop: RelationshipProperty[Any], attribute: str | None = None) -> str:
    """The Prisma field of a relationship: `info["prisma"]` when the Python attribute differs
    (`parent_` for `parent`), else the attribute."""
    return str(prop.info.get("prisma", attribute or prop.key))


def model_name(model: type[Any]) -> str:
    """The Prisma model name of a generated class: its name without the trailing `_` the
    generator adds when the name is taken in Python (`Field_` → `Field`)."""
    return model.__name__.rstrip("_") or model.__name__


def words_of(name: str) -> list[str]:
    """`SiteSettings` → `Site`, `Settings`; `APIKey` → `API`, `Key`; `rate_limit` → two."""
    return _WORD.findall(name)


def _plural_word(word: str) -> str:
    lower = word.lower()
    if lower in _SAME_PLURAL or not lower:
        return word
    if lower in _IRREGULAR:
        return word[0] + _IRREGULAR[lower][1:]
    if word.isupper() and len(word) > 1:
        return word + "s"  # an acronym: `URLs`
    if lower.endswith(("ss", "us", "as", "sh", "ch", "x", "z")):
        return word + "es"
    if lower.endswith("is") and len(lower) > 3:
        return word[:-2] + "es"  # analysis → analyses
    if lower.endswith("s"):
        return word  # already plural: settings, credentials
    if lower.endswith("y") and lower[-2:-1] not in ("a", "e", "i", "o", "u"):
        return word[:-1] + "ies"
    return word + "s"


def plural_of(name: str) -> str:
    """The model name with its last word made plural: `Field` → `Fields`, `Status` →
    `Statuses`, `SiteSettings` → `SiteSettings`, `Category` → `Categories`."""
    matches = list(_WORD.finditer(name))
    if not matches:
        return name + "s"
    last = matches[-1]
    return name[: last.start()] + _plural_word(last.group()) + name[last.end() :]


def label_of(name: str) -> str:
    """For messages: `PageRevision` → `page revision`, `APIKey` → `API key`."""
    return " ".join(w if w.isupper() and len(w) > 1 else w.lower() for w in words_of(name))


def capitalized(text: str) -> str:
    return text[:1].upper() + text[1:]


def segment_of(plural: str) -> str:
    """The default URL segment: `SiteSettings` → `site-settings`, `APIKeys` → `api-keys`."""
    return "-".join(w.lower() for w in words_of(plural)) or plural.lower()


def with_article(label: str) -> str:
    """`a page`, `an envelope`, `a user`, `an hour`."""
    if label[:2].isupper():  # an acronym is read letter by letter: `an SMS code`, `a URL`
        return f"an {label}" if label[0] in "AEFHILMNORSX" else f"a {label}"
    lower = label.lower()
    vowel = lower[:1] in ("a", "e", "i", "o", "u") and not lower.startswith(_A_BEFORE)
    return f"an {label}" if vowel or lower.startswith(_AN_BEFORE) else f"a {label}"


def _described(info: FieldInfo, descriptions: Mapping[str, str]) -> Any:
    description = descriptions.get(info.name)
    return Field(description=description) if description else Field()


def _filter_doc(spec: Filter) -> str | None:
    if spec.kind == "search":
        fields = " or ".join(spec.fields)
        return f"Case-insensitive substring of the {fields}"
    if spec.kind == "has":
        return f"Rows whose `{spec.fields[0]}` contain this value"
    return None


def _list_item(annotation: Any) -> Any:
    """`Annotated[list[X], ...]` → X."""
    while get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    args = get_args(annotation)
    return args[0] if args else None


def _include_field(resource: Resource) -> Any:
    names = ", ".join(f"`{name}`" for name in resource.includes)
    # Long enough to name every relation once (a model may have 25 or more).
    bound = max(200, sum(len(name) + 1 for name in resource.includes) + 20)
    return (
        optional(Annotated[str, StringConstraints(max_length=bound)]),
        Field(
            default=None,
            description=f"Relations to add, comma-separated (Prisma's `include`): {names}",
        ),
    )


def _not_null(cls: type[BaseModel], value: Any) -> Any:
    if value is None:
        raise ValueError("may not be null (omit the field to leave it unchanged)")
    return value


def _non_nullable(names: Sequence[str]) -> Callable[[dict[str, Any]], None]:
    """PATCH schemas: a non-nullable field may be omitted but not sent as null."""

    def fix(schema: dict[str, Any]) -> None:
        strip_defaults(schema)
        properties: dict[str, dict[str, Any]] = schema.get("properties", {})
        for name in names:
            prop = properties.get(name, {})
            options: list[Any] = prop.pop("anyOf", [])
            non_null = [option for option in options if option != {"type": "null"}]
            if len(non_null) == 1:
                prop.update(non_null[0])
            elif non_null:
                prop["anyOf"] = non_null

    return fix


# ------------------------------------------------------------------------------ the registry

_BY_MODEL: dict[type[SQLModel], Resource] = {}


def register(*resources: Resource) -> tuple[Resource, ...]:
    """Make resources known (for `include` targets and parents), then check each one."""
    for resource in resources:
        _BY_MODEL.setdefault(resource.model, resource)
    for resource in resources:
        resource.check()
    return resources


def registered() -> list[Resource]:
    return list(_BY_MODEL.values())


def resource_for(model: type[SQLModel]) -> Resource:
    resource = _BY_MODEL.get(model)
    if resource is None:
        raise ResourceError(f"no resource serves {model.__name__}; declare one in app/resources.py")
    return resource


def parent_of(resource: Resource) -> Resource | None:
    relation = resource.parent_relation
    return resource_for(relation.target) if relation else None


def names(items: Sequence[FieldInfo]) -> list[str]:
    return [item.name for item in items]
