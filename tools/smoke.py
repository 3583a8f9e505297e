"""`make smoke`: import the app and build its OpenAPI — no server, no database."""

from __future__ import annotations

import sys
import time


def main() -> int:
    started = time.perf_counter()
    from app.main import create_app

    app = create_app()
    schema = app.openapi()
    paths = schema.get("paths", {})
    operations = sorted(
        operation["operationId"]
        for path in paths.values()
        for operation in path.values()
        if isinstance(operation, dict) and "operationId" in operation
    )
    if not operations:
        print("smoke: FAILED — the OpenAPI document has no operations", file=sys.stderr)
        return 1
    elapsed = time.perf_counter() - started
    print(f"smoke: ok — {len(paths)} paths, operations: {', '.join(operations)} ({elapsed:.2f}s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
