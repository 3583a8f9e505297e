"""Orderings and opaque, tamper-evident keyset cursors (one kind for every resource)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal, InvalidOperation
from enum import Enum, StrEnum
from typing import Any, cast
from uuid import UUID

import orjson

from app.core.errors import FieldError, UnprocessableError


class Order(StrEnum):
    """`orderBy` values of a resource; a `-` prefix sorts descending. Ties: the primary key."""

    @property
    def column(self) -> str:
        """The field sorted on (its Prisma name)."""
        return self.value.removeprefix("-")

    @property
    def descending(self) -> bool:
        return self.value.startswith("-")


def order_enum(name: str, fields: Sequence[str]) -> type[Order]:
    """The `orderBy` enum of a resource: each field ascending and descending."""
    members: dict[str, str] = {}
    for field in fields:
        upper = "".join(f"_{c}" if c.isupper() else c.upper() for c in field).lstrip("_")
        members[upper] = field
        members[f"{upper}_DESC"] = f"-{field}"
    order: type[Order] = Order(name, members)  # pyright: ignore[reportAssignmentType]
    order.__doc__ = "Sort field; `-` prefix for descending. Ties are broken by the id."
    return order


@dataclass(frozen=True, slots=True)
class Position:
    """Where the previous page ended: the sort value and the key of its last row."""

    value: Any
    id: Any


def _sign(payload: bytes, key: bytes) -> bytes:
    return hmac.new(key, payload, hashlib.sha256).digest()[:12]


def _plain(value: Any) -> Any:
    if isinstance(value, datetime) and value.tzinfo is not None:
        # A `timestamptz` row (asyncpg reads it aware): naive UTC, as every cursor carries it.
        return value.astimezone(UTC).replace(tzinfo=None).isoformat()
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Decimal | UUID):
        return str(value)
    if isinstance(value, tuple):
        return [_plain(item) for item in cast("tuple[Any, ...]", value)]
    if isinstance(value, Enum):
        return value.value
    return value


def encode_cursor(order: Order, position: Position, *, key: bytes) -> str:
    payload = orjson.dumps([order.value, _plain(position.value), _plain(position.id)])
    token = payload + _sign(payload, key)
    return base64.urlsafe_b64encode(token).rstrip(b"=").decode()


def _invalid(detail: str) -> UnprocessableError:
    return UnprocessableError(detail, errors=[FieldError(field="query.cursor", message=detail)])


class _MalformedError(ValueError):
    pass


_INT4 = 2**31
_INT8 = 2**63


def _int(value: Any, bound: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not -bound <= value < bound:
        raise _MalformedError
    return value


def _from_string(value: Any, parse: Any) -> Any:
    if not isinstance(value, str):
        raise _MalformedError
    try:
        return parse(value)
    except (ValueError, InvalidOperation):
        raise _MalformedError from None


def _naive_datetime(text: str) -> datetime:
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is not None:  # timestamps are naive UTC, as Prisma stores them
        raise ValueError(text)
    return parsed


def _float(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _MalformedError
    return float(value)


def _typed(kind: str | None, value: Any) -> Any:
    """A cursor value back in its column's Python type; `_MalformedError` when it cannot be one."""
    if kind == "datetime":
        return _from_string(value, _naive_datetime)
    if kind == "date":
        return _from_string(value, date.fromisoformat)
    if kind == "time":
        return _from_string(value, time.fromisoformat)
    if kind == "float":
        return _float(value)
    if kind == "decimal":
        return _from_string(value, Decimal)
    if kind == "uuid":
        return _from_string(value, UUID)
    if kind == "int":
        return _int(value, _INT4)
    if kind == "bigint":
        return _int(value, _INT8)
    if kind == "bool":
        if not isinstance(value, bool):
            raise _MalformedError
        return value
    if not isinstance(value, str):
        raise _MalformedError
    return value


def _typed_id(kinds: Sequence[str | None], value: Any) -> Any:
    """The tie-breaking key of a position: one value, or a list of them for a composite key."""
    if len(kinds) == 1:
        return _typed(kinds[0], value)
    if not isinstance(value, list) or len(cast("list[Any]", value)) != len(kinds):
        raise _MalformedError
    return tuple(
        _typed(kind, item) for kind, item in zip(kinds, cast("list[Any]", value), strict=True)
    )


def decode_cursor(
    cursor: str,
    order: Order,
    *,
    key: bytes,
    value_kind: str | None = "str",
    nullable: bool = False,
    id_kinds: Sequence[str | None] = ("str",),
) -> Position:
    """The position a cursor names; 422 when it is malformed, forged or for another order."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    except (binascii.Error, ValueError):
        raise _invalid("The cursor is malformed.") from None
    payload, signature = raw[:-12], raw[-12:]
    if len(raw) <= 12 or not hmac.compare_digest(signature, _sign(payload, key)):
        raise _invalid("The cursor is invalid or was altered.")
    try:
        cursor_order, value, row_id = orjson.loads(payload)
    except (orjson.JSONDecodeError, ValueError, TypeError):
        raise _invalid("The cursor is malformed.") from None
    if cursor_order != order.value:
        raise _invalid(
            f"The cursor was made for orderBy={cursor_order}; it cannot continue orderBy={order.value}."
        )
    try:
        # Signed, so made by this service, but maybe not in the shape this version reads (a
        # cursor from another release): refuse it like any other bad cursor, never a 500.
        typed_id = _typed_id(id_kinds, row_id)
        if value is None:
            if not nullable:
                raise _MalformedError
            return Position(value=None, id=typed_id)
        return Position(value=_typed(value_kind, value), id=typed_id)
    except _MalformedError:
        raise _invalid("The cursor is malformed.") from None
