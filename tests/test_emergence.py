"""Tests for bounded-metric laws, likelihood choice, emergence thresholds and two stages.

Most tests use synthetic MetricFits built by hand (every draw at known parameter values), so
answers are known in closed form; the slow tests fit simulated 4-way multiple-choice data
with real NUTS (coverage of the true threshold over seeds, narrowing with data near the
take-off, and the CLI's JSON contract).
"""

from __future__ import annotations

import hashlib
import importlib
import json
import math
import types
import warnings
from pathlib import Path

import arviz as az
import numpy as np
import pandas as pd
import pymc as pm
import pytensor
import pytensor.tensor as pt
import pytest
import xarray as xr
from conftest import make_fit
from pytensor.tensor.random.basic import NormalRV

from bayescale import _defaults
from bayescale.cli import main
from bayescale.exceptions import DataError, SpecError, SpecMismatchError
from bayescale.fits import load_fit
from bayescale.forms import (
    available_forms,
    available_metric_forms,
    get_metric_form,
    metric_form_from_module,
)
from bayescale.io import save_tree
from bayescale.law import ScalingFit
from bayescale.metric import (
    DEFAULT_N_ITEMS,
    MetricFit,
    MetricLaw,
    build_metric_model,
    choose_likelihood,
    emergence,
    metric_scales,
    read_metric_runs,
    sigmoid_threshold,
    simulate_emergence,
    squeeze_unit,
    threshold_draws,
    two_stage,
)
from bayescale.metric.data import metric_data_hash
from bayescale.metric.law import metric_fit_attrs, table_to_dataset
from bayescale.priors import ParamPrior

CHAINS, DRAWS = 2, 100
SIGMOID = {"midpoint": (-1.0, 1.0), "log_slope": (math.log(1.5), math.log(1.0)),
           "logit_height": (2.0, -1.0)}
GADRE = {"log_k0": (math.log(0.2), math.log(0.25)), "log_gamma": (0.0, 0.1)}


def sim_table(seed=0, n=6):
    flops = np.geomspace(1e18, 1e21, n)
    return pd.DataFrame({"family": np.repeat(["f0", "f1"], n), "flops": np.tile(flops, 2),
                         "loss": np.tile(np.linspace(4.0, 2.5, n), 2),
                         "accuracy": np.linspace(0.26, 0.7, 2 * n), "n_items": 400})


def make_metric_fit(form="sigmoid", values=None, *, chance=0.25, likelihood="beta_binomial",
                    jitter=0.0, seed=0, table=None):
    """A MetricFit laid out as MetricLaw.fit returns it; draws at ``values`` (+ jitter)."""
    values = values or (SIGMOID if form == "sigmoid" else GADRE)
    families = ["f0", "f1"]
    rng = np.random.default_rng(seed)
    shape = (CHAINS, DRAWS)
    posterior = {}
    for name, per_family in values.items():
        arr = np.broadcast_to(np.asarray(per_family, float), shape + (2,)).copy()
        posterior[name] = arr + jitter * rng.standard_normal(arr.shape)
        posterior[f"{name}_mu"] = np.full(shape, float(np.mean(per_family)))
        posterior[f"{name}_tau"] = np.full(shape, 0.3)
    posterior["log_concentration"] = np.full(shape, math.log(200.0))
    posterior["concentration"] = np.exp(posterior["log_concentration"])
    idata = az.from_dict(
        {"posterior": posterior,
         "sample_stats": {"diverging": np.zeros(shape, bool), "n_steps": np.full(shape, 7.0)}},
        dims={name: ["family"] for name in values}, coords={"family": families})
    table = sim_table() if table is None else table
    read, _ = read_metric_runs(table, chance=chance)
    idata["data"] = xr.DataTree(table_to_dataset(read))
    law = MetricLaw(form)
    idata.attrs.update(metric_fit_attrs(
        law, read, metric="accuracy", chance=chance, likelihood=likelihood, pooling="partial",
        scales=metric_scales(law.metric_form, read),
        sampler={"sampler": "nutpie", "draws": DRAWS, "chains": CHAINS, "random_seed": seed}))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return MetricFit(idata, warn=False)


