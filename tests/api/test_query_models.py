"""query_dependency: one validation per distinct query string, never a stale or shared error."""

from __future__ import annotations

import pytest
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request

from app.api.query import query_dependency
from tests.conftest import http_scope
from tests.machinery.fixture.resources import RESOURCES


class Listing(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    limit: int = Field(default=20, ge=1, le=100)


def _request(query: str) -> Request:
    return Request(http_scope("GET", "/api/v1/accounts/", query_string=query.encode()))


def test_a_model_that_could_change_is_refused() -> None:
    class Mutable(BaseModel):
        limit: int = 20

    with pytest.raises(TypeError, match="Mutable must be frozen"):
        query_dependency(Mutable)


def test_every_resource_query_model_is_frozen() -> None:
    for resource in RESOURCES:
        for model in (resource.list_query, resource.get_query):
            assert model.model_config.get("frozen") is True, model.__name__


async def test_repeated_query_strings_give_the_same_values_and_errors_stay_errors() -> None:
    parse = query_dependency(Listing)
    assert (await parse(_request(""))).limit == 20
    assert (await parse(_request("limit=5"))).limit == 5
    assert (await parse(_request("limit=5"))).limit == 5
    for _ in range(2):  # a refused string is refused again, not answered from memory
        with pytest.raises(RequestValidationError) as refused:
            await parse(_request("limit=0"))
        assert refused.value.errors()[0]["loc"] == ("query", "limit")
    # Past the number of strings remembered, every value is still its own string's.
    for n in range(600):
        value = n % 100 + 1
        query = f"limit={value}" + "&" * (n // 100)  # 600 distinct strings
        assert (await parse(_request(query))).limit == value
    assert (await parse(_request("limit=7"))).limit == 7
    assert (await parse(_request(""))).limit == 20
    with pytest.raises(RequestValidationError):
        await parse(_request("limit=5&unknown=1"))
