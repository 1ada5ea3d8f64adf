"""Reading a results file from Python: :class:`Results` (format 1.0 and 1.1).

>>> with Results("lem_baec.h5") as res:                      # doctest: +SKIP
...     res.config.data["job"]["app"]                         # the job that ran (parsed TOML)
...     res.provenance["command"]                             # what ran it
...     res["lem/energy_curve/der"]                           # any dataset, as numpy
...     ds = res.to_xarray()                                  # one xarray.Dataset, units attached

Datasets are read when asked for; :meth:`Results.close` (or the ``with`` block) closes the
file, after which the arrays already read stay valid. ``to_xarray`` and ``to_dataframe``
need the optional extra ``pip install 'hpcmc[xarray]'`` (xarray and pandas).
"""
from __future__ import annotations

import dataclasses
import importlib
import sys
from pathlib import Path
from typing import Any, Optional

import h5py
import numpy as np

from hpcmc.io.results import open_results

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

__all__ = ["Results", "Tally", "Config", "Record", "GnpComparison", "LemStudy", "MissingExtraError"]

_SKIP_TOP = ("config", "provenance")


class MissingExtraError(ImportError):
    """An optional dependency (xarray, pandas) is not installed; the message names the extra."""


def _optional(module: str):
    """Import an optional dependency of :meth:`Results.to_xarray` / :meth:`Results.to_dataframe`."""
    try:
        return importlib.import_module(module)  # lazy: optional extra, heavy (pandas), only for these two methods
    except ImportError:
        raise MissingExtraError(f"{module} is not installed: Results.to_xarray() and to_dataframe() need the "
                                f"optional extra, pip install 'hpcmc[xarray]' (xarray and pandas)") from None


def _py(value: Any) -> Any:
    """An HDF5 attribute or scalar as a plain Python value (bytes decoded, numpy scalars unboxed)."""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray) and value.dtype.kind in "SO":
        return [_py(v) for v in value.tolist()]
    return value


def _attrs(obj) -> dict[str, Any]:
    skip = {"CLASS", "NAME", "REFERENCE_LIST", "DIMENSION_LIST"}
    return {k: _py(obj.attrs[k]) for k in obj.attrs if k not in skip}


def _units(ds: h5py.Dataset) -> Optional[str]:
    u = ds.attrs.get("units")
    return None if u is None else _py(u)


def _read(ds: h5py.Dataset):
    """A dataset as numpy (strings as ``str``)."""
    if ds.dtype.kind in "SO" and h5py.check_string_dtype(ds.dtype) is not None:
        return ds.asstr()[()]
    value = ds[()]
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value


@dataclasses.dataclass(frozen=True)
class Config:
    """The job that ran: ``text`` (TOML, as stored in ``/config``) and ``data`` (parsed)."""

    text: str
    data: dict

    @property
    def app(self) -> str:
        return self.data.get("job", {}).get("app", "")


@dataclasses.dataclass(frozen=True)
class Tally:
    """One tally of ``/tallies``.

    Attributes
    ----------
    name : str
    mean, std : numpy.ndarray
        Mean per history and its standard error  [``unit``].
    n : int
        Histories.
    sum, sum_sq : numpy.ndarray
        Raw sums of the per-history scores and of their squares.
    unit : str
        Unit as the app wrote it (``"1/kg"``); ``units`` is its UDUNITS form (``"kg-1"``).
    units : str
    edges : dict of str to numpy.ndarray
        Bin edges per axis (axis ``i`` of ``mean``), in the units the axis name ends with.
    description : str
    """

    name: str
    mean: np.ndarray
    std: np.ndarray
    n: int
    sum: np.ndarray
    sum_sq: np.ndarray
    unit: str
    units: str
    edges: dict
    description: str = ""

    @property
    def centres(self) -> dict:
        """Bin centres per axis (mid-points of ``edges``)."""
        return {k: 0.5 * (v[:-1] + v[1:]) for k, v in self.edges.items()}


