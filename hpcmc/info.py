"""``hpcmc info``: versions of hpcmc and its libraries, the MPI library, numba's threading layer."""
from __future__ import annotations

import importlib
import os
import platform
import sys

from hpcmc import __version__
from hpcmc.runtime.mpi_library import library_version, srun_mpi_plugin

__all__ = ["collect_info"]

_PACKAGES = ("numpy", "numba", "scipy", "h5py", "zmq", "google.protobuf", "optuna", "xraylib", "spekpy",
             "matplotlib", "mpi4py")


def _version(name: str) -> str:
    try:
        module = importlib.import_module(name)
    except Exception as exc:  # noqa: BLE001 - info reports, it does not fail
        return f"not available ({type(exc).__name__})"
    return str(getattr(module, "__version__", getattr(module, "VERSION", "installed")))


def _mpi_library() -> str:
    try:
        return library_version()
    except Exception as exc:  # noqa: BLE001
        return f"not available ({type(exc).__name__}: {exc})"


def _srun_mpi() -> str:
    try:
        return srun_mpi_plugin()
    except Exception as exc:  # noqa: BLE001
        return f"not available ({type(exc).__name__}: {exc})"


def collect_info() -> dict[str, str]:
    """Name → value lines printed by ``hpcmc info``."""
    info = {"hpcmc": __version__, "python": f"{platform.python_version()} ({sys.executable})",
            "platform": platform.platform(), "cpus": str(os.cpu_count())}
    for name in _PACKAGES:
        info[name] = _version(name)
    info["mpi library"] = _mpi_library()
    info["srun --mpi"] = _srun_mpi() + (" (HPCMC_SRUN_MPI)" if os.environ.get("HPCMC_SRUN_MPI") else "")
    try:
        import numba  # reported, not needed: a broken numba must not break `hpcmc info`

        layer = numba.config.THREADING_LAYER
        info["numba threading"] = f"{layer} (configured; NUMBA_NUM_THREADS={numba.config.NUMBA_NUM_THREADS})"
        info["numba cache dir"] = numba.config.CACHE_DIR or "beside the sources (__pycache__)"
    except Exception as exc:  # noqa: BLE001
        info["numba threading"] = f"not available ({exc})"
    return info
