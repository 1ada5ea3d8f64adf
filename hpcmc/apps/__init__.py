"""The app registry: app name → module that defines its :class:`~hpcmc.apps.base.App`.

Modules are imported lazily, so ``hpcmc info`` or a ``lem`` job does not pay for compiling
another app's kernels. A new app adds one line here and touches no runtime file.
"""
from __future__ import annotations

import importlib

from hpcmc.apps.base import App, RunContext

__all__ = ["App", "RunContext", "get_app", "known_apps"]

_REGISTRY = {
    "gnp": "hpcmc.apps.gnp",
    "selftest": "hpcmc.apps.selftest",
    "lem": "hpcmc.apps.lem",
}

_CACHE: dict[str, App] = {}


def known_apps() -> list[str]:
    """Names of the registered apps."""
    return sorted(_REGISTRY)


def get_app(name: str) -> App:
    """The app instance registered under ``name`` (its module defines ``APP``)."""
    if name not in _REGISTRY:
        raise ValueError(f"unknown app {name!r}; known apps: {', '.join(known_apps())}")
    if name not in _CACHE:
        module = importlib.import_module(_REGISTRY[name])
        _CACHE[name] = module.APP
    return _CACHE[name]
