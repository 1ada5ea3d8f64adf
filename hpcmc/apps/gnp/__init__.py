"""gnp: active-learning importance sampling of the F4 cluster dose around a gold nanoparticle.

Thomas, Schwarze & Rabus (PTB, 2025; full reference in README.md). Modules: :mod:`.binning` (annuli, shells),
:mod:`.estimator` (eqs. 2–8, Appendix B), :mod:`.clustering` (AVC), :mod:`.transport` (the
history kernel), :mod:`.problem` (runtime interface), :mod:`.optimizer` (the Optuna loop),
:mod:`.driver` (optimisation and comparison on the master), :mod:`.plots` (Figs. 4–8).
"""
from hpcmc.apps.gnp.app import APP, GnpApp
from hpcmc.apps.gnp.config import GnpConfig

__all__ = ["APP", "GnpApp", "GnpConfig"]
