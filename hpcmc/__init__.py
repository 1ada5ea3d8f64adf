"""hpcmc: Python optimizers coupled to MPI-parallel Monte Carlo radiation transport.

See README.md for the commands and ``../shared/DESIGN.md`` (in the project) for the design.
"""
__version__ = "0.1.0"

__all__ = ["__version__"]
