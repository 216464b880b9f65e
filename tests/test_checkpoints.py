"""Checkpoint selection (bayescale.checkpoints) and the AR(1) residual model (no sampling)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from conftest import make_idata
from scipy.stats import multivariate_normal

from bayescale import (
    ConvergenceWarning,
    DataError,
    DataWarning,
    ScalingLaw,
    SpecError,
    read_runs,
)
from bayescale.checkpoints import Selection, log_thin, select_checkpoints
from bayescale.fits import load_fit, save_fit
from bayescale.forms import get_form
from bayescale.law import ScalingFit
from bayescale.model import (
    build_model,
    centred_inputs,
    checkpoint_order,
    reference_scales,
    use_ar1,
)
from bayescale.simulate import simulate_runs


def curves() -> pd.DataFrame:
    """Two families; family a: runs of 1e8 (final 1e10 tokens) and 1e9 (final 4e10), family b:
    one run of 1e8 (final 1e9). Checkpoints every factor 2 from 1e8 tokens."""
    rows = []
    for family, params, final in (("a", 1e8, 1e10), ("a", 1e9, 4e10), ("b", 1e8, 1e9)):
        tokens = final / 2.0 ** np.arange(12)
        tokens = np.sort(tokens[tokens >= 1e8])
        loss = 2.0 + 50.0 / tokens ** 0.2
        rows.append(pd.DataFrame({"family": family, "params": params, "tokens": tokens,
                                  "loss": loss}))
    return read_runs(pd.concat(rows, ignore_index=True))


def finals(table: pd.DataFrame) -> set:
    return set(table.loc[table.groupby("run")["tokens"].idxmax(), "row"])


def test_no_selection_keeps_everything():
    runs = curves()
    out = select_checkpoints(runs)
    pd.testing.assert_frame_equal(out, runs)
    assert Selection().label == "all rows"


def test_min_tokens_drops_early_checkpoints_but_never_a_final():
    runs = curves()
    out = select_checkpoints(runs, min_tokens=2e9)
    intermediate = out[~out["row"].isin(finals(runs))]
    assert (intermediate["tokens"] >= 2e9).all()
    assert finals(runs) <= set(out["row"])  # family b's run ends at 1e9 < 2e9: kept
    assert (out["family"] == "b").sum() == 1
    dropped = runs[~runs["row"].isin(out["row"])]
    assert (dropped["tokens"] < 2e9).all() and len(dropped) > 0


def test_min_fraction_is_relative_to_each_runs_final():
    runs = curves()
    out = select_checkpoints(runs, min_fraction=0.25)
    final = out.groupby("run")["tokens"].transform("max")
    assert (out["tokens"] >= 0.25 * final).all()
    assert out.groupby("run").size().to_dict() == {
        "a|N=1e+08|seed=0": 3, "a|N=1e+09|seed=0": 3, "b|N=1e+08|seed=0": 3}
    only_final = select_checkpoints(runs, min_fraction=1.0)
    assert set(only_final["row"]) == finals(runs)


def test_q_maximal_keeps_runs_near_the_familys_longest():
    runs = curves()
    out = select_checkpoints(runs, q_maximal=0.5)
    # family a: longest run 4e10 tokens; the 1e10 run is below half of it and goes
    assert set(out["run"]) == {"a|N=1e+09|seed=0", "b|N=1e+08|seed=0"}
    assert len(select_checkpoints(runs, q_maximal=0.25)) == len(runs)


def test_max_per_run_thins_log_evenly_and_keeps_the_final():
    runs = curves()
    out = select_checkpoints(runs, max_per_run=4)
    assert out.groupby("run").size().max() == 4
    assert finals(runs) <= set(out["row"])
    first = runs.groupby("run")["tokens"].transform("min") == runs["tokens"]
    assert set(runs.loc[first, "row"]) <= set(out["row"])
    tokens = np.geomspace(1e8, 1e10, 101)
    kept = tokens[log_thin(tokens, 5)]
    np.testing.assert_allclose(np.log10(kept), [8, 8.5, 9, 9.5, 10], atol=1e-9)
    assert len(log_thin(tokens[:3], 5)) == 3


def test_annealed_only_keeps_finals_unless_the_schedule_is_constant():
    runs = curves()
    out = select_checkpoints(runs, annealed_only=True)
    assert set(out["row"]) == finals(runs)  # no schedule column: every run decays
    schedule = np.where(runs["run"].str.startswith("a|N=1e+08"), "constant", "cosine")
    out = select_checkpoints(runs.assign(lr_schedule=schedule), annealed_only=True)
    constant = runs["run"] == "a|N=1e+08|seed=0"
    assert set(out["row"]) == set(runs.loc[constant, "row"]) | finals(runs)


def test_options_combine_and_accept_a_path(tmp_path):
    runs = curves()
    path = tmp_path / "runs.csv"
    runs.drop(columns=["row"]).to_csv(path, index=False)
    out = select_checkpoints(path, min_tokens=1e9, max_per_run=3)
    assert out.groupby("run").size().max() <= 3
    assert finals(runs) <= set(out["row"])
    same = select_checkpoints(runs, Selection(min_tokens=1e9, max_per_run=3))
    pd.testing.assert_frame_equal(out.drop(columns="row"), same.drop(columns="row"))


@pytest.mark.parametrize("options", [{"min_tokens": -1.0}, {"min_fraction": 0.0},
                                     {"min_fraction": 1.5}, {"q_maximal": 2.0},
                                     {"max_per_run": 1}, {"max_per_run": 2.5}])
def test_bad_settings_raise(options):
    with pytest.raises(SpecError, match=next(iter(options))):
        select_checkpoints(curves(), **options)


def test_both_forms_of_settings_at_once_raise():
    with pytest.raises(SpecError, match="either"):
        select_checkpoints(curves(), Selection(), min_tokens=1e9)


# ------------------------------------------------------------------ AR(1) residuals


def test_checkpoint_order_links_each_row_to_the_previous_one_of_its_run():
    runs = curves()
    previous, step = checkpoint_order(runs)
    first = previous == np.arange(len(runs))
    assert first.sum() == runs["run"].nunique()
    np.testing.assert_allclose(step[~first], np.log(2.0))
    assert (runs["run"].to_numpy()[previous] == runs["run"].to_numpy()).all()


def test_same_tokens_twice_in_a_run():
    runs = curves()
    clash = runs.copy()
    clash.loc[1, "tokens"] = clash.loc[0, "tokens"]
    clash.loc[1, "loss"] = clash.loc[0, "loss"] + 0.01
    clash = read_runs(clash.drop(columns="row"))
    with pytest.raises(DataError, match="same token count"):
        checkpoint_order(clash)
    with pytest.warns(DataWarning, match="iid residuals instead"):
        assert use_ar1(clash, "auto") is False
    assert use_ar1(runs, "auto") is True
    assert use_ar1(runs, "iid") is False
    assert use_ar1(runs[runs["tokens"] == runs.groupby("run")["tokens"].transform("max")],
                   "auto") is False  # one row per run: nothing to correlate


def test_exact_duplicate_rows_are_refused():
    """Duplicating every checkpoint row is not new data; validation says so."""
    runs = curves().drop(columns="row")
    with pytest.raises(DataError, match="duplicate rows"):
        read_runs(pd.concat([runs, runs], ignore_index=True))


def test_ar1_likelihood_is_the_ornstein_uhlenbeck_density():
    """With a normal likelihood, the AR(1) model's log-likelihood of a run equals the
    multivariate normal density with covariance sigma^2 exp(-|log D_i - log D_j| / length)."""
    runs = curves()
    law = ScalingLaw("chinchilla", likelihood="normal", pooling="complete")
    scales = reference_scales(law.law_form, runs)
    model = build_model(law.law_form, runs, priors=law.full_priors(), likelihood="normal",
                        pooling="complete", run_effect=False, scales=scales, residuals="ar1")
    point = model.initial_point()
    point["sigma_log__"] = np.log(0.03)
    point["log_corr_length"] = np.log(0.8)
    logp = model.compile_logp(vars=[model["log_loss"]], sum=True)(point)
    values = {name: point[f"{name}_mu"] for name in law.law_form.parameters}
    law_mean = law.law_form.log_loss(centred_inputs(law.law_form, runs, scales), values, np)
    t = np.log(runs["tokens"].to_numpy())
    y = np.log(runs["loss"].to_numpy())
    expected = 0.0
    for _, rows in runs.groupby("run"):
        i = rows.index.to_numpy()
        cov = 0.03 ** 2 * np.exp(-np.abs(t[i, None] - t[None, i]) / 0.8)
        expected += multivariate_normal(law_mean[i], cov).logpdf(y[i])
    np.testing.assert_allclose(logp, expected, rtol=1e-9)
    iid = build_model(law.law_form, runs, priors=law.full_priors(), likelihood="normal",
                      pooling="complete", run_effect=False, scales=scales, residuals="iid")
    point.pop("log_corr_length")
    iid_logp = iid.compile_logp(vars=[iid["log_loss"]], sum=True)(point)
    assert not np.isclose(iid_logp, logp)  # the correlation matters at this spacing


def test_residuals_option_is_checked_and_round_trips(tmp_path):
    with pytest.raises(SpecError, match="residuals must be"):
        ScalingLaw(residuals="ar2")
    law = ScalingLaw(residuals="ar1")
    assert ScalingLaw.from_dict(law.to_dict()).residuals == "ar1"
    idata = make_idata(jitter=0.01)
    del idata.attrs["residuals_used"]  # what a fit saved before AR(1) residuals existed lacks
    assert ScalingFit(idata, warn=False).residuals == "iid"
    save_fit(ScalingFit(make_idata(jitter=0.01, residuals="ar1"), warn=False),
             tmp_path / "fit.nc")
    assert load_fit(tmp_path / "fit.nc", warn=False).residuals == "ar1"


# ------------------------------------------------------- real NUTS: more checkpoints, same runs


@pytest.mark.slow
def test_more_checkpoints_of_the_same_runs_do_not_shrink_the_held_out_interval():
    """Four times the checkpoints of the same runs (same simulated curves, sampled densely)
    must not narrow the 90% predictive interval of the held-out largest model's final loss by
    more than 15%: a run's curve is one correlated realisation, not a bag of new points.

    Truth: 3 families x 4 sizes, one run each, curves whose deviations from the law are an
    AR(1) along log-tokens (correlation length 1 e-fold, sd 1%). Default model settings.
    """
    from bayescale.evaluation.holdout import holdout_split
    from bayescale.simulate import simulate_runs

    runs, _ = simulate_runs(n_families=3, sizes=(2e7, 6e7, 2e8, 6e8), seeds=1, checkpoints=24,
                            first_checkpoint=0.05, sigma=0.01, sigma_run=0.0, corr_length=1.0,
                            random_seed=4)
    train, targets = holdout_split(read_runs(runs))
    sparse = train[train.groupby("run").cumcount() % 4 == 3]  # every 4th, the final included
    widths = {}
    for name, data in (("sparse", sparse), ("dense", train)):
        with warnings.catch_warnings():  # 2 x 300 draws: ESS below 400 is expected
            warnings.simplefilter("ignore", ConvergenceWarning)
            fit = ScalingLaw().fit(data, draws=300, tune=300, chains=2, random_seed=1,
                                   progressbar=False)
        assert fit.residuals == "ar1" and fit.diagnostics.divergences == 0
        widths[name] = np.array([
            float(np.log(pred["upper"] / pred["lower"]).iloc[0])
            for pred in (fit.predict(rows[["params", "tokens"]], family=family,
                                     kind="predictive")
                         for family, rows in targets.groupby("family"))])
    assert len(sparse) * 4 == len(train) == 216
    ratio = widths["dense"] / widths["sparse"]
    print("interval width dense / sparse:", np.round(ratio, 3))
    assert (ratio > 0.85).all(), ratio


@pytest.mark.parametrize("corr_length", [0.8, 0.0])
def test_simulated_noise_has_the_models_covariance(corr_length):
    """simulate_runs (numpy, the truth of the recovery tests) draws what the graph's density
    describes: a run offset Normal(0, sigma_run) shared by a run's rows plus, with corr_length,
    the Ornstein-Uhlenbeck residual whose covariance the AR(1) likelihood equals (pinned above),
    or else iid Student-t(nu) noise of scale sigma."""
    sigma, sigma_run, nu, k = 0.02, 0.01, 8.0, 5
    runs, truth = simulate_runs(n_families=1, sizes=(1e8,), seeds=1500, checkpoints=k,
                                sigma=sigma, sigma_run=sigma_run, nu=nu,
                                corr_length=corr_length, random_seed=11)
    form = get_form("chinchilla")
    scales = {"params": 3e8, "tokens": 1e10}  # simulate_runs' default scales
    values = {name: truth[name].iloc[0] for name in form.parameters}
    law_mean = form.log_loss(centred_inputs(form, runs, scales), values, np)
    resid = (np.log(runs["loss"].to_numpy()) - law_mean).reshape(-1, k)
    t = np.log(runs["tokens"].to_numpy()[:k])
    if corr_length:
        within = sigma ** 2 * np.exp(-np.abs(t[:, None] - t[None, :]) / corr_length)
    else:
        within = sigma ** 2 * nu / (nu - 2) * np.eye(k)
    expected = sigma_run ** 2 + within
    np.testing.assert_allclose(np.cov(resid, rowvar=False), expected, rtol=0.15,
                               atol=0.08 * sigma ** 2)
    assert abs(resid.mean()) < 4 * np.sqrt(expected.sum() / k ** 2 / resid.shape[0])
