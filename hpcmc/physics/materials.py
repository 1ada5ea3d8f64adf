"""Materials: density and elemental composition by mass, and a registry of named materials.

A :class:`Material` is what the photon (and later electron/proton) data builders need: a name,
a mass density ``density_g_cm3`` [g/cm³], the elements (atomic numbers ``Z``) with their mass
fractions ``w_Z`` (Σ w_Z = 1) and, where a stopping-power model needs it, the mean excitation
energy ``mean_excitation_eV`` [eV].

Data sources
------------
* Compositions and densities come from xraylib (Schoonjans et al., Spectrochim. Acta B 66
  (2011) 776): the NIST compound catalogue (``xraylib.GetCompoundDataNISTByName``, the
  compositions of NIST's ESTAR/XCOM material list), the formula parser
  (``xraylib.CompoundParser``) and element densities (``xraylib.ElementDensity``). No
  composition is typed in here.
* xraylib has no mean excitation energies. The built-in entries carry the values of
  ICRU Report 37 (1984) as listed by NIST ESTAR (water 75.0 eV — ICRU Report 90 (2016)
  recommends 78 eV; gold 790 eV; tungsten 727 eV; dry air 85.7 eV; ICRP soft tissue
  72.3 eV; ICRP lung 75.3 eV; ICRP cortical bone 106.4 eV). Override them per job if a model
  needs another choice.

Built-in registry (:func:`get_material`)
----------------------------------------
``water`` (NIST "Water, Liquid", 1.0 g/cm³), ``gold`` (Au, 19.32 g/cm³), ``tissue``
(NIST "Tissue, Soft (ICRP)"), ``lung`` (NIST "Lung (ICRP)", 1.05 g/cm³ — the density of lung
*tissue*; inflated lung is ≈ 0.26 g/cm³, pass ``density_g_cm3`` to :meth:`Material.with_density`),
``bone`` (NIST "Bone, Cortical (ICRP)"), ``air`` (NIST "Air, Dry (near sea level)"),
``tungsten`` (W, 19.3 g/cm³).
"""
from __future__ import annotations

import dataclasses
import math
from typing import Iterable, Mapping, Optional, Union

import xraylib

__all__ = [
    "Material",
    "get_material",
    "register_material",
    "material_names",
    "resolve_materials",
]

#: Tolerance on Σ w_Z = 1 before normalisation (NIST fractions are rounded to 6 digits).
_FRACTION_TOLERANCE = 1e-3


def _atomic_number(element: Union[int, str]) -> int:
    """Atomic number of ``element`` (an int Z or a symbol such as ``"Au"``)."""
    if isinstance(element, str):
        try:
            z = int(xraylib.SymbolToAtomicNumber(element))
        except ValueError as exc:
            raise ValueError(f"unknown element symbol {element!r}") from exc
    else:
        z = int(element)
    if not 1 <= z <= 98:
        raise ValueError(f"atomic number must be in 1..98, got {element!r}")
    return z


