"""The package's layering, checked statically, and a self-contained repository.

The import graph of :mod:`hpcmc` is built by parsing every module with :mod:`ast` (imports at
module level *and* inside functions; imports under ``if TYPE_CHECKING:`` are annotations only,
never executed, and are left out). Layers, top to bottom::

    api (hpcmc.api: hpcmc.run and hpcmc.Results for scripts and notebooks)
    cli (hpcmc.cli, hpcmc.__main__, hpcmc.info)
      → job (hpcmc.config: reads job files, asks the app registry for the app's schema;
             hpcmc.overrides: --set / overrides folded into the job text, stdlib only)
        → apps (hpcmc.apps.*)            gateway (hpcmc.gateway.*) — beside cli/io, uses runtime
          → physics (hpcmc.physics.*)    io (hpcmc.io.*) — results files, uses runtime
            → runtime (hpcmc.runtime.*)
              → base (hpcmc/__init__.py: __version__; hpcmc.schema: job-table schemas, stdlib only)

A module may import modules of its own layer and of the layers in ``MAY_IMPORT``; nothing below
the apps imports an app, and no app imports another app (only :mod:`hpcmc.apps.base`). There
is no import cycle, neither at module level nor closed by an import inside a function, and an
hpcmc module is imported inside a function only where ``LAZY_ALLOWED`` says why.

``hpcmc/__init__.py`` re-exports ``hpcmc.run`` and ``hpcmc.Results`` through a module
``__getattr__`` (PEP 562) that imports :mod:`hpcmc.api` by name (``importlib``) on first
attribute access, after ``hpcmc`` has finished importing: not an import statement, so it is no
edge of the graph below and cannot close a cycle (``test_package_exports_run_and_results``
checks that it works).
"""
from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "hpcmc"

#: Layer of each module: the longest matching dotted prefix wins.
LAYER_OF = {
    "hpcmc": "base",
    "hpcmc.schema": "base",
    "hpcmc.runtime": "runtime",
    "hpcmc.io": "io",
    "hpcmc.physics": "physics",
    "hpcmc.gateway": "gateway",
    "hpcmc.apps": "apps",
    "hpcmc.config": "job",
    "hpcmc.overrides": "job",
    "hpcmc.api": "api",
    "hpcmc.info": "cli",
    "hpcmc.cli": "cli",
    "hpcmc.__main__": "cli",
}

#: Layers a layer may import besides itself.
MAY_IMPORT = {
    "base": set(),
    "runtime": {"base"},
    "io": {"runtime", "base"},
    "physics": {"runtime", "base"},
    "gateway": {"runtime", "base"},
    "apps": {"physics", "io", "runtime", "base"},
    "job": {"apps", "base"},
    "cli": {"job", "apps", "gateway", "io", "runtime", "base"},
    "api": {"cli", "job", "apps", "gateway", "io", "runtime", "base"},
}

#: Imports of hpcmc modules inside functions that are allowed, and why. ``None`` = any target.
LAZY_ALLOWED = {
    ("hpcmc.cli", None): "each subcommand imports only what it runs: `hpcmc --version`, `info` and "
                         "`submit` load no numba, h5py, ZeroMQ or app; MPI starts only in get_world()",
    ("hpcmc.apps.gnp.app", "hpcmc.apps.gnp.problem"): "the transport kernels and tables load only on the "
                         "ranks that build the problem, not for job validation, plots or `run --connect`",
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(name: str, path: Path, modules: dict[str, Path]):
    """``(target, in_function, line)`` for every import of an hpcmc module in ``path``."""
    is_pkg = path.name == "__init__.py"
    found = []

    def resolve(base: str, names) -> list[str]:
        out = []
        for alias in names:
            sub = f"{base}.{alias.name}"
            out.append(sub if sub in modules else base)
        return out or [base]

    def visit(node, in_function: bool):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child.test):
                for c in child.orelse:
                    visit_stmt(c, in_function)
                continue
            visit_stmt(child, in_function)

    def visit_stmt(child, in_function: bool):
        if isinstance(child, ast.Import):
            for alias in child.names:
                if alias.name == "hpcmc" or alias.name.startswith("hpcmc."):
                    found.append((alias.name, in_function, child.lineno))
        elif isinstance(child, ast.ImportFrom):
            if child.level:
                pkg = name if is_pkg else name.rpartition(".")[0]
                for _ in range(child.level - 1):
                    pkg = pkg.rpartition(".")[0]
                base = f"{pkg}.{child.module}" if child.module else pkg
            else:
                base = child.module or ""
            if base == "hpcmc" or base.startswith("hpcmc."):
                for target in resolve(base, child.names):
                    found.append((target, in_function, child.lineno))
        else:
            inner = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            visit(child, inner)

    visit(ast.parse(path.read_text(encoding="utf-8"), str(path)), False)
    return found


