"""Which MPI library mpi4py is linked to, and what launching it takes.

hpcmc runs on MPICH (and its derivatives: MVAPICH, Cray MPICH), Open MPI and Intel MPI, with
bitwise-identical results. The libraries differ only in how they are launched:

============  ==================  ================================================================
family        ``srun --mpi=``     ``mpiexec`` on one machine
============  ==================  ================================================================
``mpich``     ``pmi2``            Hydra's ``mpiexec -n N``
``impi``      ``pmi2``            Hydra's ``mpiexec -n N``; ``I_MPI_FABRICS=shm`` on one node
``openmpi``   ``pmix``            ``mpiexec -n N``; as root it needs ``OMPI_ALLOW_RUN_AS_ROOT=1``
                                  and ``OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1``, and more ranks than
                                  cores need ``--oversubscribe`` (Open MPI 4) or
                                  ``PRTE_MCA_rmaps_default_mapping_policy=:oversubscribe`` (5)
============  ==================  ================================================================

``hpcmc info --srun-mpi`` prints the ``srun --mpi=`` plugin for the linked library; the SLURM
scripts in ``jobs/slurm/`` use it (``HPCMC_SRUN_MPI`` overrides the choice). Reading the
library version does not initialise MPI (``MPI_Get_library_version`` may be called before
``MPI_Init``).
"""
from __future__ import annotations

import os
from typing import Any, Optional

from hpcmc.runtime.text import clean_text

__all__ = [
    "FAMILIES",
    "SRUN_MPI_PLUGIN",
    "family_of",
    "library_version",
    "linked_family",
    "srun_mpi_plugin",
    "mpiexec_env",
    "mpiexec_args",
]

FAMILIES = ("mpich", "openmpi", "impi")

#: ``srun --mpi=`` plugin per family: PMI-2 for the Hydra-based libraries, PMIx for Open MPI.
SRUN_MPI_PLUGIN = {"mpich": "pmi2", "impi": "pmi2", "openmpi": "pmix"}


def library_version(mpi: Optional[Any] = None) -> str:
    """The first line of ``MPI_Get_library_version``, cleaned (Open MPI's ends with a NUL).

    Parameters
    ----------
    mpi : module, optional
        ``mpi4py.MPI``; imported without initialising MPI if not given.
    """
    if mpi is None:
        import mpi4py  # noqa: PLC0415 - mpi4py is imported only where MPI is wanted

        mpi4py.rc.initialize = False
        mpi4py.rc.finalize = False
        from mpi4py import MPI as mpi  # noqa: N811, PLC0415
    lines = clean_text(mpi.Get_library_version()).splitlines()
    return lines[0].strip() if lines else ""


def family_of(version: str) -> str:
    """``"mpich"``, ``"openmpi"``, ``"impi"`` or ``"unknown"`` from a library version string."""
    v = version.lower()
    if "intel" in v and "mpi" in v:
        return "impi"
    if "open mpi" in v or "openmpi" in v:
        return "openmpi"
    if "mpich" in v or "mvapich" in v:
        return "mpich"
    return "unknown"


def linked_family() -> str:
    """The family of the MPI library mpi4py is linked to in this environment."""
    return family_of(library_version())


def srun_mpi_plugin(family: Optional[str] = None, environ: Optional[dict] = None) -> str:
    """The ``srun --mpi=`` plugin to launch ``family`` (default: the linked library).

    ``HPCMC_SRUN_MPI`` in ``environ`` (default ``os.environ``) overrides the choice, e.g. for a
    site whose Slurm was built with PMIx only.

    Raises
    ------
    ValueError
        If the override is not a plain plugin name, or the family is unknown and there is no
        override.
    """
    env = os.environ if environ is None else environ
    override = env.get("HPCMC_SRUN_MPI", "").strip()
    if override:
        if not override.replace("_", "").replace("-", "").isalnum():
            raise ValueError(f"environment variable HPCMC_SRUN_MPI must name an srun --mpi plugin, got {override!r}")
        return override
    fam = linked_family() if family is None else family
    try:
        return SRUN_MPI_PLUGIN[fam]
    except KeyError:
        raise ValueError(
            f"cannot choose srun --mpi for MPI family {fam!r}; set HPCMC_SRUN_MPI (e.g. pmi2 or pmix)"
        ) from None


def mpiexec_env(family: str, environ: Optional[dict] = None) -> dict[str, str]:
    """The environment for ``mpiexec`` of ``family`` on one machine, run by anyone.

    Adds what Open MPI needs to run as root and with more ranks than cores, and keeps Intel
    MPI on shared memory (it otherwise probes network fabrics); leaves the rest unchanged.
    """
    env = dict(os.environ if environ is None else environ)
    if family == "openmpi":
        env.setdefault("OMPI_ALLOW_RUN_AS_ROOT", "1")
        env.setdefault("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
        env.setdefault("PRTE_MCA_rmaps_default_mapping_policy", ":oversubscribe")  # Open MPI 5
        env.setdefault("OMPI_MCA_rmaps_base_oversubscribe", "1")  # Open MPI 4
    elif family == "impi":
        env.setdefault("I_MPI_FABRICS", "shm")
    return env


def mpiexec_args(mpiexec: str, n_ranks: int) -> list[str]:
    """``[mpiexec, "-n", n]`` — the same for every family once :func:`mpiexec_env` is applied."""
    if int(n_ranks) < 1:
        raise ValueError(f"n_ranks must be >= 1, got {n_ranks!r}")
    return [str(mpiexec), "-n", str(int(n_ranks))]
