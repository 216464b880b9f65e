"""Figures (bayescale.plots) and the checks they draw (bayescale.checks), on synthetic fits.

Every figure is rendered to PNG and its content asserted: panels, curves, points and the
numbers in titles, against what predict / checks compute independently.
"""

from __future__ import annotations

import io
import json
import math
import warnings

import numpy as np
import pandas as pd
import pymc as pm
import pytest
import xarray as xr
from conftest import FAMILIES, NU, SIGMA, make_fit, make_idata
from matplotlib.collections import LineCollection, PathCollection

from bayescale import ScalingLaw, SpecError
from bayescale import plots as bp
from bayescale.checks import (
    interval_coverage,
    lag1_autocorrelation,
    pit_values,
    posterior_predictive_draws,
    prior_parameter_draws,
    prior_predictive_draws,
    residual_table,
)
from bayescale.law import ScalingFit
from bayescale.plots.mcmc import default_variables


@pytest.fixture(scope="module")
def fit():
    """Synthetic chinchilla fit, 2 families x 2 sizes x 4 checkpoints, jittered draws."""
    return make_fit("chinchilla", jitter=0.01)


def _render(fig) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=50)
    png = buffer.getvalue()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    from matplotlib import pyplot as plt

    plt.close(fig)
    return png


def _visible(fig):
    return [ax for ax in fig.axes if ax.get_visible()]


def _scatter(ax) -> list[PathCollection]:
    return [c for c in ax.collections if isinstance(c, PathCollection)]


# ------------------------------------------------------------------------- loss curves


@pytest.mark.parametrize("x", ["flops", "tokens"])
def test_plot_loss_curves_are_the_posterior_median(fit, x):
    fig = bp.plot_loss(fit, x=x)
    axes = _visible(fig)
    assert [ax.get_title() for ax in axes] == list(FAMILIES)
    runs = fit.runs
    for ax, family in zip(axes, FAMILIES, strict=True):
        rows = runs[runs["family"] == family]
        assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
        assert len(ax.lines) == rows["params"].nunique()  # one curve per model size
        points = _scatter(ax)[0].get_offsets()
        assert np.allclose(np.sort(points[:, 0]), np.sort(rows[x].to_numpy()))
        assert np.allclose(np.sort(points[:, 1]), np.sort(rows["loss"].to_numpy()))
        # first point of the smallest model's curve = predict's median at that input
        line = ax.lines[0]
        n = rows["params"].min()
        d = rows.loc[rows["params"] == n, "tokens"].min()
        expected = fit.predict({"params": [n], "tokens": [d]}, family=family)
        assert line.get_xdata()[0] == pytest.approx(6 * n * d if x == "flops" else d)
        assert line.get_ydata()[0] == pytest.approx(expected["median"].iloc[0], rel=1e-9)
    assert "FLOPs" in axes[0].get_xlabel() or "tokens" in axes[0].get_xlabel()
    _render(fig)


def test_plot_loss_against_params_uses_final_checkpoints(fit):
    fig = bp.plot_loss(fit, x="params")
    runs = fit.runs
    for ax, family in zip(_visible(fig), FAMILIES, strict=True):
        rows = runs[runs["family"] == family]
        final = rows.loc[rows.groupby("run")["tokens"].idxmax()]
        points = _scatter(ax)[0].get_offsets()
        assert len(points) == len(final) == rows["run"].nunique()
        assert np.allclose(np.sort(points[:, 1]), np.sort(final["loss"].to_numpy()))
        assert ax.get_xlabel() == "parameters N"
    assert "final checkpoints" in fig._suptitle.get_text()
    _render(fig)


