"""Tests for bayescale.forms: the law registry and the contract every law module follows."""

from __future__ import annotations

import hashlib
import math
import os
import re
import sys
import types
from pathlib import Path

import bayescale.models
import numpy as np
import pytensor.tensor as pt
import pytest

from bayescale import ScalingLaw, SpecError, available_forms, forms, get_form
from bayescale.forms import (
    available_metric_forms,
    broken_laws,
    form_from_module,
    get_metric_form,
    reload_laws,
    temporary_laws,
)
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
def new_law_file(tmp_path):
    """A law file in a temporary folder, registered with ``temporary_laws`` (``models/`` is
    never written)."""
    stem = "tmptestlaw"
    path = tmp_path / f"{stem}.py"
    path.write_text(NEW_LAW.format(name=stem), encoding="utf-8")
    with temporary_laws(path):
        yield stem


def test_new_law_file_is_picked_up(new_law_file, tmp_path):
    forms = available_forms()
    assert new_law_file in forms
    assert forms[new_law_file].parameters == ("log_L0", "log_alpha")
    assert forms[new_law_file].module == str(tmp_path / f"{new_law_file}.py")
    law = ScalingLaw(new_law_file, priors={"log_alpha": ParamPrior(mu=-1.5, sigma=0.3, tau=0.1)})
    assert law.law_form.name == new_law_file
    assert law.full_priors()["log_alpha"].mu == -1.5


def test_temporary_law_is_gone_after_the_block(tmp_path):
    path = tmp_path / "shortlived.py"
    path.write_text(NEW_LAW.format(name="shortlived"), encoding="utf-8")
    with temporary_laws(path):
        assert get_form("shortlived").inputs == ("flops",)
    assert "shortlived" not in available_forms()
    with pytest.raises(SpecError, match="unknown law 'shortlived'"):
        get_form("shortlived")
    assert not list(Path(bayescale.models.__path__[0]).glob("shortlived*"))


def test_temporary_law_may_redefine_a_builtin_law(tmp_path):
    path = tmp_path / "compute_v2.py"
    path.write_text(NEW_LAW.format(name="compute"), encoding="utf-8")
    builtin = get_form("compute")
    with temporary_laws(path):
        assert get_form("compute").parameters == ("log_L0", "log_alpha")
        assert get_form("compute").module == str(path)
        assert get_form("chinchilla").parameters == tuple(CHINCHILLA_P)
    assert get_form("compute") == builtin


def test_temporary_law_from_a_module_object():
    prior = ParamPrior(mu=0.0, sigma=1.0, tau=0.1)
    with temporary_laws(_law_module("objlaw", {"a": prior, "b": prior})):
        form = get_form("objlaw")
        assert form.parameters == ("a", "b") and form.source_sha256 is None


def test_source_hash_is_the_sha256_of_the_module_file():
    for name, form in {**available_forms(), **available_metric_forms()}.items():
        path = Path(bayescale.models.__path__[0]) / f"{form.module.rpartition('.')[2]}.py"
        assert form.module.startswith("bayescale.models.")
        assert form.source_sha256 == hashlib.sha256(path.read_bytes()).hexdigest(), name
    assert len({f.source_sha256 for f in available_forms().values()}) == len(available_forms())


# --------------------------------------------------------------- the registry is built once


@pytest.fixture
def rebuilt_registry(monkeypatch):
    """Rebuild the registry after the test, once its monkeypatches are undone (it may have
    changed ``$BAYESCALE_LAWS`` or the scan of ``models/``)."""
    yield
    monkeypatch.undo()
    reload_laws()


def test_registry_is_built_once_and_rebuilt_on_reload(monkeypatch, rebuilt_registry):
    scans = []
    real = forms._package_modules
    monkeypatch.setattr(forms, "_package_modules", lambda: (scans.append(1), real())[1])
    reload_laws()
    assert len(scans) == 1
    for _ in range(20):
        get_form("chinchilla")
        get_metric_form("sigmoid")
        available_forms()
        ScalingLaw("compute")
    assert len(scans) == 1  # no rescan of models/ per call
    reload_laws()
    assert len(scans) == 2 and get_form("chinchilla").parameters == tuple(CHINCHILLA_P)


def test_reload_reimports_the_law_modules(rebuilt_registry):
    assert get_form("chinchilla").name == "chinchilla"  # the registry is built
    before = sys.modules["bayescale.models.chinchilla"]
    reload_laws()
    after = sys.modules["bayescale.models.chinchilla"]
    assert after is not before and get_form("chinchilla").log_loss is after.log_loss


def test_laws_from_the_environment_variable(tmp_path, monkeypatch, rebuilt_registry):
    folder = tmp_path / "laws"
    folder.mkdir()
    (folder / "envlaw.py").write_text(NEW_LAW.format(name="envlaw"), encoding="utf-8")
    (folder / "_private.py").write_text("raise RuntimeError('never imported')\n")
    monkeypatch.setenv(forms.LAWS_ENV, os.pathsep.join([str(folder), str(tmp_path / "no.py")]))
    assert "envlaw" not in available_forms()  # read when the registry is built
    reload_laws()
    assert get_form("envlaw").module == str(folder / "envlaw.py")
    assert set(broken_laws()) == {str(tmp_path / "no.py")}
    monkeypatch.delenv(forms.LAWS_ENV)
    reload_laws()
    assert "envlaw" not in available_forms() and broken_laws() == {}


