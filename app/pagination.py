"""Orderings and opaque, tamper-evident keyset cursors."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

import orjson

from app.core.errors import FieldError, UnprocessableError


class PageOrder(StrEnum):
    """`orderBy` values; a `-` prefix sorts descending. Ties are broken by `id`."""

    CREATED_AT = "createdAt"
    CREATED_AT_DESC = "-createdAt"
    UPDATED_AT = "updatedAt"
    UPDATED_AT_DESC = "-updatedAt"
    PUBLISHED_AT = "publishedAt"
    PUBLISHED_AT_DESC = "-publishedAt"
    TITLE = "title"
    TITLE_DESC = "-title"
    VIEWS = "views"
    VIEWS_DESC = "-views"

    @property
    def column(self) -> str:
        return self.value.removeprefix("-")

    @property
    def descending(self) -> bool:
        return self.value.startswith("-")


DATETIME_COLUMNS = frozenset({"createdAt", "updatedAt", "publishedAt"})


@dataclass(frozen=True, slots=True)
class Position:
    """Where the previous page ended: the sort value and id of its last row."""

    value: Any
    id: str


def _sign(payload: bytes, key: bytes) -> bytes:
    return hmac.new(key, payload, hashlib.sha256).digest()[:12]


def encode_cursor(order: PageOrder, position: Position, *, key: bytes) -> str:
    value = position.value
    if isinstance(value, datetime):
        value = value.isoformat()
    payload = orjson.dumps([order.value, value, position.id])
    token = payload + _sign(payload, key)
    return base64.urlsafe_b64encode(token).rstrip(b"=").decode()


def _invalid(detail: str) -> UnprocessableError:
    return UnprocessableError(detail, errors=[FieldError(field="query.cursor", message=detail)])


def decode_cursor(cursor: str, order: PageOrder, *, key: bytes) -> Position:
    """The position a cursor names; 422 when it is malformed, forged or for another order."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    except (binascii.Error, ValueError):
        raise _invalid("The cursor is malformed.") from None
    payload, signature = raw[:-12], raw[-12:]
    if len(raw) <= 12 or not hmac.compare_digest(signature, _sign(payload, key)):
        raise _invalid("The cursor is invalid or was altered.")
    try:
        cursor_order, value, page_id = orjson.loads(payload)
    except (orjson.JSONDecodeError, ValueError, TypeError):
        raise _invalid("The cursor is malformed.") from None
    if cursor_order != order.value:
        raise _invalid(
            f"The cursor was made for orderBy={cursor_order}; it cannot continue orderBy={order.value}."
        )
    if not isinstance(page_id, str) or not _valid_value(order, value):
        # Signed, so made by this service, but not in the shape this version reads (e.g. a
        # cursor from another release): refuse it like any other bad cursor, never a 500.
        raise _invalid("The cursor is malformed.")
    if order.column in DATETIME_COLUMNS and value is not None:
        value = datetime.fromisoformat(value)
    return Position(value=value, id=page_id)


_INT4 = 2**31


def _valid_value(order: PageOrder, value: Any) -> bool:
    """Whether `value` can be the sort value of a row in `order` (as `encode_cursor` wrote it)."""
    if value is None:
        return order.column == "publishedAt"
    if order.column in DATETIME_COLUMNS:
        if not isinstance(value, str):
            return False
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return False
        return parsed.tzinfo is None  # timestamps are naive UTC, as Prisma stores them
    if order.column == "views":
        return isinstance(value, int) and not isinstance(value, bool) and -_INT4 <= value < _INT4
    return isinstance(value, str)
