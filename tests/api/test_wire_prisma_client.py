"""Prisma Client and app-api on one PostgreSQL database, for every Prisma scalar type.

A row the API writes is what Prisma Client reads (the same JSON a TypeScript caller gets from
it), and a row Prisma Client writes is what the API returns. Needs PostgreSQL
(`TEST_DATABASE_URL`) and Prisma 7 with `@prisma/adapter-pg` and `tsx` installed where the
real-schema check keeps them (`REAL_SCHEMAS_CACHE`, default ~/.cache/app-api-real-schemas):
skipped otherwise. Slow (`prisma generate`): runs with MODE=full.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.api.wire_support import (
    PRISMA_SCHEMA,
    READ,
    URL,
    WRITE,
    Served,
    item_url,
    postgres_wire_database,
    serving,
)
from tests.conftest import TEST_DATABASE_URL

pytestmark = pytest.mark.slow

HERE = Path(__file__).resolve().parent
CACHE = Path(os.environ.get("REAL_SCHEMAS_CACHE", Path.home() / ".cache/app-api-real-schemas"))
NODE_MODULES = CACHE / "node" / "node_modules"

EVERY_TYPE: dict[str, Any] = {
    "label": "every type",
    "vc": "exactly10!",
    "ch": "ab",
    "small": -32768,
    "i": 2147483647,
    "bi": "9007199254740993",
    "f": 3.25,
    "real": 1.5,
    "dec": "991.555555555555555555555555555555",
    "d2": "0.01",
    "b": True,
    "ts": "2026-11-22T10:00:00.123Z",
    "tstz": "2026-11-22T10:00:00.456Z",
    "day": "2026-01-31",
    "t": "1970-01-01T10:30:00.250Z",
    "ttz": "1970-01-01T10:30:00.000Z",
    "j": ["a", 1, {"b": None}],
    "jd": "a string",
    "blob": "AAH+",
    "mood": "HAPPY",
    "moods": ["HAPPY", "SAD"],
    "ints": [1, -2],
    "floats": [1.5, -2.25],
    "decs": ["12.5", "0.01"],
    "jsons": [{"a": 1}, "s", [1]],
    "blobs": ["AAH+", "/w=="],
    "stamps": ["2026-11-22T10:00:00.123Z"],
    "bigs": ["9007199254740993", "-1"],
    "u": "5b0c8a0e-2f4d-4c1a-9a51-6a3e1f2d7c10",
    "inet": "10.0.0.1/8",
    "mappedName": "mapped",
    "created_at": 1700000000,
}

# What Prisma Client is given for a create: its own types where JSON has none.
PRISMA_CREATE: dict[str, Any] = {
    **EVERY_TYPE,
    "bi": {"$bigint": "9007199254740993"},
    "ts": {"$date": "2026-11-22T10:00:00.123Z"},
    "tstz": {"$date": "2026-11-22T10:00:00.456Z"},
    "day": {"$date": "2026-01-31T00:00:00.000Z"},
    "t": {"$date": "1970-01-01T10:30:00.250Z"},
    "ttz": {"$date": "1970-01-01T10:30:00.000Z"},
    "blob": {"$bytes": "AAH+"},
    "blobs": [{"$bytes": "AAH+"}, {"$bytes": "/w=="}],
    "stamps": [{"$date": "2026-11-22T10:00:00.123Z"}],
    "bigs": [{"$bigint": "9007199254740993"}, {"$bigint": "-1"}],
}


def _run(command: list[str], cwd: Path, env: dict[str, str], stdin: str = "") -> str:
    done = subprocess.run(
        command,
        cwd=cwd,
        env={**os.environ, **env},
        input=stdin,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return done.stdout


@pytest.fixture(scope="module")
def database() -> Iterator[str]:
    if not TEST_DATABASE_URL:
        pytest.skip("TEST_DATABASE_URL is not set")
    if not (NODE_MODULES / ".bin" / "prisma").exists():
        pytest.skip(f"Prisma 7 is not installed in {NODE_MODULES}")
    with postgres_wire_database(TEST_DATABASE_URL, "app_api_wire_prisma") as url:
        yield url


@pytest.fixture(scope="module")
def prisma(database: str, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """`prisma(requests)`: Prisma Client's answers (generated once for the fixture schema)."""
    work = tmp_path_factory.mktemp("prisma")
    (work / "schema").mkdir()
    generator = (
        f'generator client {{\n  provider = "prisma-client"\n  output = "{work / "client"}"\n}}\n'
    )
    (work / "schema" / "schema.prisma").write_text(generator + PRISMA_SCHEMA)
    (work / "node_modules").symlink_to(NODE_MODULES)
    (work / "package.json").write_text('{"type": "module"}\n')
    (work / "prisma.config.ts").write_text(
        "import { defineConfig, env } from 'prisma/config'\n"
        "export default defineConfig({ schema: 'schema', datasource: { url: env('DATABASE_URL') } })\n"
    )
    (work / "client.ts").write_text((HERE / "wire_prisma_client.ts").read_text())
    # `generate` needs no schema engine (it would download one): a stub stands in.
    stub = work / "stub-engine"
    stub.write_text("#!/bin/sh\nexit 1\n")
    stub.chmod(0o755)
    env = {"DATABASE_URL": database, "PRISMA_SCHEMA_ENGINE_BINARY": str(stub)}
    _run([str(NODE_MODULES / ".bin" / "prisma"), "generate"], work, env)
    env["PRISMA_CLIENT_PATH"] = str(work / "client" / "client.ts")

    def ask(*requests: dict[str, Any]) -> list[Any]:
        out = _run(
            [str(NODE_MODULES / ".bin" / "tsx"), "client.ts"], work, env, json.dumps(requests)
        )
        answers = json.loads(out.strip().splitlines()[-1])
        for answer in answers:
            assert answer["ok"], answer["error"]
        return [answer["value"] for answer in answers]

    return ask


