"""Parameter recovery on data simulated from the hierarchical model (real NUTS, slow).

Truth: 6 families, 5 sizes, 2 seeds per size, 12 checkpoints per run, Student-t noise
(``bayescale.simulate``). The largest size of every family is held out. Over two simulation
seeds: the true alpha and beta of each family lie inside their 90% intervals for >= 80% of
(family, parameter) pairs, and the held-out final losses lie inside their 90% predictive
intervals for >= 80% of families.
"""

import warnings

import numpy as np
import pytest

from bayescale import ScalingLaw
from bayescale.simulate import simulate_runs

pytestmark = pytest.mark.slow

SIM_SEEDS = (1, 2)


@pytest.fixture(scope="module", params=SIM_SEEDS)
def recovery(request):
    runs, truth = simulate_runs(n_families=6, seeds=2, checkpoints=12,
                                random_seed=request.param)
    largest = runs["params"].max()
    train, held = runs[runs["params"] < largest], runs[runs["params"] == largest]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any convergence problem fails the test
        fit = ScalingLaw("chinchilla").fit(train, random_seed=request.param)
    return fit, truth, held


def test_fit_is_clean(recovery):
    fit, _, _ = recovery
    d = fit.diagnostics
    assert d.divergences == 0
    assert d.max_rhat <= 1.01
    assert d.min_ess_bulk >= 400


def test_exponents_inside_90_percent_intervals(recovery):
    fit, truth, _ = recovery
    summary = fit.summary(prob=0.9)
    inside = []
    for name in ("alpha", "beta"):
        for _, row in truth.iterrows():
            s = summary[(summary["parameter"] == name) & (summary["family"] == row["family"])]
            assert len(s) == 1
            true = float(np.exp(row[f"log_{name}"]))
            inside.append(bool(s["lower"].iloc[0] <= true <= s["upper"].iloc[0]))
    assert np.mean(inside) >= 0.8, inside


def test_held_out_largest_model_inside_predictive_interval(recovery):
    fit, _, held = recovery
    final = held.loc[held.groupby("run")["tokens"].idxmax()]
    covered_families = []
    for family, rows in final.groupby("family"):
        pred = fit.predict(rows[["params", "tokens"]], family=family, kind="predictive",
                           prob=0.9)
        observed = rows["loss"].to_numpy()
        inside = (pred["lower"].to_numpy() <= observed) & (observed <= pred["upper"].to_numpy())
        covered_families.append(bool(inside.all()))
    assert np.mean(covered_families) >= 0.8, covered_families