@dataclasses.dataclass(frozen=True)
class Material:
    """A homogeneous material.

    Attributes
    ----------
    name : str
        Registry name (e.g. ``"water"``).
    density_g_cm3 : float
        Mass density  [g/cm³].
    elements : tuple of int
        Atomic numbers Z, ascending.
    mass_fractions : tuple of float
        Mass fraction w_Z of each element  [1]; they sum to 1.
    mean_excitation_eV : float or None
        Mean excitation energy I  [eV] (Bethe stopping power), if known.
    source : str
        Where the composition came from (for provenance).
    """

    name: str
    density_g_cm3: float
    elements: tuple
    mass_fractions: tuple
    mean_excitation_eV: Optional[float] = None
    source: str = ""

    def __post_init__(self):
        if not self.name:
            raise ValueError("material name must be a non-empty string")
        if not (math.isfinite(self.density_g_cm3) and self.density_g_cm3 > 0):
            raise ValueError(f"material {self.name!r}: density_g_cm3 must be > 0, got {self.density_g_cm3!r}")
        if len(self.elements) == 0 or len(self.elements) != len(self.mass_fractions):
            raise ValueError(f"material {self.name!r}: elements and mass_fractions must be non-empty and of equal length")
        if len(set(self.elements)) != len(self.elements):
            raise ValueError(f"material {self.name!r}: repeated element in {self.elements}")
        for z, w in zip(self.elements, self.mass_fractions):
            if not (math.isfinite(w) and w > 0):
                raise ValueError(f"material {self.name!r}: mass fraction of Z={z} must be > 0, got {w!r}")
        total = sum(self.mass_fractions)
        if abs(total - 1.0) > _FRACTION_TOLERANCE:
            raise ValueError(f"material {self.name!r}: mass fractions must sum to 1, got {total!r}")
        if self.mean_excitation_eV is not None and not self.mean_excitation_eV > 0:
            raise ValueError(f"material {self.name!r}: mean_excitation_eV must be > 0, got {self.mean_excitation_eV!r}")

    # -- constructors -------------------------------------------------------------------
    @classmethod
    def from_mass_fractions(cls, name: str, density_g_cm3: float, fractions: Mapping[Union[int, str], float],
                            mean_excitation_eV: Optional[float] = None, source: str = "user") -> "Material":
        """A material from ``{element: mass fraction}`` (elements as Z or symbol).

        Fractions within 1e-3 of summing to one are renormalised; otherwise it is an error.
        """
        pairs = sorted((_atomic_number(k), float(v)) for k, v in fractions.items())
        total = sum(w for _, w in pairs)
        if not total > 0 or abs(total - 1.0) > _FRACTION_TOLERANCE:
            raise ValueError(f"material {name!r}: mass fractions must sum to 1, got {total!r}")
        return cls(name=name, density_g_cm3=float(density_g_cm3), elements=tuple(z for z, _ in pairs),
                   mass_fractions=tuple(w / total for _, w in pairs),
                   mean_excitation_eV=mean_excitation_eV, source=source)

    @classmethod
    def from_nist(cls, nist_name: str, name: Optional[str] = None, density_g_cm3: Optional[float] = None,
                  mean_excitation_eV: Optional[float] = None) -> "Material":
        """A material from xraylib's NIST compound catalogue (``GetCompoundDataNISTByName``).

        Parameters
        ----------
        nist_name : str
            Catalogue name, e.g. ``"Water, Liquid"`` (see ``xraylib.GetCompoundDataNISTList()``).
        name : str, optional
            Registry name (default: ``nist_name``).
        density_g_cm3 : float, optional
            Override of the catalogue density  [g/cm³].
        mean_excitation_eV : float, optional
            I-value  [eV].
        """
        try:
            data = xraylib.GetCompoundDataNISTByName(nist_name)
        except ValueError as exc:
            raise ValueError(f"{nist_name!r} is not in xraylib's NIST compound list "
                             f"(see xraylib.GetCompoundDataNISTList())") from exc
        fractions = dict(zip(data["Elements"], data["massFractions"]))
        rho = data["density"] if density_g_cm3 is None else density_g_cm3
        return cls.from_mass_fractions(name or nist_name, rho, fractions, mean_excitation_eV,
                                       source=f"xraylib NIST compound {nist_name!r}")

    @classmethod
    def from_formula(cls, formula: str, density_g_cm3: float, name: Optional[str] = None,
                     mean_excitation_eV: Optional[float] = None) -> "Material":
        """A material from a chemical formula parsed by xraylib (``"H2O"``, ``"Ca5(PO4)3OH"``)."""
        try:
            data = xraylib.CompoundParser(formula)
        except ValueError as exc:
            raise ValueError(f"cannot parse chemical formula {formula!r}") from exc
        fractions = dict(zip(data["Elements"], data["massFractions"]))
        return cls.from_mass_fractions(name or formula, density_g_cm3, fractions, mean_excitation_eV,
                                       source=f"xraylib formula {formula!r}")

    @classmethod
    def from_element(cls, element: Union[int, str], name: Optional[str] = None,
                     density_g_cm3: Optional[float] = None,
                     mean_excitation_eV: Optional[float] = None) -> "Material":
        """A pure element; density from ``xraylib.ElementDensity`` unless given  [g/cm³]."""
        z = _atomic_number(element)
        rho = float(xraylib.ElementDensity(z)) if density_g_cm3 is None else density_g_cm3
        return cls(name=name or xraylib.AtomicNumberToSymbol(z), density_g_cm3=float(rho), elements=(z,),
                   mass_fractions=(1.0,), mean_excitation_eV=mean_excitation_eV,
                   source=f"xraylib element Z={z}")

    def with_density(self, density_g_cm3: float, name: Optional[str] = None) -> "Material":
        """The same composition at another density  [g/cm³] (e.g. inflated lung)."""
        return dataclasses.replace(self, density_g_cm3=float(density_g_cm3), name=name or self.name)

    # -- derived quantities -------------------------------------------------------------
    def atoms_per_gram(self) -> dict:
        """``{Z: w_Z N_A / A_Z}``: atoms of each element per gram  [1/g]."""
        return {z: w * xraylib.AVOGNUM * 1e24 / xraylib.AtomicWeight(z)
                for z, w in zip(self.elements, self.mass_fractions)}

    def definition_key(self) -> str:
        """Canonical text of everything a data table depends on (for cache keys)."""
        comp = ",".join(f"{z}:{w:.12g}" for z, w in zip(self.elements, self.mass_fractions))
        return f"{self.name}|rho={self.density_g_cm3:.12g}|{comp}"