@pytest.fixture(scope="module")
async def api(database: str) -> AsyncIterator[Served]:
    async with serving(database) as served:
        yield served


async def test_a_row_the_api_writes_is_what_prisma_client_reads(api: Served, prisma: Any) -> None:
    response = await api.client.post(URL, json=EVERY_TYPE, headers=WRITE)
    assert response.status_code == 201, response.text
    created = response.json()

    [found] = prisma({"op": "findFirst", "args": {"where": {"id": created["id"]}}})

    assert found == created
    assert found["j"] == EVERY_TYPE["j"]
    assert found["jd"] == "a string"
    assert found["dec"] == EVERY_TYPE["dec"]


async def test_a_row_prisma_client_writes_is_what_the_api_returns(api: Served, prisma: Any) -> None:
    [made] = prisma({"op": "create", "args": {"data": PRISMA_CREATE}})

    response = await api.client.get(item_url(made["id"]), headers=READ)

    assert response.status_code == 200, response.text
    assert response.json() == made


async def test_a_row_prisma_client_writes_with_defaults_reads_the_same(
    api: Served, prisma: Any
) -> None:
    [made] = prisma({"op": "create", "args": {"data": {"label": "defaults"}}})

    response = await api.client.get(item_url(made["id"]), headers=READ)

    assert response.json() == made
    assert made["jd"] == {}
    assert made["moods"] == []


async def test_a_put_leaves_what_prisma_client_reads_as_its_defaults(
    api: Served, prisma: Any
) -> None:
    created = (await api.client.post(URL, json=EVERY_TYPE, headers=WRITE)).json()

    replaced = await api.client.put(item_url(created["id"]), json={"label": "x"}, headers=WRITE)

    assert replaced.status_code == 200, replaced.text
    [found] = prisma({"op": "findFirst", "args": {"where": {"id": created["id"]}}})
    assert found == replaced.json()
    assert found["jd"] == {}
