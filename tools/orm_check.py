"""Fail when the committed models drift from the Prisma migrations (``make orm-check``).

Usage::

    python -m tools.orm_check [--prisma-dir prisma] [--out-dir app]

Builds a scratch database on the server of ``ORM_DATABASE_URL``, else ``TEST_DATABASE_URL``,
else ``DATABASE_URL`` (each when it is a PostgreSQL URL), else
``postgresql://postgres@127.0.0.1:5432/postgres`` (``tools.migrate.scratch_server_url``);
applies ``<prisma-dir>/migrations`` like ``prisma migrate deploy``; regenerates ``models.py`` and
``view_tables.py`` into a temporary folder; compares them byte for byte with the committed
files in ``--out-dir``. Prints a unified diff and exits 1 on drift, exits 0 with one line
otherwise. The scratch database is always dropped. ``PRISMA_DIR`` is honoured.
"""

from __future__ import annotations

import argparse
import difflib
import os
import sys
import tempfile
from pathlib import Path

import psycopg
from sqlalchemy.exc import SQLAlchemyError

from tools.codegen import FILES, write_outputs
from tools.migrate import MigrationError, latest_migration_name, migrated_scratch_database


def diff_files(committed: Path, generated: Path) -> str:
    old = committed.read_text(encoding="utf-8") if committed.is_file() else ""
    new = generated.read_text(encoding="utf-8")
    if old == new:
        return ""
    return "".join(
        difflib.unified_diff(
            old.splitlines(keepends=True),
            new.splitlines(keepends=True),
            fromfile=f"{committed} (committed)",
            tofile=f"{committed} (generated from the migrations)",
        )
    )


def check(prisma_dir: Path, out_dir: Path) -> int:
    migrations_dir = prisma_dir / "migrations"
    latest = latest_migration_name(migrations_dir)
    with (
        migrated_scratch_database(prisma_dir, "orm_check") as scratch,
        tempfile.TemporaryDirectory(prefix="orm_check_") as tmp,
    ):
        write_outputs(scratch, ["models", "views"], prisma_dir=prisma_dir, out_dir=Path(tmp))
        diffs = {name: diff_files(out_dir / name, Path(tmp) / name) for name in FILES.values()}
    drifted = [out_dir / name for name, text in diffs.items() if text]
    if not drifted:
        print(f"orm-check OK: {out_dir}/ matches {migrations_dir} (latest {latest})")
        return 0
    for name in FILES.values():
        if diffs[name]:
            sys.stdout.write(diffs[name])
            if not diffs[name].endswith("\n"):
                sys.stdout.write("\n")
    files = " ".join(str(p) for p in drifted)
    print(
        f"orm-check FAILED: {files} differ from {migrations_dir} (latest {latest}). "
        "Run `make orm` against a database migrated to the latest migration, then commit "
        f"{files}."
    )
    return 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.orm_check",
        description="Regenerate the models from prisma/migrations and diff the committed ones.",
    )
    parser.add_argument("--prisma-dir", default=os.environ.get("PRISMA_DIR", "prisma"))
    parser.add_argument("--out-dir", default="app", help="folder of the committed files")
    args = parser.parse_args(argv)
    try:
        return check(Path(args.prisma_dir), Path(args.out_dir))
    except (MigrationError, psycopg.Error, SQLAlchemyError, ValueError) as exc:
        print(f"orm-check error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