# ----------------------------------------------------------------------------- laws


def test_registries_keep_loss_and_metric_laws_apart():
    metric = available_metric_forms()
    assert {"sigmoid", "gadre_error", "gompertz_size"} <= set(metric)
    assert not set(metric) & set(available_forms())
    assert "chinchilla" in available_forms()
    with pytest.raises(SpecError, match="unknown metric law 'chinchilla'"):
        get_metric_form("chinchilla")


@pytest.mark.parametrize("name", ["sigmoid", "gadre_error", "gompertz_size"])
def test_metric_laws_numpy_and_pytensor_agree_and_stay_bounded(name):
    form = get_metric_form(name)
    rng = np.random.default_rng(1)
    x = {inp: np.linspace(-6, 6, 25) * (i + 1) / 2 for i, inp in enumerate(form.inputs)}
    xs = {k: pt.dvector(k) for k in x}
    ps = {k: pt.dscalar(k) for k in form.parameters}
    compiled = pytensor.function([*xs.values(), *ps.values()],
                                 form.mean_metric(xs, ps, pt, chance=0.25, ceiling=0.95))
    for _ in range(5):
        p = {k: float(rng.normal(prior.mu, prior.sigma)) for k, prior in
             form.default_priors.items()}
        expected = form.mean_metric(x, p, np, chance=0.25, ceiling=0.95)
        symbolic = compiled(*x.values(), *p.values())
        np.testing.assert_allclose(symbolic, expected, rtol=1e-10, atol=1e-14)
        assert np.all((expected >= 0.25) & (expected <= 0.95))


def test_sigmoid_floor_top_and_midpoint():
    form = get_metric_form("sigmoid")
    p = {"midpoint": 1.0, "log_slope": math.log(2.0), "logit_height": 0.0}
    m = form.mean_metric({"flops": np.array([-40.0, 1.0, 40.0])}, p, np, chance=0.25,
                         ceiling=1.0)
    top = 0.25 + 0.75 * 0.5
    np.testing.assert_allclose(m, [0.25, (0.25 + top) / 2, top], atol=1e-12)


def test_gadre_link_is_the_papers_form():
    """accuracy = chance + exp(log_k0 - gamma (L - L0)) is error = eps - k exp(-gamma L)."""
    form = get_metric_form("gadre_error")
    chance, l0, k0, gamma = 0.19, 3.0, 0.2, 1.1
    loss = np.array([2.4, 3.0, 4.5, 6.0])
    acc = form.mean_metric({"loss": loss - l0}, {"log_k0": math.log(k0),
                                                 "log_gamma": math.log(gamma)}, np,
                           chance=chance, ceiling=1.0)
    eps, k = 1 - chance, k0 * math.exp(gamma * l0)
    np.testing.assert_allclose(1 - acc, eps - k * np.exp(-gamma * loss), rtol=1e-12)


def test_metric_module_contract_is_checked():
    module = types.ModuleType("fake_metric")
    module.KIND, module.NAME, module.INPUTS, module.REFERENCE = "metric", "fake", ("flops",), "x"
    module.DEFAULT_PRIORS = {"a": ParamPrior(0, 1, 0.1)}
    module.mean_metric = lambda x, p, xp, *, chance, ceiling: chance + 0 * p["b"] * x["flops"]
    with pytest.raises(SpecError, match=r"reads \['b'\]"):
        metric_form_from_module(module)
    module.INPUTS = ("steps",)
    with pytest.raises(SpecError, match="unknown inputs"):
        metric_form_from_module(module)


# ----------------------------------------------------------------------------- data


