"""Tests for bayescale.prediction on hand-built posteriors (no sampling)."""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pandas as pd
import pymc as pm
import pytest
import xarray as xr
from conftest import CHINCHILLA_VALUES, COMPUTE_VALUES, FAMILIES, make_fit, make_idata

from bayescale import DataError, ParamPrior, ScalingLaw, SpecError, get_form
from bayescale._defaults import NEW_FAMILY
from bayescale.law import ScalingFit

POINTS = pd.DataFrame({"params": [2e7, 4e8, 7e9], "tokens": [4e8, 8e9, 1.4e11]})


def law_value(form_name: str, values, family: int, scales, points: pd.DataFrame) -> np.ndarray:
    """Loss of the law at ``points`` for one family, in the paper's form E + A/N^a + B/D^b."""
    form = get_form(form_name)
    p = {k: v[family] for k, v in values.items()}
    c = form.derived(p, scales, np)
    if form_name == "chinchilla":
        n, d = points["params"].to_numpy(), points["tokens"].to_numpy()
        return c["E"] + c["A"] / n ** c["alpha"] + c["B"] / d ** c["beta"]
    return c["E"] + c["A"] * points["flops"].to_numpy() ** -c["alpha"]


@pytest.mark.parametrize("family", range(len(FAMILIES)))
def test_mean_prediction_is_the_law(chinchilla_fit, family):
    out = chinchilla_fit.predict(POINTS, family=FAMILIES[family])
    assert set(out.columns) == {"family", "params", "tokens", "mean", "median", "lower",
                                "upper", "prob", "kind"}
    expected = law_value("chinchilla", CHINCHILLA_VALUES, family, chinchilla_fit.scales, POINTS)
    np.testing.assert_allclose(out["median"], expected, rtol=1e-12)
    np.testing.assert_allclose(out["mean"], expected, rtol=1e-12)
    assert (out["lower"] == out["median"]).all() and (out["upper"] == out["median"]).all()
    assert (out["family"] == FAMILIES[family]).all() and (out["kind"] == "mean").all()
    assert (out["prob"] == 0.9).all()
    np.testing.assert_array_equal(out["params"], POINTS["params"])


def test_families_differ(chinchilla_fit):
    a = chinchilla_fit.predict(POINTS, family="fam0")["median"]
    b = chinchilla_fit.predict(POINTS, family="fam1")["median"]
    assert not np.allclose(a, b)


def test_predictive_interval_is_wider(chinchilla_fit):
    mean = chinchilla_fit.predict(POINTS, family="fam0")
    pred = chinchilla_fit.predict(POINTS, family="fam0", kind="predictive", prob=0.8)
    assert (pred["lower"] < mean["lower"]).all() and (pred["upper"] > mean["upper"]).all()
    # observation noise sd 0.02 on log-loss: the 80% band is roughly +-2.5% of the loss
    width = np.log(pred["upper"] / pred["lower"])
    assert ((width > 0.02) & (width < 0.2)).all()


def test_new_family_is_wider_than_fitted(chinchilla_fit):
    fitted = chinchilla_fit.predict(POINTS, family="fam0")
    new = chinchilla_fit.predict(POINTS, family=NEW_FAMILY)
    assert (new["family"] == NEW_FAMILY).all()
    assert ((new["upper"] - new["lower"]) > (fitted["upper"] - fitted["lower"]) + 1e-3).all()
    default = chinchilla_fit.predict(POINTS)  # two fitted families: default is a new one
    pd.testing.assert_frame_equal(default, new)


def test_unknown_family(chinchilla_fit):
    with pytest.raises(SpecError, match="fam9"):
        chinchilla_fit.predict(POINTS, family="fam9")


@pytest.mark.parametrize(
    "points",
    [
        {"params": [1e8, 0.0], "tokens": [1e9, 1e9]},
        {"params": [1e8, 1e8], "tokens": [1e9, -5.0]},
        {"params": [1e8, np.nan], "tokens": [1e9, 1e9]},
        {"params": [1e8, np.inf], "tokens": [1e9, 1e9]},
        {"params": [1e8, "big"], "tokens": [1e9, 1e9]},
        {"params": [1e8, 1e9]},
    ],
)
def test_bad_inputs_raise_data_error(chinchilla_fit, points):
    with pytest.raises(DataError, match="params|tokens"):
        chinchilla_fit.predict(points, family="fam0")


@pytest.mark.parametrize("prob", [0.0, 1.0, 1.5, -0.1])
def test_prob_outside_unit_interval(chinchilla_fit, prob):
    with pytest.raises(SpecError, match="prob"):
        chinchilla_fit.predict(POINTS, family="fam0", prob=prob)


def test_unknown_kind(chinchilla_fit):
    with pytest.raises(SpecError, match="posterior"):
        chinchilla_fit.predict(POINTS, family="fam0", kind="posterior")


