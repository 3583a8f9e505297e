"""The example stays in tests/example/: no other test module imports app.models, app.resources
or app.view_tables, or reads prisma/ (an adopting team deletes tests/example/ and the rest of
the suite must still pass on their schema)."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

TESTS = Path(__file__).resolve().parent
EXAMPLE = TESTS / "example"
EXAMPLE_MODULES = ("app.models", "app.resources", "app.view_tables")
# `ROOT / "prisma"`, `parents[2] / "prisma"`, "prisma/migrations" read from the project root.
READS_PRISMA = re.compile(r"""(ROOT|parents\[\d\]|\.parent)\s*/\s*["']prisma["']""")
ALLOWED = {
    # Run inside a generated copy, where app.models is the edge schema's own output.
    "orm/edge_prisma/roundtrip.py": "imports",
    "orm/edge_prisma_multifile/roundtrip.py": "imports",
    # The image and the compose stack read prisma/ of the repository (the deploy contract).
    "deploy/test_compose.py": "prisma",
}


def modules() -> Iterator[Path]:
    """Every Python file of tests/ outside tests/example/."""
    for path in sorted(TESTS.rglob("*.py")):
        if EXAMPLE not in path.parents:
            yield path


def imported(tree: ast.AST) -> Iterator[str]:
    """Modules named by imports (import, from … import, importlib.import_module("…"))."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module
            yield from (f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Call) and _is_import_module(node.func) and node.args:
            first = node.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                yield first.value


def _is_import_module(func: ast.expr) -> bool:
    return isinstance(func, ast.Attribute | ast.Name) and (
        getattr(func, "attr", None) == "import_module"
        or getattr(func, "id", None) == "import_module"
    )


def _is_example(module: str) -> bool:
    return any(module == name or module.startswith(f"{name}.") for name in EXAMPLE_MODULES)


def test_no_module_outside_tests_example_imports_the_examples_code() -> None:
    offenders = [
        f"{path.relative_to(TESTS)}: {module}"
        for path in modules()
        if ALLOWED.get(str(path.relative_to(TESTS))) != "imports"
        for module in imported(ast.parse(path.read_text(encoding="utf-8")))
        if _is_example(module)
    ]
    assert offenders == [], "move these tests to tests/example/ or use tests/machinery/fixture"


def test_no_module_outside_tests_example_reads_prisma() -> None:
    offenders = [
        f"{path.relative_to(TESTS)}:{number}: {line.strip()}"
        for path in modules()
        if ALLOWED.get(str(path.relative_to(TESTS))) != "prisma" and path != Path(__file__)
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if READS_PRISMA.search(line)
    ]
    assert offenders == [], "the example's prisma/ is read only under tests/example/"


def test_the_guard_sees_what_it_forbids() -> None:
    tree = ast.parse(
        "import app.models\nfrom app.resources import PAGES\nfrom app import view_tables\n"
        "importlib.import_module('app.models')\n"
    )
    assert [m for m in imported(tree) if _is_example(m)] == [
        "app.models",
        "app.resources",
        "app.resources.PAGES",
        "app.view_tables",
        "app.models",
    ]
    assert READS_PRISMA.search('MIGRATIONS = ROOT / "prisma" / "migrations"')