def test_plot_loss_marks_held_out_points_with_predictive_intervals(fit):
    runs = fit.runs
    held = runs[runs["params"] == runs["params"].max()].copy()
    held["loss"] *= 1.02
    unseen = held[held["family"] == "fam0"].assign(family="fam9")
    fig = bp.plot_loss(fit, x="tokens", held_out=pd.concat([held, unseen]))
    axes = _visible(fig)
    assert [ax.get_title() for ax in axes] == ["fam0", "fam1",
                                               "fam9 (predicted as a new family)"]
    for ax, family in zip(axes, ["fam0", "fam1", "(new family)"], strict=True):
        mine = held[held["family"] == "fam0"] if family == "(new family)" else \
            held[held["family"] == family]
        crosses = _scatter(ax)[-1]
        assert np.allclose(np.sort(crosses.get_offsets()[:, 1]), np.sort(mine["loss"]))
        expected = fit.predict(mine[["params", "tokens"]], family=family, kind="predictive")
        bars = [c for c in ax.collections if isinstance(c, LineCollection)][-1]
        lows = np.sort([seg[:, 1].min() for seg in bars.get_segments()])
        highs = np.sort([seg[:, 1].max() for seg in bars.get_segments()])
        assert np.allclose(lows, np.sort(expected["lower"]))
        assert np.allclose(highs, np.sort(expected["upper"]))
        labels = ax.get_legend_handles_labels()[1]
        assert "held out (observed)" in labels
    _render(fig)
    fig = bp.plot_fit(fit, held_out=held)  # the old name draws the same compute figure
    assert [ax.get_title() for ax in _visible(fig)] == list(FAMILIES)
    _render(fig)


def test_plot_loss_of_a_compute_law_and_bad_options():
    compute = make_fit("compute", jitter=0.01)
    fig = bp.plot_loss(compute)
    for ax in _visible(fig):
        assert len(ax.lines) == 1  # one curve along C per family
    _render(fig)
    with pytest.raises(SpecError, match="x must be one of"):
        bp.plot_loss(compute, x="loss")
    with pytest.raises(SpecError, match="unknown families"):
        bp.plot_loss(compute, families=["nope"])


# ------------------------------------------------------------------------- parameters


def test_plot_parameters_shows_families_population_and_new_family(fit):
    fig = bp.plot_parameters(fit)
    axes = _visible(fig)
    assert [ax.get_title() for ax in axes] == ["E", "A", "B", "alpha", "beta"]
    alpha = axes[3]
    labels = [t.get_text() for t in alpha.get_yticklabels()]
    assert labels == ["fam0", "fam1", "population mean", "(new family)"]
    # markers (one point lines) carry the medians: fam0 alpha 0.34, fam1 0.30
    medians = [line.get_xdata()[0] for line in alpha.lines if len(line.get_xdata()) == 1]
    assert medians[0] == pytest.approx(0.34, abs=0.005)
    assert medians[1] == pytest.approx(0.30, abs=0.005)
    intervals = [np.ptp(line.get_xdata()) for line in alpha.lines if len(line.get_xdata()) == 2]
    # a new family spreads with tau = 0.2 on log alpha: far wider than any family's interval
    assert intervals[3] > 5 * max(intervals[:3])
    assert axes[1].get_xscale() == "log"  # A spans orders of magnitude
    _render(fig)
    fig = bp.plot_parameters(fit, constants=False, parameters=["log_alpha"])
    assert [ax.get_title() for ax in _visible(fig)] == ["log_alpha"]
    _render(fig)
    with pytest.raises(SpecError, match="unknown parameters"):
        bp.plot_parameters(fit, parameters=["gamma"])


# ------------------------------------------------------------------------- predictive checks


def test_posterior_predictive_draws_centre_and_spread(fit):
    draws = posterior_predictive_draws(fit, max_draws=None, random_seed=1)
    runs = fit.runs
    assert draws.shape == (100, len(runs))
    mean = residual_table(fit, max_draws=None)["fitted"].to_numpy()
    log_resid = np.log(draws) - np.log(mean)[None, :]
    assert abs(np.median(log_resid)) < 0.005
    # Student-t(nu=8) with scale sigma=0.02: sd = 0.02 * sqrt(8/6) = 0.023
    assert 0.019 < np.std(log_resid) < 0.029
    again = posterior_predictive_draws(fit, max_draws=None, random_seed=1)
    assert np.array_equal(draws, again)


SIGMA_RUN = 0.03


