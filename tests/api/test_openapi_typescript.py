"""The OpenAPI document makes good TypeScript with openapi-typescript's default options.

Runs the real tools from the npm registry (openapi-typescript + tsc) on the machinery fixture
app's document and type-checks what a Next.js caller would write against its shapes (String,
BigInt, DateTime and composite keys, an enum, Json, Decimal, relations, hidden fields). Slow
(an npm install), so in MODE=full.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from app.main import create_app
from tests.conftest import make_settings
from tests.machinery.fixture.resources import LINKS, RESOURCES

pytestmark = pytest.mark.slow

CALLER = """
import type { components, operations } from "./api";

type Schemas = components["schemas"];
type Exact<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Path<Op extends keyof operations> = operations[Op]["parameters"]["path"];
type Query<Op extends keyof operations> = NonNullable<operations[Op]["parameters"]["query"]>;

// A create body with only its required fields type-checks: optional inputs stay optional.
export const create: Schemas["ArticleCreate"] = { title: "Hello" };
export const replace: Schemas["ArticleReplace"] = { title: "Hello" };
export const patch: Schemas["ArticleUpdate"] = { views: 1 };
// @ts-expect-error title is required
export const noTitle: Schemas["ArticleCreate"] = { summary: "No title" };

// Every field of Article is required, as in Prisma's Article type…
export const allRequired: Exact<Schemas["Article"], Required<Schemas["Article"]>> = true;
// …nullable where the column is, and only there.
export const summaryNullable: null extends Schemas["Article"]["summary"] ? true : false = true;
export const publishedAtNullable: null extends Schemas["Article"]["publishedAt"] ? true : false = true;
export const titleNotNull: null extends Schemas["Article"]["title"] ? false : true = true;
export const createdAtNotNull: null extends Schemas["Article"]["createdAt"] ? false : true = true;
export const tags: Exact<Schemas["Article"]["tags"], string[]> = true;

// PATCH may not null a non-nullable column.
// @ts-expect-error title is not nullable
export const badPatch: Schemas["ArticleUpdate"] = { title: null };

// An enum is the union of its values, in bodies and in list filters.
type Status = "DRAFT" | "REVIEW" | "PUBLISHED";
export const status: Exact<Schemas["Article"]["status"], Status> = true;
export const statusFilter: Exact<Query<"listArticles">["status"], Status | undefined> = true;
// @ts-expect-error ARCHIVED is not a value of the enum
export const badStatus: Schemas["ArticleCreate"] = { title: "Hello", status: "ARCHIVED" };

// Json: any JSON value out (Prisma's JsonValue); a JSON object in.
export const metadataIn: Schemas["ArticleCreate"] = {
  title: "Hello",
  metadata: { a: [1, "b", null, { c: true }] },
};
// @ts-expect-error metadata is a JSON object
export const badMetadata: Schemas["ArticleCreate"] = { title: "Hello", metadata: "text" };

// Decimal and BigInt travel as strings (exact values); in, a number or an integer is accepted too.
export const price: Exact<Schemas["Article"]["price"], string | null> = true;
export const priceIn: Schemas["ArticleCreate"] = { title: "Hello", price: 12.5 };
export const exactPriceIn: Schemas["ArticleCreate"] = { title: "Hello", price: "12.50" };
export const postId: Exact<Schemas["Post"]["id"], string> = true;
export const parentId: Exact<Schemas["Post"]["parentId"], string | null> = true;
export const commentPostId: Exact<Schemas["Comment"]["postId"], string> = true;
export const postIn: Schemas["PostCreate"] = { title: "Hi", authorId: "a", parentId: "9007199254740993" };
// DateTime and UUID are strings, a DateTime key in the path too.
export const takenAt: Exact<Schemas["Snapshot"]["takenAt"], string> = true;
export const snapshotIn: Schemas["SnapshotCreate"] = { takenAt: "2026-01-31T12:00:00.000Z", note: "n" };
export const snapshotKey: Exact<Path<"getSnapshot">, { takenAt: string }> = true;
export const labelId: Exact<Schemas["Label"]["id"], string> = true;

// A composite key: one path parameter per field, typed as the field; never in a replace body.
export const rateLimitKey: Exact<Path<"getRateLimit">, { key: string; action: string; bucket: number }> = true;
export const rateLimitReplace: Exact<keyof Schemas["RateLimitReplace"], "hits"> = true;
export const settingKey: Exact<Path<"getSetting">, { name: string; scope: string }> = true;
export const commentKey: Exact<Path<"getComment">, { postId: string | number; id: number }> = true;
export const rateLimitIn: Schemas["RateLimitCreate"] = { key: "k", action: "a", bucket: 1 };
// @ts-expect-error every field of an @@unique key is required to create
export const noScope: Schemas["SettingCreate"] = { name: "n", value: "v" };

export const list: Exact<Schemas["ArticleList"]["data"], Schemas["ArticleWithRelations"][]> = true;

// include= adds Prisma's relation fields, each optional; the scalar fields stay as in Article.
export const withAuthor: Schemas["ArticleWithRelations"] = {} as Schemas["Article"];
// A nullable relation may be null, a required one may not; a list is never null.
export const author: Exact<Schemas["ArticleWithRelations"]["author"], Schemas["Account"] | null | undefined> = true;
export const postAuthor: Exact<Schemas["PostWithRelations"]["author"], Schemas["Account"] | undefined> = true;
export const reviewer: Exact<Schemas["PostWithRelations"]["reviewer"], Schemas["Account"] | null | undefined> = true;
export const profile: Exact<Schemas["AccountWithRelations"]["profile"], Schemas["Profile"] | null | undefined> = true;
export const labels: Exact<Schemas["PostWithRelations"]["labels"], Schemas["Label"][] | undefined> = true;

// Hidden fields are absent: never returned, never accepted.
type Hidden = "password" | "twoFactorSecret";
export const hiddenOut: Exact<Extract<keyof Schemas["Account"] | keyof Schemas["AccountWithRelations"], Hidden>, never> = true;
export const hiddenIn: Exact<Extract<keyof Schemas["AccountCreate"] | keyof Schemas["AccountUpdate"], Hidden>, never> = true;
// @ts-expect-error password is hidden: not a field of the create body
export const badAccount: Schemas["AccountCreate"] = { email: "a@example.com", password: "secret" };
"""


def _run(args: list[str], cwd: Path) -> None:
    result = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, f"{' '.join(args)}\n{result.stdout}\n{result.stderr}"


def test_generated_typescript_types_read_like_prismas(tmp_path: Path) -> None:
    if shutil.which("npm") is None or shutil.which("npx") is None:
        pytest.skip("Node.js/npm is not installed")
    schema = create_app(make_settings(), resources=RESOURCES, links=LINKS).openapi()
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
