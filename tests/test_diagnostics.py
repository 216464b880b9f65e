"""Tests for bayescale.diagnostics on hand-made draws (no sampling)."""

from __future__ import annotations

import warnings

import arviz as az
import numpy as np
import pytest

from bayescale import ConvergenceWarning, diagnose

CHAINS, DRAWS = 4, 1000


def tree(posterior: dict, diverging: np.ndarray | None = None):
    shape = next(iter(posterior.values())).shape[:2]
    if diverging is None:
        diverging = np.zeros(shape, dtype=bool)
    return az.from_dict({"posterior": posterior, "sample_stats": {"diverging": diverging}})


def iid(rng, *extra):
    return rng.standard_normal((CHAINS, DRAWS, *extra))


def test_well_mixed_draws_are_ok():
    rng = np.random.default_rng(0)
    idata = tree({"theta": iid(rng), "vec": iid(rng, 3)})
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        result = diagnose(idata)
    d = result.to_dict()
    assert d["ok"] is True and d["divergences"] == 0 and d["messages"] == []
    assert 1.0 - 0.01 < d["max_rhat"] < 1.01
    assert d["min_ess_bulk"] > 2000  # iid draws: ESS close to 4000
    assert set(result.table.index) == {"theta", "vec[0]", "vec[1]", "vec[2]"}


def test_disagreeing_chains_warn_naming_parameter():
    rng = np.random.default_rng(1)
    split = iid(rng) + np.arange(CHAINS)[:, None]  # chain c centred at c
    idata = tree({"theta_fine": iid(rng), "theta_split": split})
    with pytest.warns(ConvergenceWarning, match=r"r_hat > 1\.01 for theta_split") as record:
        result = diagnose(idata)
    assert "theta_fine" not in str(record[0].message)
    d = result.to_dict()
    assert d["ok"] is False and d["max_rhat"] > 1.5 and d["divergences"] == 0
    assert d["max_rhat"] == pytest.approx(result.table.loc["theta_split", "r_hat"])


def test_divergences_are_counted_and_warned():
    rng = np.random.default_rng(2)
    diverging = np.zeros((CHAINS, DRAWS), dtype=bool)
    diverging[0, [5, 50]] = True
    diverging[3, 999] = True
    with pytest.warns(ConvergenceWarning, match="3 divergent transitions in 4000 draws"):
        result = diagnose(tree({"theta": iid(rng)}, diverging))
    d = result.to_dict()
    assert d["divergences"] == 3 and d["ok"] is False
    assert d["max_rhat"] < 1.01 and d["min_ess_bulk"] > 2000  # only divergences failed
    assert len(d["messages"]) == 1


def test_tiny_ess_warns_naming_parameter():
    rng = np.random.default_rng(3)
    sticky = np.cumsum(iid(rng), axis=1) * 0.05  # random walk: ESS of a handful
    idata = tree({"theta_fine": iid(rng), "theta_sticky": sticky})
    with pytest.warns(ConvergenceWarning, match=r"bulk ESS < 400 for theta_sticky"):
        result = diagnose(idata)
    d = result.to_dict()
    assert d["min_ess_bulk"] < 100 and d["ok"] is False
    assert d["min_ess_bulk"] == pytest.approx(result.table.loc["theta_sticky", "ess_bulk"])
    assert result.table.loc["theta_fine", "ess_bulk"] > 2000


def test_var_names_limit_the_checks_and_warn_false_is_silent():
    rng = np.random.default_rng(4)
    idata = tree({"theta_fine": iid(rng), "theta_split": iid(rng) + np.arange(CHAINS)[:, None]})
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        assert diagnose(idata, var_names=["theta_fine"]).ok
        assert not diagnose(idata, warn=False).ok


def test_frozen_variable_is_not_ok():
    rng = np.random.default_rng(5)
    idata = tree({"theta": iid(rng), "stuck": np.full((CHAINS, DRAWS), 0.3)})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        assert not diagnose(idata, warn=False).ok


def test_sticky_tail_warns_on_tail_ess_alone():
    rng = np.random.default_rng(6)
    x = rng.standard_normal((CHAINS, DRAWS))
    for c in range(CHAINS):  # each chain sits 40 draws in a row in its upper tail
        start = rng.integers(0, DRAWS - 40)
        x[c, start:start + 40] = 3 + 0.05 * rng.standard_normal(40)
    idata = tree({"theta_fine": iid(rng), "theta_tail": x})
    with pytest.warns(ConvergenceWarning, match=r"tail ESS < 400 for theta_tail") as record:
        result = diagnose(idata)
    d = result.to_dict()
    assert len(d["messages"]) == 1 and "theta_fine" not in str(record[0].message)
    assert d["min_ess_bulk"] >= 400 and d["max_rhat"] <= 1.01  # only the tail failed
    assert d["min_ess_tail"] < 400 and d["ess_tail_min_allowed"] == 400
    assert d["min_ess_tail"] == pytest.approx(result.table.loc["theta_tail", "ess_tail"])
    assert result.table.loc["theta_fine", "ess_tail"] > 2000


def test_low_bfmi_warns_naming_the_chain():
    rng = np.random.default_rng(7)
    energy = rng.standard_normal((CHAINS, DRAWS))
    energy[2] = np.cumsum(energy[2])  # chain 2: energy wanders, momentum barely moves it
    idata = az.from_dict({"posterior": {"theta": iid(rng)},
                          "sample_stats": {"diverging": np.zeros((CHAINS, DRAWS), bool),
                                           "energy": energy}})
    with pytest.warns(ConvergenceWarning, match=r"E-BFMI < 0\.3 in chain\(s\) 2 \(min 0\.0"):
        result = diagnose(idata)
    d = result.to_dict()
    assert d["ok"] is False and len(d["messages"]) == 1 and d["bfmi_min_allowed"] == 0.3
    assert len(d["bfmi"]) == CHAINS and d["min_bfmi"] == d["bfmi"][2] < 0.05
    assert all(v > 1.5 for i, v in enumerate(d["bfmi"]) if i != 2)  # white noise: about 2
    healthy = az.from_dict({"posterior": {"theta": iid(rng)},
                            "sample_stats": {"energy": rng.standard_normal((CHAINS, DRAWS))}})
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        assert diagnose(healthy).ok


def test_no_energy_means_no_bfmi():
    d = diagnose(tree({"theta": iid(np.random.default_rng(8))})).to_dict()
    assert d["bfmi"] == [] and d["min_bfmi"] is None and d["ok"] is True