class Record:
    """A group read into memory: datasets as numpy arrays and sub-groups as records (attribute
    or item access, ``rec["a/b"]`` for paths), its attributes in ``attrs``, the datasets'
    ``units``."""

    def __init__(self, name: str, data: dict, attrs: dict, units: dict, groups: Optional[dict] = None):
        self.name = name
        self.data = data
        self.attrs = attrs
        self.units = units
        self.groups = groups or {}

    def __getattr__(self, key: str):
        for where in ("data", "groups", "attrs"):
            found = self.__dict__.get(where, {})
            if key in found:
                return found[key]
        raise AttributeError(f"{self.__dict__.get('name', 'record')} has no dataset, group or attribute {key!r} "
                             f"(datasets: {', '.join(self.__dict__.get('data', {}))}; groups: "
                             f"{', '.join(self.__dict__.get('groups', {}))}; attributes: "
                             f"{', '.join(self.__dict__.get('attrs', {}))})")

    def __getitem__(self, key: str):
        head, _, rest = key.strip("/").partition("/")
        if rest:
            return self.groups[head][rest]
        return self.data[head] if head in self.data else self.groups[head]

    def __dir__(self):
        return sorted(set(super().__dir__()) | set(self.data) | set(self.groups) | set(self.attrs))

    def __repr__(self) -> str:
        return (f"Record({self.name!r}: datasets {list(self.data)}, groups {list(self.groups)}, "
                f"attributes {list(self.attrs)})")

    @classmethod
    def read(cls, group: h5py.Group) -> "Record":
        """Read ``group`` and everything below it."""
        data, units, groups = {}, {}, {}
        for k, v in group.items():
            if isinstance(v, h5py.Dataset):
                data[k] = _read(v)
                if _units(v) is not None:
                    units[k] = _units(v)
            else:
                groups[k] = cls.read(v)
        return cls(group.name.lstrip("/"), data, _attrs(group), units, groups)


@dataclasses.dataclass(frozen=True)
class GnpComparison:
    """gnp's ``/comparison``: the optimised and the analog run at equal N, per shell.

    Attributes
    ----------
    optimized, analog : Record
        ``q``, ``n_per_annulus``, ``mean_ij``/``std_ij`` [kg-1], ``shell_mean``/``shell_std``
        [kg-1], ``cluster_dose_per_fluence_cm2_per_kg`` (and ``_std_``) [cm2 kg-1],
        ``relative_uncertainty``, ``efficiency``, ``wall_time_s``...
    efficiency_gain : numpy.ndarray
        Optimised over analog efficiency per shell; ``efficiency_gain_is_lower_bound`` marks shells
        where the analog run scored nothing.
    shell_edges_nm, annulus_edges_nm, p : numpy.ndarray
        Shell edges [nm], annulus edges [nm], the physical annulus probabilities.
    """

    optimized: Record
    analog: Record
    efficiency_gain: np.ndarray
    efficiency_gain_is_lower_bound: np.ndarray
    efficiency_gain_from_strata: Optional[np.ndarray]
    shell_edges_nm: np.ndarray
    annulus_edges_nm: np.ndarray
    p: np.ndarray
    attrs: dict

    @property
    def shell_centres_nm(self) -> np.ndarray:
        """Mid-radius of each shell  [nm]."""
        return 0.5 * (self.shell_edges_nm[:-1] + self.shell_edges_nm[1:])


@dataclasses.dataclass(frozen=True)
class LemStudy:
    """lem's ``/lem``: calibration, beams (by name), energy curve, survival (by concentration in mM)."""

    attrs: dict
    calibration: Record
    beams: dict
    energy_curve: Record
    survival: Record
    survival_by_concentration: dict


def _scale_dim(scale: h5py.Dataset) -> str:
    """Dimension name of a scale: a tally axis by its name (``depth_cm``), else its path with ``.``."""
    path = scale.name.lstrip("/")
    return Path(path).name if path.startswith("tallies/") else path.replace("/", ".")


def _edge_dim(name: str) -> str:
    """Name of the bin-centre coordinate of an edges scale (``gnp.shell_edges_nm`` → ``gnp.shell_nm``)."""
    short = name.replace("_edges_", "_").replace("edges_", "").replace("_edges", "")
    return short if short != name else name


