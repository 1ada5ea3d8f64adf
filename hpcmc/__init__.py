"""hpcmc: Python optimizers coupled to MPI-parallel Monte Carlo radiation transport.

See README.md for the commands, the apps and the references (papers and data sources).
"""
__version__ = "0.1.0"

__all__ = ["__version__"]
