#!/usr/bin/env python
"""Count the parameters of every numba-compiled function in a source tree (static, ``ast``).

A function counts if one of its decorators is ``njit``, ``jit``, ``numba.njit``,
``numba.jit``, ``nb.njit`` or ``nb.jit`` — bare or called (``@nb.njit(cache=True)``).
Parameters are positional-only, ordinary, ``*args``, keyword-only and ``**kwargs``, each
counted once. Nothing is imported, so the tool runs without numba.

Usage: ``python tools/count_njit_params.py [--max N] [PATH ...]`` (default: ``hpcmc``).
Prints the functions sorted by parameter count (largest first); with ``--max`` exits 1 if
any function has more than N parameters.
"""
from __future__ import annotations

import argparse
import ast
import sys
from pathlib import Path

__all__ = ["NJIT_NAMES", "is_njit_decorator", "count_params", "scan_file", "scan"]

#: Decorator names (last attribute component) that compile a function with numba.
NJIT_NAMES = frozenset({"njit", "jit"})


def is_njit_decorator(node: ast.expr) -> bool:
    """True if the decorator expression is (a call of) ``njit``/``jit`` or ``<module>.njit``/``.jit``."""
    if isinstance(node, ast.Call):
        node = node.func
    if isinstance(node, ast.Name):
        return node.id in NJIT_NAMES
    if isinstance(node, ast.Attribute):
        return node.attr in NJIT_NAMES
    return False


def count_params(fn: ast.FunctionDef) -> int:
    """Number of parameters of a function definition."""
    a = fn.args
    n = len(a.posonlyargs) + len(a.args) + len(a.kwonlyargs)
    n += a.vararg is not None
    n += a.kwarg is not None
    return n


def scan_file(path: Path):
    """``(count, "path:line name")`` for every njit function of one file."""
    tree = ast.parse(Path(path).read_text(encoding="utf-8"), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            if any(is_njit_decorator(d) for d in node.decorator_list):
                found.append((count_params(node), f"{path}:{node.lineno} {node.name}"))
    return found


def scan(paths):
    """:func:`scan_file` over every ``*.py`` below the given files/directories, largest first."""
    found = []
    for p in paths:
        p = Path(p)
        files = sorted(p.rglob("*.py")) if p.is_dir() else [p]
        for f in files:
            found.extend(scan_file(f))
    found.sort(key=lambda t: (-t[0], t[1]))
    return found


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("paths", nargs="*", default=["hpcmc"])
    ap.add_argument("--max", type=int, default=None, help="exit 1 if any function has more parameters")
    ap.add_argument("--top", type=int, default=20, help="print this many functions (0: all)")
    args = ap.parse_args(argv)
    found = scan(args.paths)
    for n, where in (found if args.top == 0 else found[: args.top]):
        print(f"{n:3d}  {where}")
    worst = found[0][0] if found else 0
    print(f"max parameters of an njit function: {worst} ({len(found)} functions)")
    if args.max is not None and worst > args.max:
        over = sum(1 for n, _ in found if n > args.max)
        print(f"{over} function(s) exceed {args.max}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