def test_read_metric_runs_validates_with_column_and_rows():
    good = sim_table()
    table, chance = read_metric_runs(good.assign(chance=0.25))
    assert chance == 0.25 and (table["n_items"] == 400).all()
    bad = good.copy()
    bad.loc[[3, 7], "accuracy"] = [1.5, -0.1]
    with pytest.raises(DataError, match=r"'accuracy'.*rows 3, 7"):
        read_metric_runs(bad)
    with pytest.raises(DataError, match="missing metric column 'acc'"):
        read_metric_runs(good, metric="acc")
    with pytest.raises(DataError, match=r"'flops' has non-positive values at rows 2"):
        read_metric_runs(good.assign(flops=np.where(np.arange(12) == 2, 0.0, good["flops"])))
    with pytest.raises(DataError, match=r"'n_items'.*integers >= 1.*rows 0"):
        read_metric_runs(good.assign(n_items=np.r_[2.5, np.full(11, 400)]))
    with pytest.raises(DataError, match="several values"):
        read_metric_runs(good.assign(chance=np.r_[0.25, np.full(11, 0.5)]))
    with pytest.raises(DataError, match="chance must lie"):
        read_metric_runs(good, chance=1.0)


def test_item_counts_from_column_number_or_task_default():
    base = sim_table().drop(columns="n_items")
    table, _ = read_metric_runs(base.assign(task="arc_easy"))
    assert DEFAULT_N_ITEMS["arc_easy"] == 2376 and (table["n_items"] == 2376).all()
    table, _ = read_metric_runs(base.assign(task="my_task"))
    assert table["n_items"].isna().all()  # unknown task: no count, beta likelihood
    table, _ = read_metric_runs(base.assign(items=50), n_items="items")
    assert (table["n_items"] == 50).all()
    table, _ = read_metric_runs(base, n_items=1000)
    assert (table["n_items"] == 1000).all()
    table, _ = read_metric_runs(base.assign(params=1e8, tokens=1e10).drop(columns="flops"))
    np.testing.assert_allclose(table["flops"], 6e18)


# ----------------------------------------------------------------------------- likelihood


def test_likelihood_choice():
    known, unknown = np.full(3, 100.0), np.full(3, np.nan)
    assert choose_likelihood("auto", known) == "beta_binomial"
    assert choose_likelihood("auto", unknown) == "beta"
    assert choose_likelihood("binomial", known) == "binomial"
    assert choose_likelihood("beta", known) == "beta"
    with pytest.raises(SpecError, match="needs the number of evaluation items"):
        choose_likelihood("binomial", unknown)
    with pytest.raises(DataError, match="missing at rows 1"):
        choose_likelihood("auto", np.array([100.0, np.nan, 100.0]))
    with pytest.raises(SpecError, match="unknown likelihood 'normal'"):
        choose_likelihood("normal", known)


def normal_likelihoods(model) -> list[str]:
    """Observed variables of ``model`` with a normal distribution (PyMC's ``NormalRV`` op)."""
    return [v.name for v in model.observed_RVs if isinstance(v.owner.op, NormalRV)]


def test_normal_likelihood_check_catches_a_normal_likelihood():
    """The check used below finds a normal likelihood when there is one (pm.Normal's op is
    ``NormalRV``, so comparing op names with "Normal" never matched)."""
    table, chance = read_metric_runs(sim_table(), chance=0.25)
    form = get_metric_form("sigmoid")
    model = build_metric_model(form, table, priors=form.default_priors,
                               likelihood="beta_binomial", pooling="partial",
                               scales=metric_scales(form, table), chance=chance, ceiling=1.0)
    assert normal_likelihoods(model) == []
    with model:
        pm.Normal("raw_accuracy", mu=0.5, sigma=0.1, observed=table["metric"].to_numpy())
    assert normal_likelihoods(model) == ["raw_accuracy"]


@pytest.mark.parametrize("likelihood, dist, observed_name", [
    ("beta_binomial", "BetaBinomial", "correct"),
    ("binomial", "Binomial", "correct"),
    ("beta", "Beta", "metric"),
])
def test_model_likelihood_respects_the_measurement(likelihood, dist, observed_name):
    table, chance = read_metric_runs(sim_table().assign(accuracy=np.r_[0.0, np.full(11, 0.5)]),
                                     chance=0.25)
    form = get_metric_form("sigmoid")
    model = build_metric_model(form, table, priors=form.default_priors, likelihood=likelihood,
                               pooling="partial", scales=metric_scales(form, table),
                               chance=chance, ceiling=1.0)
    (obs,) = model.observed_RVs
    assert obs.name == observed_name
    assert type(obs.owner.op).__name__ == f"{dist}RV"
    assert normal_likelihoods(model) == []
    data = model.rvs_to_values[obs].data if hasattr(model.rvs_to_values[obs], "data") else None
    if likelihood != "beta":
        np.testing.assert_array_equal(np.asarray(model["correct"].tag.test_value
                                                 if data is None else data),
                                      np.rint(table["metric"] * 400))
    logp = model.compile_logp()(model.initial_point())
    assert np.isfinite(logp)


