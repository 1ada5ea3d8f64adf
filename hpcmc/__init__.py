"""hpcmc: Python optimizers coupled to MPI-parallel Monte Carlo radiation transport.

From Python: ``hpcmc.run(job, ...)`` runs a job as ``hpcmc run`` does and returns its
``hpcmc.Results`` (a reader of results files, with ``to_xarray()``). See README.md for the
commands, the apps and the references (papers and data sources).
"""
import importlib

__version__ = "0.1.0"

__all__ = ["__version__", "run", "Results"]

#: Names served by :mod:`hpcmc.api`, imported on first use (PEP 562): ``import hpcmc`` stays
#: cheap for ``hpcmc --version``, and ``hpcmc.api`` (which imports the cli, itself importing
#: ``hpcmc.__version__``) loads only after this module has finished.
_LAZY = {"run": "hpcmc.api", "Results": "hpcmc.api"}


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'hpcmc' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(_LAZY))
