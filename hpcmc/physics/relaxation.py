"""Atomic relaxation of inner-shell vacancies (fluorescence, Auger and Coster–Kronig cascade).

A photoabsorption in gold leaves a vacancy in shell ``s`` (xraylib's shell index: K = 0,
L1–L3 = 1–3, M1–M5 = 4–8, N1–N7 = 9–15, O1–O7 = 16–22, P1–P5 = 23–27, Q1–Q3 = 28–30).
:func:`build_relaxation_table` turns xraylib's atomic data into a flat transition table per
element; :func:`relax_vacancy` (numba) cascades one vacancy at a point until every vacancy
sits in a *terminal* shell, emitting photons and electrons isotropically into caller banks.
Units: energies in eV, lengths in nm.  :func:`build_relaxation_tables` stacks several
elements (default gold, O and H — every element the photon module can ionise in the gnp
world) for :func:`relax_vacancy_z`, which takes the vacancy's Z.

Transitions of a vacancy in shell s (binding E_s)
-------------------------------------------------
Each transition moves the vacancy and conserves energy against xraylib's edge energies:

* radiative s ← d (probability ω_s · r_sd): a photon of the line energy, new vacancy in d.
  ω_s = ``FluorYield(Z, s)``, r_sd = ``RadRate(Z, <s><d>_LINE)`` renormalised over the lines
  kept (donor d with a known edge, E_d < E_s).  Photon energy ``min(LineEnergy, E_s − E_d)``
  (in xraylib 4.3 both are equal for gold; a positive excess E_s − E_d − E_line would be
  deposited locally).  For L1 xraylib also lists f′13 (``FLP13_TRANS``) outside ω, a, f12,
  f13 (ω + a + f12 + f13 + f′13 = 1) and moves the vacancy to L3 as f13 does; it is emitted
  here as an L1–L3 photon (an assumption: it concerns 0.28 % of gold L1 vacancies).
* Coster–Kronig s → f (f a higher subshell of the same shell) + electron from shell X
  (probability f_sf = ``CosKronTransProb``, FL12/FL13/FL23 and FM12…FM45): new vacancies
  in f and X, electron energy E_s − E_f − E_X.  xraylib does not say which shell X gives
  the electron.  **Rule (approximation)**: X is taken among the shells of the innermost
  principal shell that is energetically allowed (E_X < E_s − E_f, principal quantum
  number above that of s), with probability ∝ its occupation (``ElectronConfig``).  This
  makes L1–L3 CK eject M4,5 electrons (the dominant L1–L3M4,5 channel of heavy atoms) and
  L2–L3 CK N-shell electrons.
* Auger s → (j, k) + electron (probability a_s = ``AugerYield``): new vacancies in j and k,
  electron energy **E_s − E_j − E_k from edge energies** (xraylib has no Auger energies;
  the two-hole relaxation shift is neglected, so Auger energies are too high by roughly the
  Z+1 shift of the second hole, ≈ 0.1 keV for L–MM in gold).  For K and L1–L3 the pair (j, k) is drawn from
  ``AugerRate(Z, <s>_<j><k>_AUGER)`` renormalised over the pairs kept (both edges known,
  E_j + E_k < E_s; xraylib's rates sum to 0.997 for K and ≈ 0.97 for L in gold).
  **Rule for M shells (no AugerRate in xraylib)**: every pair of shells of higher principal
  quantum number with E_j + E_k < E_s, weighted by the number of electron pairs,
  n_j n_k (j ≠ k) or n_j (n_j − 1)/2 (j = k).  For gold M4,5 this gives M–NN, M–NO and M–OO
  electrons of 1.3–2.2 keV (measured M4,5-N6,7N6,7 lines ≈ 2.0 keV).
* Shells with edge data but no yields/rates in xraylib (N, O): the same pair rule with
  donors from *any* shell with E < E_s (so N–NN super-Coster–Kronig and N–NO CK are
  included), total probability 1 − ω_s, and — xraylib has no N-shell line data — the
  radiative branch ω_s ≤ 2×10⁻⁴ is folded into the non-radiative one.
* Shells xraylib gives electrons but no edge (gold 6s = P1) count as donors of binding 0
  (the conduction band, Fermi-level referenced as xraylib's edges are).

Terminal shells and energy conservation
---------------------------------------
Shells with E_s below ``threshold_eV`` (default 200 eV: gold N6, N7, O and P shells,
E ≤ 108 eV) are terminal: their vacancies are left unfilled and their binding energy is
deposited locally at the atom (electrons below ~100 eV travel ≲ 1 nm in gold).  Electrons
or photons below ``min_emit_eV`` are deposited locally too.  The kernel returns the local
deposit as the **exact remainder** ``E_s0 − Σ E_photon − Σ E_electron`` (clamped at 0 only
against a rounding residue below 10⁻⁹ E_s0), and separately the summed binding energy of the
terminal vacancies; the two agree to rounding when every emitted quantum is banked
(tests/test_physics_gold.py).

Validity: the cascade is that of an isolated atom with instantaneous relaxation (no solid-
state or multiple-ionization shifts); branching ratios are xraylib 4.3's (Schoonjans et al.,
Spectrochim. Acta B 66 (2011) 776 document their sources); the M-shell Auger pairs, the
CK ejected shell, N-shell decays and the edge-difference Auger energies are the
approximations listed above.
"""
from __future__ import annotations

