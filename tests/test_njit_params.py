"""No numba kernel takes more than 12 parameters (tables travel as NamedTuples)."""
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

import count_njit_params  # noqa: E402

MAX_PARAMS = 12


def test_tool_counts_parameters(tmp_path):
    src = tmp_path / "k.py"
    src.write_text("import numba as nb\nfrom numba import njit, jit\n"
                   "@nb.njit(cache=True)\ndef a(x, y, *z, w=1, **k):\n    pass\n"
                   "@njit\ndef b(p):\n    pass\n"
                   "@jit(nopython=True)\ndef c(p, q):\n    pass\n"
                   "def d(a, b, c, d, e, f, g, h, i, j, k, l, m):\n    pass\n")
    found = {where.split()[-1]: n for n, where in count_njit_params.scan([src])}
    assert found == {"a": 5, "b": 1, "c": 2}
    assert count_njit_params.main([str(src), "--max", "4"]) == 1
    assert count_njit_params.main([str(src), "--max", "5"]) == 0


def test_no_njit_function_has_more_than_12_parameters():
    found = count_njit_params.scan([ROOT / "hpcmc"])
    over = [f"{n} {where}" for n, where in found if n > MAX_PARAMS]
    assert not over, "njit functions with more than 12 parameters:\n" + "\n".join(over)
