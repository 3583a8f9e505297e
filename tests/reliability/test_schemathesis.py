"""Property-based fuzzing of every operation of the fixture app's OpenAPI (schemathesis 4.x):
every key shape of tests/machinery/fixture (cuid, autoincrement, uuid, DateTime, composite,
`@@unique`, nested), hidden fields, hooks, links.

In-process through schemathesis' ASGI transport, on SQLite, with a token holding every scope,
a fixed seed, derandomized generation and at most 30 examples per operation. Checks: no 5xx,
documented status codes, documented content types (problem+json included), response bodies and
headers that match the schema.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest

# Hypothesis keeps caches in ./.hypothesis unless told otherwise: keep them out of the repo.
_workdir = Path(tempfile.mkdtemp(prefix="app-api-schemathesis-"))
atexit.register(shutil.rmtree, _workdir, ignore_errors=True)
os.environ.setdefault("HYPOTHESIS_STORAGE_DIRECTORY", str(_workdir / "hypothesis"))

schemathesis = pytest.importorskip("schemathesis", reason="schemathesis is not installed")

# pyright: reportMissingImports=false
# (schemathesis comes from `uv run --with schemathesis` until it is in the dev group)
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.config import HealthCheck  # noqa: E402
from schemathesis.specs.openapi.checks import (  # noqa: E402
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from app.main import API_PREFIX  # noqa: E402
from tests.machinery.fixture.resources import SCOPES  # noqa: E402
from tests.reliability.support import WATCH, auth, fixture_app, rel_settings, token  # noqa: E402

SEED = 20261122
MAX_EXAMPLES = int(os.environ.get("FUZZ_MAX_EXAMPLES", "30"))  # per operation

APP = fixture_app(
    rel_settings(DATABASE_URL=f"sqlite:///{_workdir / 'fuzz.sqlite3'}", LOG_LEVEL="INFO")
)
# Every resource's scopes: each operation is fuzzed past the token check.
HEADERS = auth(token(*SCOPES, subject="schemathesis", expires_in=6 * 3600))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]

# The schema is built from the app object (no request, no database at import); requests go
# through the ASGI app, whose lifespan schemathesis starts on first use.
schema = schemathesis.openapi.from_dict(APP.openapi())
schema.app = APP
schema.location = f"{API_PREFIX}/openapi.json"
schema.config.seed = SEED
schema.config.generation.update(
    max_examples=MAX_EXAMPLES, deterministic=True, database="none", unique_inputs=True
)
schema.config.update(
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
        HealthCheck.data_too_large,
    ]
)


@pytest.mark.slow
@schema.parametrize()
def test_openapi_conformance(case: Any) -> None:
    response = case.call(headers=HEADERS, timeout=30)
    WATCH.record(
        f"schemathesis {case.method} {case.formatted_path} {response.status_code}",
        "\n".join(f"{k}: {v}" for k, v in response.headers.items()) + "\n\n" + response.text,
    )
    case.validate_response(response, checks=CHECKS, headers=HEADERS)