import dataclasses
import math
import re
from typing import NamedTuple

import numba as nb
import numpy as np
import xraylib

from hpcmc.physics import status as stc
from hpcmc.physics.banks import set_particle
from hpcmc.physics.particles import ELECTRON, P_E, PARTICLE_COLUMNS, PHOTON
from hpcmc.runtime.rng import rng_seed, rng_uniform, stream_key

__all__ = [
    "SHELL_NAMES", "N_SHELLS",
    "K_SHELL", "L1_SHELL", "L2_SHELL", "L3_SHELL",
    "RADIATIVE", "COSTER_KRONIG", "AUGER", "LOCAL", "KIND_NAMES",
    "OK", "PHOTON_BANK_FULL", "ELECTRON_BANK_FULL", "VACANCY_STACK_FULL", "UNKNOWN_ELEMENT", "CODE_NAMES",
    "RELAXATION_STREAM", "DEFAULT_THRESHOLD_EV",
    "RelaxationKernelTables", "StackedRelaxationKernelTables",
    "RelaxationTable", "build_relaxation_table", "relaxation_table",
    "RelaxationTables", "build_relaxation_tables",
    "sample_transition", "isotropic_direction", "relax_vacancy", "relax_vacancy_z", "cascade_statistics",
    "new_vacancy_stack",
]

SHELL_NAMES = ("K", "L1", "L2", "L3", "M1", "M2", "M3", "M4", "M5",
               "N1", "N2", "N3", "N4", "N5", "N6", "N7",
               "O1", "O2", "O3", "O4", "O5", "O6", "O7",
               "P1", "P2", "P3", "P4", "P5", "Q1", "Q2", "Q3")
N_SHELLS = len(SHELL_NAMES)
_SHELL_INDEX = {name: i for i, name in enumerate(SHELL_NAMES)}
K_SHELL, L1_SHELL, L2_SHELL, L3_SHELL = 0, 1, 2, 3

# transition kinds
RADIATIVE = 0
COSTER_KRONIG = 1
AUGER = 2
LOCAL = 3   # vacancy moves, energy deposited locally (fallback when no electron can be ejected)
KIND_NAMES = ("radiative", "Coster-Kronig", "Auger", "local")

# kernel return codes (values from hpcmc.physics.status, shared by all kernels)
OK = stc.OK
PHOTON_BANK_FULL = stc.PHOTON_BANK_FULL
ELECTRON_BANK_FULL = stc.ELECTRON_BANK_FULL
VACANCY_STACK_FULL = stc.VACANCY_STACK_FULL
UNKNOWN_ELEMENT = stc.UNKNOWN_ELEMENT
CODE_NAMES = {OK: "ok", PHOTON_BANK_FULL: "photon bank full", ELECTRON_BANK_FULL: "electron bank full",
              VACANCY_STACK_FULL: "vacancy stack full", UNKNOWN_ELEMENT: "element not in the relaxation tables"}

#: Named random sub-stream for stand-alone cascades (:func:`cascade_statistics`).
RELAXATION_STREAM = stream_key("relaxation")
#: Default binding energy below which vacancies are terminal  [eV].
DEFAULT_THRESHOLD_EV = 200.0
_TWO_PI = 2.0 * math.pi


def _principal(shell: int) -> int:
    """Principal quantum number of a shell index (K = 1, L = 2, …)."""
    return "KLMNOPQ".index(SHELL_NAMES[shell][0]) + 1


def _xrl(fn, *args):
    """xraylib call that returns None instead of raising for missing data."""
    try:
        value = fn(*args)
    except ValueError:
        return None
    return float(value)


