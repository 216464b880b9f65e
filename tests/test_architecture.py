"""The layer rule of ARCHITECTURE.md, enforced from the imports (module level and inside
functions; ``if TYPE_CHECKING:`` blocks are annotations only and are skipped)."""

from __future__ import annotations

import ast
import importlib
import pathlib
import pkgutil
import types

import pytest

import bayescale

PACKAGE = pathlib.Path(bayescale.__file__).parent
#: Lowest first. A module may import modules of lower layers, and modules of its own group
#: (the first name below ``bayescale``: ``plots``, ``sweep``, ...); nothing else.
LAYERS = [
    ["_version", "_defaults", "exceptions", "datasets"],
    ["data", "priors", "io"],
    ["models"],
    ["forms"],
    ["model"],
    ["prediction", "sampling", "diagnostics", "simulate", "checkpoints"],
    ["report", "checks"],
    ["law"],
    ["plots", "metric", "evaluation", "decisions"],
    ["fits"],  # load_fit returns every kind of fit: loss (law) and metric (metric/)
    ["sweep", "html_report"],
    ["cli"],
    ["__init__", "__main__"],
]
MAX_LINES = 600


def _modules() -> dict[str, pathlib.Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE).with_suffix("").parts)
        if parts == ["__init__"]:
            found["bayescale"] = path
            continue
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(["bayescale", *parts])] = path
    models = pathlib.Path(importlib.import_module("bayescale.models").__path__[0])
    for path in models.glob("*.py"):
        name = "bayescale.models" + ("" if path.stem == "__init__" else f".{path.stem}")
        found[name] = path
    return found


MODULES = _modules()


def _imports(path: pathlib.Path) -> set[str]:
    """bayescale modules ``path`` imports (``from pkg import sub`` counts as ``pkg.sub``)."""
    out: set[str] = set()

    class Visitor(ast.NodeVisitor):
        def visit_If(self, node):
            if isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
                for child in node.orelse:
                    self.visit(child)
                return
            self.generic_visit(node)

        def visit_Import(self, node):
            out.update(a.name for a in node.names if a.name.split(".")[0] == "bayescale")

        def visit_ImportFrom(self, node):
            if node.module and node.module.split(".")[0] == "bayescale":
                for alias in node.names:
                    full = f"{node.module}.{alias.name}"
                    out.add(full if full in MODULES else node.module)

    Visitor().visit(ast.parse(path.read_text(encoding="utf-8")))
    return out


GRAPH = {name: _imports(path) - {name} for name, path in MODULES.items()}


def _group(module: str) -> str:
    parts = module.split(".")
    return "__init__" if len(parts) == 1 else parts[1]


def _layer(module: str) -> int:
    group = _group(module)
    for i, names in enumerate(LAYERS):
        if group in names:
            return i
    raise AssertionError(f"{module} is in no layer of LAYERS: add it (and to ARCHITECTURE.md)")


def test_every_module_has_a_layer():
    for module in MODULES:
        _layer(module)


def test_imports_follow_the_layers():
    bad = []
    for module, targets in GRAPH.items():
        for target in targets:
            if target == "bayescale" and _group(module) == "models":
                continue  # never happens today; a law may not import the package root
            same_group = _group(target) == _group(module)
            if not same_group and _layer(target) >= _layer(module):
                bad.append(f"{module} imports {target}")
    assert not bad, "layer rule broken (see ARCHITECTURE.md):\n" + "\n".join(sorted(bad))


def test_no_import_cycles():
    state: dict[str, int] = {}
    cycles = []

    def visit(node, stack):
        state[node] = 1
        for nxt in sorted(GRAPH.get(node, ())):
            nxt = nxt if nxt in GRAPH else None
            if nxt is None:
                continue
            if state.get(nxt) == 1:
                # a package importing its own submodules (re-exports) is not a cycle unless a
                # submodule imports the package back
                cycles.append(" -> ".join([*stack[stack.index(nxt):], nxt]))
            elif nxt not in state:
                visit(nxt, [*stack, nxt])
        state[node] = 2

    for module in sorted(GRAPH):
        if module not in state:
            visit(module, [module])
    assert not cycles, "import cycles:\n" + "\n".join(cycles)


def test_only_the_cli_imports_cli_and_argparse():
    bad = []
    for module, path in MODULES.items():
        if _group(module) in ("cli", "__main__"):
            continue
        if any(_group(t) == "cli" for t in GRAPH[module]):
            bad.append(f"{module} imports bayescale.cli")
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module] if isinstance(node, ast.ImportFrom) else [])
            if "argparse" in names:
                bad.append(f"{module} imports argparse")
    assert not bad, "\n".join(bad)


def test_no_module_over_the_line_limit():
    long = {m: n for m, p in MODULES.items()
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert not long, f"modules over {MAX_LINES} lines: {long}"


def test_no_public_name_shadows_its_own_submodule():
    bad = []
    for info in pkgutil.walk_packages(bayescale.__path__, "bayescale."):
        if info.name == "bayescale.__main__":
            continue  # importing it runs the command line
        module = importlib.import_module(info.name)
        parent_name, _, leaf = info.name.rpartition(".")
        parent = importlib.import_module(parent_name)
        value = getattr(parent, leaf, None)
        if not isinstance(value, types.ModuleType):
            bad.append(f"{parent_name}.{leaf} is {type(value).__name__}, not the module "
                       f"{module.__name__}")
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize("name", sorted(bayescale.__all__))
def test_public_names_resolve(name):
    assert getattr(bayescale, name) is not None
