"""Answer-file regression harness: run a case, write its physics results as text, compare.

A *case* is a directory ``tests/regression/<case>/`` holding

* ``job.toml`` — the job, run from a scratch directory as ``hpcmc run job.toml -o results.h5``;
* ``answer.txt`` — the expected physics results of that job (written by
  ``python tools/regen_answers.py <case>``, never by hand);
* optionally ``q.txt`` — an importance distribution over annuli (one float64 per line), which
  the harness writes into ``q.h5`` (a results file with ``/optimizer/iteration_1/q_next``) in
  the scratch directory, for a gnp job with ``mode = "compare"`` and ``q_file = "q.h5"``.

Answer file format (text, so that a change shows up in ``git diff``): after ``#`` comment lines,
one block per entry, sorted by path. An entry is an HDF5 dataset (``group/name``) or a numeric
attribute (``group@name``) of the results file::

    tallies/transmitted/mean float64 (1,)
      0 0.1353352832366127

The header gives the path, the dtype and the shape; each value line gives the flat index
(``i,j`` for 2-D, ``()`` for a scalar) and the value: a float64 as ``repr`` (the shortest
string that reads back to the same bits, so string equality is bitwise equality; ``-0.0`` and
``nan`` included), an integer or boolean in decimal, a string as ``repr``.

Only physics results are kept: every numeric dataset and numeric attribute below ``/tallies``
and the app groups, and the ``unit`` of every tally. Left out are ``/provenance`` (code
version, host, timings), ``/config``, the root attributes (file type, creation time), prose
attributes (``description``...), the task description and the run layout and timing entries
(:data:`SKIPPED_NAMES`): results are bitwise independent of the number of ranks and of the
chunk order, but wall times are not.
"""
from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Optional

import h5py
import numpy as np

from conftest import REPO, hpcmc_env, mpiexec
from hpcmc.io.results import ResultsWriter

__all__ = ["CASES_DIR", "SKIPPED_NAMES", "Entry", "cases", "prepare", "run_case", "answer_text", "parse_answer",
           "differences", "answer_path"]

CASES_DIR = Path(__file__).resolve().parent

#: Datasets and attributes that are not physics results (timings, run layout, task description).
SKIPPED_NAMES = frozenset({"wall_time_s", "master_cpu_fraction", "n_ranks", "task"})
#: String attributes that are kept (all other string attributes are prose).
KEPT_STRING_ATTRS = frozenset({"unit"})
#: Top-level groups that are never compared.
SKIPPED_GROUPS = frozenset({"provenance", "config"})

HEADER = """\
# hpcmc regression answer: case {case}
# The physics results of `hpcmc run job.toml` (bitwise identical for any rank count).
# Regenerate only for an intended change of results: python tools/regen_answers.py {case}
# Format: tests/regression/harness.py (path dtype shape, then one 'index value' line per value).
"""


@dataclasses.dataclass(frozen=True)
class Entry:
    """One dataset or attribute of an answer.

    Attributes
    ----------
    path : str
        ``group/name`` for a dataset, ``group@name`` for an attribute.
    dtype : str
        numpy dtype name (``float64``, ``int64``, ``bool``, ``str``).
    shape : tuple of int
    values : tuple of str
        Flat values, each written exactly (see the module docstring).
    """

    path: str
    dtype: str
    shape: tuple[int, ...]
    values: tuple[str, ...]


def cases() -> list[str]:
    """Names of the case directories (those with a ``job.toml``), sorted."""
    return sorted(p.parent.name for p in CASES_DIR.glob("*/job.toml"))


def answer_path(case: str) -> Path:
    """The committed answer file of ``case``."""
    return CASES_DIR / case / "answer.txt"


def prepare(case: str, workdir: Path) -> Path:
    """Copy the case's job into ``workdir`` and make its inputs; return the job path.

    Parameters
    ----------
    case : str
        Case directory name below ``tests/regression``.
    workdir : pathlib.Path
        Scratch directory (created if missing); the job runs with it as working directory.
    """
    src = CASES_DIR / case
    if not (src / "job.toml").is_file():
        raise ValueError(f"regression case {case!r}: no {src / 'job.toml'} (known cases: {', '.join(cases())})")
    workdir.mkdir(parents=True, exist_ok=True)
    job = workdir / "job.toml"
    shutil.copyfile(src / "job.toml", job)
    q_txt = src / "q.txt"
    if q_txt.is_file():
        q = np.array([float(line) for line in q_txt.read_text().split("\n") if line.strip()
                      and not line.lstrip().startswith("#")])
        with ResultsWriter(str(workdir / "q.h5"), "", "gnp", {}) as writer:
            writer.group("optimizer").create_group("iteration_1")["q_next"] = q
    return job


def run_case(case: str, workdir: Path, n_ranks: Optional[int] = 1, timeout: float = 600) -> Path:
    """Run ``case`` in ``workdir`` (under ``mpiexec -n n_ranks``; in-process if None).

    The child imports hpcmc from this checkout (``PYTHONPATH`` starts with the repository), not
    from wherever the environment's hpcmc was installed from.

    Returns
    -------
    pathlib.Path
        The results file (``workdir/results.h5``).
    """
    job = prepare(case, workdir)
    out = workdir / "results.h5"
    cmd = [sys.executable, "-m", "hpcmc", "run", str(job), "-o", str(out), "--force"]
    if n_ranks is not None:
        cmd = [mpiexec(), "-n", str(n_ranks), *cmd]
    env = hpcmc_env()
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), *filter(None, [env.get("PYTHONPATH", "")])])
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=workdir, env=env)
    if proc.returncode != 0:
        raise AssertionError(f"regression case {case}: {' '.join(cmd)} exited {proc.returncode}\n"
                             f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}")
    return out


