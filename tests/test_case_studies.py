"""The case-study notebooks: committed in sync with their sources, executed, and runnable.

The quick checks read the committed notebooks (no kernel). The slow test executes every
notebook top to bottom with ``BAYESCALE_QUICK=1`` (2 chains x 100 draws, fewer fits) in a
fresh kernel and fails on the first cell error; outputs are discarded.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat", reason="the test extra installs nbformat")

CASES = Path(__file__).resolve().parents[1] / "case_studies"
sys.path.insert(0, str(CASES))
import build_notebooks as build  # case_studies/build_notebooks.py, after the path insert

SOURCES = sorted((CASES / "src").glob("*.py"))
NAMES = [s.stem for s in SOURCES]
#: placeholders a source may hold before its full-draw numbers are written into the text
PLACEHOLDERS = ("CONCLUSION_", "DIAGNOSTICS_", "ANSWER_", "DISCUSS_")


def test_five_notebooks_with_sources():
    assert NAMES == ["01_hitchhiker_estimation", "02_overtraining", "03_compare_recipes",
                     "04_emergence", "05_compute_optimal"]
    for name in NAMES:
        assert (CASES / f"{name}.ipynb").is_file(), f"{name}.ipynb is not built"


def test_percent_format_parser():
    text = ("# ruff: noqa\n# %% [markdown]\n# # Title\n#\n# text\n\n"
            '# %% tags=["parameters"]\nX = 1\n\n# %%\nprint(X)\n')
    cells = build.cells_of(text)
    assert [c.cell_type for c in cells] == ["markdown", "code", "code"]
    assert cells[0].source == "# Title\n\ntext"
    assert cells[1].metadata["tags"] == ["parameters"] and cells[1].source == "X = 1"
    assert cells[2].source == "print(X)"


@pytest.mark.parametrize("name", NAMES)
def test_committed_notebook_is_executed_and_final(name):
    nb = nbformat.read(CASES / f"{name}.ipynb", as_version=4)
    source = build.notebook_of(CASES / "src" / f"{name}.py")
    assert build.same_cells(nb, source), f"{name}.ipynb differs from src/{name}.py: rebuild it"
    first = nb.cells[0]
    assert first.cell_type == "markdown" and "**Conclusion.**" in first.source
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    left = [p for p in PLACEHOLDERS if p in text]
    assert not left, f"{name}: placeholders {left} not replaced by measured text"
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert any("parameters" in c.metadata.get("tags", []) for c in code)
    assert all(c.get("execution_count") for c in code), f"{name}: not every cell was executed"
    outputs = [o for c in code for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    streams = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert "full settings" in streams, f"{name}: committed outputs are not from full draws"
    assert "leapfrog steps/draw ->" in streams, f"{name}: no diagnostics verdict printed"


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_notebook_runs_top_to_bottom_quick(name, monkeypatch):
    monkeypatch.setenv("BAYESCALE_QUICK", "1")
    nb = build.notebook_of(CASES / "src" / f"{name}.py")
    build.execute(nb, timeout=600)  # raises CellExecutionError on the first failing cell
    streams = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code"
                      for o in c.outputs if o.output_type == "stream")
    assert "quick settings" in streams
    assert "leapfrog steps/draw ->" in streams
