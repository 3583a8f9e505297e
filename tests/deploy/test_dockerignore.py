""".dockerignore: the build context holds what the image needs and nothing else."""

from __future__ import annotations

import pytest

from tests.deploy.support import (
    DOCKERFILE,
    DOCKERIGNORE,
    dockerfile_stages,
    dockerignore_patterns,
    is_excluded,
)

PATTERNS = dockerignore_patterns(DOCKERIGNORE.read_text(encoding="utf-8"))

LEFT_OUT = [
    ".git/HEAD",
    ".venv/bin/python",
    ".tools/bin/uv",
    ".env",
    "app/.env",
    ".env.production",
    "app-api.sqlite3",
    "app-api.sqlite3-wal",
    "htmlcov/index.html",
    ".coverage",
    ".pytest_cache/v/cache/lastfailed",
    ".ruff_cache/0.17.0/cache",
    "app/__pycache__/main.cpython-311.pyc",
    "app/core/__pycache__/config.cpython-311.pyc",
    "bench/results.json",
    "tests/conftest.py",
    "tools/codegen.py",
    "node_modules/prisma/package.json",
    "prisma/generated/prisma/client.ts",
    "README.md",
    "compose.yaml",
]

SENT = [
    "pyproject.toml",
    "uv.lock",
    "app/__init__.py",
    "app/main.py",
    "app/api/v1/utils.py",
    "prisma/schema.prisma",
    "prisma/migrations/migration_lock.toml",
    "prisma/migrations/20261101090000_init/migration.sql",
]


@pytest.mark.parametrize("path", LEFT_OUT)
def test_build_context_leaves_out(path: str) -> None:
    assert is_excluded(PATTERNS, path)


@pytest.mark.parametrize("path", SENT)
def test_build_context_sends(path: str) -> None:
    assert not is_excluded(PATTERNS, path)


def test_everything_the_dockerfile_reads_from_the_context_is_sent() -> None:
    read: list[str] = []
    for stage in dockerfile_stages(DOCKERFILE.read_text(encoding="utf-8")):
        for copy in stage.all("COPY"):
            if not copy.flag("from"):
                read.extend(copy.arguments[:-1])
        for run in stage.all("RUN"):
            for flag in run.flags:
                options = dict(
                    part.split("=", 1) for part in flag.removeprefix("--mount=").split(",")
                )
                if options.get("type") == "bind" and "from" not in options:
                    read.append(options["source"])

    assert read
    for source in read:
        assert not is_excluded(PATTERNS, source.rstrip("/")), source


@pytest.mark.parametrize(
    ("patterns", "path", "excluded"),
    [
        (["*", "!app/"], "app/main.py", False),
        (["*", "!app/"], "tests/test_x.py", True),
        (["*", "!app/", "**/__pycache__"], "app/x/__pycache__/m.pyc", True),
        (["**/*.py[cod]"], "app/m.pyc", True),
        (["**/*.py[cod]"], "app/m.py", False),
        (["docs"], "docs/index.md", True),
        (["/docs"], "docs/index.md", True),
        (["*.md", "!README.md"], "README.md", False),
        (["*.md"], "docs/index.md", False),
    ],
)
def test_pattern_matching_follows_docker(patterns: list[str], path: str, excluded: bool) -> None:
    assert is_excluded(patterns, path) is excluded