def _variant_fit(likelihood: str, run_effect: bool, residuals: str):
    """The synthetic fit (constant draws) with another likelihood, run effects, residuals."""
    idata = make_idata("chinchilla")
    post = idata["posterior"].to_dataset()
    law = json.loads(idata.attrs["law"])
    law["likelihood"] = likelihood
    if likelihood == "normal":
        post = post.drop_vars(["nu", "nu_minus_two"])
    if residuals == "ar1":
        post["log_corr_length"] = xr.full_like(post["sigma"], math.log(1.5))
        post["corr_length"] = np.exp(post["log_corr_length"])
    if run_effect:
        names = sorted(set(idata["runs"]["run"].to_numpy().astype(str)))
        z = xr.DataArray(np.linspace(-1.5, 1.5, len(names)), dims="run", coords={"run": names})
        post["sigma_run"] = xr.full_like(post["sigma"], SIGMA_RUN)
        post["run_offset_z"] = (z + 0 * post["sigma"]).transpose("chain", "draw", "run")
        post["run_offset"] = post["sigma_run"] * post["run_offset_z"]
    idata["posterior"] = xr.DataTree(post)
    idata.attrs.update(law=json.dumps(law), run_effect_used=int(run_effect),
                       residuals_used=residuals)
    return ScalingFit(idata, warn=False)


@pytest.mark.parametrize("likelihood", ["student_t", "normal"])
@pytest.mark.parametrize("run_effect", [False, True])
def test_replicates_are_the_marginals_of_the_ar1_graph(likelihood, run_effect):
    """The replicate of an AR(1) fit (the iid graph's log_loss) is pinned to the AR(1) graph.

    First checkpoints: the two graphs give the same log-likelihood. Later checkpoints: the AR(1)
    process is stationary, so drawing the AR(1) graph's next checkpoint given replicated
    previous ones (100 copies of the data, parameters fixed) gives back the replicate's
    distribution: the same mean and variance at every row (and, for a normal likelihood, the
    same distribution).
    """
    from scipy import stats

    from bayescale.checks import fit_model

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # r_hat of constant draws
        fit = _variant_fit(likelihood, run_effect, "ar1")
    runs = fit.runs
    posterior = fit.idata["posterior"].to_dataset()
    one = posterior.isel(chain=[0], draw=[0])
    first = (runs.groupby("run")["tokens"].transform("min") == runs["tokens"]).to_numpy()
    loglik = {}
    for residuals in ("iid", "ar1"):
        with fit_model(fit, residuals=residuals) as model:
            ll = pm.compute_log_likelihood(xr.DataTree.from_dict({"posterior": one}),
                                           model=model, extend_inferencedata=False,
                                           progressbar=False)
        loglik[residuals] = ll["log_loss"].to_numpy().ravel()
    assert np.allclose(loglik["iid"][first], loglik["ar1"][first], rtol=1e-10)
    assert not np.allclose(loglik["iid"][~first], loglik["ar1"][~first])

    replicate = np.log(posterior_predictive_draws(fit, max_draws=None, random_seed=5))
    copies = replicate.shape[0]  # 100 iid replicates: every draw has the same parameters
    big = pd.concat([runs.assign(run=runs["run"] + f"#{k}", loss=np.exp(replicate[k]))
                     for k in range(copies)], ignore_index=True)
    trace = one.drop_vars(["run_offset", "run_offset_z", "run"], errors="ignore")
    if run_effect:
        names = sorted(big["run"].unique())
        z = one["run_offset_z"].sel(run=[n.split("#")[0] for n in names]).to_numpy()
        trace["run_offset_z"] = (("chain", "draw", "run"), z)
        trace = trace.assign_coords(run=names)
    with fit_model(fit, runs=big, residuals="ar1"):
        nxt = pm.sample_posterior_predictive(trace, var_names=["log_loss"], random_seed=6,
                                             progressbar=False, return_inferencedata=False)
    nxt = nxt["log_loss"].reshape(copies, len(runs))
    sigma = SIGMA * (math.sqrt(NU / (NU - 2)) if likelihood == "student_t" else 1.0)
    # same mean at every row (a missed run offset would shift it by (1 - rho) * offset)
    assert np.abs(nxt.mean(axis=0) - replicate.mean(axis=0)).max() < 5 * sigma / math.sqrt(
        copies)
    assert abs((nxt - replicate).mean()) < 4 * sigma / math.sqrt(copies * len(runs))
    # marginal variance sigma^2 (nu / (nu - 2)) at every checkpoint
    for draws in (nxt, replicate):
        assert draws.var(axis=0, ddof=1).mean() == pytest.approx(sigma**2, rel=0.12)
    if likelihood == "normal":
        shift = replicate.mean(axis=0)
        assert stats.ks_2samp((nxt - shift).ravel(), (replicate - shift).ravel()).pvalue > 0.01


