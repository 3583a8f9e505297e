"""A small parser of ``schema.prisma``: what the model generator needs, nothing more.

It reads ``model``/``view``/``enum`` blocks: field names and types, ``@map``/``@@map``,
``@id``/``@@id``, ``@unique``/``@@unique``, ``@default(...)``, ``@updatedAt``, ``@relation(...)``,
``@ignore``/``@@ignore`` and enum values (with their ``@map``); of the ``datasource`` only
``relationMode``. ``generator``/``type`` blocks are skipped. ``load_schema`` finds the files as
the Prisma CLI does (one ``schema.prisma``, or a schema folder, or what ``prisma.config.ts``
names). It is not a validator: the monorepo's ``prisma validate`` is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

_BLOCK_START = re.compile(r"^(model|view|enum|type|generator|datasource)\s+(\w+)\s*\{\s*$")
_FIELD = re.compile(r"^(\w+)\s+([\w.]+(?:\([^)]*\))?)(\[\])?(\?)?\s*(.*)$")
_STRING = re.compile(r'^"((?:[^"\\]|\\.)*)"$')


@dataclass(frozen=True)
class Attribute:
    """``@name(args)`` (field) or ``@@name(args)`` (block); ``args`` is the raw text or None."""

    name: str
    args: str | None = None

    def arguments(self) -> tuple[list[str], dict[str, str]]:
        """(positional, named) raw argument texts."""
        positional: list[str] = []
        named: dict[str, str] = {}
        if not self.args:
            return positional, named
        for part in split_top_level(self.args):
            key, sep, value = part.partition(":")
            if sep and re.fullmatch(r"\s*\w+\s*", key) and not part.lstrip().startswith('"'):
                named[key.strip()] = value.strip()
            else:
                positional.append(part.strip())
        return positional, named


@dataclass
class PrismaField:
    name: str
    type: str
    is_list: bool = False
    optional: bool = False
    attributes: list[Attribute] = field(default_factory=list[Attribute])

    def attribute(self, name: str) -> Attribute | None:
        return next((a for a in self.attributes if a.name == name), None)

    @property
    def db_name(self) -> str:
        mapped = self.attribute("map")
        if mapped and mapped.args:
            return string_value(mapped.arguments()[0][0]) or self.name
        return self.name

    @property
    def is_id(self) -> bool:
        return self.attribute("id") is not None

    @property
    def is_unique(self) -> bool:
        return self.attribute("unique") is not None

    @property
    def updated_at(self) -> bool:
        return self.attribute("updatedAt") is not None

    @property
    def ignored(self) -> bool:
        return self.attribute("ignore") is not None

    @property
    def default(self) -> str | None:
        """The raw expression inside ``@default(...)`` (first positional argument)."""
        attr = self.attribute("default")
        if not attr or not attr.args:
            return None
        positional, _ = attr.arguments()
        return positional[0] if positional else None

    @property
    def native_type(self) -> str | None:
        """``Uuid`` for ``@db.Uuid`` etc."""
        return next((a.name[3:] for a in self.attributes if a.name.startswith("db.")), None)


@dataclass
class Relation:
    """The ``@relation`` of a field: its name and (owning side only) fields/references."""

    name: str | None
    fields: list[str]
    references: list[str]


def _mapped_name(attributes: list[Attribute], name: str) -> str:
    """The database name given by ``@@map("...")``, else the Prisma name."""
    mapped = next((a for a in attributes if a.name == "map"), None)
    if mapped and mapped.args:
        return string_value(mapped.arguments()[0][0]) or name
    return name


@dataclass
class PrismaModel:
    name: str
    kind: str  # "model" or "view"
    fields: list[PrismaField] = field(default_factory=list[PrismaField])
    attributes: list[Attribute] = field(default_factory=list[Attribute])

    @property
    def db_name(self) -> str:
        return _mapped_name(self.attributes, self.name)

    def field_by_name(self, name: str) -> PrismaField | None:
        return next((f for f in self.fields if f.name == name), None)

    def field_by_column(self, column: str) -> PrismaField | None:
        return next((f for f in self.fields if f.db_name == column), None)

    @property
    def ignored(self) -> bool:
        """``@@ignore``: Prisma Client has no such model."""
        return any(a.name == "ignore" for a in self.attributes)

    def id_fields(self) -> list[str]:
        """Field names of ``@id`` / ``@@id``, else of the first unique criterion.

        A unique criterion (``@unique`` / ``@@unique``) of required fields only is preferred:
        it is the one Prisma accepts as the key of a model without ``@id``.
        """
        for f in self.fields:
            if f.is_id:
                return [f.name]
        for attr in self.attributes:
            if attr.name == "id":
                return _field_list(attr)
        criteria = [[f.name] for f in self.fields if f.is_unique]
        criteria += [_field_list(a) for a in self.attributes if a.name == "unique"]
        for names in criteria:
            fields = [self.field_by_name(n) for n in names]
            if names and all(f is not None and not f.optional for f in fields):
                return names
        return criteria[0] if criteria else []


@dataclass
class PrismaEnum:
    name: str
    values: list[tuple[str, str]] = field(default_factory=list[tuple[str, str]])  # (name, db)
    attributes: list[Attribute] = field(default_factory=list[Attribute])

    @property
    def db_name(self) -> str:
        return _mapped_name(self.attributes, self.name)


@dataclass
class PrismaSchema:
    models: dict[str, PrismaModel] = field(default_factory=dict[str, PrismaModel])
    enums: dict[str, PrismaEnum] = field(default_factory=dict[str, PrismaEnum])
    # `relationMode` of the datasource: "prisma" means no foreign keys in the database.
    relation_mode: str = "foreignKeys"
    files: list[Path] = field(default_factory=list[Path])

    def model_for_table(self, table: str) -> PrismaModel | None:
        return next((m for m in self.models.values() if m.db_name == table), None)

    def enum_for_type(self, db_name: str) -> PrismaEnum | None:
        return next((e for e in self.enums.values() if e.db_name == db_name), None)

    def relation_of(self, model: PrismaModel, fld: PrismaField) -> Relation:
        """The relation a relation field belongs to, named as Prisma names it."""
        attr = fld.attribute("relation")
        name: str | None = None
        fields: list[str] = []
        references: list[str] = []
        if attr:
            positional, named = attr.arguments()
            if positional:
                name = string_value(positional[0])
            if "name" in named:
                name = string_value(named["name"])
            fields = _identifiers(named.get("fields", ""))
            references = _identifiers(named.get("references", ""))
        if name is None:
            # Prisma's default relation name: both model names, sorted, joined by "To".
            name = "To".join(sorted((model.name, fld.type)))
        return Relation(name, fields, references)

    def relation_fields(self, model: PrismaModel) -> list[PrismaField]:
        """Relation fields of ``model`` that Prisma Client has (``@ignore`` ones left out)."""
        return [
            f
            for f in model.fields
            if f.type in self.models and not f.ignored and not self.models[f.type].ignored
        ]

    def opposite(self, model: PrismaModel, fld: PrismaField) -> PrismaField | None:
        """The other side of the relation of ``fld`` (same relation name, on the target)."""
        name = self.relation_of(model, fld).name
        target = self.models.get(fld.type)
        if target is None:
            return None
        for other in self.relation_fields(target):
            if other is fld or other.type != model.name:
                continue
            if self.relation_of(target, other).name == name:
                return other
        return None

    def is_side_a(self, model: PrismaModel, fld: PrismaField) -> bool:
        """Side A of an implicit many-to-many: the model named first (self-relation: the
        field named first); its own key is the join table's column ``A``."""
        if model.name != fld.type:
            return model.name < fld.type
        other = self.opposite(model, fld)
        return other is None or fld.name <= other.name


