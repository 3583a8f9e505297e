"""The wire format: JSON keys are Prisma field names, values are what Prisma's client sends.

Each column type of the generated models has one wire type here: how a value is written to
JSON (`to_json`), how it is accepted from JSON (an annotated pydantic type) and how both are
documented in OpenAPI. `app.resource` builds every resource's models from these. JSON keys are
the Prisma field names verbatim (`createdAt`, `created_at`): no case conversion.

| Prisma type (PostgreSQL) | JSON out | JSON in |
|---|---|---|
| `String` (`text`, `@db.VarChar(n)`, `@db.Char(n)`) | as stored | a string (≤ n characters; no NUL) |
| `Int` (`integer`, `@db.SmallInt`, `@db.Oid`) | a number | an integer within the column's range |
| `BigInt` (`bigint`) | `"9007199254740993"` | a string of digits or an integer (64 bits) |
| `Float` (`double precision`, `@db.Real`) | a number | a finite number (NaN/Infinity refused) |
| `Decimal` (any precision, default `DECIMAL(65,30)`; `@db.Money`) | `"12.5"` (decimal.js `toJSON()`), every digit | a string or a number; more digits than the column holds: 422, never rounded |
| `Boolean` | `true` / `false` | a boolean |
| `DateTime` (`@db.Timestamp(n)`, `@db.Timestamptz(n)`) | `"2026-11-22T10:00:00.000Z"` | ISO 8601 (no offset: UTC), kept to the millisecond |
| `DateTime @db.Date` | `"2026-11-22T00:00:00.000Z"` | the same, or `"2026-11-22"` |
| `DateTime @db.Time(n)` / `@db.Timetz(n)` | `"1970-01-01T10:30:00.000Z"` | an ISO 8601 date-time (its UTC time of day) or `"10:30:00"` |
| `Json` (`jsonb`, `json`) | the stored value | any JSON value (≤ 64 KiB, ≤ 32 levels); `null` on `Json?` is SQL NULL |
| `Bytes` (`bytea`) | base64 (`Buffer.toString('base64')`) | base64, standard alphabet (padding optional) |
| `String @db.Uuid` | canonical lowercase | any standard spelling |
| enums | the Prisma member name | the Prisma member name only (`@map`ped values translated) |
| `X[]` | a list of the above (`[]` when unset) | a list of the above (≤ 100 items) |
| anything else (`citext`, `inet`, `tsvector`, `Unsupported`) | its text | a string (a warning at start names the column) |
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import MAX_EMAX, MIN_EMIN, Context, Decimal, InvalidOperation
from enum import Enum
from functools import cache
from typing import Annotated, Any
from uuid import UUID

import orjson
from loguru import logger
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    JsonValue,
    PlainSerializer,
    StringConstraints,
    WithJsonSchema,
)
from pydantic.alias_generators import to_camel
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    Integer,
    LargeBinary,
    Numeric,
    SmallInteger,
    String,
    Time,
    Uuid,
)
from sqlalchemy import Enum as SAEnum
from sqlalchemy.dialects.postgresql import ARRAY, MONEY, OID, REAL

SLUG_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
MAX_METADATA_BYTES = 64 * 1024
MAX_METADATA_DEPTH = 32
MAX_TEXT_LENGTH = 10_000
MAX_LIST_ITEMS = 100
INT4_MIN, INT4_MAX = -(2**31), 2**31 - 1
INT8_MIN, INT8_MAX = -(2**63), 2**63 - 1
INT2_MIN, INT2_MAX = -(2**15), 2**15 - 1
OID_MAX = 2**32 - 1
REAL_MAX = 3.4028234663852886e38  # float4: PostgreSQL refuses beyond it
# PostgreSQL's `numeric` without a precision: up to 131072 digits before the point, 16383 after.
NUMERIC_MAX_INTEGER_DIGITS = 131_072
NUMERIC_MAX_SCALE = 16_383
# Decimal arithmetic here never rounds: Python's default context keeps 28 significant digits,
# a `DECIMAL(65,30)` value has up to 65.
EXACT = Context(prec=NUMERIC_MAX_INTEGER_DIGITS + NUMERIC_MAX_SCALE, Emax=MAX_EMAX, Emin=MIN_EMIN)


def wire_name(column: Column[Any]) -> str:
    """The Prisma field name of a column: the generator records it for `@map("page_id")`
    columns (`info={"prisma": "pageId"}`); otherwise it is the column name."""
    mapped = column.info.get("prisma")
    # str(): SQLAlchemy's names are `quoted_name`, a str subclass orjson refuses as a key.
    return str(mapped) if isinstance(mapped, str) else str(column.name)


# ------------------------------------------------------------------------------ validators


def _no_nul(value: str) -> str:
    # PostgreSQL text cannot hold NUL; refuse it up front rather than fail in the driver.
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    return value


def text_type(*, min_length: int = 0, max_length: int = MAX_TEXT_LENGTH) -> Any:
    """A `String` input: bounded, without NUL characters."""
    return Annotated[
        str,
        StringConstraints(min_length=min_length, max_length=max_length),
        AfterValidator(_no_nul),
    ]


def name_type(*, max_length: int) -> Any:
    """A `String` that must say something: 1 to `max_length` characters, not blank."""
    return Annotated[
        str,
        StringConstraints(min_length=1, max_length=max_length),
        AfterValidator(_not_blank),
        AfterValidator(_no_nul),
    ]


Title = name_type(max_length=200)
Slug = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=SLUG_PATTERN)]
Summary = text_type(max_length=500)
Body = text_type(max_length=200_000)
TagName = Annotated[str, StringConstraints(min_length=1, max_length=64), AfterValidator(_no_nul)]
Tags = Annotated[list[TagName], Field(max_length=32)]
Views = Annotated[int, Field(ge=0, le=INT4_MAX)]
ForeignId = Annotated[int, Field(ge=1, le=INT4_MAX)]
Int4 = Annotated[int, Field(ge=INT4_MIN, le=INT4_MAX)]


def _depth(value: Any, level: int = 1) -> int:
    """Nesting depth, stopping early past the limit; refuses numbers JSON cannot carry."""
    if isinstance(value, float) and not math.isfinite(value):
        # Python's JSON parser accepts NaN/Infinity; PostgreSQL's jsonb does not.
        raise ValueError("must not contain NaN or Infinity")
    if isinstance(value, dict):
        children: list[Any] = list(value.values())  # pyright: ignore[reportUnknownArgumentType]
    elif isinstance(value, list):
        children = list(value)  # pyright: ignore[reportUnknownArgumentType]
    else:
        return level
    deepest = level
    for child in children:
        deepest = max(deepest, _depth(child, level + 1))
        if deepest > MAX_METADATA_DEPTH:
            break
    return deepest


def _check_json(value: JsonValue) -> JsonValue:
    """Any JSON value Prisma's `Json` takes, within the limits (size, depth, no NUL, no NaN)."""
    if value is None:
        # A `Json` field cannot be null; a `Json?` one takes null before this (SQL NULL, DbNull).
        raise ValueError("must be a JSON value, not null")
    if _depth(value) > MAX_METADATA_DEPTH:
        raise ValueError(f"must not nest deeper than {MAX_METADATA_DEPTH} levels")
    try:
        encoded = orjson.dumps(value)
    except TypeError as exc:
        if "64-bit" in str(exc):
            raise ValueError("must not contain integers beyond 64 bits") from None
        # orjson refuses lone surrogates ("\ud800"): PostgreSQL could not store them either.
        raise ValueError("must contain valid Unicode text only") from None
    if len(encoded) > MAX_METADATA_BYTES:
        raise ValueError(
            f"must serialise to at most {MAX_METADATA_BYTES} bytes (got {len(encoded)})"
        )
    if b"\\u0000" in encoded:
        raise ValueError("must not contain NUL characters")
    return value