def _macros(pattern: str) -> dict:
    """xraylib macros whose name matches ``pattern`` → {match groups: macro value}."""
    rx = re.compile(pattern)
    out = {}
    for name in dir(xraylib):
        m = rx.match(name)
        if m:
            out[m.groups()] = getattr(xraylib, name)
    return out


_LINE_MACROS = _macros(r"^(K|[LMNOPQ]\d)([LMNOPQ]\d)_LINE$")
_AUGER_MACROS = _macros(r"^(K|[LMNOPQ]\d)_([LMNOPQ]\d)([LMNOPQ]\d)_AUGER$")
_CK_MACROS = {  # (vacancy, final) → macro; FLP13 is handled as radiative
    ("L1", "L2"): xraylib.FL12_TRANS, ("L1", "L3"): xraylib.FL13_TRANS, ("L2", "L3"): xraylib.FL23_TRANS,
    ("M1", "M2"): xraylib.FM12_TRANS, ("M1", "M3"): xraylib.FM13_TRANS, ("M1", "M4"): xraylib.FM14_TRANS,
    ("M1", "M5"): xraylib.FM15_TRANS, ("M2", "M3"): xraylib.FM23_TRANS, ("M2", "M4"): xraylib.FM24_TRANS,
    ("M2", "M5"): xraylib.FM25_TRANS, ("M3", "M4"): xraylib.FM34_TRANS, ("M3", "M5"): xraylib.FM35_TRANS,
    ("M4", "M5"): xraylib.FM45_TRANS,
}


class RelaxationKernelTables(NamedTuple):
    """One element's transitions for :func:`relax_vacancy` (:meth:`RelaxationTable.kernel_tables`).

    Attributes
    ----------
    binding_eV, tr_start, tr_cum, tr_kind, tr_v1, tr_v2, tr_energy_eV : arrays
        As in :class:`RelaxationTable`.
    min_emit_eV : float
        Photons and electrons below this energy are deposited locally instead of banked  [eV].
    """

    binding_eV: np.ndarray
    tr_start: np.ndarray
    tr_cum: np.ndarray
    tr_kind: np.ndarray
    tr_v1: np.ndarray
    tr_v2: np.ndarray
    tr_energy_eV: np.ndarray
    min_emit_eV: float


class StackedRelaxationKernelTables(NamedTuple):
    """Several elements' transitions for :func:`relax_vacancy_z` (:meth:`RelaxationTables.kernel_tables`).

    Attributes
    ----------
    z_row, binding_eV, tr_start, tr_cum, tr_kind, tr_v1, tr_v2, tr_energy_eV : arrays
        As in :class:`RelaxationTables`.
    min_emit_eV : float
        Emission threshold  [eV] (see :class:`RelaxationKernelTables`).
    """

    z_row: np.ndarray
    binding_eV: np.ndarray
    tr_start: np.ndarray
    tr_cum: np.ndarray
    tr_kind: np.ndarray
    tr_v1: np.ndarray
    tr_v2: np.ndarray
    tr_energy_eV: np.ndarray
    min_emit_eV: float


