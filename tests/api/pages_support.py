"""Kept for tests/machinery/support.py, which imports `bearer` from here: the helpers live in
tests/support.py (the example's page helpers moved to tests/example/api/pages_support.py)."""

from tests.support import PROBLEM, bearer

__all__ = ["PROBLEM", "bearer"]
