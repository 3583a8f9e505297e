"""`include=` returns every relation in Prisma's shape: to-one an object or null, to-many a list."""

from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.machinery.support import ALL, API, new_account, new_post, ok, problem, sql

EVERY_POST_RELATION = "author,reviewer,parent,replies,labels,comments"


async def test_one_to_one_both_sides(mx: httpx.AsyncClient) -> None:
    with_profile = await new_account(mx, "a@example.com")
    without = await new_account(mx, "b@example.com")
    profile = ok(
        await mx.post(
            f"{API}/profiles/", json={"accountId": with_profile["id"], "bio": "hi"}, headers=ALL
        ),
        201,
    )
    url = f"{API}/accounts/{with_profile['id']}"
    assert ok(await mx.get(url, params={"include": "profile"}, headers=ALL))["profile"] == profile
    lone = ok(
        await mx.get(f"{API}/accounts/{without['id']}", params={"include": "profile"}, headers=ALL)
    )
    assert lone["profile"] is None
    back = ok(
        await mx.get(f"{API}/profiles/{profile['id']}", params={"include": "account"}, headers=ALL)
    )
    assert back["account"]["email"] == "a@example.com"
    listed = ok(
        await mx.get(
            f"{API}/accounts/", params={"include": "profile", "orderBy": "email"}, headers=ALL
        )
    )
    assert [item["profile"] for item in listed["data"]] == [profile, None]


async def test_named_relations_self_relation_and_many_to_many(mx: httpx.AsyncClient) -> None:
    author = await new_account(mx, "author@example.com")
    reviewer = await new_account(mx, "reviewer@example.com")
    root = await new_post(mx, author["id"], "root", reviewerId=reviewer["id"])
    reply = await new_post(mx, reviewer["id"], "reply", parentId=root["id"])
    label = ok(await mx.post(f"{API}/labels/", json={"name": "red"}, headers=ALL), 201)
    link = f"{API}/posts/{root['id']}/label-items/{label['id']}"
    assert (await mx.put(link, headers=ALL)).status_code == 204
    ok(
        await mx.post(
            f"{API}/posts/{root['id']}/comments/", json={"id": 1, "body": "c"}, headers=ALL
        ),
        201,
    )

    got = ok(
        await mx.get(
            f"{API}/posts/{root['id']}", params={"include": EVERY_POST_RELATION}, headers=ALL
        )
    )
    assert got["author"]["id"] == author["id"]
    assert got["reviewer"]["id"] == reviewer["id"]
    assert got["parent"] is None
    assert [r["id"] for r in got["replies"]] == [reply["id"]]
    assert got["labels"] == [label]
    assert got["comments"] == [{"id": 1, "postId": root["id"], "body": "c"}]
    child = ok(
        await mx.get(
            f"{API}/posts/{reply['id']}", params={"include": EVERY_POST_RELATION}, headers=ALL
        )
    )
    assert child["parent"]["id"] == root["id"]
    assert (child["reviewer"], child["replies"], child["labels"], child["comments"]) == (
        None,
        [],
        [],
        [],
    )

    listed = ok(
        await mx.get(
            f"{API}/posts/",
            params={"include": EVERY_POST_RELATION, "orderBy": "title"},
            headers=ALL,
        )
    )
    assert [(p["title"], p["parent"] and p["parent"]["id"]) for p in listed["data"]] == [
        ("reply", root["id"]),
        ("root", None),
    ]
    accounts = ok(
        await mx.get(
            f"{API}/accounts/{reviewer['id']}", params={"include": "posts,reviews"}, headers=ALL
        )
    )
    assert [p["id"] for p in accounts["posts"]] == [reply["id"]]
    assert [p["id"] for p in accounts["reviews"]] == [root["id"]]
    back = ok(await mx.get(f"{API}/labels/{label['id']}", params={"include": "posts"}, headers=ALL))
    assert [p["id"] for p in back["posts"]] == [root["id"]]
    comment = ok(
        await mx.get(
            f"{API}/posts/{root['id']}/comments/1", params={"include": "post"}, headers=ALL
        )
    )
    assert comment["post"]["title"] == "root"


async def test_include_names_are_prisma_field_names(mx: httpx.AsyncClient) -> None:
    author = await new_account(mx, "a@example.com")
    post = await new_post(mx, author["id"])
    body = problem(
        await mx.get(f"{API}/posts/{post['id']}", params={"include": "parent_"}, headers=ALL), 422
    )
    assert "parent" in body["detail"]
    assert "parent_" not in body["detail"].split("(")[1]


async def test_include_bound_fits_every_relation_name() -> None:
    from pydantic import ValidationError

    from tests.machinery.fixture.resources import POSTS

    names = ",".join(f"relation{n:02d}" for n in range(25))
    schema = POSTS.get_query.model_json_schema()["properties"]["include"]
    bound = next(option["maxLength"] for option in schema["anyOf"] if "maxLength" in option)
    assert bound >= len(EVERY_POST_RELATION)
    assert len(names) > 200
    try:
        POSTS.get_query.model_validate({"include": "x" * (bound + 1)})
    except ValidationError:
        pass
    else:
        raise AssertionError("an include longer than the bound was accepted")


async def test_openapi_describes_relations_as_prisma_types(mx: httpx.AsyncClient) -> None:
    schemas = ok(await mx.get(f"{API}/openapi.json"))["components"]["schemas"]
    post = schemas["PostWithRelations"]["properties"]
    assert post["replies"]["type"] == "array"
    assert post["replies"]["items"] == {"$ref": "#/components/schemas/Post"}
    # `author Account` (required) is an object, `reviewer Account?` an object or null.
    assert post["author"]["$ref"] == "#/components/schemas/Account"
    nullable_object = [{"$ref": "#/components/schemas/Account"}, {"type": "null"}]
    assert post["reviewer"]["anyOf"] == nullable_object
    account = schemas["AccountWithRelations"]["properties"]
    assert account["profile"]["anyOf"] == [
        {"$ref": "#/components/schemas/Profile"},
        {"type": "null"},
    ]


async def test_relations_without_a_foreign_key_in_the_database(
    mx: httpx.AsyncClient, mx_engine: AsyncEngine
) -> None:
    author = await new_account(mx, "a@example.com")
    post = await new_post(mx, author["id"])
    await sql(
        mx_engine,
        'INSERT INTO mx_comment(id, "postId", body) VALUES (2, :p, :b)',
        p=int(post["id"]),
        b="x",
    )
    got = ok(await mx.get(f"{API}/posts/", params={"include": "comments"}, headers=ALL))
    assert got["data"][0]["comments"] == [{"id": 2, "postId": post["id"], "body": "x"}]
