"""selftest: a platform check with an analytic answer (``hpcmc run jobs/selftest.toml``).

Not physics: it checks an installation end to end — MPI launch, self-scheduling, per-history
streams, exact reduction, results file — against closed-form expectations.
"""
from hpcmc.apps.selftest.app import APP, SelftestConfig

__all__ = ["APP", "SelftestConfig"]
