"""``hpcmc info``: versions of hpcmc and its libraries, the MPI library, numba's threading layer."""
from __future__ import annotations

import importlib
import os
import platform
import sys

from hpcmc import __version__

__all__ = ["collect_info"]

_PACKAGES = ("numpy", "numba", "scipy", "h5py", "zmq", "google.protobuf", "optuna", "xraylib", "spekpy",
             "pyamtrack", "matplotlib", "mpi4py")


def _version(name: str) -> str:
    try:
        module = importlib.import_module(name)
    except Exception as exc:  # noqa: BLE001 - info reports, it does not fail
        return f"not available ({type(exc).__name__})"
    return str(getattr(module, "__version__", getattr(module, "VERSION", "installed")))


def _mpi_library() -> str:
    try:
        import mpi4py  # lazy: set rc before mpi4py.MPI is imported (info must not initialise MPI)

        mpi4py.rc.initialize = False  # MPI_Get_library_version may be called before MPI_Init
        mpi4py.rc.finalize = False
        from mpi4py import MPI  # after the rc settings above

        return MPI.Get_library_version().splitlines()[0].strip()
    except Exception as exc:  # noqa: BLE001
        return f"not available ({type(exc).__name__}: {exc})"


def collect_info() -> dict[str, str]:
    """Name → value lines printed by ``hpcmc info``."""
    info = {"hpcmc": __version__, "python": f"{platform.python_version()} ({sys.executable})",
            "platform": platform.platform(), "cpus": str(os.cpu_count())}
    for name in _PACKAGES:
        info[name] = _version(name)
    info["mpi library"] = _mpi_library()
    try:
        import numba  # reported, not needed: a broken numba must not break `hpcmc info`

        layer = numba.config.THREADING_LAYER
        info["numba threading"] = f"{layer} (configured; NUMBA_NUM_THREADS={numba.config.NUMBA_NUM_THREADS})"
        info["numba cache dir"] = numba.config.CACHE_DIR or "beside the sources (__pycache__)"
    except Exception as exc:  # noqa: BLE001
        info["numba threading"] = f"not available ({exc})"
    return info
