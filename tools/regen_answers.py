"""Regenerate the answer files of the regression cases (``tests/regression/<case>/answer.txt``).

Run this only when a change of results is intended (new physics, a fixed bug), then review the
``git diff`` of the answer files and say in the commit message why the results changed::

    python tools/regen_answers.py              # every case
    python tools/regen_answers.py gnp_small    # one case
    python tools/regen_answers.py --ranks 3 selftest

Each case runs under ``mpiexec -n RANKS`` (default 1) from a scratch directory; the tool
prints, per case, how many answer entries changed. ``tests/regression/test_regression.py``
checks the answers bit for bit under 1 and 3 ranks.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests"), str(REPO / "tests" / "regression")]

import harness  # noqa: E402  (tests/regression/harness.py; needs the path above)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("cases", nargs="*", help=f"cases to regenerate (default: all of {', '.join(harness.cases())})")
    parser.add_argument("--ranks", type=int, default=1, help="mpiexec -n RANKS (default 1)")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.cases) - set(harness.cases()))
    if unknown:
        parser.error(f"unknown case(s) {', '.join(unknown)}; known cases: {', '.join(harness.cases())}")
    for case in args.cases or harness.cases():
        t0 = time.perf_counter()
        with tempfile.TemporaryDirectory(prefix=f"hpcmc-answer-{case}-") as tmp:
            results = harness.run_case(case, Path(tmp), n_ranks=args.ranks)
            text = harness.answer_text(case, results)
        path = harness.answer_path(case)
        old = harness.parse_answer(path.read_text(), str(path)) if path.exists() else {}
        new = harness.parse_answer(text, case)
        changed = [p for p in sorted(set(old) | set(new)) if old.get(p) != new.get(p)]
        path.write_text(text)
        print(f"{case}: wrote {path.relative_to(REPO)} ({len(new)} entries, {len(changed)} changed) "
              f"in {time.perf_counter() - t0:.1f} s")
        for p in changed[:10]:
            print(f"    changed: {p}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