@dataclasses.dataclass(frozen=True)
class RelaxationTable:
    """Flat transition table of one element (build with :func:`build_relaxation_table`).

    Transitions of shell ``s`` are rows ``tr_start[s] : tr_start[s+1]``; a shell with no rows
    is terminal.  Within a block ``tr_cum`` is the cumulative probability (last = 1).

    Attributes
    ----------
    z : int
        Atomic number.
    threshold_eV : float
        Shells with binding below this are terminal  [eV].
    binding_eV : float64[N_SHELLS]
        Edge (binding) energy per shell  [eV]; 0 where xraylib has none.
    occupancy : float64[N_SHELLS]
        Electrons per shell in the ground state (``ElectronConfig``).
    tr_start : int64[N_SHELLS + 1]
    tr_cum : float64[n]
    tr_kind : int64[n]
        RADIATIVE, COSTER_KRONIG, AUGER or LOCAL.
    tr_v1, tr_v2 : int64[n]
        New vacancies (−1 = none): radiative (donor, −1); CK (final subshell, ejected shell);
        Auger (j, k).
    tr_energy_eV : float64[n]
        Photon or electron energy  [eV] (for LOCAL: energy deposited locally).
    labels : tuple of str
        Human-readable name of each transition, e.g. ``"K-L3 (line)"``, ``"L1-L3M5 (CK)"``.
    raw_branching_sum : float64[N_SHELLS]
        Sum of the branching ratios before the final normalisation (1 to 10⁻⁶ for gold;
        other elements can be off by a few per cent where xraylib's data are inconsistent).
    """

    z: int
    threshold_eV: float
    binding_eV: np.ndarray
    occupancy: np.ndarray
    tr_start: np.ndarray
    tr_cum: np.ndarray
    tr_kind: np.ndarray
    tr_v1: np.ndarray
    tr_v2: np.ndarray
    tr_energy_eV: np.ndarray
    labels: tuple
    raw_branching_sum: np.ndarray

    @property
    def arrays(self) -> tuple:
        """Kernel arguments ``(binding_eV, tr_start, tr_cum, tr_kind, tr_v1, tr_v2, tr_energy_eV)``."""
        return (self.binding_eV, self.tr_start, self.tr_cum, self.tr_kind, self.tr_v1, self.tr_v2,
                self.tr_energy_eV)

    def kernel_tables(self, min_emit_eV: float = 0.0) -> "RelaxationKernelTables":
        """The arrays and the emission threshold ``min_emit_eV``  [eV] for :func:`relax_vacancy`."""
        return RelaxationKernelTables(*self.arrays, float(min_emit_eV))

    def is_terminal(self, shell: int) -> bool:
        """True if vacancies in ``shell`` are not relaxed further."""
        return bool(self.tr_start[shell + 1] == self.tr_start[shell])

    def branching(self, shell: int) -> list:
        """Transitions of ``shell`` as ``[(label, kind name, probability, energy_eV), …]``."""
        a, b = int(self.tr_start[shell]), int(self.tr_start[shell + 1])
        out = []
        prev = 0.0
        for t in range(a, b):
            out.append((self.labels[t], KIND_NAMES[int(self.tr_kind[t])], float(self.tr_cum[t] - prev),
                        float(self.tr_energy_eV[t])))
            prev = float(self.tr_cum[t])
        return out

    def probability(self, shell: int, kind: int, v1: int | None = None) -> float:
        """Summed probability of the transitions of ``shell`` of ``kind`` (and first vacancy ``v1``)."""
        a, b = int(self.tr_start[shell]), int(self.tr_start[shell + 1])
        p = 0.0
        prev = 0.0
        for t in range(a, b):
            if self.tr_kind[t] == kind and (v1 is None or self.tr_v1[t] == v1):
                p += float(self.tr_cum[t] - prev)
            prev = float(self.tr_cum[t])
        return p


def _pair_weights(binding, occupancy, s, donors):
    """Statistical pair rule: [(j, k, weight)] over donor shells with E_j + E_k < E_s."""
    out = []
    for ia, j in enumerate(donors):
        for k in donors[ia:]:
            if binding[j] + binding[k] >= binding[s]:
                continue
            if j == k:
                w = occupancy[j] * (occupancy[j] - 1.0) / 2.0
            else:
                w = occupancy[j] * occupancy[k]
            if w > 0.0:
                out.append((j, k, w))
    return out


