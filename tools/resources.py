"""`make resources`: a declaration in app/resources.py for every model and view that has none.

Usage::

    python -m tools.resources [--prisma-dir prisma] [--fresh] [--serve-secrets] [--file app/resources.py]

The generated models (``app/models.py``, ``app/view_tables.py``) are imported and their mappers
inspected; ``schema.prisma`` adds what the database cannot tell (``@updatedAt``,
``@default(autoincrement())``, relation fields of ``relationMode = "prisma"``, ``@ignore``,
``Unsupported``). Each declaration is the guess a reader would make (see ``declare``), written
as ordinary code: edit it freely afterwards. A later run never changes an existing declaration:
models that already have one are kept, new ones are appended and added to ``V1``. ``--fresh``
(``make resources FRESH=1``) writes the file anew, for a schema being adopted.
"""

from __future__ import annotations

import argparse
import ast
import importlib
import json
import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, cast

from sqlalchemy import Column, Table, inspect
from sqlalchemy.orm import Mapper
from sqlalchemy.types import NullType

from app.core.embedded import single_column_uniques
from app.resource import model_name, plural_of, relation_name
from app.schemas import wire_name, wire_type
from tools.codegen import postprocess
from tools.prisma_schema import PrismaField, PrismaModel, PrismaSchema, load_schema

MODULES = ("app.models", "app.view_tables")
DEFAULT_FILE = Path("app/resources.py")

# Query parameters every list already has: a filter cannot take their name.
RESERVED_QUERY = frozenset({"limit", "cursor", "offset", "orderBy", "include", "count"})
SECRET_COMMENT = "# review: hidden because the name looks secret"
WRITE_ONLY_COMMENT = "# review: hidden, yet writable (write-only): the names look secret"
UNSERVED_COMMENT = "# not in Prisma Client (Unsupported type or @ignore)"

HEADER = '''"""The v1 resources: one declaration per Prisma model (see app/resource.py for the fields).

Written by `make resources` (tools/resources.py), then yours to edit: a later `make resources`
only adds declarations for models that have none, and `make resources FRESH=1` starts this
file over. Field names are Prisma's; lines marked `# review:` are guesses to check.
"""
'''

# ------------------------------------------------------------------------------ names

# fmt: off
# A field is secret when its last word is one of these (`passwordHash`, `refresh_token`) …
SECRET_WORDS = frozenset({
    "password", "passwords", "passwd", "passphrase", "secret", "secrets", "token", "hash",
    "digest", "salt", "otp", "totp", "credential", "credentials", "apikey", "ciphertext",
})
# … or its last two words are one of these (`apiKey`, `twoFactorBackupCodes`) …
SECRET_PAIRS = frozenset({
    ("api", "key"), ("private", "key"), ("secret", "key"), ("signing", "key"),
    ("encryption", "key"), ("access", "key"), ("recovery", "code"), ("recovery", "codes"),
    ("backup", "code"), ("backup", "codes"), ("otp", "code"),
})
# … unless it is a flag (`hasPassword`, `isSecret`) or public (`publicKeyHash`).
FLAG_FIRST_WORDS = frozenset({"is", "has", "uses", "requires", "needs", "can", "should", "allow"})
# fmt: on

_WORD = re.compile(r"[A-Z]+(?=[A-Z][a-z]|\d|\b|_)|[A-Z]?[a-z]+|[A-Z]+|\d+")


def words(name: str) -> list[str]:
    """`twoFactorBackupCodes` → two factor backup codes; `APIKey`, `api_key` → api key."""
    return [w.lower() for w in _WORD.findall(name)]


def looks_secret(name: str) -> bool:
    """The name's last word says secret (`passwordHash`); not `passwordChangedAt`, `hashtag`."""
    parts = words(name)
    if not parts or parts[0] in FLAG_FIRST_WORDS or "public" in parts:
        return False
    return parts[-1] in SECRET_WORDS or tuple(parts[-2:]) in SECRET_PAIRS


def kebab(name: str) -> str:
    """`PageRevisions` → page-revisions; `tagItems` → tag-items."""
    return "-".join(words(name))


