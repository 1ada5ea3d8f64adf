"""Status codes of every transport kernel, one set with distinct numbers.

Kernels return :data:`OK` or one of these codes; callers compare with the names only.

* ``*_FULL`` — a caller-provided buffer is full: the caller enlarges it and reruns the
  history (histories are reproducible from their random streams);
* errors — the history cannot be transported (:data:`FAILED` is the catch-all of the
  application kernels, e.g. a hand-off guard);
* particle fates — how a condensed-history step sequence ended (:data:`STOPPED`,
  :data:`ESCAPED`, :data:`STEP_LIMIT`).
"""
from __future__ import annotations

__all__ = [
    "OK", "PHOTON_BANK_FULL", "ELECTRON_BANK_FULL", "VACANCY_BANK_FULL", "VACANCY_STACK_FULL",
    "ION_BUFFER_FULL", "STACK_FULL", "GOLD_BANK_FULL", "DEPOSIT_BUFFER_FULL", "OUT_BANK_FULL",
    "ENERGY_ABOVE_TABLE", "UNKNOWN_ELEMENT", "FAILED", "STOPPED", "ESCAPED", "STEP_LIMIT",
    "STATUS_NAMES", "status_text",
]

OK = 0
# a buffer is full (enlarge and rerun)
PHOTON_BANK_FULL = 1
ELECTRON_BANK_FULL = 2
VACANCY_BANK_FULL = 3
VACANCY_STACK_FULL = 4
ION_BUFFER_FULL = 5
STACK_FULL = 6
GOLD_BANK_FULL = 7
DEPOSIT_BUFFER_FULL = 8
OUT_BANK_FULL = 9
# errors
ENERGY_ABOVE_TABLE = 20
UNKNOWN_ELEMENT = 21
FAILED = 22
# fates of a condensed-history electron
STOPPED = 30
ESCAPED = 31
STEP_LIMIT = 32

STATUS_NAMES = {
    OK: "ok", PHOTON_BANK_FULL: "photon bank full", ELECTRON_BANK_FULL: "electron bank full",
    VACANCY_BANK_FULL: "vacancy bank full", VACANCY_STACK_FULL: "vacancy stack full",
    ION_BUFFER_FULL: "ionization buffer full", STACK_FULL: "secondary stack full",
    GOLD_BANK_FULL: "gold bank full", DEPOSIT_BUFFER_FULL: "deposit buffer full",
    OUT_BANK_FULL: "output bank full", ENERGY_ABOVE_TABLE: "energy above the table range",
    UNKNOWN_ELEMENT: "element not in the tables", FAILED: "history failed",
    STOPPED: "stopped", ESCAPED: "escaped", STEP_LIMIT: "step limit reached",
}


def status_text(code) -> str:
    """Human-readable text of a status code."""
    return STATUS_NAMES.get(int(code), f"unknown status {int(code)}")
