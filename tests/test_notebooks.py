"""The notebooks run headless from top to bottom and draw their figures.

Each notebook in ``notebooks/`` is a jupytext ``py:percent`` file (no outputs stored). The
test converts it, runs it in a fresh kernel with ``MPLBACKEND=Agg`` and counts the PNG
figures it displays.
"""

from __future__ import annotations

from pathlib import Path

import pytest

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"

#: Each notebook, and the fewest figures it must display.
EXPECTED_FIGURES = {
    "01_retry_timelines.py": 3,
    "02_failure_rate_study.py": 1,
    "03_outage_storm.py": 3,
    "04_receiver_conformance.py": 1,
}


def test_every_notebook_is_listed():
    assert sorted(p.name for p in NOTEBOOKS.glob("*.py")) == sorted(EXPECTED_FIGURES)


@pytest.mark.parametrize("name", sorted(EXPECTED_FIGURES))
def test_notebook_is_stored_without_outputs(name):
    jupytext = pytest.importorskip("jupytext")
    notebook = jupytext.read(NOTEBOOKS / name)
    assert notebook.cells, "an empty notebook"
    assert all(not cell.get("outputs") for cell in notebook.cells)
    assert notebook.cells[0].cell_type == "markdown", "a notebook opens with its story"


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(EXPECTED_FIGURES))
def test_notebook_runs_headless_and_draws_its_figures(name, monkeypatch):
    jupytext = pytest.importorskip("jupytext")
    nbclient = pytest.importorskip("nbclient")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    notebook = jupytext.read(NOTEBOOKS / name)
    client = nbclient.NotebookClient(
        notebook, timeout=180, kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOKS)}},
    )  # fmt: skip
    client.execute()
    outputs = [out for cell in notebook.cells if cell.cell_type == "code"
               for out in cell.get("outputs", [])]  # fmt: skip
    errors = [out for out in outputs if out.get("output_type") == "error"]
    assert not errors, errors
    figures = [out for out in outputs if "image/png" in out.get("data", {})]
    assert len(figures) >= EXPECTED_FIGURES[name], (
        f"{name} displayed {len(figures)} figure(s), expected {EXPECTED_FIGURES[name]}"
    )
