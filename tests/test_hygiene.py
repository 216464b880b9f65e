"""Process hygiene of the scripts beside the package: benchmarks and case studies write their
results atomically (a killed run leaves the old file or the new one, never half a file)."""

from __future__ import annotations

import ast
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
SCRIPTS = sorted([*ROOT.glob("benchmarks/*.py"), *ROOT.glob("case_studies/*.py"),
                  *ROOT.glob("case_studies/src/*.py")])
#: Methods that write a file in place (pathlib, matplotlib, pandas, xarray).
DIRECT_WRITES = {"write_text", "write_bytes", "savefig", "to_csv", "to_json", "to_netcdf",
                 "to_parquet"}
PATH_KEYWORDS = {"path", "path_or_buf", "fname", "data"}


def _direct_writes(source: str) -> list[int]:
    """Line numbers of ``source`` that write a file other than through
    ``bayescale.io.atomic_write``: a direct write is allowed only inside a lambda (the callback
    atomic_write runs on its temporary file) or into a temporary folder (a path expression
    naming ``tmp``); ``open(..., "w")`` is never allowed."""
    tree = ast.parse(source)
    in_lambda = {id(n) for lam in ast.walk(tree) if isinstance(lam, ast.Lambda)
                 for n in ast.walk(lam.body)}
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or id(node) in in_lambda:
            continue
        func = node.func
        if isinstance(func, ast.Name) and func.id == "open":
            mode = node.args[1] if len(node.args) > 1 else next(
                (k.value for k in node.keywords if k.arg == "mode"), None)
            if isinstance(mode, ast.Constant) and set(str(mode.value)) & set("wax"):
                found.append(node.lineno)
            continue
        if not (isinstance(func, ast.Attribute) and func.attr in DIRECT_WRITES):
            continue
        if not node.args and not any(k.arg in PATH_KEYWORDS for k in node.keywords):
            continue  # e.g. to_csv(index=False) with no path returns the text
        where = ast.unparse(node.args[0]) if node.args else ast.unparse(func.value)
        if "tmp" in where:
            continue
        found.append(node.lineno)
    return sorted(found)


@pytest.mark.parametrize("path", SCRIPTS, ids=[str(p.relative_to(ROOT)) for p in SCRIPTS])
def test_scripts_write_results_atomically(path):
    assert _direct_writes(path.read_text(encoding="utf-8")) == []


def test_the_check_finds_direct_writes():
    source = ("from pathlib import Path\n"
              "Path('out.md').write_text('x')\n"                                   # 2
              "fig.savefig('fig.png', dpi=100)\n"                                  # 3
              "atomic_write(p, lambda tmp: fig.savefig(tmp, format='png'))\n"
              "table.to_csv(tmp / 'runs.csv')\n"
              "text = table.to_csv(index=False)\n"
              "with open('r.json', 'w') as f:\n"                                   # 7
              "    pass\n"
              "table.to_csv(out / 'r.csv', index=False)\n")                        # 9
    assert _direct_writes(source) == [2, 3, 7, 9]
