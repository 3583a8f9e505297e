"""Resource declarations: a name the generated models lack fails at import, naming both."""

from __future__ import annotations

from decimal import Decimal

import pytest
from pydantic import TypeAdapter, ValidationError

from app.models import Page, Tag
from app.resource import Resource, ResourceError, equals, register
from app.resources import LINKS, V1
from app.schemas import decimal_input, decimal_json


@pytest.mark.parametrize(
    ("declaration", "words"),
    [
        ({"writable": ("title", "subtitle")}, ["'subtitle'", "app.models.Page", "writable"]),
        ({"orderings": ("rank",)}, ["'rank'", "app.models.Page"]),
        ({"filters": {"colour": equals()}}, ["'colour'", "app.models.Page"]),
        ({"filters": {"who": equals("ownerId")}}, ["'ownerId'", "app.models.Page"]),
        ({"includes": ("comments",)}, ["'comments'", "app.models.Page", "author"]),
        ({"types": {"headline": str}}, ["'headline'", "app.models.Page"]),
    ],
)
def test_a_declaration_naming_a_missing_field_fails_with_model_and_field(
    declaration: dict[str, object], words: list[str]
) -> None:
    resource = Resource(model=Page, segment="pages-test", **declaration)  # pyright: ignore[reportArgumentType]

    with pytest.raises(ResourceError) as error:
        register(resource)

    for word in words:
        assert word in str(error.value)


def test_v1_declarations_are_short() -> None:
    # "Adding a model costs a few lines": no declaration grows beyond a screenful.
    import inspect

    import app.resources

    source = inspect.getsource(app.resources)
    for resource in V1:
        name = next(n for n, v in vars(app.resources).items() if v is resource)
        start = source.index(f"{name} = Resource(")
        lines = source[start : source.index("\n)\n", start)].count("\n") + 1
        assert lines <= 40, (name, lines)


def test_every_v1_resource_has_its_operation_names() -> None:
    assert [r.name for r in V1] == ["Page", "Tag", "User", "PublishedPage", "PageRevision"]
    assert [r.scope for r in V1] == ["pages", "tags", "users", "published-pages", "pages"]
    assert [(link.owner.name, link.item_name, link.param) for link in LINKS] == [
        ("Page", "TagItem", "tagId")
    ]


def test_a_read_only_resource_has_no_body_models() -> None:
    users = next(r for r in V1 if r.segment == "users")
    assert users.read_only
    tags = Resource(model=Tag, segment="tags-test")
    assert tags.read_only


@pytest.mark.parametrize(
    ("value", "json"),
    [
        (Decimal("12.50"), "12.5"),
        (Decimal("0.00"), "0"),
        (Decimal("-0.00"), "0"),
        (Decimal("100.00"), "100"),
        (Decimal("-3.25"), "-3.25"),
        (Decimal("99999999.99"), "99999999.99"),
        (Decimal("1E+21"), "1e+21"),
        (Decimal("0.0000001"), "1e-7"),
        (None, None),
    ],
)
def test_decimals_are_written_as_prisma_decimal_to_json(
    value: Decimal | None, json: str | None
) -> None:
    assert decimal_json(value) == json


@pytest.mark.parametrize(
    ("raw", "stored"),
    [("12.5", "12.50"), (12.5, "12.50"), (3, "3.00"), ("1.230", "1.23"), ("-0.01", "-0.01")],
)
def test_decimal_input_takes_strings_and_numbers_exactly(raw: object, stored: str) -> None:
    assert TypeAdapter(decimal_input(10, 2)).validate_python(raw) == Decimal(stored)


@pytest.mark.parametrize(
    "raw",
    ["1.234", 0.125, "123456789.1", "1e30", "1e-40", "abc", "NaN", "Infinity", "", True, None, [1]],
)
def test_decimal_input_refuses_rather_than_rounds(raw: object) -> None:
    with pytest.raises(ValidationError):
        TypeAdapter(decimal_input(10, 2)).validate_python(raw)


def test_mapped_columns_speak_their_prisma_field_names() -> None:
    # `pageId String @map("page_id")`: the generator records the Prisma name on the column.
    revisions = next(r for r in V1 if r.name == "PageRevision")

    assert list(revisions.fields) == [
        "pageId", "revision", "externalId", "price", "byteSize", "effectiveOn", "editedAt",
    ]  # fmt: skip
    assert revisions.fields["pageId"].column.name == "page_id"