JsonInput = Annotated[
    JsonValue,
    AfterValidator(_check_json),
    WithJsonSchema({"description": "Any JSON value: object, array, string, number or boolean"}),
]
# The example's `metadata` field (an object): kept for declarations that want only objects.
JsonObject = Annotated[dict[str, JsonValue], AfterValidator(_check_json)]


def _iso_only(value: Any) -> Any:
    # Pydantic would take a number as a Unix timestamp; the contract says ISO 8601 strings.
    if isinstance(value, int | float):
        raise ValueError("must be an ISO 8601 date-time string")
    return value


def to_naive_utc(value: datetime) -> datetime:
    """Prisma stores `TIMESTAMP(3)` without time zone, in UTC, to the millisecond."""
    if value.tzinfo is not None:
        try:
            value = value.astimezone(UTC).replace(tzinfo=None)
        except OverflowError:
            raise ValueError("is out of range once converted to UTC") from None
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


IsoDatetime = Annotated[datetime, BeforeValidator(_iso_only), AfterValidator(to_naive_utc)]

_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _date_input(value: Any) -> date:
    """`2026-01-31` or an ISO date-time (its UTC calendar day, as `@db.Date` stores it)."""
    if not isinstance(value, str):
        raise ValueError("must be a date (YYYY-MM-DD) or an ISO 8601 date-time string")
    try:
        if _DATE_ONLY.match(value):
            return date.fromisoformat(value)
        return to_naive_utc(datetime.fromisoformat(value.replace("Z", "+00:00"))).date()
    except ValueError:
        raise ValueError("must be a date (YYYY-MM-DD) or an ISO 8601 date-time string") from None