def test_pit_and_coverage_detect_narrow_intervals():
    rng = np.random.default_rng(0)
    draws = rng.standard_normal((2000, 400))
    calibrated = rng.standard_normal(400)
    assert 0.85 < interval_coverage(calibrated, draws, prob=0.9) < 0.95
    assert np.histogram(pit_values(calibrated, draws), bins=5, range=(0, 1))[0].min() > 50
    too_wide = 3 * rng.standard_normal(400)  # data more spread than the model says
    assert interval_coverage(too_wide, draws, prob=0.9) < 0.5
    pit = pit_values(too_wide, draws)
    assert np.mean((pit < 0.05) | (pit > 0.95)) > 0.5


def test_plot_ppc(fit):
    fig = bp.plot_ppc(fit, n_replicates=20)
    left, right = fig.axes[:2]
    assert len(left.lines) == 21  # 20 replicated ECDFs and the observed one
    observed = np.sort(fit.runs["loss"].to_numpy())
    assert np.allclose(left.lines[-1].get_xdata(), observed)
    assert left.lines[-1].get_ydata()[-1] == 1.0
    texts = " ".join(t.get_text() for t in right.texts)
    assert "p=" in texts  # arviz_plots' PIT-ECDF uniformity test
    assert right.lines and "PIT" in right.get_xlabel()
    assert "predictive interval" in right.get_title()
    _render(fig)


def test_residuals_and_their_autocorrelation(fit):
    table = residual_table(fit)
    runs = fit.runs
    assert np.allclose(table["residual"], np.log(runs["loss"]) - np.log(table["fitted"]))
    rows = runs[runs["family"] == "fam1"].iloc[:2]
    expected = fit.predict(rows[["params", "tokens"]], family="fam1")["median"]
    assert np.allclose(table.loc[rows.index, "fitted"], expected)
    tokens = np.tile(np.arange(1.0, 9.0), 2)
    trend = pd.DataFrame({"run": np.repeat(["a", "b"], 8), "tokens": tokens,
                          "residual": np.r_[np.linspace(-1, 1, 8), np.linspace(1, -1, 8)]})
    assert lag1_autocorrelation(trend) > 0.7
    zigzag = trend.assign(residual=np.tile([1.0, -1.0], 8))
    assert lag1_autocorrelation(zigzag) < -0.9
    assert math.isnan(lag1_autocorrelation(trend.drop_duplicates("run")))
    fig = bp.plot_residuals(fit)
    for ax, family in zip(_visible(fig), FAMILIES, strict=True):
        n_runs = runs.loc[runs["family"] == family, "run"].nunique()
        assert len(ax.lines) == n_runs + 1  # one line per run and the zero line
    assert f"{lag1_autocorrelation(table):.2f}" in fig._suptitle.get_text()
    _render(fig)


def _three_families() -> pd.DataFrame:
    return pd.DataFrame({"family": ["f0", "f1", "f2"], "run": ["r0", "r1", "r2"],
                         "params": 1e8, "tokens": 2e9, "flops": 1.2e18, "loss": 3.0})


def test_prior_parameter_draws_follow_the_hierarchy():
    runs = _three_families()
    law = ScalingLaw("chinchilla")
    prior = law.full_priors()["log_alpha"]
    draws = prior_parameter_draws(law, runs, draws=5000, random_seed=3)["log_alpha"]
    assert draws.shape == (5000, 3)
    # Var = sigma^2 + E[tau^2], tau ~ Gamma(2, scale tau): E[tau^2] = 6 tau^2
    assert np.std(draws[:, 0]) == pytest.approx(math.sqrt(prior.sigma**2 + 6 * prior.tau**2),
                                                rel=0.04)
    assert np.mean(draws) == pytest.approx(prior.mu, abs=0.02)
    # families share the population mean: Cov = sigma^2
    assert np.cov(draws[:, 0], draws[:, 1])[0, 1] == pytest.approx(prior.sigma**2, rel=0.08)
    complete = prior_parameter_draws(ScalingLaw("chinchilla", pooling="complete"), runs,
                                     draws=100, random_seed=4)["log_alpha"]
    assert np.all(complete == complete[:, :1]) and np.std(complete[:, 0]) > 0
    none = prior_parameter_draws(ScalingLaw("chinchilla", pooling="none"), runs, draws=5000,
                                 random_seed=5)["log_alpha"]
    assert np.std(none[:, 1]) == pytest.approx(prior.sigma, rel=0.04)
    assert abs(np.corrcoef(none[:, 0], none[:, 1])[0, 1]) < 0.05


