"""Query-string models validated in one pydantic call, documented as ordinary parameters.

FastAPI's own `Annotated[Model, Query()]` inspects every field's annotation on every request;
on the listing route that was a sixth of the CPU. Here the model validates the query string
as one mapping and the OpenAPI parameters are derived from its JSON schema once, at import.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, cast

from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError
from starlette.requests import Request

M = TypeVar("M", bound=BaseModel)


def _inline(schema: Any, definitions: dict[str, Any]) -> Any:
    """Replace `$ref`s to the model's own `$defs` by their content (parameters have no $defs)."""
    if isinstance(schema, list):
        return [_inline(item, definitions) for item in cast("list[Any]", schema)]
    if not isinstance(schema, dict):
        return schema
    node = cast("dict[str, Any]", schema)
    inlined = {key: _inline(value, definitions) for key, value in node.items() if key != "$ref"}
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        # Keywords beside the $ref (default, description) win over the definition's.
        return {**_inline(definitions[ref.removeprefix("#/$defs/")], definitions), **inlined}
    return inlined


def openapi_parameters(model: type[BaseModel]) -> list[dict[str, Any]]:
    """OpenAPI `parameters` (in: query) for each field of `model`, by alias."""
    schema = model.model_json_schema(by_alias=True)
    definitions: dict[str, Any] = schema.get("$defs", {})
    required = set(schema.get("required", []))
    parameters: list[dict[str, Any]] = []
    for name, prop in schema["properties"].items():
        prop = _inline(prop, definitions)
        # An absent parameter is the None of an optional field: a query string has no null.
        options = [option for option in prop.pop("anyOf", []) if option != {"type": "null"}]
        if options:
            prop.update(options[0] if len(options) == 1 else {"anyOf": options})
        parameter: dict[str, Any] = {"name": name, "in": "query", "required": name in required}
        if "description" in prop:
            parameter["description"] = prop.pop("description")
        prop.pop("title", None)
        parameter["schema"] = prop
        parameters.append(parameter)
    return parameters


_CACHED = 256  # query strings remembered per model


def query_dependency(model: type[M]) -> Callable[[Request], Awaitable[M]]:
    """A dependency validating the whole query string with `model` (422 problem on error).

    The model must be frozen: the value for a query string already seen (`?limit=20`, none at
    all) is the same instance as the last time, kept for the last `_CACHED` distinct strings
    (parsing and validating was ~4% of a by-id read's CPU).
    """
    if not model.model_config.get("frozen"):
        raise TypeError(f"{model.__name__} must be frozen to be shared between requests")
    seen: dict[bytes, M] = {}

    # async: FastAPI would run a plain function in a worker thread.
    async def parse(request: Request) -> M:
        raw: bytes = request.scope["query_string"]
        known = seen.get(raw)
        if known is not None:
            return known
        try:
            value = model.model_validate(dict(request.query_params))
        except ValidationError as exc:
            errors = [
                {**error, "loc": ("query", *error["loc"])}
                for error in exc.errors(include_url=False, include_context=False)
            ]
            raise RequestValidationError(errors) from None
        if len(seen) >= _CACHED:
            seen.clear()
        seen[raw] = value
        return value

    return parse
