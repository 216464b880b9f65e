"""The README's examples stay in step with the code: every import and ``bsc.`` name in its
Python blocks resolves, and every ``bayescale ...`` command line in its shell blocks parses
with the real argument parser (optional ``[...]`` parts dropped; nothing is run)."""

from __future__ import annotations

import importlib
import re
import shlex
from pathlib import Path

import pytest

import bayescale
from bayescale.cli import build_parser

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def _blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", README, flags=re.S)


PYTHON = "\n".join(_blocks("python"))
IMPORTS = sorted(set(re.findall(r"^\s*((?:from bayescale[\w.]* import [\w, ]+)|"
                                r"(?:import bayescale[\w.]*(?: as \w+)?))\s*(?:#.*)?$",
                                PYTHON, flags=re.M)))


def _commands() -> list[str]:
    out = []
    for block in _blocks("bash"):
        text = block.replace("\\\n", " ")
        for line in text.splitlines():
            line = line.split("#", 1)[0].strip()
            if line.startswith("bayescale "):
                line = re.sub(r"\[[^\]]*\]", " ", line)
                out.append(re.sub(r"\s\.\.\.(\s|$)", " ", line))
    return out


def test_the_readme_has_examples():
    assert len(IMPORTS) >= 4 and len(_commands()) >= 10


@pytest.mark.parametrize("statement", IMPORTS)
def test_readme_imports_resolve(statement):
    exec(statement, {})  # noqa: S102 - a fixed line of our own README


def test_readme_bsc_names_exist():
    names = sorted(set(re.findall(r"\bbsc\.(\w+)", README)))
    assert names
    missing = [n for n in names if not hasattr(bayescale, n)]
    assert not missing, f"README uses bsc.{missing}, which bayescale does not have"


def test_readme_modules_named_in_backticks_exist():
    mods = sorted(set(re.findall(r"`(bayescale(?:\.\w+)+)`", README)))
    missing = []
    for name in mods:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError:
            parent, _, attr = name.rpartition(".")
            try:
                if not hasattr(importlib.import_module(parent), attr):
                    missing.append(name)
            except ModuleNotFoundError:
                missing.append(name)
    assert not missing, f"README names {missing}, which do not exist"


@pytest.mark.parametrize("command", _commands())
def test_readme_commands_parse(command):
    args = shlex.split(command)[1:]
    try:
        build_parser().parse_args(args)
    except SystemExit as err:  # argparse exits on an unknown flag or a bad value
        pytest.fail(f"README command does not parse ({err.code}): {command}")
