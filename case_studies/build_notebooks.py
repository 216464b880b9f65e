"""Build the case-study notebooks from their reviewable sources, and optionally run them.

Each notebook is written as a percent-format script in ``case_studies/src/`` (``# %%`` starts a
code cell, ``# %% [markdown]`` a markdown cell whose lines start with ``# ``; a cell header may
carry ``tags=["parameters"]``). This script turns each into ``case_studies/<name>.ipynb``:

    python case_studies/build_notebooks.py                 # write the notebooks, outputs empty
    python case_studies/build_notebooks.py --execute 05    # write and execute the notebooks matching 05

Execution runs the kernel in ``case_studies/`` (so ``import casedata`` works) with full draws,
unless ``BAYESCALE_QUICK=1`` is set (CI's reduced settings). Run full executions one at a time:
they share the machine's cores.
"""

from __future__ import annotations

import argparse
import json
import re
import time
from pathlib import Path

import nbformat

from bayescale.io import atomic_write_text

HERE = Path(__file__).resolve().parent
SOURCES = HERE / "src"
HEADER = re.compile(r"^# %%(?P<markdown> \[markdown\])?(?:\s+tags=(?P<tags>\[.*\]))?\s*$")


def cells_of(text: str) -> list:
    """Notebook cells of a percent-format script (text before the first ``# %%`` is dropped)."""
    cells, kind, tags, lines = [], None, [], []

    def close():
        if kind is None:
            return
        body = "\n".join(lines).strip("\n")
        if kind == "markdown":
            body = "\n".join(line[2:] if line.startswith("# ") else line.lstrip("#")
                             for line in body.splitlines())
            cell = nbformat.v4.new_markdown_cell(body)
        else:
            cell = nbformat.v4.new_code_cell(body)
        if tags:
            cell.metadata["tags"] = tags
        cells.append(cell)

    for line in text.splitlines():
        match = HEADER.match(line)
        if match:
            close()
            kind = "markdown" if match["markdown"] else "code"
            tags = json.loads(match["tags"]) if match["tags"] else []
            lines = []
        elif kind is not None:
            lines.append(line)
    close()
    return cells


def notebook_of(source: Path) -> nbformat.NotebookNode:
    """The (unexecuted) notebook of one source script."""
    nb = nbformat.v4.new_notebook()
    nb.cells = cells_of(source.read_text())
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    nb.metadata["jupytext_source"] = f"src/{source.name}"
    return nb


def same_cells(a: nbformat.NotebookNode, b: nbformat.NotebookNode) -> bool:
    """True when two notebooks have the same cell types and sources (outputs ignored)."""
    return [(c.cell_type, c.source) for c in a.cells] == [(c.cell_type, c.source)
                                                          for c in b.cells]


def same_code(a: nbformat.NotebookNode, b: nbformat.NotebookNode) -> bool:
    """True when two notebooks have the same cell types and the same code (text may differ)."""
    return [(c.cell_type, c.source if c.cell_type == "code" else "") for c in a.cells] == [
        (c.cell_type, c.source if c.cell_type == "code" else "") for c in b.cells]


def execute(nb: nbformat.NotebookNode, *, timeout: int = 3600) -> nbformat.NotebookNode:
    """Run a notebook top to bottom in ``case_studies/`` (raises on the first cell error)."""
    from nbclient import NotebookClient

    NotebookClient(nb, timeout=timeout, kernel_name="python3",
                   resources={"metadata": {"path": str(HERE)}}).execute()
    return nb


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--execute", nargs="*", metavar="PATTERN",
                        help="execute the notebooks whose name contains PATTERN (all if none)")
    args = parser.parse_args()
    for source in sorted(SOURCES.glob("*.py")):
        target = HERE / f"{source.stem}.ipynb"
        nb = notebook_of(source)
        run = args.execute is not None and (not args.execute
                                            or any(p in source.stem for p in args.execute))
        if run:
            start = time.perf_counter()
            execute(nb)
            print(f"{target.name}: executed in {time.perf_counter() - start:.0f} s", flush=True)
        elif target.exists():
            old = nbformat.read(target, as_version=4)
            if same_cells(old, nb):
                continue  # keep the stored outputs
            if same_code(old, nb):  # only the text changed: keep the outputs
                for old_cell, cell in zip(old.cells, nb.cells, strict=True):
                    old_cell.source = cell.source
                nb = old
                print(f"{target.name}: text updated, outputs kept")
            else:
                print(f"{target.name}: code changed, outputs cleared")
        atomic_write_text(target, nbformat.writes(nb) + "\n")


if __name__ == "__main__":
    main()