def constant(name: str) -> str:
    """`PageRevisions` → PAGE_REVISIONS."""
    return "_".join(words(name)).upper()


# ------------------------------------------------------------------------------ what to declare


@dataclass
class Declaration:
    """One `Resource(...)` to write: everything in Prisma field names."""

    model: str  # the class name in its module
    module: str  # app.models or app.view_tables
    constant: str  # the constant it would like (`PAGES`)
    name: str = ""  # the constant it gets, set when placed in the file
    ref: str = ""  # how the file names the class (an alias when the name is taken)
    segment: str = ""
    writable: tuple[str, ...] = ()
    orderings: tuple[str, ...] = ()
    filters: tuple[str, ...] = ()
    includes: tuple[str, ...] = ()
    secret: tuple[str, ...] = ()
    unserved: tuple[str, ...] = ()
    # Secret-looking, yet served as asked (`SECRETS=serve`): listed for review.
    exposed: tuple[str, ...] = ()


@dataclass
class LinkDeclaration:
    """An implicit many-to-many relation served as `PUT`/`DELETE` links."""

    owner: str  # the model class name
    relation: str
    segment: str
    table: str  # the join table, one link each


@dataclass
class Model:
    """A generated class and what schema.prisma says of it (None without a schema)."""

    cls: type[Any]
    module: str
    prisma: PrismaModel | None
    schema: PrismaSchema | None = None

    @property
    def name(self) -> str:
        return self.cls.__name__

    @property
    def ignored(self) -> bool:
        """`@@ignore`: Prisma Client has no such model."""
        return self.prisma is not None and self.prisma.ignored

    @property
    def prisma_name(self) -> str:
        """`Field` for the class `Field_` (renamed where it would shadow an import)."""
        return self.prisma.name if self.prisma else model_name(self.cls)

    @property
    def table(self) -> Table:
        return cast("Table", self.mapper.local_table)

    @property
    def mapper(self) -> Mapper[Any]:
        return inspect(self.cls)

    @property
    def is_view(self) -> bool:
        return self.module.endswith("view_tables") or bool(self.table.info.get("is_view"))


def load_models(prisma: PrismaSchema | None) -> list[Model]:
    """Every generated class, in schema order (models before views without a schema)."""
    found: list[Model] = []
    for module_name in MODULES:
        module = _import(module_name)
        if module is None:
            continue
        for value in vars(module).values():
            if not _is_mapped_class(value, module_name):
                continue
            table = cast("Table", inspect(value).local_table)
            prisma_model = prisma.model_for_table(table.name) if prisma else None
            found.append(Model(value, module_name, prisma_model, prisma))
    if prisma is None:
        return found
    order = {name: i for i, name in enumerate(prisma.models)}
    return sorted(found, key=lambda m: order.get(m.prisma.name if m.prisma else "", len(order)))


def _import(name: str) -> ModuleType | None:
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if name == "app.models" or exc.name != name:
            raise
        return None  # no views module: a schema without views


def _is_mapped_class(value: object, module_name: str) -> bool:
    if not isinstance(value, type) or value.__module__ != module_name:
        return False
    return inspect(value, raiseerr=False) is not None and hasattr(value, "__table__")


def declare(model: Model, declared: set[str], *, hide_secrets: bool = True) -> Declaration:
    """The declaration of one model; `declared` are the classes that will have one.
    `hide_secrets=False` serves secret-looking fields too (Prisma Client's full rows)."""
    columns = _in_schema_order(model)
    unserved = [c for c in columns if _unserved(model, c)]
    # A key field stays served whatever its name: it is in the URL.
    secret = [
        c for c in columns if c not in unserved and not c.primary_key and looks_secret(wire_name(c))
    ]
    exposed = [] if hide_secrets else secret
    secret = secret if hide_secrets else []
    served = [c for c in columns if c not in unserved and c not in secret]
    # Secret-looking fields Prisma Client writes stay writable: write-only (hidden and writable),
    # so a model whose password hash is required can still be created.
    readable = [c for c in columns if c not in unserved]
    writable = [] if model.is_view else [c for c in readable if _writable(model, c)]
    plural = plural_of(model.prisma_name)  # the resource's own plural: labels, operation ids
    return Declaration(
        model=model.name,
        module=model.module,
        constant=constant(plural),
        segment=kebab(plural),
        writable=_names(writable),
        orderings=_names(_orderings(model, served)),
        filters=_names(_filters(model, served)),
        includes=tuple(_includes(model, declared)),
        secret=_names(secret),
        unserved=_names(unserved),
        exposed=_names(exposed),
    )