def test_squeeze_moves_zero_and_one_inside():
    y = squeeze_unit(np.array([0.0, 0.5, 1.0]))
    assert 0 < y[0] < y[1] == 0.5 < y[2] < 1


# ----------------------------------------------------------------------------- thresholds


def test_threshold_draws_interpolate_and_flag_never_and_start():
    grid = np.log(np.array([1.0, 2.0, 4.0, 8.0]))
    curve = np.array([[0.1, 0.3, 0.5, 0.7],    # reaches 0.4 halfway between 2 and 4
                      [0.1, 0.1, 0.2, 0.3],    # never
                      [0.6, 0.7, 0.8, 0.9]])   # already at the start
    out = threshold_draws(curve, grid, 0.4)
    np.testing.assert_allclose(out[0], (grid[1] + grid[2]) / 2)
    assert out[1] == np.inf and out[2] == grid[0]


def test_emergence_matches_closed_form_and_counts_non_emergence():
    fit = make_metric_fit()
    c0 = fit.scales["flops"]
    result = emergence(fit, 0.5, target_flops=c0, flops_range=(1e15, 1e25))
    # f0: top = 0.25 + 0.75 logistic(2) > 0.5 -> a threshold; f1: top = 0.25 + 0.75
    # logistic(-1) = 0.45 < 0.5 -> never
    top0 = 0.25 + 0.75 / (1 + math.exp(-2.0))
    truth = sigmoid_threshold(0.5, c50=c0 * math.exp(-1.0), slope=1.5, top=top0, chance=0.25)
    f0, f1 = result.row("f0"), result.row("f1")
    assert f0["median"] == pytest.approx(truth, rel=2e-3)
    assert f0["lower"] == pytest.approx(truth, rel=2e-3)
    assert f0["p_reached_by_target"] == 1.0 and f0["p_not_emerged"] == 0.0
    assert f1["median"] is None and f1["p_not_emerged"] == 1.0
    assert f1["p_reached_by_target"] == 0.0
    params = emergence(fit, 0.5, by="params", tokens_per_param=20, flops_range=(1e15, 1e25))
    assert params.row("f0")["median"] == pytest.approx(math.sqrt(truth / 120), rel=2e-3)


def test_emergence_json_contract_and_population():
    fit = make_metric_fit(jitter=0.3, seed=2)
    result = emergence(fit, 0.4, target_flops=1e20)
    d = json.loads(json.dumps(result.to_dict(), allow_nan=False))
    assert {"families", "population", "level", "prob"} <= set(d)
    assert d["level"] == 0.4 and d["prob"] == 0.9
    assert [f["family"] for f in d["families"]] == ["f0", "f1"]
    keys = {"family", "median", "lower", "upper", "p_reached_by_target"}
    assert all(keys <= set(f) for f in d["families"]) and keys <= set(d["population"])
    assert d["population"]["family"] == _defaults.NEW_FAMILY
    f0 = d["families"][0]
    assert f0["lower"] < f0["median"] < f0["upper"]
    # a new family is less certain than a fitted one
    pop = result.draws[_defaults.NEW_FAMILY]
    assert np.ptp(np.log(pop[np.isfinite(pop)])) > np.ptp(np.log(result.draws["f0"]))


def test_emergence_rejects_bad_requests():
    fit = make_metric_fit()
    with pytest.raises(SpecError, match="strictly between chance"):
        emergence(fit, 0.2)
    with pytest.raises(SpecError, match="by must be"):
        emergence(fit, 0.5, by="tokens")
    with pytest.raises(SpecError, match="not a law in compute"):
        emergence(make_metric_fit("gadre_error"), 0.5)