def string_value(text: str) -> str | None:
    match = _STRING.match(text.strip())
    if not match:
        return None
    return match.group(1).replace('\\"', '"').replace("\\\\", "\\")


def _identifiers(text: str) -> list[str]:
    text = text.strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    # `fields: [a(sort: Desc), b]` -> a, b
    return [
        re.split(r"[\s(]", p.strip(), maxsplit=1)[0] for p in split_top_level(text) if p.strip()
    ]


def _field_list(attr: Attribute) -> list[str]:
    positional, named = attr.arguments()
    raw = named.get("fields") or (positional[0] if positional else "")
    return _identifiers(raw)


def split_top_level(text: str) -> list[str]:
    """Split on commas outside brackets, parentheses and strings."""
    parts: list[str] = []
    depth = 0
    in_string = False
    current: list[str] = []
    i = 0
    while i < len(text):
        char = text[i]
        if in_string:
            current.append(char)
            if char == "\\" and i + 1 < len(text):
                current.append(text[i + 1])
                i += 1
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
            current.append(char)
        elif char in "([{":
            depth += 1
            current.append(char)
        elif char in ")]}":
            depth -= 1
            current.append(char)
        elif char == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
        i += 1
    if "".join(current).strip():
        parts.append("".join(current))
    return parts