def _in_schema_order(model: Model) -> list[Column[Any]]:
    """The columns in the order of the Prisma fields (the database's after a migration adds one)."""
    columns = list(model.table.columns)
    if model.prisma is None:
        return columns
    order = {f.name: i for i, f in enumerate(model.prisma.fields)}
    return sorted(columns, key=lambda c: order.get(wire_name(c), len(order)))


def _names(columns: Iterable[Column[Any]]) -> tuple[str, ...]:
    return tuple(wire_name(c) for c in columns)


def _prisma_field(model: Model, column: Column[Any]) -> PrismaField | None:
    return model.prisma.field_by_name(wire_name(column)) if model.prisma else None


def _unserved(model: Model, column: Column[Any]) -> bool:
    """Columns Prisma Client does not read: `@ignore` fields and `Unsupported(...)` types."""
    prisma_field = _prisma_field(model, column)
    if prisma_field is None:
        return isinstance(column.type, NullType)
    return prisma_field.ignored or prisma_field.type.startswith("Unsupported")


def _writable(model: Model, column: Column[Any]) -> bool:
    """Every scalar Prisma Client writes: not autoincrement keys, `@updatedAt`, computed."""
    if column.computed is not None:
        return False
    prisma_field = _prisma_field(model, column)
    if prisma_field is None:
        autoincrement = column.primary_key and column.autoincrement is True
        return not autoincrement and column.onupdate is None
    if prisma_field.updated_at:
        return False
    return not (column.primary_key and prisma_field.default == "autoincrement()")


def _comparable(column: Column[Any]) -> bool:
    """A value a list can sort or filter on (not JSON, lists, bytes)."""
    return wire_type(column).cursor_kind is not None


def _orderings(model: Model, served: Sequence[Column[Any]]) -> list[Column[Any]]:
    """The key fields first, then fields that lead an index or a unique constraint."""
    table = model.table
    leading: set[Column[Any]] = set(single_column_uniques(table))
    for index in table.indexes:
        first = next(iter(index.columns), None)
        if isinstance(first, Column):
            leading.add(cast("Column[Any]", first))
    keys = [c for c in served if c.primary_key]
    others = [c for c in served if c in leading and not c.primary_key]
    return [c for c in keys + others if _comparable(c)]


def _filters(model: Model, served: Sequence[Column[Any]]) -> list[Column[Any]]:
    """`equals()` on foreign keys, enums and unique fields (a single key is its own route)."""
    table = model.table
    foreign = {fk.parent for fk in table.foreign_keys} | _relation_scalars(model)
    unique = single_column_uniques(table)
    single_key = len(table.primary_key.columns) == 1

    def wanted(column: Column[Any]) -> bool:
        if column.primary_key and single_key:
            return False
        enum = getattr(column.type, "enum_class", None) is not None
        return column in foreign or column in unique or enum

    return [
        c for c in served if wanted(c) and _comparable(c) and wire_name(c) not in RESERVED_QUERY
    ]


def _relation_scalars(model: Model) -> set[Column[Any]]:
    """Scalars of `@relation(fields: [...])` (no foreign key with relationMode = "prisma")."""
    if model.prisma is None or model.schema is None:
        return set()
    names = {
        name
        for prisma_field in model.schema.relation_fields(model.prisma)
        for name in model.schema.relation_of(model.prisma, prisma_field).fields
    }
    return {c for c in model.table.columns if wire_name(c) in names}


def _includes(model: Model, declared: set[str]) -> list[str]:
    """Every relation whose target is served, by its Prisma name, in schema order."""
    found = [
        relation_name(prop)
        for prop in model.mapper.relationships
        if prop.mapper.class_.__name__ in declared
    ]
    if model.prisma is None:
        return found
    order = {f.name: i for i, f in enumerate(model.prisma.fields)}
    return sorted(found, key=lambda name: order.get(name, len(order)))