def test_size_law_needs_a_size_for_by_flops():
    values = {"midpoint": (0.0, 0.5), "onset_per_size": (1.0, 1.0), "log_slope": (0.0, 0.0),
              "logit_height": (0.0, 0.0), "height_per_size": (0.5, 0.5)}
    table = sim_table().assign(params=np.tile(np.geomspace(1e8, 1e9, 6), 2))
    fit = make_metric_fit("gompertz_size", values, chance=0.0, table=table)
    with pytest.raises(SpecError, match="give params="):
        emergence(fit, 0.3)
    small = emergence(fit, 0.3, params=1e8, flops_range=(1e15, 1e26)).row("f0")
    large = emergence(fit, 0.3, params=1e10, flops_range=(1e15, 1e26)).row("f0")
    assert small["median"] < large["median"]  # onset moves with size (onset_per_size = 1)
    assert emergence(fit, 0.3, by="params").row("f0")["median"] > 0


def test_predict_mean_and_predictive():
    fit = make_metric_fit()
    c0 = fit.scales["flops"]
    mean = fit.predict({"flops": [c0 * math.exp(-1.0)]}, family="f0")
    top0 = 0.25 + 0.75 / (1 + math.exp(-2.0))
    assert mean["median"].iloc[0] == pytest.approx((0.25 + top0) / 2, rel=1e-9)
    pred = fit.predict({"flops": [c0]}, family="f0", kind="predictive")
    assert pred["lower"].iloc[0] < pred["median"].iloc[0] < pred["upper"].iloc[0]
    with pytest.raises(SpecError, match="unknown family"):
        fit.predict({"flops": [c0]}, family="nope")


def test_two_stage_propagates_both_uncertainties():
    loss_fit = make_fit("chinchilla", jitter=0.01)
    metric_fit = make_metric_fit("gadre_error", jitter=0.05, chance=0.19)
    point = pd.DataFrame({"params": [3e7], "tokens": [1e9]})  # loss about 2.9 nats/token
    table, draws = two_stage(loss_fit, metric_fit, point, loss_family="fam0",
                             metric_family="f0", loss_kind="mean")
    row = table.iloc[0]
    # the chained median is the link evaluated at the median loss (monotone link)
    link = metric_fit.predict({"loss": [row["loss_median"]]}, family="f0")
    assert row["median"] == pytest.approx(link["median"].iloc[0], abs=0.01)
    # wider than the link alone at a fixed loss, and a new measurement wider still
    assert (row["upper"] - row["lower"]) > (link["upper"] - link["lower"]).iloc[0]
    assert (row["pred_upper"] - row["pred_lower"]) > (row["upper"] - row["lower"])
    assert draws["mean"].shape == (CHAINS * DRAWS, 1)
    with pytest.raises(SpecError, match="loss-to-metric law"):
        two_stage(loss_fit, make_metric_fit(), point)


def test_plot_emergence_draws_both_panels():
    from bayescale.plots.emergence import plot_emergence

    fit = make_metric_fit(jitter=0.2)
    fig = plot_emergence(fit, emergence(fit, 0.5, target_flops=1e20))
    top, bottom = fig.axes
    assert top.get_xscale() == "log" and len(top.collections) >= 2
    assert bottom.patches  # threshold histograms
    assert any(abs(line.get_ydata()[0] - 0.5) < 1e-12 for line in top.lines
               if len(line.get_ydata()) == 2)


def test_cli_bad_metric_exits_2_naming_column(tmp_path, capsys):
    csv = tmp_path / "bad.csv"
    sim_table().assign(accuracy=np.r_[42.0, np.full(11, 0.5)]).to_csv(csv, index=False)
    assert main(["emergence", str(csv), "--level", "0.5"]) == 2
    err = capsys.readouterr().err
    assert "'accuracy'" in err and "rows 0" in err and "Traceback" not in err
    with pytest.raises(SystemExit):
        main(["emergence", str(csv), "--level", "1.5"])


# ----------------------------------------------------------------------------- real NUTS

#: three 4-way multiple-choice families with known take-offs (FLOPs at half the rise, slope
#: per e-fold of compute, plateau), each evaluated on 500 items at 10 log-spaced budgets
TRUTH = {"a": {"c50": 3e19, "slope": 1.5, "top": 0.85},
         "b": {"c50": 1e20, "slope": 1.2, "top": 0.8},
         "c": {"c50": 2e20, "slope": 1.8, "top": 0.9}}
