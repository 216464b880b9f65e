"""Sampler selection: unknown backends, missing extras, bad settings (no sampling)."""

import importlib.util

import pymc as pm
import pytest

from bayescale import MissingDependencyError, ScalingLaw, SpecError, read_runs
from bayescale.model import build_model, reference_scales, use_run_effect
from bayescale.sampling import check_sampler, sample
from bayescale.simulate import simulate_runs


def test_unknown_sampler_names_the_choices():
    with pytest.raises(SpecError, match="unknown sampler 'stan'.*nutpie"):
        check_sampler("stan")


@pytest.mark.parametrize(("sampler", "module", "extra"),
                         [("numpyro", "numpyro", "jax"), ("blackjax", "jax", "jax")])
def test_missing_backend_names_the_extra(monkeypatch, sampler, module, extra):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == module else real(name, *a))
    with pytest.raises(MissingDependencyError, match=rf"pip install 'bayescale\[{extra}\]'"):
        check_sampler(sampler)
    assert issubclass(MissingDependencyError, ImportError)


def test_fit_checks_the_sampler_before_reading_data():
    with pytest.raises(SpecError, match="unknown sampler"):
        ScalingLaw().fit("does-not-matter.csv", sampler="stan")


def test_bad_draw_counts_are_refused():
    with pm.Model() as model:
        pm.Normal("x")
    with pytest.raises(SpecError, match="draws >= 1"):
        sample(model, draws=0)


def test_one_family_partial_pooling_becomes_complete():
    """With one family there is no spread to learn: no _tau variables in the model."""
    runs, _ = simulate_runs(n_families=1, sizes=(1e8, 3e8, 1e9), seeds=1, checkpoints=3)
    law = ScalingLaw()
    table = read_runs(runs)
    form = law.law_form
    model = build_model(form, table, priors=law.full_priors(), likelihood="student_t",
                        pooling="partial", run_effect=use_run_effect(table, "auto"),
                        scales=reference_scales(form, table))
    names = {v.name for v in model.free_RVs}
    assert "log_alpha_mu" in names and not any(n.endswith("_tau") for n in names)
