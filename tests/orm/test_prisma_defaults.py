"""Formats of the client-side defaults Prisma applies (app/prisma_defaults.py)."""

from __future__ import annotations

import enum
import os
import re
import time
import uuid
from datetime import UTC, datetime

import pytest

from app import prisma_defaults as d


def test_cuid_v1_format_and_uniqueness() -> None:
    ids = [d.cuid() for _ in range(2000)]
    assert all(re.fullmatch(r"c[a-z0-9]{24}", i) for i in ids)
    assert len(set(ids)) == len(ids)
    # c + 8 timestamp + 4 counter + 4 fingerprint + 8 random; timestamp is base36 ms.
    stamp = int(ids[0][1:9], 36)
    assert abs(stamp - time.time() * 1000) < 60_000
    # The counter block increments between consecutive ids.
    first, second = int(ids[0][9:13], 36), int(ids[1][9:13], 36)
    assert second == (first + 1) % 36**4
    # The fingerprint is per process.
    assert len({i[13:17] for i in ids}) == 1


def test_a_forked_worker_has_its_own_cuid_fingerprint() -> None:
    parent = d.cuid()[13:17]  # computed and kept in this process
    assert parent[:2] == d._pad(d._to_base36(os.getpid()), 2)  # pyright: ignore[reportPrivateUsage]
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: as a worker forked after import (gunicorn --preload)
        os.write(write, d.cuid()[13:17].encode())
        os._exit(0)
    os.close(write)
    child = os.read(read, 16).decode()
    os.close(read)
    os.waitpid(pid, 0)
    assert child[:2] == d._pad(d._to_base36(pid), 2)  # pyright: ignore[reportPrivateUsage]
    assert child[2:] == parent[2:]  # the same host


def test_cuid2_format() -> None:
    ids = [d.cuid2() for _ in range(500)]
    assert all(re.fullmatch(r"[a-z][a-z0-9]{23}", i) for i in ids)
    assert len(set(ids)) == len(ids)
    assert re.fullmatch(r"[a-z][a-z0-9]{9}", d.cuid2(10))


def test_uuids() -> None:
    v4 = d.uuid4()
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", v4)
    v7 = d.uuid7()
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", v7)
    obj7 = d.uuid7_value()
    assert isinstance(obj7, uuid.UUID)
    assert obj7.version == 7
    assert obj7.variant == uuid.RFC_4122
    assert abs((obj7.int >> 80) - time.time() * 1000) < 60_000
    assert d.uuid4_value().version == 4
    # time-ordered across milliseconds
    earlier = d.uuid7()
    time.sleep(0.002)
    assert d.uuid7() > earlier


def test_nanoid_and_ulid() -> None:
    assert re.fullmatch(r"[A-Za-z0-9_-]{21}", d.nanoid())
    assert re.fullmatch(r"[A-Za-z0-9_-]{10}", d.nanoid(10))
    value = d.ulid()
    assert re.fullmatch(r"[0-9A-HJKMNP-TV-Z]{26}", value)
    assert value[0] in "01234567"  # 48-bit timestamp in 10 chars: the first is 0..7
    earlier = d.ulid()
    time.sleep(0.002)
    assert d.ulid()[:10] > earlier[:10]


def test_utcnow_is_naive_utc_milliseconds() -> None:
    now = d.utcnow()
    assert now.tzinfo is None
    assert now.microsecond % 1000 == 0
    assert abs(now - datetime.now(UTC).replace(tzinfo=None)).total_seconds() < 5


def test_enum_values() -> None:
    class Color(enum.StrEnum):
        RED = "red"
        BLUE = "blue"

    assert d.enum_values(Color) == ["red", "blue"]


def test_cuid_blocks_are_cuids_pad_of_base36() -> None:
    """The pair-table blocks equal cuid's `pad(base36(n), 4)` (and 8 for the timestamp)."""
    import random

    rng = random.Random(14)
    numbers = [0, 1, 35, 36, 1295, 1296, 36**4 - 1, 36**4, 36**8 - 1, 36**8 + 5]
    numbers += [rng.randrange(36**9) for _ in range(5000)]
    for n in numbers:
        assert d._block(n) == d._pad(d._to_base36(n), 4)  # pyright: ignore[reportPrivateUsage]
        eight = d._block(n // 36**4) + d._block(n)  # pyright: ignore[reportPrivateUsage]
        assert eight == d._pad(d._to_base36(n), 8)  # pyright: ignore[reportPrivateUsage]


def test_cuid_random_blocks_cover_their_range() -> None:
    ids = [d.cuid() for _ in range(3000)]
    firsts = {i[17:21] for i in ids}
    seconds = {i[21:25] for i in ids}
    assert len(firsts) > 2900
    assert len(seconds) > 2900  # both blocks vary (at most a few repeats among 36**4 values)
    assert {c for i in ids for c in i[17:25]} == set("0123456789abcdefghijklmnopqrstuvwxyz")


def test_a_forked_worker_draws_other_random_blocks_than_its_parent() -> None:
    d.cuid()  # the parent has read random bytes ahead
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: as a worker forked after import (gunicorn --preload)
        os.write(write, "".join(d.cuid()[17:25] for _ in range(20)).encode())
        os._exit(0)
    os.close(write)
    child = os.read(read, 4096).decode()
    os.close(read)
    os.waitpid(pid, 0)
    parent = "".join(d.cuid()[17:25] for _ in range(20))
    assert len(child) == len(parent) == 160
    child_blocks = {child[i : i + 8] for i in range(0, 160, 8)}
    parent_blocks = {parent[i : i + 8] for i in range(0, 160, 8)}
    assert not child_blocks & parent_blocks


def test_cuid_random_draws_reject_the_uneven_top_of_48_bits(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # 48 random bits are kept only below the largest multiple of 36**8: no value is likelier.
    chunks = iter([b"\xff" * 6 + (5).to_bytes(6, "big") + b"\x00" * 4084])
    monkeypatch.setattr(d.os, "urandom", lambda size: next(chunks))
    monkeypatch.setattr(d, "_random_bytes", b"")
    monkeypatch.setattr(d, "_random_at", 0)
    assert d._random_pair() == 5  # pyright: ignore[reportPrivateUsage]
    assert d._random_pair() == 0  # pyright: ignore[reportPrivateUsage]