IsoDate = Annotated[
    date,
    BeforeValidator(_date_input),
    WithJsonSchema({"type": "string", "format": "date-time", "examples": ["2026-01-31"]}),
]

_TIME_ONLY = re.compile(r"^\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$")
_TIME_MESSAGE = "must be an ISO 8601 date-time (its UTC time of day is kept) or a time HH:MM:SS"


def _time_of_day(value: Any) -> time:
    """`@db.Time`: Prisma sends a whole date-time and keeps its UTC time of day."""
    if not isinstance(value, str):
        raise ValueError(_TIME_MESSAGE)
    text = value.strip().replace("z", "Z")
    try:
        if _TIME_ONLY.match(text):
            parsed = time.fromisoformat(text.replace("Z", "+00:00"))
            moment = datetime.combine(date(1970, 1, 1), parsed)
        else:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(_TIME_MESSAGE) from None
    return to_naive_utc(moment).time()


def _aware(value: time) -> time:
    # asyncpg refuses a naive time for `timetz`: the time of day is UTC.
    return value.replace(tzinfo=UTC)


IsoTime = Annotated[
    time,
    BeforeValidator(_time_of_day),
    WithJsonSchema(
        {
            "type": "string",
            "format": "date-time",
            "description": "A time of day: an ISO 8601 date-time (UTC) or HH:MM:SS",
            "examples": ["1970-01-01T10:30:00.000Z"],
        }
    ),
]
IsoTimeTz = Annotated[IsoTime, AfterValidator(_aware)]

_BIGINT = re.compile(r"^-?\d{1,20}$")