def build_relaxation_table(z: int = 79, threshold_eV: float = DEFAULT_THRESHOLD_EV) -> RelaxationTable:
    """Build the vacancy-cascade transition table of element ``z`` from xraylib.

    Parameters
    ----------
    z : int
        Atomic number (1–98 where xraylib has edges; gold = 79).
    threshold_eV : float
        Vacancies in shells with binding energy below this are terminal (binding deposited
        locally)  [eV].  200 eV relaxes gold down to the N5 shell (334 eV).

    Returns
    -------
    RelaxationTable

    Raises
    ------
    ValueError
        If ``z`` or ``threshold_eV`` is out of range, or a shell's branching ratios sum to
        less than 0.5 or more than 1.5 (corrupt data; smaller deviations are normalised away
        and kept in ``raw_branching_sum``).
    """
    z = int(z)
    if not 1 <= z <= 98:
        raise ValueError(f"z must be in 1..98, got {z!r}")
    if not (threshold_eV >= 0.0 and math.isfinite(threshold_eV)):
        raise ValueError(f"threshold_eV must be finite and >= 0, got {threshold_eV!r}")
    binding = np.zeros(N_SHELLS)
    occupancy = np.zeros(N_SHELLS)
    has_edge = np.zeros(N_SHELLS, dtype=bool)
    for s in range(N_SHELLS):
        e = _xrl(xraylib.EdgeEnergy, z, s)
        if e is not None and e > 0.0:
            binding[s] = e * 1e3
            has_edge[s] = True
        n = _xrl(xraylib.ElectronConfig, z, s)
        occupancy[s] = n if n is not None else 0.0
    # occupied shells without an edge (gold 6s): donors of binding 0
    donor_ok = occupancy > 0.0

    raw_sum = np.zeros(N_SHELLS)
    rows = []   # per shell: list of (weight, kind, v1, v2, energy, label)
    for s in range(N_SHELLS):
        trs = []
        if not has_edge[s] or occupancy[s] <= 0.0 or binding[s] < threshold_eV:
            rows.append(trs)
            continue
        es = binding[s]
        name = SHELL_NAMES[s]
        omega = _xrl(xraylib.FluorYield, z, s) or 0.0
        auger_yield = _xrl(xraylib.AugerYield, z, s)
        ck = {}
        for (vac, fin), macro in _CK_MACROS.items():
            if vac == name:
                p = _xrl(xraylib.CosKronTransProb, z, macro)
                if p:
                    ck[_SHELL_INDEX[fin]] = p
        fp13 = (_xrl(xraylib.CosKronTransProb, z, xraylib.FLP13_TRANS) or 0.0) if s == L1_SHELL else 0.0

        # radiative lines
        lines = []
        for (vac, don), macro in _LINE_MACROS.items():
            if vac != name:
                continue
            d = _SHELL_INDEX[don]
            r = _xrl(xraylib.RadRate, z, macro)
            if not r or not has_edge[d] or binding[d] >= es:
                continue
            e_line = _xrl(xraylib.LineEnergy, z, macro)
            e_ph = es - binding[d] if e_line is None else min(e_line * 1e3, es - binding[d])
            lines.append((r, d, e_ph, f"{name}-{don} (line)"))
        if lines:
            r_sum = sum(ln[0] for ln in lines)
            for r, d, e_ph, label in lines:
                trs.append((omega * r / r_sum, RADIATIVE, d, -1, e_ph, label))
        # else: no line data (N, O shells): ω is folded into the non-radiative branch below
        if fp13 > 0.0:
            trs.append((fp13, RADIATIVE, L3_SHELL, -1, es - binding[L3_SHELL], "L1-L3 (f'13 radiative)"))

        # Coster-Kronig: ejected shell by the innermost-allowed-principal-shell rule
        for f, p in ck.items():
            de = es - binding[f]
            cands = [x for x in range(N_SHELLS)
                     if donor_ok[x] and x != s and x != f and _principal(x) > _principal(s) and binding[x] < de]
            if not cands:
                trs.append((p, LOCAL, f, -1, de, f"{name}-{SHELL_NAMES[f]} (CK, no electron)"))
                continue
            nmin = min(_principal(x) for x in cands)
            cands = [x for x in cands if _principal(x) == nmin]
            w_sum = sum(occupancy[x] for x in cands)
            for x in cands:
                trs.append((p * occupancy[x] / w_sum, COSTER_KRONIG, f, x, de - binding[x],
                            f"{name}-{SHELL_NAMES[f]}{SHELL_NAMES[x]} (CK)"))

        # Auger
        if auger_yield is not None:
            a_total = auger_yield
        else:   # no Auger yield in xraylib: everything not radiative (with lines) or CK
            a_total = max(0.0, 1.0 - (omega if lines else 0.0) - sum(ck.values()) - fp13)
        if a_total > 0.0:
            pairs = []
            for (vac, dj, dk), macro in _AUGER_MACROS.items():
                if vac != name:
                    continue
                j, k = _SHELL_INDEX[dj], _SHELL_INDEX[dk]
                r = _xrl(xraylib.AugerRate, z, macro)
                if not r or not (has_edge[j] and has_edge[k]) or binding[j] + binding[k] >= es:
                    continue
                pairs.append((j, k, r, "rate"))
            if not pairs:
                if auger_yield is not None:    # M shells: donors from outer principal shells
                    donors = [x for x in range(N_SHELLS) if donor_ok[x] and _principal(x) > _principal(s)]
                else:                          # N/O shells: any shell bound less strongly
                    donors = [x for x in range(N_SHELLS) if donor_ok[x] and x != s and binding[x] < es]
                pairs = [(j, k, w, "rule") for j, k, w in _pair_weights(binding, occupancy, s, donors)]
            if pairs:
                w_sum = sum(p[2] for p in pairs)
                for j, k, w, how in pairs:
                    trs.append((a_total * w / w_sum, AUGER, j, k, es - binding[j] - binding[k],
                                f"{name}-{SHELL_NAMES[j]}{SHELL_NAMES[k]} (Auger, {how})"))
            else:
                trs.append((a_total, LOCAL, -1, -1, es, f"{name} (no Auger channel: local)"))
        total = sum(t[0] for t in trs)
        raw_sum[s] = total
        if trs and not 0.5 < total < 1.5:
            raise ValueError(f"Z={z} shell {name}: branching ratios sum to {total:.6f}, expected 1 "
                             f"(omega={omega}, auger={auger_yield}, ck={ck}, f'13={fp13})")
        if trs:
            # exact normalisation; also absorbs xraylib inconsistencies of other elements (e.g.
            # Z = 41-47 M4: omega without any line kept; Z = 67-69 M1: sum of CK > 1)
            trs = [(t[0] / total,) + t[1:] for t in trs]
        rows.append(trs)

    starts = [0]
    cum, kind, v1, v2, energy, labels = [], [], [], [], [], []
    for trs in rows:
        c = 0.0
        for w, k, a, b, e, label in trs:
            c += w
            cum.append(c)
            kind.append(k)
            v1.append(a)
            v2.append(b)
            energy.append(e)
            labels.append(label)
        if trs:
            cum[-1] = 1.0
        starts.append(len(cum))
    return RelaxationTable(
        z=z, threshold_eV=float(threshold_eV), binding_eV=binding, occupancy=occupancy,
        tr_start=np.asarray(starts, dtype=np.int64), tr_cum=np.asarray(cum, dtype=np.float64),
        tr_kind=np.asarray(kind, dtype=np.int64), tr_v1=np.asarray(v1, dtype=np.int64),
        tr_v2=np.asarray(v2, dtype=np.int64), tr_energy_eV=np.asarray(energy, dtype=np.float64),
        labels=tuple(labels), raw_branching_sum=raw_sum)