GRID = np.geomspace(1e18, 1e21, 10)
TRUE_THRESHOLD = {f: sigmoid_threshold(0.5, chance=0.25, **t) for f, t in TRUTH.items()}
SAMPLING = {"draws": 300, "tune": 300, "chains": 2, "progressbar": False}


def _fit_threshold(data, seed):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # short chains: diagnostics are not the point here
        fit = MetricLaw("sigmoid").fit(data, random_seed=seed, **SAMPLING)
    return emergence(fit, 0.5, target_flops=1e20)


@pytest.fixture(scope="module")
def seed_fits():
    """Threshold posteriors of simulation seeds 1 and 3 (seed 2 runs through the CLI)."""
    return {seed: _fit_threshold(simulate_emergence(TRUTH, GRID, random_seed=seed), seed)
            for seed in (1, 3)}


@pytest.mark.slow
def test_threshold_interval_covers_truth_over_seeds(seed_fits, tmp_path):
    rows = []
    for seed, result in seed_fits.items():
        rows += [(seed, r) for r in result.to_dict()["families"]]
    # seed 2 through the command line: also the JSON contract of 'bayescale emergence'
    csv = tmp_path / "sim.csv"
    simulate_emergence(TRUTH, GRID, random_seed=2).to_csv(csv, index=False)
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        status = main(["emergence", str(csv), "--metric", "accuracy", "--level", "0.5",
                       "--chance", "0.25", "--n-items-column", "n_items", "--by", "flops",
                       "--target-flops", "1e20", "--json", "--draws", "300", "--tune", "300",
                       "--chains", "2", "--seed", "2", "--out", str(tmp_path / "out")])
    assert status == 0
    d = json.loads(out.getvalue())
    assert {"families", "population", "level", "prob"} <= set(d)
    assert d["level"] == 0.5 and d["prob"] == 0.9 and d["likelihood"] == "beta_binomial"
    assert {"family", "median", "lower", "upper", "p_reached_by_target"} <= set(d["population"])
    assert (tmp_path / "out" / "emergence.png").stat().st_size > 0
    rows += [(2, r) for r in d["families"]]
    assert len(rows) == 9
    for seed, r in rows:
        truth = TRUE_THRESHOLD[r["family"]]
        assert r["lower"] <= truth <= r["upper"], (seed, r, truth)
        # P(reached by 1e20) agrees with the truth's side of the target
        assert (r["p_reached_by_target"] > 0.5) == (truth <= 1e20), (seed, r)


@pytest.mark.slow
def test_interval_narrows_with_data_near_take_off(seed_fits):
    """Drop the budgets within a factor 3 of each family's true threshold: intervals widen."""
    full = simulate_emergence(TRUTH, GRID, random_seed=1)
    near = np.abs(np.log(full["flops"] / full["family"].map(TRUE_THRESHOLD))) < math.log(3.0)
    sparse = _fit_threshold(full[~near], 1)
    for family in TRUTH:
        wide, narrow = sparse.row(family), seed_fits[1].row(family)
        wide_width = math.log(wide["upper"]) - math.log(wide["lower"])
        narrow_width = math.log(narrow["upper"]) - math.log(narrow["lower"])
        assert narrow_width < 0.8 * wide_width, (family, narrow_width, wide_width)


def test_plot_emergence_with_a_subset_of_families():
    """A result computed for some families only draws those (it used to raise KeyError)."""
    from bayescale.plots.emergence import plot_emergence

    fit = make_metric_fit(jitter=0.2)
    first = fit.families[0]
    result = emergence(fit, 0.5, target_flops=1e20, families=[first])
    fig = plot_emergence(fit, result)
    labels = fig.axes[1].get_legend_handles_labels()[1]
    assert labels and all(label.startswith(first) for label in labels
                          if not label.startswith(_defaults.NEW_FAMILY))
    assert not any(label.startswith(f) for f in fit.families[1:] for label in labels)


# ----------------------------------------------------------------------------- saved fits


