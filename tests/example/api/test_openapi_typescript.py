"""The OpenAPI document makes good TypeScript with openapi-typescript's default options.

Runs the real tools from the npm registry (openapi-typescript + tsc) on our document and
type-checks what a Next.js caller would write. Slow (an npm install), so in MODE=full.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from app.main import create_app
from tests.conftest import make_settings

pytestmark = pytest.mark.slow

CALLER = """
import type { components } from "./api";

type Schemas = components["schemas"];
type Exact<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;

// A create body with only a title type-checks: optional inputs stay optional.
export const create: Schemas["PageCreate"] = { title: "Hello" };
export const replace: Schemas["PageReplace"] = { title: "Hello" };
export const patch: Schemas["PageUpdate"] = { views: 1 };

// Every field of Page is required, as in Prisma's Page type…
export const allRequired: Exact<Schemas["Page"], Required<Schemas["Page"]>> = true;
// …nullable where the column is, and only there.
export const summaryNullable: null extends Schemas["Page"]["summary"] ? true : false = true;
export const publishedAtNullable: null extends Schemas["Page"]["publishedAt"] ? true : false = true;
export const titleNotNull: null extends Schemas["Page"]["title"] ? false : true = true;
export const createdAtNotNull: null extends Schemas["Page"]["createdAt"] ? false : true = true;

// PATCH may not null a non-nullable column.
// @ts-expect-error title is not nullable
export const badPatch: Schemas["PageUpdate"] = { title: null };

export const list: Exact<Schemas["PageList"]["data"], Schemas["PageWithRelations"][]> = true;

// include= adds Prisma's relation fields, each optional; the scalar fields stay as in Page.
export const withAuthor: Schemas["PageWithRelations"] = {} as Schemas["Page"];
export const author: Exact<Schemas["PageWithRelations"]["author"], Schemas["User"] | null | undefined> = true;
export const tagItems: Exact<Schemas["PageWithRelations"]["tagItems"], Schemas["Tag"][] | undefined> = true;
// Decimal and BigInt travel as strings, a @db.Date as a date-time string.
export const price: Exact<Schemas["PageRevision"]["price"], string> = true;
export const byteSize: Exact<Schemas["PageRevision"]["byteSize"], string> = true;
export const revisionIn: Schemas["PageRevisionCreate"] = { revision: 1, effectiveOn: "2026-01-31", price: 12.5, byteSize: "9007199254740993" };
"""


def _run(args: list[str], cwd: Path) -> None:
    result = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, f"{' '.join(args)}\n{result.stdout}\n{result.stderr}"


def test_generated_typescript_types_read_like_prismas(tmp_path: Path) -> None:
    if shutil.which("npm") is None or shutil.which("npx") is None:
        pytest.skip("Node.js/npm is not installed")
    schema = create_app(make_settings()).openapi()
    (tmp_path / "openapi.json").write_text(json.dumps(schema))
    (tmp_path / "caller.ts").write_text(CALLER)
    _run(
        [
            "npm",
            "install",
            "--no-audit",
            "--no-fund",
            "--silent",
            "openapi-typescript@7",
            "typescript@5",
        ],
        tmp_path,
    )
    _run(["npx", "openapi-typescript", "openapi.json", "-o", "api.d.ts"], tmp_path)
    _run(["npx", "tsc", "--noEmit", "--strict", "caller.ts"], tmp_path)
