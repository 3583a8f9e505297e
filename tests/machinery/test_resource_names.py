"""Names as Prisma's: schema names, operation ids, plurals, articles, segments."""

from __future__ import annotations

import re

import httpx
import pytest
from sqlmodel import SQLModel

from app.main import create_app
from app.resource import (
    Resource,
    ResourceError,
    label_of,
    model_name,
    plural_of,
    segment_of,
    with_article,
)
from tests.conftest import make_settings
from tests.machinery.fixture.models import Account, Comment, Label, Post
from tests.machinery.fixture.resources import ACCOUNTS
from tests.machinery.support import API, ok


@pytest.mark.parametrize(
    ("name", "plural"),
    [
        ("Field", "Fields"),
        ("Status", "Statuses"),
        ("SiteSettings", "SiteSettings"),
        ("Category", "Categories"),
        ("ApiKey", "ApiKeys"),
        ("Address", "Addresses"),
        ("Box", "Boxes"),
        ("Analysis", "Analyses"),
        ("Person", "People"),
        ("Metadata", "Metadata"),
        ("website_event", "website_events"),
        ("URL", "URLs"),
    ],
)
def test_plural_of(name: str, plural: str) -> None:
    assert plural_of(name) == plural


@pytest.mark.parametrize(
    ("label", "expected"),
    [
        ("envelope", "an envelope"),
        ("page", "a page"),
        ("user", "a user"),
        ("unique token", "a unique token"),
        ("hour", "an hour"),
        ("API key", "an API key"),
        ("URL", "a URL"),
        ("item", "an item"),
    ],
)
def test_with_article(label: str, expected: str) -> None:
    assert with_article(label) == expected


def test_labels_segments_and_model_names() -> None:
    assert label_of("PageRevision") == "page revision"
    assert label_of("APIKey") == "API key"
    assert label_of("website_event") == "website event"
    assert segment_of("SiteSettings") == "site-settings"
    assert segment_of("RateLimits") == "rate-limits"
    assert model_name(type("Field_", (), {})) == "Field"
    assert model_name(SQLModel) == "SQLModel"


async def test_openapi_names_use_the_model_name(mx: httpx.AsyncClient) -> None:
    document = ok(await mx.get(f"{API}/openapi.json"))
    ids = {op["operationId"] for path in document["paths"].values() for op in path.values()}
    expected = {
        "listRateLimits",
        "getRateLimit",
        "createRateLimit",
        "updateRateLimit",
        "replaceRateLimit",
        "deleteRateLimit",
        "listSettings",
        "getSetting",
        "listAccounts",
        "listPosts",
        "linkPostLabel",
        "unlinkPostLabel",
    }
    assert expected <= ids
    schemas = document["components"]["schemas"]
    assert {"RateLimit", "RateLimitCreate", "RateLimitUpdate", "RateLimitReplace"} <= set(schemas)
    summaries = {op["summary"] for path in document["paths"].values() for op in path.values()}
    assert {"Get an account", "Create a post", "List rate limits"} <= summaries


def test_segment_and_plural_can_be_declared() -> None:
    resource = Resource(model=Post, segment="articles", plural="Articles")
    assert (resource.segment, resource.plural_name) == ("articles", "Articles")
    assert Resource(model=Post).segment == "posts"


def test_a_nested_resource_without_a_key_of_its_own_fails() -> None:
    with pytest.raises(ResourceError, match="Comment"):
        _ = Resource(model=Comment, parent="body").key_fields


@pytest.mark.parametrize(
    ("second", "message"),
    [
        (
            Resource(model=Account, segment="authors"),
            "'accounts' and 'authors' serve the same model",
        ),
        (Resource(model=Label, segment="accounts"), "serve the same segment (accounts)"),
    ],
)
def test_one_resource_per_model_and_segment(second: Resource, message: str) -> None:
    # Operation ids and the hot path are keyed by the model: a second resource would be
    # served by the first one's code.
    with pytest.raises(ResourceError, match=re.escape(message)):
        create_app(make_settings(), resources=(ACCOUNTS, second))