@dataclasses.dataclass(frozen=True)
class RelaxationTables:
    """Transition tables of several elements stacked for one kernel (:func:`relax_vacancy_z`).

    Attributes
    ----------
    zs : tuple of int
        The elements, in row order.
    z_row : int64[99]
        Row of element Z (−1 if absent).
    binding_eV : float64[n_elements, N_SHELLS]
    tr_start : int64[n_elements, N_SHELLS + 1]
        Offsets into the concatenated transition arrays below.
    tr_cum, tr_kind, tr_v1, tr_v2, tr_energy_eV : arrays
        Concatenation of the elements' transitions (as in :class:`RelaxationTable`).
    tables : tuple of RelaxationTable
        The single-element tables.
    """

    zs: tuple
    z_row: np.ndarray
    binding_eV: np.ndarray
    tr_start: np.ndarray
    tr_cum: np.ndarray
    tr_kind: np.ndarray
    tr_v1: np.ndarray
    tr_v2: np.ndarray
    tr_energy_eV: np.ndarray
    tables: tuple

    @property
    def arrays(self) -> tuple:
        """Kernel arguments ``(z_row, binding_eV, tr_start, tr_cum, tr_kind, tr_v1, tr_v2, tr_energy_eV)``."""
        return (self.z_row, self.binding_eV, self.tr_start, self.tr_cum, self.tr_kind, self.tr_v1, self.tr_v2,
                self.tr_energy_eV)

    def kernel_tables(self, min_emit_eV: float = 0.0) -> "StackedRelaxationKernelTables":
        """The arrays and the emission threshold ``min_emit_eV``  [eV] for :func:`relax_vacancy_z`."""
        return StackedRelaxationKernelTables(*self.arrays, float(min_emit_eV))

    def table(self, z: int) -> RelaxationTable:
        """The single-element table of ``z``."""
        row = int(self.z_row[z]) if 0 <= z < self.z_row.shape[0] else -1
        if row < 0:
            raise KeyError(f"element Z={z} is not in these relaxation tables (have {self.zs})")
        return self.tables[row]


def build_relaxation_tables(zs=(79, 8, 1), threshold_eV: float = DEFAULT_THRESHOLD_EV) -> RelaxationTables:
    """Stack the tables of the elements ``zs`` (default: gold and water's O, H).

    Parameters
    ----------
    zs : iterable of int
        Atomic numbers (duplicates ignored).
    threshold_eV : float
        As in :func:`build_relaxation_table`  [eV].
    """
    zs = tuple(dict.fromkeys(int(z) for z in zs))
    if not zs:
        raise ValueError("zs must name at least one element, got an empty list")
    tables = tuple(relaxation_table(z, threshold_eV) for z in zs)
    z_row = np.full(99, -1, dtype=np.int64)
    starts = []
    offset = 0
    for row, (z, t) in enumerate(zip(zs, tables)):
        z_row[z] = row
        starts.append(t.tr_start + offset)
        offset += t.tr_cum.shape[0]
    return RelaxationTables(
        zs=zs, z_row=z_row, binding_eV=np.vstack([t.binding_eV for t in tables]),
        tr_start=np.vstack(starts).astype(np.int64),
        tr_cum=np.concatenate([t.tr_cum for t in tables]), tr_kind=np.concatenate([t.tr_kind for t in tables]),
        tr_v1=np.concatenate([t.tr_v1 for t in tables]), tr_v2=np.concatenate([t.tr_v2 for t in tables]),
        tr_energy_eV=np.concatenate([t.tr_energy_eV for t in tables]), tables=tables)