def test_compute_law_uses_6nd_when_flops_missing():
    fit = make_fit("compute")
    from_nd = fit.predict(POINTS, family="fam1")
    flops = POINTS.assign(flops=6.0 * POINTS["params"] * POINTS["tokens"])
    np.testing.assert_allclose(from_nd["flops"], flops["flops"], rtol=1e-15)
    from_c = fit.predict(flops[["flops"]], family="fam1")
    np.testing.assert_allclose(from_nd["median"], from_c["median"], rtol=1e-12)
    expected = law_value("compute", COMPUTE_VALUES, 1, fit.scales, flops)
    np.testing.assert_allclose(from_nd["median"], expected, rtol=1e-12)
    with pytest.raises(DataError, match="flops"):
        fit.predict({"params": [1e8]}, family="fam1")


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # r_hat of constant draws
def test_new_family_with_per_parameter_complete_pooling():
    idata = make_idata()
    # what build_model makes for log_alpha with ParamPrior(pooling="complete"): no _tau, no _z
    idata["posterior"] = idata["posterior"].to_dataset().drop_vars(["log_alpha_tau",
                                                                     "log_alpha_z"])
    law = ScalingLaw(priors={"log_alpha": ParamPrior(mu=-1.0, sigma=0.4, tau=0.1,
                                                     pooling="complete")})
    idata.attrs["law"] = json.dumps(law.to_dict())
    fit = ScalingFit(idata, warn=False)
    out = fit.predict(POINTS, family=NEW_FAMILY)
    assert np.isfinite(out[["lower", "upper"]].to_numpy()).all()
    # without pooling there is no population: a clear SpecError, not a KeyError
    idata["posterior"] = idata["posterior"].to_dataset().drop_vars("log_alpha_mu")
    with pytest.raises(SpecError, match="log_alpha"):
        ScalingFit(idata, warn=False).predict(POINTS, family=NEW_FAMILY)


def _noise_fit(likelihood: str, run_effect: bool) -> ScalingFit:
    """The synthetic chinchilla fit (constant draws) with another likelihood / run effects."""
    idata = make_idata("chinchilla")
    post = idata["posterior"].to_dataset()
    law = json.loads(idata.attrs["law"])
    law["likelihood"] = likelihood
    if likelihood == "normal":
        post = post.drop_vars(["nu", "nu_minus_two"])
    if run_effect:
        post["sigma_run"] = post["sigma"] * 0 + 0.03
    idata["posterior"] = xr.DataTree(post)
    idata.attrs.update(law=json.dumps(law), run_effect_used=int(run_effect))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # r_hat of constant draws
        return ScalingFit(idata, warn=False)


@pytest.mark.parametrize("likelihood", ["student_t", "normal"])
@pytest.mark.parametrize("run_effect", [False, True])
def test_new_run_noise_is_the_models(likelihood, run_effect):
    """add_new_run_noise draws what pm.sample_posterior_predictive draws for new runs.

    The fit's model is rebuilt on 100 new one-row runs per family (their offsets are not in
    the posterior, so PyMC draws them from Normal(0, sigma_run)); its replicated log-loss
    minus the law is the new-run noise, and must match ours in distribution.
    """
    from scipy import stats

    from bayescale.checks import fit_model
    from bayescale.prediction import add_new_run_noise, loss_draws

    fit = _noise_fit(likelihood, run_effect)
    point = pd.DataFrame({"params": [1e8], "tokens": [2e9]})
    n = 100
    new = pd.DataFrame({"family": np.repeat(FAMILIES, n), "run": [f"new{i}" for i in
                                                                  range(2 * n)],
                        "params": 1e8, "tokens": 2e9, "flops": 1.2e18, "loss": 3.0})
    posterior = fit.idata["posterior"].to_dataset()
    with fit_model(fit, runs=new, residuals="iid"):
        pp = pm.sample_posterior_predictive(posterior, var_names=["log_loss"], random_seed=7,
                                            progressbar=False, return_inferencedata=False)
    replicate = pp["log_loss"].reshape(-1, 2 * n)
    theirs, ours = [], []
    for i, family in enumerate(FAMILIES):
        law = np.log(loss_draws(fit, point, family=family))  # (samples, 1)
        theirs.append(replicate[:, i * n:(i + 1) * n] - law)
        ours.append(add_new_run_noise(fit, posterior, np.repeat(law, n, axis=1),
                                      random_seed=i) - law)
    theirs, ours = np.concatenate(theirs).ravel(), np.concatenate(ours).ravel()
    assert theirs.size == ours.size == 2 * n * 100
    scale = math.hypot(0.02 * (math.sqrt(8 / 6) if likelihood == "student_t" else 1.0),
                       0.03 if run_effect else 0.0)
    assert np.std(theirs) == pytest.approx(scale, rel=0.05)
    assert np.std(ours) == pytest.approx(scale, rel=0.05)
    q = [0.05, 0.25, 0.5, 0.75, 0.95]
    assert np.allclose(np.quantile(ours, q), np.quantile(theirs, q), atol=0.06 * scale)
    assert stats.ks_2samp(ours, theirs).pvalue > 0.01