def implicit_links(models: Sequence[Model], owners: set[str]) -> list[LinkDeclaration]:
    """One link per implicit many-to-many join table (`_PageToTag`), owned by the first model
    (in schema order) that has the relation and is among `owners`."""
    links: list[LinkDeclaration] = []
    seen: set[str] = set()
    for model in models:
        if model.is_view:
            continue
        for prop in model.mapper.relationships:
            secondary = prop.secondary
            if not isinstance(secondary, Table) or not secondary.name.startswith("_"):
                continue
            if secondary.name in seen:
                continue
            seen.add(secondary.name)
            if model.name not in owners:
                continue
            relation = relation_name(prop)
            links.append(LinkDeclaration(model.name, relation, kebab(relation), secondary.name))
    return links


# ------------------------------------------------------------------------------ the code


def _tuple(names: Sequence[str]) -> str:
    items = ", ".join(json.dumps(n) for n in names)
    return f"({items},)" if len(names) == 1 else f"({items})"


def render(declaration: Declaration) -> str:
    """`NAME = Resource(...)`, one keyword a line; what is empty is left out."""
    d = declaration
    lines = [
        f"{d.name} = Resource(",
        f"    model={d.ref},",
        f"    segment={json.dumps(d.segment)},",
    ]
    if d.writable:
        lines.append(f"    writable={_tuple(d.writable)},")
    if d.orderings:
        lines.append(f"    orderings={_tuple(d.orderings)},")
    if d.filters:
        items = ", ".join(f"{json.dumps(n)}: equals()" for n in d.filters)
        lines.append(f"    filters={{{items}}},")
    if d.includes:
        lines.append(f"    includes={_tuple(d.includes)},")
    hidden = d.secret + d.unserved
    if d.secret and d.unserved:
        lines.append(
            f"    # {', '.join(d.unserved)}: not in Prisma Client (Unsupported or @ignore)"
        )
    if set(d.secret) & set(d.writable):
        lines.append(f"    {WRITE_ONLY_COMMENT}")
        lines.append(f"    hidden={_tuple(hidden)},")
    elif hidden:
        comment = SECRET_COMMENT if d.secret else UNSERVED_COMMENT
        lines.append(f"    hidden={_tuple(hidden)},  {comment}")
    lines.append(")")
    return "\n".join(lines) + "\n"


def render_link(link: LinkDeclaration, owner: str) -> str:
    return f"Link(owner={owner}, relation={json.dumps(link.relation)}, segment={json.dumps(link.segment)})"


def fresh_source(declarations: Sequence[Declaration], links: Sequence[str]) -> str:
    """A whole app/resources.py."""
    imports: list[str] = []
    for module in MODULES:
        refs = [_import_ref(d) for d in declarations if d.module == module]
        if refs:
            imports.append(f"from {module} import {', '.join(refs)}")
    names = ["Link", "Resource", "register"]
    if any(d.filters for d in declarations):
        names.append("equals")
    imports.append(f"from app.resource import {', '.join(names)}")
    body = "\n".join(render(d) for d in declarations)
    registered = ", ".join(d.name for d in declarations)
    link_items = "".join(f"{link}, " for link in links)
    return (
        f"{HEADER}\n"
        + "\n".join(imports)
        + "\n\n"
        + (f"{body}\n" if body else "")
        + f"V1: tuple[Resource, ...] = register({registered})\n"
        + f"LINKS: tuple[Link, ...] = ({link_items})\n"
    )


def _import_ref(declaration: Declaration) -> str:
    if declaration.ref == declaration.model:
        return declaration.model
    return f"{declaration.model} as {declaration.ref}"


# ------------------------------------------------------------------------------ the current file


@dataclass
class Existing:
    """What app/resources.py already declares."""

    tree: ast.Module
    models: dict[str, str] = field(default_factory=dict[str, str])  # constant → class name
    names: set[str] = field(default_factory=set[str])  # every top-level name
    segments: set[str] = field(default_factory=set[str])
    register: ast.Call | None = None
    links: ast.Tuple | None = None
    linked: list[tuple[str, str]] = field(default_factory=list[tuple[str, str]])  # (owner, rel)
    imported: dict[str, tuple[str, str]] = field(default_factory=dict[str, tuple[str, str]])
    # Every `Resource(model=…)` anywhere in the file, assigned to a name or not.
    declared: set[str] = field(default_factory=set[str])


