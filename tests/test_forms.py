"""Tests for bayescale.forms: the law registry and the contract every law module follows."""

from __future__ import annotations

import importlib
import math
import sys
import types
import uuid
from pathlib import Path

import bayescale.models
import numpy as np
import pytensor.tensor as pt
import pytest

from bayescale import ScalingLaw, SpecError, available_forms, get_form
from bayescale.forms import form_from_module
from bayescale.priors import ParamPrior

CHINCHILLA_P = {
    "log_L0": 1.2,
    "log_a_over_E": -0.3,
    "log_b_over_E": -0.8,
    "log_alpha": math.log(0.34),
    "log_beta": math.log(0.28),
}
COMPUTE_P = {"log_L0": 1.1, "log_a_over_E": -0.5, "log_alpha": math.log(0.15)}
X = np.array([-3.0, -0.5, 0.0, 1.7, 4.0])


def test_registry_lists_builtin_laws():
    forms = available_forms()
    assert {"chinchilla", "compute"} <= set(forms)
    assert forms["chinchilla"].inputs == ("params", "tokens")
    assert forms["compute"].inputs == ("flops",)
    assert forms["chinchilla"].parameters == tuple(CHINCHILLA_P)


def test_unknown_law_names_available_ones():
    with pytest.raises(SpecError, match="nope") as err:
        get_form("nope")
    assert "chinchilla" in str(err.value) and "compute" in str(err.value)


@pytest.mark.parametrize("name, p", [("chinchilla", CHINCHILLA_P), ("compute", COMPUTE_P)])
def test_numpy_and_pytensor_agree(name, p):
    form = get_form(name)
    x = {inp: X * (i + 1) / 2 for i, inp in enumerate(form.inputs)}
    expected = form.log_loss(x, p, np)
    symbolic = form.log_loss(
        {k: pt.as_tensor_variable(v) for k, v in x.items()},
        {k: pt.as_tensor_variable(np.float64(v)) for k, v in p.items()},
        pt,
    )
    np.testing.assert_allclose(symbolic.eval(), expected, rtol=1e-12)
    assert np.all(np.isfinite(expected)) and np.ptp(expected) > 0.1


def test_chinchilla_derived_constants_give_paper_form():
    form = get_form("chinchilla")
    scales = {"params": 3e8, "tokens": 1e10}
    c = form.derived(CHINCHILLA_P, scales, np)
    assert c["alpha"] == pytest.approx(0.34) and c["beta"] == pytest.approx(0.28)
    for n, d in [(1e7, 2e8), (3e8, 1e10), (7e9, 1.4e11), (1e11, 1e9)]:
        x = {"params": np.log(n / scales["params"]), "tokens": np.log(d / scales["tokens"])}
        law = np.exp(form.log_loss(x, CHINCHILLA_P, np))
        paper = c["E"] + c["A"] / n ** c["alpha"] + c["B"] / d ** c["beta"]
        assert law == pytest.approx(paper, rel=1e-10)
    # at the reference point the loss is exp(log_L0) by construction
    at_ref = c["E"] + c["A"] / 3e8 ** c["alpha"] + c["B"] / 1e10 ** c["beta"]
    assert at_ref == pytest.approx(math.exp(CHINCHILLA_P["log_L0"]), rel=1e-10)


def test_compute_derived_constants_give_paper_form():
    form = get_form("compute")
    c = form.derived(COMPUTE_P, {"flops": 1e20}, np)
    for flops in (1e17, 1e20, 1e24):
        law = np.exp(form.log_loss({"flops": np.log(flops / 1e20)}, COMPUTE_P, np))
        assert law == pytest.approx(c["E"] + c["A"] * flops ** -c["alpha"], rel=1e-10)


def _law_module(name: str, priors: dict, reads=("a", "b"), inputs=("flops",)):
    module = types.ModuleType(name)
    module.NAME = name
    module.INPUTS = inputs
    module.REFERENCE = "test"
    module.DEFAULT_PRIORS = priors
    module.log_loss = lambda x, p, xp: sum(p[k] for k in reads) + 0 * x[inputs[0]]
    return module


def test_module_with_matching_priors_is_accepted():
    prior = ParamPrior(mu=0.0, sigma=1.0, tau=0.1)
    form = form_from_module(_law_module("ok", {"a": prior, "b": prior}))
    assert form.parameters == ("a", "b") and form.inputs == ("flops",)


def test_module_with_mismatched_priors_is_rejected():
    prior = ParamPrior(mu=0.0, sigma=1.0, tau=0.1)
    with pytest.raises(SpecError, match=r"reads \['a', 'b'\].*\['a', 'c'\]"):
        form_from_module(_law_module("bad", {"a": prior, "c": prior}))


def test_module_missing_attributes_or_unknown_input_is_rejected():
    prior = ParamPrior(mu=0.0, sigma=1.0, tau=0.1)
    module = _law_module("nolog", {"a": prior, "b": prior})
    del module.REFERENCE
    with pytest.raises(SpecError, match="missing REFERENCE"):
        form_from_module(module)
    with pytest.raises(SpecError, match="unknown inputs"):
        form_from_module(_law_module("odd", {"a": prior, "b": prior}, inputs=("width",)))


NEW_LAW = '''"""Temporary test law: L = exp(log_L0) * (flops / C0)^-exp(log_alpha)."""
from bayescale.priors import ParamPrior

NAME = "{name}"
INPUTS = ("flops",)
REFERENCE = "bayescale test suite"
DEFAULT_PRIORS = {{
    "log_L0": ParamPrior(mu=1.0, sigma=0.5, tau=0.1, centered=True),
    "log_alpha": ParamPrior(mu=-2.0, sigma=0.5, tau=0.1),
}}


def log_loss(x, p, xp):
    return p["log_L0"] - xp.exp(p["log_alpha"]) * x["flops"]
'''


@pytest.fixture
def new_law_file():
    """Write a law module into the installed ``bayescale.models`` package; remove it after."""
    stem = f"tmptestlaw_{uuid.uuid4().hex[:12]}"
    path = Path(bayescale.models.__path__[0]) / f"{stem}.py"
    path.write_text(NEW_LAW.format(name=stem), encoding="utf-8")
    try:
        yield stem
    finally:
        path.unlink(missing_ok=True)
        for cached in path.parent.joinpath("__pycache__").glob(f"{stem}.*"):
            cached.unlink(missing_ok=True)
        sys.modules.pop(f"bayescale.models.{stem}", None)
        importlib.invalidate_caches()


def test_new_law_file_is_picked_up(new_law_file):
    forms = available_forms()
    assert new_law_file in forms
    assert forms[new_law_file].parameters == ("log_L0", "log_alpha")
    law = ScalingLaw(new_law_file, priors={"log_alpha": ParamPrior(mu=-1.5, sigma=0.3, tau=0.1)})
    assert law.law_form.name == new_law_file
    assert law.full_priors()["log_alpha"].mu == -1.5