def _strip_comment(line: str) -> str:
    in_string = False
    for i, char in enumerate(line):
        if char == '"' and (i == 0 or line[i - 1] != "\\"):
            in_string = not in_string
        elif not in_string and line.startswith("//", i):
            return line[:i]
    return line


def parse_attributes(text: str) -> list[Attribute]:
    """Parse ``@a @b(x, y) @db.VarChar(3)`` / ``@@map("x")`` into attributes."""
    attrs: list[Attribute] = []
    i = 0
    while i < len(text):
        if text[i] != "@":
            i += 1
            continue
        i += 1
        if i < len(text) and text[i] == "@":
            i += 1
        start = i
        while i < len(text) and (text[i].isalnum() or text[i] in "_."):
            i += 1
        name = text[start:i]
        args: str | None = None
        if i < len(text) and text[i] == "(":
            depth = 0
            in_string = False
            arg_start = i + 1
            while i < len(text):
                char = text[i]
                if in_string:
                    if char == "\\":
                        i += 1
                    elif char == '"':
                        in_string = False
                elif char == '"':
                    in_string = True
                elif char == "(":
                    depth += 1
                elif char == ")":
                    depth -= 1
                    if depth == 0:
                        break
                i += 1
            args = text[arg_start:i]
            i += 1
        if name:
            attrs.append(Attribute(name, args))
    return attrs


def parse_schema(text: str) -> PrismaSchema:
    schema = PrismaSchema()
    lines = [_strip_comment(line).strip() for line in text.splitlines()]
    i = 0
    while i < len(lines):
        match = _BLOCK_START.match(lines[i])
        i += 1
        if not match:
            continue
        kind, name = match.groups()
        body: list[str] = []
        while i < len(lines) and lines[i] != "}":
            if lines[i]:
                body.append(lines[i])
            i += 1
        i += 1
        if kind in ("model", "view"):
            schema.models[name] = _parse_model(name, kind, body)
        elif kind == "enum":
            schema.enums[name] = _parse_enum(name, body)
        elif kind == "datasource":
            schema.relation_mode = _setting(body, "relationMode") or schema.relation_mode
    return schema


def _setting(body: list[str], key: str) -> str | None:
    """The string value of ``key = "value"`` in a ``datasource``/``generator`` block."""
    for line in body:
        name, sep, value = line.partition("=")
        if sep and name.strip() == key:
            return string_value(value.strip())
    return None


def _parse_model(name: str, kind: str, body: list[str]) -> PrismaModel:
    model = PrismaModel(name, kind)
    for line in body:
        if line.startswith("@@"):
            model.attributes.extend(parse_attributes(line))
            continue
        match = _FIELD.match(line)
        if not match:
            continue
        fname, ftype, is_list, optional, rest = match.groups()
        model.fields.append(
            PrismaField(fname, ftype, bool(is_list), bool(optional), parse_attributes(rest))
        )
    return model


