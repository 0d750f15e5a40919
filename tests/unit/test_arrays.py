"""bot.core.arrays: distinct values by sorting, and no hash-table np.unique left in the code."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest

from bot.core.arrays import count_distinct, distinct

BOT = Path(__file__).resolve().parents[2] / "bot"


@pytest.mark.parametrize("values", [
    np.array([], dtype=np.int64),
    np.array([7]),
    np.array([3, 3, 3]),
    np.random.default_rng(1).integers(-5, 5, 1000),
    400_000_000_000_000_000 + np.random.default_rng(2).integers(0, 90_000, 200_000) * 7919,
    np.array([0.5, -0.0, 0.0, 2.0, 0.5]),
])
def test_distinct_is_np_unique(values):
    assert distinct(values).dtype == values.dtype
    assert distinct(values).tolist() == np.unique(values).tolist()
    assert count_distinct(values) == len(np.unique(values))


def test_no_np_unique_that_takes_the_hash_table_path():
    """np.unique without return_index/inverse/counts holds the GIL for its whole hash-table
    pass (0.2-0.46 s at 1M comments, the loop stalled meanwhile): use arrays.distinct."""
    found = []
    for path in sorted(BOT.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "unique" and isinstance(node.func.value, ast.Name)
                    and node.func.value.id in {"np", "numpy"}
                    and not {k.arg for k in node.keywords} & {
                        "return_index", "return_inverse", "return_counts"}):
                found.append(f"{path.relative_to(BOT.parent)}:{node.lineno}")
    assert not found