def test_repeated_name_in_models_breaks_the_later_module(monkeypatch, rebuilt_registry):
    prior = ParamPrior(mu=0.0, sigma=1.0, tau=0.1)
    first, second = (_law_module("twin", {"a": prior, "b": prior}) for _ in range(2))
    monkeypatch.setattr(forms, "_package_modules", lambda: iter([
        ("bayescale.models.twin_a", first, None), ("bayescale.models.twin_b", second, None)]))
    reload_laws()
    assert get_form("twin").module == "bayescale.models.twin_a"
    assert "already defined by bayescale.models.twin_a" in broken_laws()["bayescale.models.twin_b"]


# ------------------------------------------------------ a broken module breaks only its own law

BROKEN_FILES = {
    "syntaxbad": "NAME = 'syntaxbad'\ndef log_loss(x, p, xp:\n",
    "importbad": "import bayescale_no_such_module\nNAME = 'importbad'\n",
    "contractbad": NEW_LAW.format(name="contractbad").replace('p["log_alpha"]', 'p["log_beta"]'),
    "runbad": NEW_LAW.format(name="runbad").replace('return p["log_L0"]', 'return 1 / 0 + p["x"]'),
    "kindbad": "KIND = 'probability'\nNAME = 'kindbad'\n",
}


@pytest.fixture
def law_folder(tmp_path):
    """A folder of one working law and one broken module per way a law can break."""
    (tmp_path / "goodlaw.py").write_text(NEW_LAW.format(name="goodlaw"), encoding="utf-8")
    for stem, source in BROKEN_FILES.items():
        (tmp_path / f"{stem}.py").write_text(source, encoding="utf-8")
    return tmp_path


@pytest.mark.parametrize("stem, error", [
    ("syntaxbad", "SyntaxError"),
    ("importbad", "ModuleNotFoundError: No module named 'bayescale_no_such_module'"),
    ("contractbad", r"SpecError: law contractbad: log_loss reads \['log_L0', 'log_beta'\]"),
    ("runbad", "ZeroDivisionError"),
    ("kindbad", "unknown KIND 'probability'"),
])
def test_broken_module_breaks_only_its_own_law(law_folder, stem, error):
    with temporary_laws(law_folder):
        module = re.escape(str(law_folder / f"{stem}.py"))
        with pytest.raises(SpecError, match=f"law module {module} is broken: .*{error}"):
            get_form(stem)
        with pytest.raises(SpecError, match=f"law module {module} is broken"):
            get_metric_form(stem)
        forms_now = available_forms()
        assert stem not in forms_now and str(law_folder / f"{stem}.py") in broken_laws()
        assert {"goodlaw", "chinchilla", "compute"} <= set(forms_now)
        assert get_form("goodlaw").parameters == ("log_L0", "log_alpha")
        assert ScalingLaw("chinchilla").law_form.parameters == tuple(CHINCHILLA_P)
        assert "sigmoid" in available_metric_forms()
        with pytest.raises(SpecError, match="broken law modules: .*syntaxbad"):
            get_form("nope")
    assert broken_laws() == {}


def test_broken_redefinition_hides_the_law_it_redefines(tmp_path):
    path = tmp_path / "compute_bad.py"
    path.write_text(BROKEN_FILES["contractbad"].replace("contractbad", "compute"))
    with temporary_laws(path):
        with pytest.raises(SpecError, match="law 'compute' cannot be used: law module"):
            get_form("compute")
    assert get_form("compute").inputs == ("flops",)


METRIC_LAW = '''"""Temporary metric law: a logistic in log compute."""
from bayescale.priors import ParamPrior

KIND = "metric"
NAME = "{name}"
INPUTS = ("flops",)
REFERENCE = "bayescale test suite"
DEFAULT_PRIORS = {{"midpoint": ParamPrior(mu=0.0, sigma=2.0, tau=0.5, centered=True)}}


def mean_metric(x, p, xp, *, chance, ceiling):
    return chance + (ceiling - chance) / (1 + xp.exp(-(x["flops"] - p["{read}"])))
'''


def test_metric_laws_share_the_registry(tmp_path):
    (tmp_path / "tmpmetric.py").write_text(METRIC_LAW.format(name="tmpmetric", read="midpoint"))
    (tmp_path / "badmetric.py").write_text(METRIC_LAW.format(name="badmetric", read="height"))
    with temporary_laws(tmp_path):
        form = get_metric_form("tmpmetric")
        assert form.parameters == ("midpoint",) and form.module == str(tmp_path / "tmpmetric.py")
        assert "tmpmetric" not in available_forms()
        with pytest.raises(SpecError, match="unknown law 'tmpmetric'"):
            get_form("tmpmetric")
        with pytest.raises(SpecError, match=r"badmetric.py is broken: .*mean_metric reads"):
            get_metric_form("badmetric")
        assert {"sigmoid", "gadre_error", "tmpmetric"} <= set(available_metric_forms())
    assert "tmpmetric" not in available_metric_forms()