def _graph():
    modules = _modules()
    return modules, {name: _imports(name, path, modules) for name, path in modules.items()}


def _layer(module: str) -> str:
    best = max((p for p in LAYER_OF if module == p or module.startswith(p + ".")), key=len)
    return LAYER_OF[best]


def _app_of(module: str):
    parts = module.split(".")
    return parts[2] if len(parts) > 2 and parts[1] == "apps" and parts[2] != "base" else None


def test_every_module_has_a_layer():
    for module in _modules():
        assert _layer(module) in MAY_IMPORT, module


def test_layer_contract():
    _, graph = _graph()
    bad = []
    for importer, imports in graph.items():
        src = _layer(importer)
        for target, _, line in imports:
            dst = _layer(target)
            if dst != src and dst not in MAY_IMPORT[src]:
                bad.append(f"{importer}:{line} ({src}) imports {target} ({dst})")
            a, b = _app_of(importer), _app_of(target)
            if b is not None and a != b:
                bad.append(f"{importer}:{line} imports another app's module {target}")
    assert not bad, "layer violations:\n" + "\n".join(sorted(set(bad)))


def _ancestors(module: str) -> list[str]:
    parts = module.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


def _cycles(with_function_level: bool) -> list[list[str]]:
    """Strongly connected components (> 1 module) of the import graph."""
    modules, graph = _graph()
    edges: dict[str, set[str]] = {m: set() for m in modules}
    for importer, imports in graph.items():
        mine = set(_ancestors(importer))
        for target, in_function, _ in imports:
            if (in_function and not with_function_level) or target == importer:
                continue
            # importing a.b.c first runs the __init__ of a and a.b (unless the importer is inside them)
            for t in [target, *_ancestors(target)]:
                if t in modules and t not in mine and t != importer:
                    edges[importer].add(t)
    # Tarjan's strongly connected components
    index, low, stack, on_stack, sccs = {}, {}, [], set(), []

    def strong(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in edges[v]:
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                sccs.append(sorted(comp))

    for v in sorted(edges):
        if v not in index:
            strong(v)
    return sccs


def test_no_module_level_cycles():
    assert not _cycles(with_function_level=False), "import cycles at module level"


def test_no_cycles_behind_function_level_imports():
    """A cycle closed by an import inside a function is a cycle too (it only hides it)."""
    sccs = _cycles(with_function_level=True)
    assert not sccs, f"import cycles through imports inside functions: {sccs}"


def test_package_exports_run_and_results():
    """The PEP 562 re-exports of hpcmc/__init__.py resolve (in a fresh interpreter)."""
    code = "import hpcmc, sys; assert 'hpcmc.api' not in sys.modules; print(hpcmc.run.__module__, hpcmc.Results.__name__)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["hpcmc.api", "Results"]


def test_no_function_level_imports_of_hpcmc_modules():
    _, graph = _graph()
    bad = sorted({f"{importer}:{line} imports {target} inside a function"
                  for importer, imports in graph.items() for target, in_function, line in imports
                  if in_function and (importer, None) not in LAZY_ALLOWED and (importer, target) not in LAZY_ALLOWED})
    assert not bad, "\n".join(bad) + "\n(fix the dependency, or add the import to LAZY_ALLOWED with a reason)"


# -- a self-contained repository ------------------------------------------------------------
#: References users of the package cannot follow (built from pieces so this file does not match).
_PRIVATE_REFERENCES = ("PHYSICS" + r"\.md", "seed " + "00", r"\.\./" + "shared")


@pytest.mark.parametrize("pattern", _PRIVATE_REFERENCES)
def test_no_references_outside_the_repository(pattern):
    me = Path(__file__).resolve()
    files = [p for top in ("hpcmc", "tests", "tools", "jobs") for p in (REPO / top).rglob("*") if p.is_file()]
    files.append(REPO / "README.md")
    rx = re.compile(pattern, re.IGNORECASE)
    hits = []
    for p in files:
        if p.resolve() == me or "__pycache__" in p.parts:
            continue
        try:
            text = p.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        hits += [f"{p.relative_to(REPO)}:{i}: {line.strip()}" for i, line in enumerate(text.splitlines(), 1)
                 if rx.search(line)]
    assert not hits, "\n".join(hits)