_TABLE_CACHE: dict = {}


def relaxation_table(z: int = 79, threshold_eV: float = DEFAULT_THRESHOLD_EV) -> RelaxationTable:
    """Cached :func:`build_relaxation_table` (one table per ``(z, threshold_eV)`` per process)."""
    key = (int(z), float(threshold_eV))
    if key not in _TABLE_CACHE:
        _TABLE_CACHE[key] = build_relaxation_table(z, threshold_eV)
    return _TABLE_CACHE[key]


def new_vacancy_stack(size: int = 256) -> np.ndarray:
    """Work array for :func:`relax_vacancy` (int64; 256 covers any cascade of Z ≤ 98)."""
    return np.zeros(size, dtype=np.int64)


# -- kernels -----------------------------------------------------------------------------------

@nb.njit(cache=True)
def sample_transition(shell, tr_start, tr_cum, state):
    """Index of the transition of a vacancy in ``shell``; −1 if the shell is terminal.

    Inverse-CDF sampling by bisection on the shell's block of ``tr_cum``: the first row t
    with ``tr_cum[t] > ξ``.
    """
    lo = tr_start[shell]
    hi = tr_start[shell + 1]
    if hi == lo:
        return -1
    u = rng_uniform(state)
    hi -= 1
    while lo < hi:
        mid = (lo + hi) // 2
        if tr_cum[mid] > u:
            hi = mid
        else:
            lo = mid + 1
    return lo


@nb.njit(cache=True)
def isotropic_direction(state):
    """Unit vector uniform on the sphere: cos θ = 2ξ₁ − 1, φ = 2πξ₂."""
    cos_t = 2.0 * rng_uniform(state) - 1.0
    phi = _TWO_PI * rng_uniform(state)
    st2 = 1.0 - cos_t * cos_t
    sin_t = math.sqrt(st2) if st2 > 0.0 else 0.0
    return sin_t * math.cos(phi), sin_t * math.sin(phi), cos_t


@nb.njit(cache=True)
def relax_vacancy(rt, shell, x, y, z, state, vac_stack, photons, n_photons, electrons, n_electrons):
    """Cascade one vacancy at (x, y, z) until all vacancies are terminal.

    Parameters
    ----------
    rt : RelaxationKernelTables
        :meth:`RelaxationTable.kernel_tables`: the element's transitions and ``min_emit_eV``
        (photons and electrons below it are deposited locally instead of banked  [eV]).
    shell : int
        Shell of the initial vacancy (xraylib index).
    x, y, z : float
        Position of the atom  [nm]; all quanta start there.
    state : uint64[2]
        Random-number state (:mod:`hpcmc.runtime.rng`).
    vac_stack : int64[:]
        Work array for pending vacancies (:func:`new_vacancy_stack`).
    photons, electrons : float64[:, PARTICLE_COLUMNS]
        Output banks of particle records (:mod:`hpcmc.physics.particles`); appended at ``n_photons`` /
        ``n_electrons``.
    n_photons, n_electrons : int
        Fill levels on entry.

    Returns
    -------
    status : int
        OK, PHOTON_BANK_FULL, ELECTRON_BANK_FULL or VACANCY_STACK_FULL.  On failure the
        returned counts are the entry counts (rows written past them are garbage) and the
        random state has advanced: the caller enlarges the buffer, reseeds and reruns.
    n_photons, n_electrons : int
        New fill levels.
    local_eV : float
        Energy deposited at the atom  [eV]: exactly ``E_shell − ΣE_photons − ΣE_electrons``
        (≥ 0).
    terminal_eV : float
        Summed binding of the vacancies left in terminal shells  [eV] (= ``local_eV`` up to
        rounding when nothing was below ``min_emit_eV`` and line energies equal edge
        differences).
    """
    binding_eV = rt.binding_eV
    tr_start = rt.tr_start
    tr_cum = rt.tr_cum
    tr_kind = rt.tr_kind
    tr_v1 = rt.tr_v1
    tr_v2 = rt.tr_v2
    tr_energy_eV = rt.tr_energy_eV
    min_emit_eV = rt.min_emit_eV
    n_ph0 = n_photons
    n_el0 = n_electrons
    e0 = binding_eV[shell]
    emitted = 0.0
    terminal = 0.0
    top = 1
    vac_stack[0] = shell
    cap = vac_stack.shape[0]
    while top > 0:
        top -= 1
        s = vac_stack[top]
        t = sample_transition(s, tr_start, tr_cum, state)
        if t < 0:
            terminal += binding_eV[s]
            continue
        k = tr_kind[t]
        e = tr_energy_eV[t]
        if k != LOCAL and e > 0.0 and e >= min_emit_eV:
            ux, uy, uz = isotropic_direction(state)
            if k == RADIATIVE:
                if n_photons >= photons.shape[0]:
                    return PHOTON_BANK_FULL, n_ph0, n_el0, 0.0, 0.0
                row = photons[n_photons]
                n_photons += 1
                species = PHOTON
            else:
                if n_electrons >= electrons.shape[0]:
                    return ELECTRON_BANK_FULL, n_ph0, n_el0, 0.0, 0.0
                row = electrons[n_electrons]
                n_electrons += 1
                species = ELECTRON
            set_particle(row, x, y, z, ux, uy, uz, e, 1.0, species, 0.0)
            emitted += e
        a = tr_v1[t]
        b = tr_v2[t]
        if a >= 0:
            if top >= cap:
                return VACANCY_STACK_FULL, n_ph0, n_el0, 0.0, 0.0
            vac_stack[top] = a
            top += 1
        if b >= 0:
            if top >= cap:
                return VACANCY_STACK_FULL, n_ph0, n_el0, 0.0, 0.0
            vac_stack[top] = b
            top += 1
    local = e0 - emitted
    if local < 0.0 and local > -1e-9 * e0:
        local = 0.0
    return OK, n_photons, n_electrons, local, terminal


