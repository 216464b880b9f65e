"""The reference estimator (Hoffmann et al. approach 3: Huber on log-loss, L-BFGS, bootstrap)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import check_grad

from bayescale import SpecError
from bayescale.evaluation.reference import (
    HUBER_DELTA,
    fit_reference,
    grid_starts,
    huber,
    objective,
)

TRUTH = {"E": 1.69, "A": 406.4, "B": 410.7, "alpha": 0.34, "beta": 0.28}  # Hoffmann et al.


def chinchilla_runs(noise: float = 0.0, seed: int = 0) -> pd.DataFrame:
    """6 sizes x 8 checkpoints (0.1 to 1 of 20 tokens/parameter) from the published law."""
    rng = np.random.default_rng(seed)
    sizes = np.geomspace(1e7, 1e9, 6)
    params = np.repeat(sizes, 8)
    tokens = np.concatenate([np.geomspace(0.1, 1.0, 8) * 20 * n for n in sizes])
    loss = (TRUTH["E"] + TRUTH["A"] / params ** TRUTH["alpha"]
            + TRUTH["B"] / tokens ** TRUTH["beta"])
    loss = loss * np.exp(noise * rng.standard_normal(len(loss)))
    return pd.DataFrame({"params": params, "tokens": tokens, "loss": loss})


def test_huber_is_quadratic_inside_and_linear_outside():
    r = np.array([-0.1, -1e-3, 0.0, 5e-4, 0.1])
    np.testing.assert_allclose(huber(r, 1e-3), [1e-4 - 5e-7, 5e-7, 0.0, 1.25e-7, 1e-4 - 5e-7])


def test_gradient_is_exact():
    runs = chinchilla_runs(noise=0.01)
    log_x = np.log(runs[["params", "tokens"]].to_numpy())
    log_y = np.log(runs["loss"].to_numpy())
    w = np.random.default_rng(1).integers(0, 3, len(log_y)).astype(float)
    for theta in ([0.5, 6.0, 6.0, 0.3, 0.3], [0.0, 10.0, 2.0, 1.0, 0.1]):
        error = check_grad(lambda t: objective(t, log_x, log_y, w, HUBER_DELTA)[0],
                           lambda t: objective(t, log_x, log_y, w, HUBER_DELTA)[1],
                           np.array(theta))
        assert error < 1e-6


def test_grid_is_hoffmanns():
    grid = grid_starts(2)
    assert grid.shape == (4500, 5)
    assert set(np.round(grid[:, 0], 6)) == {-1.0, -0.5, 0.0, 0.5, 1.0}      # log E
    assert set(grid[:, 1]) == {0.0, 5.0, 10.0, 15.0, 20.0, 25.0}           # log A
    assert set(grid[:, 3]) == {0.0, 0.5, 1.0, 1.5, 2.0}                     # alpha


def test_noiseless_data_recovers_the_law():
    fit = fit_reference(chinchilla_runs(), n_boot=0)
    for name, value in TRUTH.items():
        assert fit.params[name] == pytest.approx(value, rel=1e-5), name
    assert fit.objective < 1e-12 and fit.rows == 48
    pred = fit.predict({"params": [7e9], "tokens": [1.4e11]})
    expected = TRUTH["E"] + TRUTH["A"] / 7e9 ** 0.34 + TRUTH["B"] / 1.4e11 ** 0.28
    assert pred["estimate"].iloc[0] == pytest.approx(expected, rel=1e-8)


def test_low_noise_data_and_bootstrap_interval():
    runs = chinchilla_runs(noise=0.002, seed=3)
    fit = fit_reference(runs, n_boot=40, random_seed=2)
    assert fit.params["alpha"] == pytest.approx(TRUTH["alpha"], abs=0.03)
    assert fit.params["beta"] == pytest.approx(TRUTH["beta"], abs=0.03)
    assert fit.params["E"] == pytest.approx(TRUTH["E"], abs=0.1)
    assert len(fit.boot) == 40 and list(fit.boot.columns) == ["E", "A", "B", "alpha", "beta"]
    points = pd.DataFrame({"params": [1e8, 7e9], "tokens": [2e9, 1.4e11]})
    pred = fit.predict(points, prob=0.9)
    truth = TRUTH["E"] + TRUTH["A"] / points["params"] ** 0.34 + TRUTH["B"] / points[
        "tokens"] ** 0.28
    assert ((pred["lower"] < pred["upper"]) & (pred["prob"] == 0.9)).all()
    assert (np.abs(pred["estimate"] / truth - 1) < 0.01).all()
    # inside the data the bootstrap interval is tight and holds the truth
    assert pred["lower"].iloc[0] <= truth.iloc[0] <= pred["upper"].iloc[0]
    again = fit_reference(runs, n_boot=40, random_seed=2)
    pd.testing.assert_frame_equal(again.boot, fit.boot)  # same seed, same bootstrap


def test_compute_law_and_family_selection():
    rng = np.random.default_rng(0)
    flops = np.geomspace(1e17, 1e21, 30)
    rows = [pd.DataFrame({"family": f, "params": 1e8, "tokens": flops / 6e8, "flops": flops,
                          "loss": e + 2000.0 * flops ** -0.15 * np.exp(
                              1e-4 * rng.standard_normal(30))})
            for f, e in (("x", 1.8), ("y", 2.2))]
    runs = pd.concat(rows, ignore_index=True)
    fit = fit_reference(runs, law="compute", family="y", n_boot=0)
    assert set(fit.params) == {"E", "A", "alpha"}
    assert fit.params["E"] == pytest.approx(2.2, rel=0.02)
    assert fit.params["alpha"] == pytest.approx(0.15, rel=0.05)


def test_bad_arguments():
    with pytest.raises(SpecError, match="reference estimator knows"):
        fit_reference(chinchilla_runs(), law="nope")
    with pytest.raises(SpecError, match="unknown family"):
        fit_reference(chinchilla_runs(), family="zzz")
    with pytest.raises(SpecError, match="n_boot"):
        fit_reference(chinchilla_runs(), n_boot=-1)


def test_shared_exponent_gradient_is_exact():
    """The over-training law (alpha = beta): the gradient sums over both terms' exponent."""
    runs = chinchilla_runs(noise=0.01)
    log_x = np.log(runs[["params", "tokens"]].to_numpy())
    log_y = np.log(runs["loss"].to_numpy())
    w = np.ones(len(log_y))
    for theta in ([0.5, 6.0, 6.0, 0.3], [0.0, 10.0, 2.0, 0.8]):
        error = check_grad(lambda t: objective(t, log_x, log_y, w, HUBER_DELTA)[0],
                           lambda t: objective(t, log_x, log_y, w, HUBER_DELTA)[1],
                           np.array(theta))
        assert error < 1e-6
    assert grid_starts(2, 1).shape == (900, 4)


def test_overtraining_law_recovers_a_shared_exponent():
    truth = {"E": 1.8, "A": 300.0, "B": 900.0, "alpha": 0.3}
    runs = chinchilla_runs()
    runs["loss"] = (truth["E"] + truth["A"] / runs["params"] ** truth["alpha"]
                    + truth["B"] / runs["tokens"] ** truth["alpha"])
    fit = fit_reference(runs, law="overtraining", n_boot=0)
    assert set(fit.params) == {"E", "A", "B", "alpha"}
    for name, value in truth.items():
        assert fit.params[name] == pytest.approx(value, rel=1e-4), name
    pred = fit.predict({"params": [7e9], "tokens": [1.4e11]})
    expected = truth["E"] + truth["A"] / 7e9 ** 0.3 + truth["B"] / 1.4e11 ** 0.3
    assert pred["estimate"].iloc[0] == pytest.approx(expected, rel=1e-6)