def _format_value(v) -> str:
    if isinstance(v, (bytes, np.bytes_)):
        v = v.decode()
    if isinstance(v, str):
        return repr(str(v))
    if isinstance(v, (bool, np.bool_)):
        return str(bool(v))
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        return repr(float(v))
    raise TypeError(f"cannot write {type(v).__name__} value {v!r} into an answer file")


def _entry(path: str, value) -> Optional[Entry]:
    arr = np.asarray(value)
    if arr.dtype.kind in "SUO":
        values = tuple(_format_value(v) for v in arr.reshape(-1))
        return Entry(path, "str", tuple(arr.shape), values)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{path}: dtype {arr.dtype} has no answer-file form")
    return Entry(path, arr.dtype.name, tuple(arr.shape), tuple(_format_value(v) for v in arr.reshape(-1)))


def collect(results_path: Path) -> dict[str, Entry]:
    """The physics entries of a results file (see the module docstring for what is kept)."""
    entries: dict[str, Entry] = {}

    def attrs_of(obj, prefix: str) -> None:
        for name, value in obj.attrs.items():
            if name in SKIPPED_NAMES:
                continue
            is_string = isinstance(value, (str, bytes)) or np.asarray(value).dtype.kind in "SUO"
            if is_string and name not in KEPT_STRING_ATTRS:
                continue
            entries[f"{prefix}@{name}"] = _entry(f"{prefix}@{name}", value)

    def visit(name: str, obj) -> None:
        if name.split("/")[0] in SKIPPED_GROUPS or name.split("/")[-1] in SKIPPED_NAMES:
            return
        if isinstance(obj, h5py.Dataset):
            entries[name] = _entry(name, obj[()])
        attrs_of(obj, name)

    with h5py.File(results_path, "r") as h5:
        h5.visititems(visit)
    return dict(sorted(entries.items()))


def _index(flat: int, shape: tuple[int, ...]) -> str:
    if not shape:
        return "()"
    return ",".join(str(i) for i in np.unravel_index(flat, shape))


def answer_text(case: str, results_path: Path) -> str:
    """The answer file text of a results file of ``case``."""
    lines = [HEADER.format(case=case).rstrip("\n")]
    for e in collect(results_path).values():
        lines.append(f"{e.path} {e.dtype} {e.shape!r}")
        lines += [f"  {_index(k, e.shape)} {v}" for k, v in enumerate(e.values)]
    return "\n".join(lines) + "\n"


def parse_answer(text: str, source: str = "answer") -> dict[str, Entry]:
    """Read an answer file's text back into entries (inverse of :func:`answer_text`)."""
    entries: dict[str, Entry] = {}
    head: Optional[tuple[str, str, tuple[int, ...]]] = None
    values: list[str] = []

    def close() -> None:
        if head is not None:
            entries[head[0]] = Entry(head[0], head[1], head[2], tuple(values))

    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        if line.startswith("  "):
            if head is None:
                raise ValueError(f"{source}:{lineno}: value line before any entry header: {line!r}")
            values.append(line.split(maxsplit=1)[1])
            continue
        close()
        path, dtype, shape_text = line.split(" ", 2)
        shape_text = shape_text.strip().strip("()")
        shape = tuple(int(s) for s in shape_text.split(",") if s.strip())
        head, values = (path, dtype, shape), []
    close()
    for e in entries.values():
        n = int(np.prod(e.shape)) if e.shape else 1
        if len(e.values) != n:
            raise ValueError(f"{source}: entry {e.path} has {len(e.values)} values for shape {e.shape}")
    return entries


def _relative(expected: str, actual: str) -> str:
    try:
        a, b = float(expected), float(actual)
    except ValueError:
        return ""
    if a == b or not (np.isfinite(a) and np.isfinite(b)):
        return ""
    return f" (actual - expected = {b - a:.3g}, relative {(b - a) / abs(a) if a else float('inf'):.3g})"


def _entry_differences(path: str, e: Optional[Entry], a: Optional[Entry]) -> list[str]:
    """The lines describing how entry ``path`` differs (``[]`` if it does not)."""
    if e is None:
        return [f"{path}: not in the answer file (new entry {a.dtype} {a.shape})"]
    if a is None:
        return [f"{path}: in the answer file but not in the results"]
    if (e.dtype, e.shape) != (a.dtype, a.shape):
        return [f"{path}: answer is {e.dtype} {e.shape}, results have {a.dtype} {a.shape}"]
    bad = [k for k, (x, y) in enumerate(zip(e.values, a.values)) if x != y]
    if not bad:
        return []
    return [f"{path}: {len(bad)} of {len(e.values)} values differ"] + [
        f"    [{_index(k, e.shape)}] answer {e.values[k]}, now {a.values[k]}{_relative(e.values[k], a.values[k])}"
        for k in bad[:5]]


def differences(expected: dict[str, Entry], actual: dict[str, Entry], limit: int = 12) -> list[str]:
    """Human-readable differences between two answers (exact comparison; ``[]`` if equal).

    Tallies come first, then the app entries in path order; at most ``limit`` differing
    entries are described, each with its first five differing values.
    """
    paths = sorted(set(expected) | set(actual), key=lambda p: (not p.startswith("tallies/"), p))
    per_entry = [d for d in (_entry_differences(p, expected.get(p), actual.get(p)) for p in paths) if d]
    out = [line for d in per_entry[:limit] for line in d]
    if len(per_entry) > limit:
        out.append(f"... and {len(per_entry) - limit} more differing entries")
    return out