@nb.njit(cache=True)
def relax_vacancy_z(rts, z, shell, x, y, z_nm, state, vac_stack, photons, n_photons, electrons, n_electrons):
    """:func:`relax_vacancy` for element ``z`` of stacked tables (``rts``:
    :meth:`RelaxationTables.kernel_tables`).

    ``x, y, z_nm`` is the atom position  [nm].  Returns the same 5-tuple; an element absent
    from the tables gives status UNKNOWN_ELEMENT (nothing emitted, nothing deposited).
    """
    z_row = rts.z_row
    row = z_row[z] if 0 <= z < z_row.shape[0] else -1
    if row < 0:
        return UNKNOWN_ELEMENT, n_photons, n_electrons, 0.0, 0.0
    rt = RelaxationKernelTables(rts.binding_eV[row], rts.tr_start[row], rts.tr_cum, rts.tr_kind, rts.tr_v1,
                                rts.tr_v2, rts.tr_energy_eV, rts.min_emit_eV)
    return relax_vacancy(rt, shell, x, y, z_nm, state, vac_stack, photons, n_photons, electrons, n_electrons)


@nb.njit(cache=True)
def cascade_statistics(shell, n_cascades, seed, stream, rt, out):
    """Run ``n_cascades`` independent cascades of a ``shell`` vacancy (for tests and validation).

    Cascade i draws from the stream ``(seed, i, stream)``.  Row i of ``out`` (float64[n, 8])
    receives: number of photons, number of electrons, ΣE_photons, ΣE_electrons, local
    deposit, terminal binding sum, the largest photon energy (0 if none) and the status.
    """
    state = np.zeros(2, dtype=np.uint64)
    vac = np.zeros(256, dtype=np.int64)
    ph = np.zeros((128, PARTICLE_COLUMNS))
    el = np.zeros((256, PARTICLE_COLUMNS))
    for i in range(n_cascades):
        rng_seed(state, seed, i, stream)
        status, nph, nel, local, terminal = relax_vacancy(rt, shell, 0.0, 0.0, 0.0, state, vac, ph, 0, el, 0)
        eph = 0.0
        emax = 0.0
        for j in range(nph):
            eph += ph[j, P_E]
            if ph[j, P_E] > emax:
                emax = ph[j, P_E]
        eel = 0.0
        for j in range(nel):
            eel += el[j, P_E]
        out[i, 0] = nph
        out[i, 1] = nel
        out[i, 2] = eph
        out[i, 3] = eel
        out[i, 4] = local
        out[i, 5] = terminal
        out[i, 6] = emax
        out[i, 7] = status