# -- registry ---------------------------------------------------------------------------

def _builtin_factories():
    return {
        "water": lambda: Material.from_nist("Water, Liquid", name="water", mean_excitation_eV=75.0),
        "gold": lambda: Material.from_element("Au", name="gold", mean_excitation_eV=790.0),
        "tissue": lambda: Material.from_nist("Tissue, Soft (ICRP)", name="tissue", mean_excitation_eV=72.3),
        "lung": lambda: Material.from_nist("Lung (ICRP)", name="lung", mean_excitation_eV=75.3),
        "bone": lambda: Material.from_nist("Bone, Cortical (ICRP)", name="bone", mean_excitation_eV=106.4),
        "air": lambda: Material.from_nist("Air, Dry (near sea level)", name="air", mean_excitation_eV=85.7),
        "tungsten": lambda: Material.from_element("W", name="tungsten", mean_excitation_eV=727.0),
    }


_FACTORIES = _builtin_factories()
_REGISTRY: dict = {}


def register_material(material: Material, overwrite: bool = False) -> Material:
    """Add ``material`` to the registry under ``material.name``.

    Raises
    ------
    ValueError
        If the name is taken and ``overwrite`` is false.
    """
    if not isinstance(material, Material):
        raise TypeError(f"register_material expects a Material, got {type(material).__name__}")
    taken = material.name in _REGISTRY or material.name in _FACTORIES
    if taken and not overwrite:
        raise ValueError(f"material {material.name!r} is already registered (pass overwrite=True to replace it)")
    _REGISTRY[material.name] = material
    return material


def get_material(name: Union[str, Material]) -> Material:
    """The registered material called ``name`` (a :class:`Material` is returned unchanged)."""
    if isinstance(name, Material):
        return name
    if name in _REGISTRY:
        return _REGISTRY[name]
    if name in _FACTORIES:
        _REGISTRY[name] = _FACTORIES[name]()
        return _REGISTRY[name]
    raise KeyError(f"unknown material {name!r}; known: {', '.join(material_names())}")


def material_names() -> list:
    """Names of all registered (and built-in) materials, sorted."""
    return sorted(set(_REGISTRY) | set(_FACTORIES))


def resolve_materials(materials: Iterable[Union[str, Material]]) -> tuple:
    """Tuple of :class:`Material` from names or materials (names looked up in the registry)."""
    out = tuple(get_material(m) for m in materials)
    names = [m.name for m in out]
    if len(set(names)) != len(names):
        raise ValueError(f"material names must be distinct, got {names}")
    return out
