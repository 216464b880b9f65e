"""A real (tiny) NUTS fit of simulated runs: reproducibility and the layout of the result."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

from bayescale import ConvergenceWarning, ScalingLaw, __version__
from bayescale.data import data_hash, read_runs
from bayescale.simulate import simulate_runs

pytestmark = pytest.mark.slow

SETTINGS = {"draws": 150, "tune": 150, "chains": 2, "random_seed": 5}


def _fit(runs):
    """Fit with the test settings; return the fit and the ConvergenceWarnings it emitted."""
    with warnings.catch_warnings(record=True) as caught:
        # 2 x 150 draws cannot meet the ESS threshold: a ConvergenceWarning is expected
        warnings.simplefilter("always", ConvergenceWarning)
        fit = ScalingLaw().fit(runs, **SETTINGS)
    return fit, [w for w in caught if issubclass(w.category, ConvergenceWarning)]


@pytest.fixture(scope="module")
def runs():
    table, _ = simulate_runs(n_families=3, sizes=(2e7, 1e8, 5e8), seeds=2, checkpoints=6,
                             random_seed=3)
    return table


@pytest.fixture(scope="module")
def fitted(runs):
    return _fit(runs)


@pytest.fixture(scope="module")
def fit(fitted):
    return fitted[0]


def test_fit_warns_about_too_few_draws(fitted):
    fit, caught = fitted
    assert len(caught) == 1 and "bulk ESS < 400" in str(caught[0].message)
    assert not fit.diagnostics.ok and fit.diagnostics.min_ess_bulk < 400


def test_same_seed_same_draws(fit, runs):
    again, _ = _fit(runs)
    for name in fit.idata["posterior"].data_vars:
        np.testing.assert_array_equal(again.idata["posterior"][name].to_numpy(),
                                      fit.idata["posterior"][name].to_numpy())


def test_result_layout(fit, runs):
    idata = fit.idata
    assert {"posterior", "sample_stats", "observed_data", "runs"} <= set(idata.children)
    assert idata["posterior"].sizes["chain"] == 2 and idata["posterior"].sizes["draw"] == 150
    attrs = idata.attrs
    assert json.loads(attrs["law"]) == ScalingLaw().to_dict()
    sampler = json.loads(attrs["sampler"])
    assert {k: sampler[k] for k in SETTINGS} == SETTINGS and sampler["sampler"] == "nutpie"
    assert attrs["random_seed"] == 5 and attrs["bayescale_version"] == __version__
    assert attrs["data_sha256"] == data_hash(read_runs(runs))
    assert attrs["run_effect_used"] == 1  # two seeds per size, six checkpoints per run
    assert fit.families == ["fam0", "fam1", "fam2"]
    assert idata["observed_data"]["log_loss"].size == len(runs) == 108


def test_summary_has_exponents_per_family(fit):
    table = fit.summary()
    for parameter in ("alpha", "beta"):
        rows = table[table["parameter"] == parameter].set_index("family")
        assert {"fam0", "fam1", "fam2", "population mean"} <= set(rows.index)
        assert ((rows["lower"] > 0.1) & (rows["upper"] < 1.0)).all()
        assert (rows["lower"] <= rows["median"]).all() and (rows["median"] <= rows["upper"]).all()
    assert table.loc[table["parameter"] == "log_alpha", "r_hat"].notna().all()
