"""tools/example_notebook.py: runs as a plain script and writes its figures; converts to .ipynb."""
import os
import subprocess
import sys

import pytest

from conftest import REPO, hpcmc_env

NOTEBOOK = REPO / "tools" / "example_notebook.py"
FIGURES = ("lem_der_vs_energy.png", "lem_survival.png", "selftest_first_interaction.png")


def test_example_notebook_runs_as_a_script(tmp_path):
    pytest.importorskip("xarray", reason="the notebook needs the [xarray] extra")
    pytest.importorskip("pandas", reason="the notebook needs the [xarray] extra")
    env = hpcmc_env()
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), *filter(None, [env.get("PYTHONPATH", "")])])
    env["HPCMC_EXAMPLE_OUT"] = str(tmp_path / "out")
    env["MPLBACKEND"] = "Agg"
    proc = subprocess.run([sys.executable, str(NOTEBOOK)], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    for name in FIGURES:
        with open(tmp_path / "out" / name, "rb") as f:
            assert f.read(8) == b"\x89PNG\r\n\x1a\n", name
    assert "command: hpcmc.run(job=" in proc.stdout and "server exit status 0" in proc.stdout


def test_example_notebook_converts_to_ipynb():
    jupytext = pytest.importorskip("jupytext", reason="jupytext is optional (pip install jupytext)")
    nb = jupytext.read(NOTEBOOK)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert len(code) >= 5 and any("hpcmc.run(" in c.source for c in code)
    assert any(c.cell_type == "markdown" for c in nb.cells)
    text = jupytext.writes(nb, fmt="ipynb")
    assert '"cell_type": "code"' in text