def _bigint_input(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError("must be an integer or a string of digits")
    if isinstance(value, str):
        if not _BIGINT.match(value):
            raise ValueError("must be an integer or a string of digits")
        value = int(value)
    if not INT8_MIN <= value <= INT8_MAX:
        raise ValueError("must fit in 64 bits (BigInt)")
    return value


BigIntInput = Annotated[
    int,
    BeforeValidator(_bigint_input),
    WithJsonSchema(
        {
            "anyOf": [{"type": "string", "pattern": r"^-?\d+$"}, {"type": "integer"}],
            "description": "BigInt: a string of digits (JavaScript-safe) or an integer",
        }
    ),
]
Int2 = Annotated[int, Field(ge=INT2_MIN, le=INT2_MAX)]
Oid = Annotated[int, Field(ge=0, le=OID_MAX)]


def float_input(*, limit: float | None = None) -> Any:
    """A `Float`: a finite JSON number (`@db.Real`: within float4's range)."""

    def parse(value: Any) -> float:
        # A string is taken as pydantic takes one for an integer (query parameters are text).
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise ValueError("must be a number")
        try:
            number = float(value)
        except OverflowError:
            number = math.inf
        except ValueError:
            raise ValueError("must be a number") from None
        if not math.isfinite(number):
            raise ValueError("must be a finite number (not NaN or Infinity)")
        if limit is not None and abs(number) > limit:
            raise ValueError(f"must be at most {limit:g} in magnitude (a 4-byte float)")
        return number

    return Annotated[float, BeforeValidator(parse), WithJsonSchema({"type": "number"})]


_DECIMAL = re.compile(r"^-?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$")
_DECIMAL_MESSAGE = "must be a decimal number or a string holding one"


def _decimal(value: Any) -> Decimal:
    """The exact number a JSON value spells (a number's shortest repr: `0.1` is 0.1)."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(_DECIMAL_MESSAGE)
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("must be a finite decimal number")
    text = (value if isinstance(value, str) else repr(value)).strip()
    if not _DECIMAL.match(text):
        raise ValueError(_DECIMAL_MESSAGE)
    try:
        return Decimal(text)  # exact whatever the context
    except InvalidOperation:
        raise ValueError(_DECIMAL_MESSAGE) from None


def decimal_input(precision: int | None, scale: int | None) -> Any:
    """A `Decimal @db.Decimal(p, s)` input (None: PostgreSQL's unbounded `numeric`): a string or
    a number, refused rather than rounded."""
    integer_digits = NUMERIC_MAX_INTEGER_DIGITS if precision is None else precision - (scale or 0)
    max_scale = NUMERIC_MAX_SCALE if precision is None and scale is None else scale or 0
    limit = EXACT.power(10, integer_digits)

    def parse(value: Any) -> Decimal:
        number = _decimal(value)
        # The magnitude first: quantizing 1e30 to cents is a 32-digit number.
        if number.copy_abs() >= limit:  # exact: abs() rounds (and overflows past 1e999999)
            raise ValueError(f"must have at most {integer_digits} digits before the point")
        exponent = number.normalize(EXACT).as_tuple().exponent
        if isinstance(exponent, int) and -exponent > max_scale:
            raise ValueError(f"must have at most {max_scale} digits after the decimal point")
        return number

    description = "Decimal" if precision is None else f"Decimal({precision}, {scale or 0})"
    return Annotated[
        Decimal,
        BeforeValidator(parse),
        WithJsonSchema(
            {
                "anyOf": [
                    {"type": "string", "pattern": r"^-?\d+(\.\d+)?([eE][-+]?\d+)?$"},
                    {"type": "number"},
                ],
                "description": f"{description}: a string (exact) or a number",
            }
        ),
    ]


_BASE64 = re.compile(r"^[A-Za-z0-9+/]*={0,2}$")


def _bytes_input(value: Any) -> bytes:
    """`Bytes`: base64 as `Buffer.toString('base64')` writes it (padding may be left out)."""
    if not isinstance(value, str) or not _BASE64.match(value):
        raise ValueError("must be base64 (standard alphabet A-Z a-z 0-9 + /)")
    text = value.rstrip("=")
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("must be base64 (standard alphabet A-Z a-z 0-9 + /)") from None


BytesInput = Annotated[
    bytes,
    BeforeValidator(_bytes_input),
    WithJsonSchema(
        {"type": "string", "format": "byte", "description": "Bytes as base64 (standard alphabet)"}
    ),
]


# ------------------------------------------------------------------------------ JSON out


_TWO_DIGITS = tuple(f"{n:02}" for n in range(60))
_MILLIS = tuple(f".{n:03}Z" for n in range(1000))
_DAYS_KEPT = 65_536
_days: dict[int, str] = {}  # date ordinal -> "YYYY-MM-DDT"


def iso_utc(value: datetime | None) -> str | None:
    """`2026-11-22T10:00:00.000Z`, as JavaScript's `Date.toISOString()` writes it.

    Assembled from tables (the day's text is kept per date) rather than by `isoformat`, which
    took ~1 µs a call here: a 20-row list formats 40 to 60 of them.
    """
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    day = _days.get(ordinal := value.toordinal())
    if day is None:
        if len(_days) >= _DAYS_KEPT:
            _days.clear()
        day = _days[ordinal] = value.date().isoformat() + "T"
    two = _TWO_DIGITS
    return f"{day}{two[value.hour]}:{two[value.minute]}:{two[value.second]}{_MILLIS[value.microsecond // 1000]}"


def iso_date(value: date | None) -> str | None:
    """A `@db.Date` as Prisma returns it: midnight UTC."""
    if value is None:
        return None
    if isinstance(value, datetime):
        value = value.date()
    return f"{value.isoformat()}T00:00:00.000Z"


def decimal_json(value: Decimal | float | int | str | None) -> str | None:
    """What decimal.js's `toJSON()` gives: every digit, no trailing zeros, an exponent only
    when extreme (computed in an exact context: the default one rounds to 28 digits)."""
    if value is None:
        return None
    number = value if isinstance(value, Decimal) else Decimal(value)
    if number.is_zero():
        return "0"
    number = number.normalize(EXACT)
    exponent = number.adjusted()
    if exponent >= 21 or exponent <= -7:
        return f"{number:e}".replace("E", "e")
    return format(number, "f")


_MONEY_JUNK = re.compile(r"[^0-9.\-]")


def money_json(value: Decimal | str | None) -> str | None:
    """`@db.Money` as a Decimal string: asyncpg reads it as text (`$1,234.50`, `-$3.00`)."""
    if value is None or isinstance(value, Decimal):
        return decimal_json(value)
    text = value.strip()
    negative = text.startswith("(") or "-" in text
    return decimal_json(("-" if negative else "") + _MONEY_JUNK.sub("", text).lstrip("-"))


def bytes_json(value: bytes | bytearray | memoryview | None) -> str | None:
    """`Bytes` as Node's `Buffer.toString('base64')` writes them."""
    if value is None:
        return None
    return base64.b64encode(value).decode("ascii")


_EPOCH = date(1970, 1, 1)


def time_json(value: time | None) -> str | None:
    """`@db.Time` as Prisma returns it: that time of day on 1970-01-01, UTC."""
    if value is None:
        return None
    moment = datetime.combine(_EPOCH, value)
    if moment.tzinfo is not None:
        moment = datetime.combine(_EPOCH, moment.astimezone(UTC).time())
    return iso_utc(moment)


def text_json(value: Any) -> str | None:
    """A column of a type with no wire type of its own, as text (`inet`, `tsvector`, `bit`)."""
    if value is None or isinstance(value, str):
        return value
    as_string = getattr(value, "as_string", None)  # asyncpg's BitString: `0101`
    return str(as_string() if callable(as_string) else value)


def _string_or_none(value: Any) -> str | None:
    return None if value is None else str(value)


def _enum_value(value: Any) -> Any:
    return value.value if isinstance(value, Enum) else value


class EnumNames(dict[Any, str]):
    """An enum's encoder: member or database value → Prisma name (`row_encoder` inlines the
    lookup). The generator names members as Prisma does and gives them the `@map`ped values."""

    def __call__(self, value: Any) -> Any:
        return self.get(value) or self.other(value)

    @staticmethod
    def other(value: Any) -> Any:
        """A value the enum does not know (None; a value added since `make orm`): as it is."""
        return value.name if isinstance(value, Enum) else value


@cache
def enum_names(enum_class: type[Enum]) -> EnumNames:
    names = EnumNames()
    for member in enum_class:
        names[member.value] = member.name
        names[member] = member.name
    return names


def row_encoder(
    fields: Sequence[tuple[str, str, Callable[[Any], Any] | None]],
) -> Callable[[Any], dict[str, Any]]:
    """`row -> {key: encode(row[column]), ...}` for (key, column, encoder or None) in order.

    Built from source as one dict display (as `dataclasses` builds `__init__`): a loop over the
    fields with a call per encoder was 8% of a 20-row list's CPU. Enums (a dict lookup) and plain
    lists are encoded inline, dates (`iso_utc`) only when not null; keys and columns enter the source only
    as `repr()` literals.
    """
    namespace: dict[str, Any] = {"iso_utc": iso_utc, "Enum": Enum}
    items: list[str] = []
    for n, (key, column, encode) in enumerate(fields):
        value = f"row[{column!r}]"
        if encode is None:
            items.append(f"{key!r}: {value}")
        elif encode is iso_utc:
            items.append(f"{key!r}: None if (v{n} := {value}) is None else iso_utc(v{n})")
        elif encode is plain_list:
            items.append(f"{key!r}: list(v{n}) if (v{n} := {value}) else []")
        elif encode is _enum_value:
            items.append(f"{key!r}: v{n}.value if isinstance(v{n} := {value}, Enum) else v{n}")
        elif isinstance(encode, EnumNames):
            namespace[f"names{n}"] = encode
            items.append(f"{key!r}: names{n}.get(v{n} := {value}) or names{n}.other(v{n})")
        else:
            namespace[f"encode{n}"] = encode
            items.append(f"{key!r}: encode{n}({value})")
    source = "def to_json(row):\n    return {" + ", ".join(items) + "}\n"
    exec(source, namespace)
    return namespace["to_json"]


# ------------------------------------------------------------------------------ wire types


@dataclass(frozen=True, slots=True)
class WireType:
    """How one column travels: its JSON encoder (None: as is) and its pydantic types."""

    to_json: Callable[[Any], Any] | None
    output: Any
    input: Any
    # A value that sorts in a cursor (see app.pagination): the JSON kind of the encoded value.
    cursor_kind: str | None
    # A list column's item (the `has` filter takes one).
    item: WireType | None = None
    # A list item read back as text (SQLite keeps lists as JSON) → the column's Python value.
    from_text: Callable[[str], Any] | None = None


def plain_list(values: Any) -> list[Any]:
    """A list column whose items go out as they are (inlined by `row_encoder`)."""
    return list(values) if values else []


def _array(item: WireType) -> WireType:
    to_json = plain_list
    convert, revive = item.to_json, item.from_text
    if convert is not None and revive is not None:

        def to_json(values: Any) -> list[Any]:
            if not values:
                return []
            return [convert(revive(v) if isinstance(v, str) else v) for v in values]

    elif convert is not None:

        def to_json(values: Any) -> list[Any]:
            return [convert(v) for v in values] if values else []

    return WireType(
        to_json=to_json,
        output=list[item.output],
        input=Annotated[list[item.input], Field(max_length=MAX_LIST_ITEMS)],
        cursor_kind=None,
        item=item,
    )


def _datetime_from_text(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _enum(enum_class: type[Enum]) -> WireType:
    """Enums travel by Prisma name: the OpenAPI enum lists the names, inputs take only those."""
    wire_class = _wire_enum(enum_class)

    def member(value: Enum) -> Enum:
        return enum_class[value.name]

    # The validated value is the model's own member (its `@map`ped value goes to the database);
    # dumped as it is, not as the wire enum.
    accepted = Annotated[wire_class, AfterValidator(member), PlainSerializer(_same)]
    return WireType(enum_names(enum_class), wire_class, accepted, "str")


def _same(value: Any) -> Any:
    return value


@cache
def _wire_enum(enum_class: type[Enum]) -> type[Enum]:
    """The enum as the API spells it (the OpenAPI schema of the same name): names only."""
    members = {member.name: member.name for member in enum_class}
    if all(member.name == member.value for member in enum_class):
        return enum_class  # already spelled by name: its own schema, as before
    wire: Any = Enum(enum_class.__name__, members, type=str, module=enum_class.__module__)
    wire.__doc__ = enum_class.__doc__
    return wire


def _datetime(kind: DateTime) -> WireType:
    description = "ISO 8601 UTC (`Z`), to the millisecond"
    output = Annotated[datetime, Field(description=description)]
    return WireType(iso_utc, output, IsoDatetime, "datetime", from_text=_datetime_from_text)


def _time(kind: Time) -> WireType:
    output = Annotated[
        datetime, Field(description="A time of day as Prisma returns it: 1970-01-01, UTC")
    ]
    accepted = IsoTimeTz if kind.timezone else IsoTime
    return WireType(time_json, output, accepted, "time", from_text=time.fromisoformat)


def _decimal_wire(
    precision: int | None, scale: int | None, to_json: Any = decimal_json
) -> WireType:
    output = Annotated[
        str,
        Field(
            pattern=r"^-?\d+(\.\d+)?(e[-+]\d+)?$",
            description="Decimal as a string with the exact value (Prisma `Decimal`)",
            examples=["12.5"],
        ),
    ]
    return WireType(to_json, output, decimal_input(precision, scale), "decimal", from_text=Decimal)


def _text(kind: Any, where: str) -> WireType:
    """A column type with no wire type: served as text, with one warning at start."""
    if where not in _WARNED:
        _WARNED.add(where)
        logger.warning(
            "column {} has type {} with no wire type of its own: served as a string",
            where,
            type(kind).__name__,
        )
    return WireType(text_json, str, text_type(), "str")


_WARNED: set[str] = set()


def wire_type(column: Column[Any]) -> WireType:
    """The wire type of a column of the generated models (any type: unknown ones as text)."""
    table = getattr(column, "table", None)
    return _wire_type(column.type, f"{getattr(table, 'name', '?')}.{column.name}")


def _wire_type(kind: Any, where: str) -> WireType:
    if isinstance(kind, ARRAY):
        item_type: Any = kind.item_type  # pyright: ignore[reportUnknownMemberType, reportUnknownVariableType]
        return _array(_wire_type(item_type, where))
    if isinstance(kind, SAEnum) and kind.enum_class is not None:
        return _enum(kind.enum_class)
    if isinstance(kind, DateTime):
        return _datetime(kind)
    if isinstance(kind, Date):
        output = Annotated[datetime, Field(description="ISO 8601, midnight UTC (`@db.Date`)")]
        return WireType(iso_date, output, IsoDate, "date", from_text=date.fromisoformat)
    if isinstance(kind, Time):
        return _time(kind)
    if isinstance(kind, Float):
        limit = REAL_MAX if isinstance(kind, REAL) else None
        return WireType(None, float, float_input(limit=limit), "float")
    if isinstance(kind, Numeric):
        return _decimal_wire(kind.precision, kind.scale)
    if isinstance(kind, MONEY):
        # asyncpg reads and writes `money` as text: the input goes as a plain decimal string.
        wire = _decimal_wire(None, 2, money_json)
        return WireType(
            wire.to_json,
            wire.output,
            Annotated[wire.input, AfterValidator(_plain_decimal)],
            None,
        )
    if isinstance(kind, BigInteger):
        output = Annotated[
            str,
            Field(pattern=r"^-?\d+$", description="BigInt as a string of digits (JS-safe)"),
        ]
        return WireType(_string_or_none, output, BigIntInput, "bigint", from_text=int)
    if isinstance(kind, SmallInteger):
        return WireType(None, int, Int2, "int")
    if isinstance(kind, Integer):
        return WireType(None, int, Int4, "int")
    if isinstance(kind, OID):
        return WireType(None, int, Oid, "bigint")
    if isinstance(kind, Boolean):
        return WireType(None, bool, bool, "bool")
    if isinstance(kind, Uuid):
        return WireType(_string_or_none, UUID, UUID, "uuid")
    if isinstance(kind, JSON):
        output = Annotated[
            JsonValue, Field(description="Any JSON value Prisma stored; null when unset")
        ]
        return WireType(None, output, JsonInput, None)
    if isinstance(kind, LargeBinary):
        output = Annotated[
            str, Field(description="Bytes as base64", json_schema_extra={"format": "byte"})
        ]
        return WireType(bytes_json, output, BytesInput, None, from_text=base64.b64decode)
    if isinstance(kind, String):
        length = kind.length
        return WireType(None, str, text_type(max_length=length or MAX_TEXT_LENGTH), "str")
    return _text(kind, where)


def _plain_decimal(value: Decimal) -> str:
    return format(value, "f")


# ------------------------------------------------------------------------------ base models


def strip_defaults(schema: dict[str, Any]) -> None:
    # openapi-typescript makes a property with a `default` required; inputs must stay optional.
    for prop in schema.get("properties", {}).values():
        if isinstance(prop, dict):
            prop.pop("default", None)  # pyright: ignore[reportUnknownMemberType]


def _title(name: str, _info: object) -> str:
    # Schema titles are the JSON names (`publishedAt`, `created_at`), not pydantic's `Publishedat`.
    return name


class InputModel(BaseModel):
    """Request bodies: keys are the Prisma field names verbatim, unknown keys refused."""

    model_config = ConfigDict(
        field_title_generator=_title,
        extra="forbid",
        json_schema_extra=strip_defaults,
    )


class RecordModel(BaseModel):
    """A row of a Prisma model (documentation only: rows are encoded without validation);
    keys are the Prisma field names verbatim (`created_at` stays `created_at`)."""

    model_config = ConfigDict(field_title_generator=_title)


def _camel_title(name: str, _info: object) -> str:
    return to_camel(name)


class OutputModel(BaseModel):
    """The API's own response documents (diagnostics, list envelopes): camelCase keys."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, field_title_generator=_camel_title
    )


class ListOf(OutputModel):
    """Fields of every list response; `data` is added per resource."""

    nextCursor: str | None = Field(  # noqa: N815
        description="Pass as `cursor` for the next page; null on the last page"
    )
    count: int | None = Field(description="Total matching rows, with `count=true`; else null")