def read_existing(source: str) -> Existing:
    """Parse the file: its `Resource(model=…)` calls, `V1 = register(…)` and `LINKS = (…)`."""
    tree = ast.parse(source)
    existing = Existing(tree)
    for node in tree.body:
        if isinstance(node, ast.ImportFrom):
            for alias in node.names:
                local = alias.asname or alias.name
                existing.imported[local] = (node.module or "", alias.name)
                existing.names.add(local)
        elif isinstance(node, ast.Import):
            existing.names.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            existing.names.add(node.name)
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            _read_assignment(existing, node)
    for call in ast.walk(tree):
        if not isinstance(call, ast.Call) or _callee(call) != "Resource":
            continue
        model, segment = _keyword(call, "model"), _keyword(call, "segment")
        if model is not None:
            existing.declared.add(_class_name(existing, model))
        if isinstance(segment, ast.Constant) and isinstance(segment.value, str):
            existing.segments.add(segment.value)
    return existing


def _keyword(call: ast.Call, name: str) -> ast.expr | None:
    return next((k.value for k in call.keywords if k.arg == name), None)


def _read_assignment(existing: Existing, node: ast.Assign | ast.AnnAssign) -> None:
    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
    names = [t.id for t in targets if isinstance(t, ast.Name)]
    existing.names.update(names)
    value = node.value
    if not isinstance(value, ast.Call):
        if "LINKS" in names and isinstance(value, ast.Tuple):
            existing.links = value
            existing.linked = [link for e in value.elts if (link := _link_of(e))]
        return
    callee = _callee(value)
    if callee == "register" and "V1" in names:
        existing.register = value
    if callee != "Resource":
        return
    model = _keyword(value, "model")
    if model is not None:
        for name in names:
            existing.models[name] = _class_name(existing, model)


def _callee(call: ast.Call) -> str | None:
    func = call.func
    if isinstance(func, ast.Name):
        return func.id
    return func.attr if isinstance(func, ast.Attribute) else None


def _class_name(existing: Existing, expr: ast.expr) -> str:
    """`Page`, `models.Page`, `P` (imported `as P`) → Page."""
    if isinstance(expr, ast.Attribute):
        return expr.attr
    if isinstance(expr, ast.Name):
        return existing.imported.get(expr.id, ("", expr.id))[1]
    return ast.unparse(expr)


def _link_of(expr: ast.expr) -> tuple[str, str] | None:
    if not isinstance(expr, ast.Call) or _callee(expr) != "Link":
        return None
    keywords = {k.arg: k.value for k in expr.keywords if k.arg}
    owner, relation = keywords.get("owner"), keywords.get("relation")
    if isinstance(owner, ast.Name) and isinstance(relation, ast.Constant):
        return owner.id, str(relation.value)
    return None


# ------------------------------------------------------------------------------ writing


class ScaffoldError(Exception):
    """Something the user must fix first; the message says what."""


def place(
    declarations: Sequence[Declaration],
    existing: Existing | None = None,
) -> None:
    """Give each declaration its constant, class reference and segment, none taken twice."""
    taken = existing.names if existing else set[str]()
    imported = existing.imported if existing else {}
    segments = set(existing.segments) if existing else set[str]()
    in_use = {"Resource", "Link", "register", "equals", "V1", "LINKS"} | taken
    wanted = {d.constant for d in declarations}
    for d in declarations:
        if imported.get(d.model) == (d.module, d.model):
            d.ref = d.model  # the file imports it already
            continue
        clashes = in_use | wanted
        d.ref = d.model if d.model not in clashes else _free(d.model + "Model", clashes, "", "")
        in_use.add(d.ref)
    for d in declarations:
        d.name = _free(d.constant, in_use, "_RESOURCE", "_")
        in_use.add(d.name)
        d.segment = _free(d.segment, segments, "", "-")
        segments.add(d.segment)