class Results:
    """A results file, open for reading.

    Parameters
    ----------
    path : str or path
        The results file (format 1.0 or 1.1).

    Attributes
    ----------
    path : str
    version : tuple of int
    app : str
    """

    def __init__(self, path):
        self.path = str(path)
        self._h5: Optional[h5py.File] = open_results(self.path)
        self.version = tuple(int(v) for v in self._h5.attrs["version"])
        self.app = _py(self._h5.attrs.get("app", ""))

    # -- file handling -------------------------------------------------------------------
    @property
    def h5(self) -> h5py.File:
        """The open h5py file."""
        if self._h5 is None:
            raise ValueError(f"{self.path}: the Results object is closed")
        return self._h5

    def close(self) -> None:
        """Close the file (arrays already read stay valid)."""
        if self._h5 is not None:
            self._h5.close()
            self._h5 = None

    def __enter__(self) -> "Results":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._h5 is None else f"groups {list(self._h5)}"
        return f"Results({self.path!r}, app {self.app!r}, format {self.version[0]}.{self.version[1]}, {state})"

    # -- contents ---------------------------------------------------------------------------
    @property
    def config(self) -> Config:
        """The job that ran (``/config``)."""
        text = _read(self.h5["config"]) if "config" in self.h5 else ""
        try:
            data = tomllib.loads(text) if text else {}
        except tomllib.TOMLDecodeError:
            data = {}
        return Config(text, data)

    @property
    def provenance(self) -> dict:
        """``/provenance`` attributes, with ``timings_s`` as a dict  [s]."""
        g = self.h5["provenance"]
        out = _attrs(g)
        if "timings_s" in g:
            out["timings_s"] = _attrs(g["timings_s"])
        return out

    @property
    def tallies(self) -> dict:
        """Tally name → :class:`Tally` (``/tallies``; empty for apps without)."""
        out = {}
        if "tallies" not in self.h5:
            return out
        for name, g in self.h5["tallies"].items():
            edges = {k: g["edges"][k][()] for k in g["edges"]} if "edges" in g else {}
            unit = _py(g.attrs.get("unit", ""))
            units = _units(g["mean"]) or unit or "1"
            out[name] = Tally(name=name, mean=g["mean"][()], std=g["std"][()], n=int(g["n"][()]),
                              sum=g["sum"][()], sum_sq=g["sum_sq"][()], unit=unit, units=units, edges=edges,
                              description=_py(g.attrs.get("description", "")))
        return out

    def keys(self) -> list[str]:
        """Top-level groups and datasets."""
        return list(self.h5)

    def __contains__(self, path: str) -> bool:
        return path.strip("/") in self.h5

    def __getitem__(self, path: str):
        """A dataset as numpy (``res["gnp/comparison/optimized/shell_mean"]``) or a group as a :class:`Record`."""
        key = path.strip("/")
        if key not in self.h5:
            raise KeyError(f"{self.path}: no dataset or group {key!r} (top level: {', '.join(self.h5)})")
        obj = self.h5[key]
        return _read(obj) if isinstance(obj, h5py.Dataset) else Record.read(obj)

    def __getattr__(self, name: str):
        if name.startswith("_") or name in ("path", "version", "app"):
            raise AttributeError(name)
        h5 = self.__dict__.get("_h5")
        if h5 is not None and name in h5:
            return self[name]
        raise AttributeError(f"{type(self).__name__} has no attribute or group {name!r}")

    def units(self, path: str) -> Optional[str]:
        """The ``units`` attribute of a dataset (``None`` in a 1.0 file)."""
        return _units(self.h5[path.strip("/")])

    def datasets(self) -> dict[str, h5py.Dataset]:
        """Path → h5py dataset for every dataset outside ``/config`` and ``/provenance``."""
        out: dict[str, h5py.Dataset] = {}

        def visit(name, obj):
            if isinstance(obj, h5py.Dataset) and name.split("/")[0] not in _SKIP_TOP:
                out[name] = obj

        self.h5.visititems(visit)
        return out

    # -- typed accessors --------------------------------------------------------------------
    def _need(self, path: str, what: str) -> h5py.Group:
        if path not in self.h5:
            raise KeyError(f"{self.path}: no /{path} group ({what}; this is a {self.app!r} results file)")
        return self.h5[path]

    def gnp_comparison(self) -> GnpComparison:
        """gnp's comparison of the optimised and the analog run (``/comparison`` and ``/gnp``)."""
        c = self._need("comparison", "written by a gnp job with [gnp.comparison] enabled")
        g = self._need("gnp", "written by a gnp job")
        strata = c["efficiency_gain_from_strata"][()] if "efficiency_gain_from_strata" in c else None
        return GnpComparison(optimized=Record.read(c["optimized"]), analog=Record.read(c["analog"]),
                             efficiency_gain=c["efficiency_gain"][()],
                             efficiency_gain_is_lower_bound=c["efficiency_gain_is_lower_bound"][()],
                             efficiency_gain_from_strata=strata, shell_edges_nm=g["shell_edges_nm"][()],
                             annulus_edges_nm=g["annulus_edges_nm"][()], p=g["p"][()], attrs=_attrs(c))

    def gnp_optimizer(self) -> list[Record]:
        """gnp's optimizer iterations (``/optimizer/iteration_<k>``), in order: ``q_used``, ``q_next``,
        ``shell_mean``, ``efficiency``... and the scalars ``iteration``, ``loss``... as attributes."""
        g = self._need("optimizer", "written by a gnp job in optimize mode")
        names = sorted((k for k in g if k.startswith("iteration_")), key=lambda s: int(s.split("_")[1]))
        return [Record.read(g[k]) for k in names]

    def lem_study(self) -> LemStudy:
        """lem's study (``/lem``)."""
        g = self._need("lem", "written by a lem job")
        beams = {}
        for name in sorted(g["beams"]):
            r = Record.read(g["beams"][name])
            beams[r.attrs.get("name", name)] = r
        sv = g["survival"]
        by_c = {}
        for name, sub in sv.items():
            if isinstance(sub, h5py.Group):
                r = Record.read(sub)
                by_c[float(r.attrs.get("concentration_mM", np.nan))] = r
        return LemStudy(attrs=_attrs(g), calibration=Record.read(g["calibration"]), beams=beams,
                        energy_curve=Record.read(g["energy_curve"]), survival=Record.read(sv),
                        survival_by_concentration=by_c)

    # -- xarray / pandas -------------------------------------------------------------------------
    def to_xarray(self):
        """Everything numeric as one ``xarray.Dataset``.

        Tallies become variables ``<tally>`` (mean) and ``<tally>_std`` on dimensions named after
        their axes, with the bin centres as coordinates and the edges kept as ``<axis>_edges``
        (dimension ``<axis>_edge``); app datasets become variables named by their path with
        ``/`` → ``.`` (``lem.energy_curve.der``), on the dimension scales the file attaches
        (a scale one longer than its dimension holds edges: its centres become the coordinate).
        Every variable and coordinate carries the file's ``units`` (and ``description``).

        Raises
        ------
        MissingExtraError
            Without xarray (``pip install 'hpcmc[xarray]'``).
        """
        xr = _optional("xarray")
        variables: dict[str, Any] = {}
        coords: dict[str, Any] = {}

        def add_coord(name: str, values: np.ndarray, attrs: dict) -> str:
            if name in coords and not np.array_equal(coords[name][1], values):
                k = 2
                while f"{name}_{k}" in coords and not np.array_equal(coords[f"{name}_{k}"][1], values):
                    k += 1
                name = f"{name}_{k}"
            coords[name] = (name, values, attrs)
            return name

        def edge_axis(dim: str, edges: np.ndarray, attrs: dict) -> str:
            centres = 0.5 * (edges[:-1] + edges[1:])
            dim = add_coord(dim, centres, dict(attrs, description=f"bin centres of {dim}"))
            if f"{dim}_edges" not in variables:
                variables[f"{dim}_edges"] = ((f"{dim}_edge",), edges, dict(attrs, description=f"bin edges of {dim}"))
            return dim

        for name, t in self.tallies.items():
            dims = []
            for i, size in enumerate(t.mean.shape):
                axes = list(t.edges)
                if i < len(axes) and t.edges[axes[i]].size == size + 1:
                    e_units = _units(self.h5[f"tallies/{name}/edges/{axes[i]}"]) or "1"
                    dims.append(edge_axis(axes[i], t.edges[axes[i]], {"units": e_units}))
                else:
                    dims.append(f"{name}_bin" if t.mean.ndim == 1 else f"{name}_dim{i}")
            attrs = {"units": t.units, "description": t.description or name, "n_histories": t.n}
            variables[name] = (tuple(dims), t.mean, attrs)
            variables[f"{name}_std"] = (tuple(dims), t.std, dict(attrs, description=f"standard error of {name}"))

        unattached = []
        for path, ds in self.datasets().items():
            if path.startswith("tallies/") or ds.dtype.kind not in "biuf":
                continue  # tallies are above
            if ds.ndim == 1 and ds.is_scale:
                unattached.append(ds)  # a coordinate where it is attached; kept below if it is not
                continue
            var = path.replace("/", ".")
            attrs = {"units": _units(ds)} if _units(ds) is not None else {}
            if "description" in ds.attrs:
                attrs["description"] = _py(ds.attrs["description"])
            dims = []
            for i in range(ds.ndim):
                dim = f"{var}_dim{i}" if ds.ndim > 1 else f"{var}_bin"
                for sc in ds.dims[i].values():
                    s_attrs = {"units": _units(sc)} if _units(sc) is not None else {}
                    if sc.shape[0] == ds.shape[i]:
                        values = sc.asstr()[()] if sc.dtype.kind in "SO" else sc[()]
                        dim = add_coord(_scale_dim(sc), values, s_attrs)
                        break
                    if sc.shape[0] == ds.shape[i] + 1:
                        dim = edge_axis(_edge_dim(_scale_dim(sc)), sc[()], s_attrs)
                        break
                dims.append(dim)
            variables[var] = (tuple(dims), ds[()], attrs)
        for ds in unattached:
            name = _scale_dim(ds)
            if name not in coords and _edge_dim(name) not in coords:
                attrs = {k: _py(ds.attrs[k]) for k in ("units", "description") if k in ds.attrs}
                variables[name] = ((f"{name}_bin",), ds[()], attrs)
        attrs = {"app": self.app, "hpcmc_format": f"{self.version[0]}.{self.version[1]}", "source": self.path}
        command = self.provenance.get("command")
        if command:
            attrs["history"] = str(command)
        return xr.Dataset({k: xr.Variable(*v) for k, v in variables.items()},
                          coords={k: xr.Variable((v[0],), v[1], v[2]) for k, v in coords.items()}, attrs=attrs)

    def to_dataframe(self):
        """The tallies in long format: one row per tally bin.

        Columns: ``tally``, ``bin`` (flat index), ``axis`` (first axis name, '' without edges),
        ``lower``, ``centre``, ``upper`` (bin of that axis), ``mean``, ``std``, ``unit``, ``n``.

        Raises
        ------
        MissingExtraError
            Without pandas (``pip install 'hpcmc[xarray]'``).
        """
        pd = _optional("pandas")
        rows = []
        for name, t in self.tallies.items():
            axis = next(iter(t.edges), "")
            edges = t.edges.get(axis) if axis else None
            mean, std = np.ravel(t.mean), np.ravel(t.std)
            use_edges = edges is not None and t.mean.ndim == 1 and edges.size == mean.size + 1
            for i in range(mean.size):
                lo, hi = (edges[i], edges[i + 1]) if use_edges else (np.nan, np.nan)
                rows.append({"tally": name, "bin": i, "axis": axis if use_edges else "", "lower": lo,
                             "centre": 0.5 * (lo + hi), "upper": hi, "mean": mean[i], "std": std[i],
                             "unit": t.units, "n": t.n})
        columns = ["tally", "bin", "axis", "lower", "centre", "upper", "mean", "std", "unit", "n"]
        return pd.DataFrame(rows, columns=columns)