def _parse_enum(name: str, body: list[str]) -> PrismaEnum:
    enum = PrismaEnum(name)
    for line in body:
        if line.startswith("@@"):
            enum.attributes.extend(parse_attributes(line))
            continue
        value, _, rest = line.partition(" ")
        if not re.fullmatch(r"\w+", value):
            continue
        db_value = value
        for attr in parse_attributes(rest):
            if attr.name == "map" and attr.args:
                db_value = string_value(attr.arguments()[0][0]) or value
        enum.values.append((value, db_value))
    return enum


CONFIG_FILES = (
    *(f"prisma.config.{ext}" for ext in ("ts", "mts", "cts", "js", "mjs", "cjs")),
    ".config/prisma.ts",
)
_CONFIG_SCHEMA = re.compile(
    r"""\bschema\s*:\s*(?:(["'`])(?P<literal>[^"'`]+)\1|path\.(?:join|resolve)\((?P<parts>[^)]*)\))"""
)
_JS_STRING = re.compile(r"""^\s*(["'`])([^"'`]*)\1\s*$""")


def configured_schema_path(prisma_dir: Path) -> Path | None:
    """The ``schema`` a ``prisma.config.ts`` in ``prisma_dir`` or its parent names, if any.

    Only a string literal (or ``path.join`` of literals) is understood, resolved against the
    config file's folder as Prisma does; a path that does not exist is ignored, and so is a
    parent's config naming something outside ``prisma_dir`` (PRISMA_DIR is what is read).
    """
    for folder in (prisma_dir, prisma_dir.parent):
        for name in CONFIG_FILES:
            config = folder / name
            if not config.is_file():
                continue
            text = "\n".join(
                _strip_comment(line) for line in config.read_text(encoding="utf-8").splitlines()
            )
            match = _CONFIG_SCHEMA.search(text)
            if match is None:
                continue
            if match.group("literal") is not None:
                parts = [match.group("literal")]
            else:
                parts = _path_parts(match.group("parts"))
                if parts is None:
                    continue
            target = (config.parent.joinpath(*parts)).resolve()
            inside = folder == prisma_dir or target.is_relative_to(prisma_dir.resolve())
            if target.exists() and inside:
                return target
    return None


def _path_parts(arguments: str) -> list[str] | None:
    """``'prisma', "schema"`` -> [prisma, schema]; ``__dirname`` is the config's folder."""
    parts: list[str] = []
    for argument in arguments.split(","):
        if argument.strip() in ("__dirname", "import.meta.dirname"):
            continue
        literal = _JS_STRING.match(argument)
        if literal is None:
            return None
        parts.append(literal.group(2))
    return parts


def schema_files(prisma_dir: Path) -> list[Path]:
    """The ``*.prisma`` files Prisma reads for ``prisma_dir``, in a stable order.

    ``prisma.config.ts``'s ``schema`` when it names one (a file, or a folder); else every
    ``*.prisma`` under ``prisma_dir`` recursively (``schema.prisma``, ``schema/``,
    ``models/``… the layouts Prisma 6 and 7 accept), ``migrations/`` excepted.
    """
    target = configured_schema_path(prisma_dir) or prisma_dir
    if target.is_file():
        return [target]
    if not target.is_dir():
        return []
    return sorted(
        (
            path
            for path in target.rglob("*.prisma")
            if path.is_file() and "migrations" not in path.relative_to(target).parts[:-1]
        ),
        key=lambda path: path.relative_to(target).as_posix(),
    )


def load_schema(prisma_dir: Path) -> PrismaSchema | None:
    """Parse the schema files of ``prisma_dir`` as one schema; None when there are none."""
    files = schema_files(prisma_dir)
    if not files:
        return None
    schema = parse_schema("\n".join(f.read_text(encoding="utf-8") for f in files))
    schema.files = files
    return schema
