# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # hpcmc from Python
#
# A notebook in jupytext "percent" format: open it in Jupyter (`jupytext --to ipynb
# tools/example_notebook.py`, or Jupyter with the jupytext extension), or run it as a script
# (`python tools/example_notebook.py`; the figures are written to the working directory).
#
# 1. run the sigma-LEM BAEC study with `hpcmc.run` and read it with `hpcmc.Results`;
# 2. put the results into xarray and plot them;
# 3. run a small selftest and read its tallies into xarray;
# 4. talk to a running `hpcmc serve` through `hpcmc.gateway.Client`.
#
# Needs the optional extra: `pip install 'hpcmc[xarray]'`.

# %%
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; in Jupyter, figures also show inline
import matplotlib.pyplot as plt
import numpy as np

import hpcmc
from hpcmc.gateway import Client

REPO = Path(hpcmc.__file__).resolve().parents[1]  # the checkout that holds jobs/
OUT = Path(os.environ.get("HPCMC_EXAMPLE_OUT", ".")).resolve()
OUT.mkdir(parents=True, exist_ok=True)
print("hpcmc", hpcmc.__version__, "from", REPO, "; writing to", OUT)

# %% [markdown]
# ## 1. The BAEC study (lem)
#
# `overrides` sets job keys without editing the file; the results file's `/config` holds the
# job that ran and `/provenance` the call.

# %%
lem = hpcmc.run(REPO / "jobs" / "lem" / "baec.toml", output=OUT / "lem_baec.h5",
                overrides={"lem.energy_curve.points": 120}, force=True)
print(lem)
print("command:", lem.provenance["command"])
print("eps*V =", lem.lem_study().attrs["eps_v_gy_um3"], "Gy um^3")

# %% [markdown]
# ## 2. Into xarray, and two figures

# %%
ds = lem.to_xarray()
der = ds["lem.energy_curve.der"]
energy = der[der.dims[0]]
print(der.dims, der.attrs["units"], energy.attrs["units"])

fig, ax = plt.subplots(figsize=(6, 4))
ax.semilogx(energy, der, label=f"{der.attrs['description']}")
ax.set_xlabel(f"photon energy [{energy.attrs['units']}]")
ax.set_ylabel(f"DER [{der.attrs['units']}]")
ax.legend(fontsize=7)
fig.tight_layout()
fig.savefig(OUT / "lem_der_vs_energy.png", dpi=100)

study = lem.lem_study()
dose = study.survival.dose_Gy
fig, ax = plt.subplots(figsize=(6, 4))
ax.semilogy(dose, study.survival.sf_baseline, "k-", label="no gold (LQ)")
for c, rec in sorted(study.survival_by_concentration.items()):
    if c > 0:
        ax.semilogy(dose, rec.sf_mixed, label=f"{c:g} mM, mixed form")
        ax.semilogy(rec.exp_dose_Gy, rec.exp_sf, "o", ms=3, color=ax.lines[-1].get_color())
ax.set_xlabel(f"dose [{lem.units('lem/survival/dose_Gy')}]")
ax.set_ylabel("surviving fraction")
ax.legend(fontsize=7)
fig.tight_layout()
fig.savefig(OUT / "lem_survival.png", dpi=100)
lem.close()

# %% [markdown]
# ## 3. A small selftest, its tallies in xarray and pandas

# %%
with hpcmc.run(REPO / "jobs" / "selftest.toml", output=OUT / "selftest_small.h5", force=True,
               overrides={"job.n_histories": 100_000, "job.chunk_size": 20_000, "selftest.n_bins": 20}) as st:
    sds = st.to_xarray()
    table = st.to_dataframe()
print(sds["first_interaction"])
print(table.head())

fi, fi_std = sds["first_interaction"], sds["first_interaction_std"]
depth = fi[fi.dims[0]]
fig, ax = plt.subplots(figsize=(6, 4))
ax.errorbar(depth, fi, yerr=fi_std, fmt=".", label="Monte Carlo")
ax.plot(depth, sds["selftest.expected_first_interaction"], "-", label="closed form")
ax.set_xlabel(f"depth [{depth.attrs['units']}]")
ax.set_ylabel(f"first interactions per history [{fi.attrs['units']}]")
ax.legend()
fig.tight_layout()
fig.savefig(OUT / "selftest_first_interaction.png", dpi=100)

# %% [markdown]
# ## 4. A running server
#
# `hpcmc serve` keeps the transport initialised and answers `status` and `simulate` requests
# (here on one process on a free loopback port; under `mpiexec` on a cluster).

# %%
with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
url = f"tcp://127.0.0.1:{port}"
server = subprocess.Popen([sys.executable, "-m", "hpcmc", "serve", str(REPO / "jobs" / "selftest.toml"),
                           "--bind", url, "--quiet"])
try:
    status = None
    deadline = time.monotonic() + 120
    while status is None:
        with Client(url, timeout_s=5.0) as probe:
            try:
                status = probe.status()
            except TimeoutError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"hpcmc serve did not answer on {url}") from None
    print("status:", status)
    with Client(url, timeout_s=300.0) as client:
        reply = client.simulate("selftest", n_histories=50_000, seed=1)
        print({name: (t.unit, np.round(t.mean[:3], 4)) for name, t in reply.tallies.items()})
        client.shutdown()
    server.wait(timeout=60)
finally:
    if server.poll() is None:
        server.kill()
        server.wait()
print("server exit status", server.returncode)