def _free(name: str, taken: set[str], suffix: str, sep: str) -> str:
    if name not in taken:
        return name
    if suffix and name + suffix not in taken:
        return name + suffix
    n = 2
    while f"{name}{sep}{n}" in taken:
        n += 1
    return f"{name}{sep}{n}"


@dataclass
class Result:
    written: list[Declaration]
    kept: int
    links: int
    skipped: list[str]
    source: str
    # Kept declarations whose model the generated models no longer have.
    stale: list[str] = field(default_factory=list[str])


def scaffold(
    source: str | None, models: Sequence[Model], *, fresh: bool, hide_secrets: bool = True
) -> Result:
    """The new text of app/resources.py (`source`: the current one, None when absent)."""
    served = [m for m in models if not m.ignored]
    skipped = [f"{m.name} (@@ignore)" for m in models if m.ignored]
    existing = None if fresh or source is None else read_existing(source)
    if existing is not None and existing.register is None:
        raise ScaffoldError(
            "app/resources.py has no `V1 = register(...)` to add declarations to: add it, or "
            "run `make resources FRESH=1` to write the file anew"
        )
    kept = existing.declared if existing else set()
    todo = [m for m in served if m.name not in kept]
    declared = kept | {m.name for m in served}
    declarations = [declare(m, declared, hide_secrets=hide_secrets) for m in todo]
    place(declarations, existing)
    owners = {d.model: d.name for d in declarations}
    if existing is None:
        links = implicit_links(served, set(owners))
        text = fresh_source(declarations, [render_link(k, owners[k.owner]) for k in links])
        return Result(declarations, 0, len(links), skipped, text)
    assert source is not None
    links = _new_links(existing, served, owners)
    text = _append(source, existing, declarations, [render_link(k, owners[k.owner]) for k in links])
    names = {m.name for m in models}
    stale = sorted(kept - names)
    return Result(declarations, len(kept & names), len(links), skipped, text, stale)


def _new_links(
    existing: Existing, models: Sequence[Model], owners: dict[str, str]
) -> list[LinkDeclaration]:
    """Links of new models only, for join tables no existing link serves."""
    by_name = {m.name: m for m in models}
    linked_tables: set[str] = set()
    for owner, relation in existing.linked:
        model = by_name.get(existing.models.get(owner, ""))
        prop = model.mapper.relationships.get(relation) if model else None
        if prop is not None and isinstance(prop.secondary, Table):
            linked_tables.add(prop.secondary.name)
    links = implicit_links(models, set(owners))
    return [k for k in links if k.table not in linked_tables] if existing.links is not None else []


def _append(
    source: str, existing: Existing, declarations: Sequence[Declaration], links: Sequence[str]
) -> str:
    """The current text with new imports, declarations, V1 and LINKS entries inserted."""
    if not declarations:
        return source
    assert existing.register is not None
    lines = source.splitlines(keepends=True)
    edits: list[tuple[int, int, str]] = []  # (line index, column, text), applied bottom up
    if links and existing.links is not None:
        edits.append(_after_last(lines, existing.links, existing.links.elts, ", ".join(links)))
    names = ", ".join(d.name for d in declarations)
    edits.append(_after_last(lines, existing.register, existing.register.args, names))
    statement = _statement_of(existing.tree, existing.register)
    body = "\n".join(render(d) for d in declarations)
    edits.append((statement.lineno - 1, 0, f"{body}\n"))
    edits.append((_after_imports(existing.tree), 0, _new_imports(existing, declarations)))
    for line, column, text in sorted(edits, reverse=True):
        lines[line : line + 1] = [_insert(lines[line] if line < len(lines) else "", column, text)]
    return "".join(lines)


def _after_last(
    lines: list[str], node: ast.Call | ast.Tuple, items: Sequence[ast.expr], text: str
) -> tuple[int, int, str]:
    """Insert `text` after the last item of a call or tuple (or inside it when empty)."""
    if items:
        last = items[-1]
        assert last.end_lineno is not None
        assert last.end_col_offset is not None
        return (
            last.end_lineno - 1,
            _column(lines, last.end_lineno, last.end_col_offset),
            f", {text}",
        )
    assert node.end_lineno is not None
    assert node.end_col_offset is not None
    column = _column(lines, node.end_lineno, node.end_col_offset) - 1  # before the `)`
    suffix = "," if isinstance(node, ast.Tuple) else ""
    return node.end_lineno - 1, column, text + suffix