def test_metric_fit_carries_the_fit_attrs():
    fit = make_metric_fit()
    attrs = fit.idata.attrs
    assert attrs["bayescale_format"] == _defaults.FIT_FORMAT
    assert attrs["bayescale_format_version"] == _defaults.FIT_FORMAT_VERSION
    assert attrs["bayescale_kind"] == "metric" and attrs["law_name"] == "sigmoid"
    source = Path(importlib.import_module("bayescale.models.sigmoid").__file__)
    assert attrs["law_sha256"] == hashlib.sha256(source.read_bytes()).hexdigest()
    assert attrs["data_sha256"] == metric_data_hash(fit.data)
    # the hash is of the data: row order does not change it, a changed value does
    shuffled = fit.data.sample(frac=1.0, random_state=0)
    assert metric_data_hash(shuffled) == attrs["data_sha256"]
    changed = fit.data.assign(metric=fit.data["metric"].where(fit.data.index != 3, 0.9))
    assert metric_data_hash(changed) != attrs["data_sha256"]
    assert make_fit("chinchilla").idata.attrs["bayescale_kind"] == "loss"


def quiet_load(path):
    """load_fit of a synthetic fit (constant draws: ArviZ's r_hat divides 0 by 0)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return load_fit(path, warn=False)


def test_metric_fit_round_trips_through_save_and_load_fit(tmp_path):
    fit = make_metric_fit(jitter=0.2, seed=4)
    path = fit.save(tmp_path / "fit.nc")
    loaded = quiet_load(path)
    assert isinstance(loaded, MetricFit)
    xr.testing.assert_identical(loaded.idata["posterior"].to_dataset(),
                                fit.idata["posterior"].to_dataset())
    pd.testing.assert_frame_equal(loaded.data, fit.data)
    assert (loaded.law, loaded.chance, loaded.likelihood, loaded.scales) == (
        fit.law, fit.chance, fit.likelihood, fit.scales)
    before = emergence(fit, 0.5, target_flops=1e20).table
    after = emergence(loaded, 0.5, target_flops=1e20).table
    pd.testing.assert_frame_equal(after, before)
    assert np.isfinite(before["median"]).any()  # real thresholds, not only inf == inf


def test_load_fit_checks_the_metric_data_hash_and_the_kind(tmp_path):
    fit = make_metric_fit()
    tampered = fit.idata.copy()
    data = tampered["data"].to_dataset()
    data["metric"] = data["metric"].copy(data=np.r_[0.99, data["metric"].to_numpy()[1:]])
    tampered["data"] = xr.DataTree(data)
    save_tree(tampered, tmp_path / "tampered.nc")
    with pytest.raises(SpecMismatchError, match="does not match its data hash"):
        quiet_load(tmp_path / "tampered.nc")
    unknown = fit.idata.copy()
    unknown.attrs["bayescale_kind"] = "reward"
    save_tree(unknown, tmp_path / "unknown.nc")
    with pytest.raises(SpecMismatchError, match="unknown kind of fit 'reward'"):
        quiet_load(tmp_path / "unknown.nc")
    loss = make_fit("chinchilla")
    loss.save(tmp_path / "loss.nc")
    assert isinstance(quiet_load(tmp_path / "loss.nc"), ScalingFit)
    older = loss.idata.copy()  # written before fits recorded their kind: a loss fit
    del older.attrs["bayescale_kind"]
    save_tree(older, tmp_path / "older.nc")
    assert isinstance(quiet_load(tmp_path / "older.nc"), ScalingFit)


def test_metric_law_fit_passes_sampler_kwargs_through(monkeypatch):
    import bayescale.metric.law as metric_law

    seen = {}

    class Stop(Exception):
        pass

    def fake_sample(model, **kwargs):
        seen.update(kwargs)
        raise Stop

    monkeypatch.setattr(metric_law, "sample", fake_sample)
    with pytest.raises(Stop):
        MetricLaw("sigmoid").fit(sim_table(), sampler="pymc", draws=10, tune=10,
                                 sampler_kwargs={"init": "adapt_diag"})
    assert seen["sampler_kwargs"] == {"init": "adapt_diag"} and seen["sampler"] == "pymc"