def test_prior_predictive_is_the_models_noise_around_the_law():
    """Prior draws of the model's log_loss minus the law at the same parameter draws: run
    offsets (sigma_run ~ HalfNormal(0.05)) shared by a run's rows and normal noise
    (sigma ~ HalfNormal(0.1)), so Var = 0.1^2 + 0.05^2 and rows of one run correlate 0.2."""
    runs = pd.DataFrame([{"family": "f", "run": f"{n:g}/{seed}", "params": n,
                          "tokens": 20 * n * k, "loss": 3.0}
                         for n in (1e7, 1e8) for seed in range(3) for k in (1, 2, 4)])
    runs["flops"] = 6 * runs["params"] * runs["tokens"]
    law = ScalingLaw("chinchilla", likelihood="normal")
    pred = prior_predictive_draws(law, runs, draws=3000, random_seed=4)
    mean = prior_predictive_draws(law, runs, draws=3000, kind="mean", random_seed=4)
    noise = np.log(pred) - np.log(mean)
    assert noise.var(axis=0).mean() == pytest.approx(0.1**2 + 0.05**2, rel=0.12)
    corr = np.corrcoef(noise.T)
    same = runs["run"].to_numpy()[:, None] == runs["run"].to_numpy()[None, :]
    off_diagonal = ~np.eye(len(runs), dtype=bool)
    assert 0.12 < corr[same & off_diagonal].mean() < 0.28
    assert abs(corr[~same].mean()) < 0.05


def test_plot_prior_predictive(fit):
    runs = fit.runs
    sim = prior_predictive_draws(fit.law, runs, draws=300, random_seed=2)
    assert sim.shape == (300, len(runs)) and np.all(sim > 0)
    assert np.array_equal(sim, prior_predictive_draws(fit.law, runs, draws=300,
                                                      random_seed=2))
    fig = bp.plot_prior_predictive(fit.law, runs, draws=300, random_seed=2)
    left = fig.axes[0]
    bands = [c for c in left.collections if isinstance(c, LineCollection)]
    assert len(bands) == 2 and all(len(b.get_segments()) == len(runs) for b in bands)
    inside = interval_coverage(runs["loss"].to_numpy(), sim, prob=0.99)
    assert f"{inside:.0%} of observed" in left.get_title()
    _render(fig)
    fig = bp.plot_prior_predictive(fit, draws=100)  # a fit: its own law and data
    assert "prior predictive" in fig._suptitle.get_text()
    _render(fig)


# ------------------------------------------------------------------------- ArviZ diagnostics


def test_trace_and_rank_plots(fit):
    names = default_variables(fit)
    assert names[:2] == ["log_L0_mu", "log_L0_tau"] and names[-2:] == ["sigma", "nu"]
    fig = bp.plot_trace(fit)
    assert len(fig.axes) == 2 * len(names)  # density and trace per variable
    labels = {ax.get_ylabel() for ax in fig.axes} | {ax.get_xlabel() for ax in fig.axes}
    assert {"log_alpha_mu", "sigma"} <= labels
    _render(fig)
    fig = bp.plot_rank(fit, var_names=["sigma", "log_beta"])
    assert [ax.get_title() for ax in fig.axes] == ["sigma", "log_beta\nfam0", "log_beta\nfam1"]
    _render(fig)
    with pytest.raises(SpecError, match="no posterior variables"):
        bp.plot_trace(fit, var_names=["gamma"])


# ------------------------------------------------------------------------- every law in models/