def _column(lines: list[str], lineno: int, byte_offset: int) -> int:
    """ast's UTF-8 byte offsets as a str index."""
    return len(lines[lineno - 1].encode()[:byte_offset].decode())


def _insert(line: str, column: int, text: str) -> str:
    return line[:column] + text + line[column:]


def _statement_of(tree: ast.Module, node: ast.AST) -> ast.stmt:
    return next(s for s in tree.body if any(n is node for n in ast.walk(s)))


def _after_imports(tree: ast.Module) -> int:
    """The line index after the last top-level import."""
    ends = [
        s.end_lineno or s.lineno for s in tree.body if isinstance(s, ast.Import | ast.ImportFrom)
    ]
    return max(ends, default=0)


def _new_imports(existing: Existing, declarations: Sequence[Declaration]) -> str:
    lines: list[str] = []
    for module in MODULES:
        refs = [
            _import_ref(d)
            for d in declarations
            if d.module == module and existing.imported.get(d.ref) != (module, d.model)
        ]
        if refs:
            lines.append(f"from {module} import {', '.join(refs)}\n")
    wanted = ["Resource", "register"] + (["equals"] if any(d.filters for d in declarations) else [])
    missing = [n for n in wanted if existing.imported.get(n) != ("app.resource", n)]
    if missing:
        lines.append(f"from app.resource import {', '.join(missing)}\n")
    return "".join(lines)


def run(path: Path, prisma_dir: Path, *, fresh: bool, hide_secrets: bool = True) -> Result:
    """Scaffold `path` (app/resources.py) for the generated models; write it when it changed."""
    prisma = load_schema(prisma_dir)
    models = load_models(prisma)
    source = path.read_text(encoding="utf-8") if path.is_file() else None
    result = scaffold(source, models, fresh=fresh, hide_secrets=hide_secrets)
    text = result.source
    if text != source:
        text = postprocess(text, project_root=Path.cwd(), filename=str(path))
        path.write_text(text, encoding="utf-8")
    result.source = text
    return result


def report(path: Path, result: Result) -> None:
    print(f"{path}: {len(result.written)} declarations written, {result.kept} kept", end="")
    print(f", {result.links} links" if result.links else "")
    for d in result.written:
        if d.secret:
            kind = "write-only" if set(d.secret) & set(d.writable) else "hidden"
            print(f"  review {d.name}: {kind} {', '.join(d.secret)} (the name looks secret)")
        if d.exposed:
            print(f"  review {d.name}: serves {', '.join(d.exposed)} (the name looks secret)")
    for name in result.skipped:
        print(f"  not declared: {name}")
    for name in result.stale:
        print(
            f"  warning: app.models has no {name} any more: fix or delete its declaration in "
            f"{path} (or start over with FRESH=1)"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.resources",
        description="Declare every model without a declaration in app/resources.py.",
    )
    parser.add_argument("--prisma-dir", type=Path, default=Path("prisma"))
    parser.add_argument("--file", type=Path, default=DEFAULT_FILE)
    parser.add_argument(
        "--fresh",
        action="store_true",
        help="write the file anew (the example's declarations and hooks go)",
    )
    parser.add_argument(
        "--serve-secrets",
        action="store_true",
        help="do not pre-fill hidden= for secret-looking fields (rows as Prisma Client returns them)",
    )
    args = parser.parse_args(argv)
    try:
        result = run(
            args.file, args.prisma_dir, fresh=args.fresh, hide_secrets=not args.serve_secrets
        )
    except ScaffoldError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except ImportError as exc:
        print(
            f"error: the generated models do not import ({exc}): run `make orm` first",
            file=sys.stderr,
        )
        return 1
    except SyntaxError as exc:
        print(
            f"error: {args.file} does not parse ({exc}): fix it, or run with FRESH=1",
            file=sys.stderr,
        )
        return 1
    report(args.file, result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