def synthetic_fit_of(name: str, *, seed: int = 0):
    """A fit of law ``name`` laid out as ``ScalingLaw.fit`` returns it, without sampling.

    Runs (2 families x 3 sizes x 5 checkpoints) carry every input a law may read: N, D, C,
    unique tokens U (half the final tokens: up to two epochs) and learning-rate areas S1, S2
    (S2 = 0 until the last two checkpoints); losses follow the law at its prior means. Draws
    are the prior means plus small jitter.
    """
    import arviz as az
    import xarray as xr
    from conftest import CHAINS, DRAWS

    from bayescale import get_form, read_runs
    from bayescale.law import ScalingFit, fit_attrs, runs_to_dataset
    from bayescale.model import centred_inputs, reference_scales

    law = ScalingLaw(name)
    form = get_form(name)
    rng = np.random.default_rng(seed)
    rows = []
    for f, family in enumerate(FAMILIES):
        for n in (2e7, 1e8, 5e8):
            final = 20 * n
            for i, d in enumerate(np.geomspace(0.1 * final, final, 5)):
                rows.append({"family": family, "run": f"{family}-{n:g}", "params": n,
                             "tokens": d, "unique_tokens": final / 2,
                             "lr_area": 3e-4 * d / 1e6 * (1 + f),
                             "lr_anneal_area": 0.0 if i < 3 else 1e-4 * (i - 2) * d / 1e6})
    runs = pd.DataFrame(rows)
    runs["flops"] = 6 * runs["params"] * runs["tokens"]
    scales = reference_scales(form, runs)
    x = centred_inputs(form, runs, scales)
    mu = {k: p.mu for k, p in law.full_priors().items()}
    log_loss = form.log_loss(x, {k: np.full(len(runs), v) for k, v in mu.items()}, np)
    runs["loss"] = np.exp(log_loss + 0.01 * rng.standard_normal(len(runs)))
    runs = read_runs(runs)
    shape = (CHAINS, DRAWS)
    posterior = {}
    for pname, prior in law.full_priors().items():
        values = prior.mu + np.array([0.0, 0.02])
        posterior[pname] = values + 0.005 * rng.standard_normal((*shape, 2))
        posterior[f"{pname}_mu"] = prior.mu + 0.005 * rng.standard_normal(shape)
        posterior[f"{pname}_tau"] = 0.1 + 0.005 * np.abs(rng.standard_normal(shape))
        if not prior.centered:
            posterior[f"{pname}_z"] = (posterior[pname] - prior.mu) / 0.1
    posterior["sigma"] = 0.01 + 0.001 * np.abs(rng.standard_normal(shape))
    posterior["nu"] = 8.0 + rng.standard_normal(shape)
    dims = {k: ["family"] for k, v in posterior.items() if v.ndim == 3}
    idata = az.from_dict({"posterior": posterior,
                          "sample_stats": {"diverging": np.zeros(shape, dtype=bool)}},
                         dims=dims, coords={"family": list(FAMILIES)})
    idata["runs"] = xr.DataTree(runs_to_dataset(runs))
    idata.attrs.update(fit_attrs(
        law, runs, scales=scales, run_effect=False, residuals="iid",
        sampler={"sampler": "nutpie", "draws": DRAWS, "tune": DRAWS, "chains": CHAINS,
                 "random_seed": seed}))
    return ScalingFit(idata, warn=False)


def _laws():
    from bayescale import available_forms

    return sorted(available_forms())


@pytest.mark.parametrize("name", _laws())
def test_every_law_in_models_can_be_drawn(name):
    """A law added as a file in models/ gets every figure: curves follow the law's median."""
    from matplotlib import pyplot as plt

    law_fit = synthetic_fit_of(name)
    runs = law_fit.runs
    for x in ("tokens", "params"):
        fig = bp.plot_loss(law_fit, x=x)
        ax = _visible(fig)[0]
        assert ax.lines, f"{name}: no curve against {x}"
        for line in ax.lines:
            y = np.asarray(line.get_ydata(), dtype=float)
            assert np.all(np.isfinite(y)) and np.all(y > 0), f"{name}: bad curve against {x}"
        points = _scatter(ax)[0].get_offsets()
        assert points.shape[0] > 0
        plt.close(fig)
    table = residual_table(law_fit)
    # the data follow the law at the prior means (fam0's draws): residuals are the noise
    fam0 = table[table["family"] == "fam0"]
    assert np.abs(fam0["residual"]).max() < 0.06, name
    fig = bp.plot_parameters(law_fit)
    assert len(_visible(fig)) >= len(law_fit.form.parameters) - 2
    plt.close(fig)
    assert len(runs) == 30
