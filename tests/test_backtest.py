"""Backtests (bayescale.evaluation.holdout, ``bayescale backtest``): split, metrics, JSON contract.

The fast tests replace the NUTS fit by a hand-built posterior (tests/conftest.py) of the very
runs the backtest fits, at the simulation's true parameters; the slow one runs the command end
to end with real NUTS on simulated runs.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from conftest import make_fit

import bayescale.cli as cli
from bayescale import DataError, DataWarning, ScalingLaw, SpecError, get_form, read_runs
from bayescale.data import data_hash
from bayescale.evaluation.holdout import BacktestResult, backtest, holdout_split
from bayescale.model import centred_inputs, reference_scales
from bayescale.simulate import CHINCHILLA_SCALES, simulate_runs

JSON_KEYS = {"families", "median_are", "coverage", "baseline_median_are", "baseline_coverage"}
FAMILY_KEYS = {"family", "are", "covered", "baseline_are", "baseline_covered"}


SIMULATION = {"n_families": 2, "sizes": (2e7, 6e7, 2e8), "seeds": 1, "checkpoints": 5,
              "random_seed": 1}


def simulated(**overrides) -> pd.DataFrame:
    runs, _ = simulate_runs(**{**SIMULATION, **overrides})
    return runs


def true_values(scales) -> dict[str, tuple[float, ...]]:
    """The true chinchilla parameters of each family of ``simulated()``, in the coordinates of
    a fit with reference scales ``scales`` (the simulation's are CHINCHILLA_SCALES): the
    scale-free constants E, A, B, alpha, beta re-expressed at N0, D0 = ``scales``."""
    _, truth = simulate_runs(**SIMULATION)
    form = get_form("chinchilla")
    c = form.derived({k: truth[k].to_numpy() for k in form.parameters}, CHINCHILLA_SCALES, np)
    log_e = np.log(c["E"])
    log_a = np.log(c["A"]) - c["alpha"] * np.log(scales["params"])
    log_b = np.log(c["B"]) - c["beta"] * np.log(scales["tokens"])
    values = {"log_L0": np.logaddexp(np.logaddexp(log_e, log_a), log_b),
              "log_a_over_E": log_a - log_e, "log_b_over_E": log_b - log_e,
              "log_alpha": truth["log_alpha"].to_numpy(), "log_beta": truth["log_beta"].to_numpy()}
    return {k: tuple(float(x) for x in v) for k, v in values.items()}


def test_true_values_are_the_simulated_law_at_any_scales():
    runs, truth = simulate_runs(**SIMULATION)
    form = get_form("chinchilla")
    at_sim = true_values(CHINCHILLA_SCALES)
    for name in form.parameters:
        np.testing.assert_allclose(at_sim[name], truth[name], rtol=1e-12)
    other = {"params": 5e7, "tokens": 3e9}
    for i, family in enumerate(truth["family"]):
        rows = runs[runs["family"] == family]
        np.testing.assert_allclose(
            form.log_loss(centred_inputs(form, rows, other),
                          {k: v[i] for k, v in true_values(other).items()}, np),
            form.log_loss(centred_inputs(form, rows, CHINCHILLA_SCALES),
                          {k: v[i] for k, v in at_sim.items()}, np), rtol=1e-12)


@pytest.fixture
def fake_fit(monkeypatch):
    """ScalingLaw.fit returns a hand-built posterior (no sampling) of the runs it is given: the
    fit stores those runs, their scales and hash, and its draws sit at the simulation's true
    parameters (plus 1% jitter). Records its input."""
    seen = {}

    def fit(self, runs, **kwargs):
        seen["runs"], seen["kwargs"] = runs, kwargs
        values = true_values(reference_scales(self.law_form, runs))
        return make_fit("chinchilla", jitter=0.01, runs=runs, values=values)

    monkeypatch.setattr(ScalingLaw, "fit", fit)
    return seen


def test_holdout_largest_holds_out_each_familys_largest_model():
    runs = read_runs(simulated())
    train, targets = holdout_split(runs)
    assert (train["params"] < 2e8).all() and len(train) == 2 * 2 * 5
    assert len(targets) == 2 and (targets["params"] == 2e8).all()
    final = runs[runs["params"] == 2e8].groupby("run")["tokens"].max()
    assert targets.set_index("run")["tokens"].to_dict() == final.to_dict()


def test_holdout_threshold_and_errors():
    runs = read_runs(simulated())
    train, targets = holdout_split(runs, 5e7)
    assert (train["params"] < 5e7).all() and len(targets) == 4
    with pytest.raises(DataError, match="leaves 0 rows to fit"):
        holdout_split(runs, 1e6)
    with pytest.raises(SpecError, match="holdout"):
        holdout_split(runs, "biggest")
    one_size = runs[(runs["family"] == "fam1") & (runs["params"] == 2e7)]
    mixed = pd.concat([runs[runs["family"] == "fam0"], one_size], ignore_index=True)
    with pytest.warns(DataWarning, match="fam1"):
        _, targets = holdout_split(mixed)
    assert set(targets["family"]) == {"fam0"}


def test_backtest_metrics_and_json_contract(fake_fit):
    result = backtest(simulated(), n_boot=20, random_seed=3, draws=10)
    assert isinstance(result, BacktestResult)
    assert fake_fit["kwargs"]["draws"] == 10 and (fake_fit["runs"]["params"] < 2e8).all()
    train, _ = holdout_split(read_runs(simulated()))
    assert result.fit.idata.attrs["data_sha256"] == data_hash(train)  # a fit of these rows
    t = result.table
    # draws at the true law: the held-out losses are missed by the simulation noise only
    # (sd 1% per row plus 1% per run on log-loss)
    assert t["are"].max() < 0.03 and t["covered"].all(), t
    np.testing.assert_allclose(t["are"], (t["median"] - t["observed"]).abs() / t["observed"])
    np.testing.assert_array_equal(t["covered"],
                                  (t["lower"] <= t["observed"]) & (t["observed"] <= t["upper"]))
    np.testing.assert_allclose(t["baseline_are"], (t["baseline_estimate"] - t["observed"]).abs()
                               / t["observed"])
    d = result.to_dict()
    assert set(d) == JSON_KEYS
    assert [set(f) for f in d["families"]] == [FAMILY_KEYS] * 2
    assert [f["family"] for f in d["families"]] == ["fam0", "fam1"]
    assert d["median_are"] == pytest.approx(t["are"].median())
    assert d["coverage"] == pytest.approx(t["covered"].mean())
    assert d["baseline_median_are"] == pytest.approx(t["baseline_are"].median())
    json.dumps(d)  # plain JSON types
    assert "bayescale: median ARE" in result.text() and "reference" in result.text()


def test_selection_applies_to_training_rows_only(fake_fit):
    result = backtest(simulated(), selection={"min_fraction": 1.0}, baseline=False)
    train = fake_fit["runs"]
    assert train.groupby("run").size().max() == 1  # final checkpoints only
    assert len(result.table) == 2  # targets are still the held-out finals
    d = result.to_dict()
    assert d["baseline_median_are"] is None and d["families"][0]["baseline_are"] is None
    assert result.settings["selection"] == "min_fraction=1"


def test_cli_backtest_json_has_exactly_the_contract_keys(fake_fit, tmp_path, capsys):
    path = tmp_path / "runs.csv"
    simulated().rename(columns={"params": "n"}).to_csv(path, index=False)
    status = cli.main(["backtest", str(path), "--law", "chinchilla", "--holdout", "largest",
                       "--columns", "params=n", "--n-boot", "10", "--max-per-run", "3",
                       "--json"])
    out, err = capsys.readouterr()
    assert status == 0, err
    d = json.loads(out)
    assert set(d) == JSON_KEYS
    assert all(set(f) == FAMILY_KEYS for f in d["families"])
    assert fake_fit["runs"].groupby("run").size().max() == 3
    status = cli.main(["backtest", str(path), "--columns", "params=n", "--n-boot", "5"])
    out, _ = capsys.readouterr()
    assert status == 0 and "median ARE" in out and "diagnostics:" in out


def test_cli_backtest_bad_input(tmp_path, capsys):
    path = tmp_path / "runs.csv"
    simulated().to_csv(path, index=False)
    assert cli.main(["backtest", str(path), "--holdout", "1e3"]) == 2
    assert "leaves 0 rows" in capsys.readouterr().err
    assert cli.main(["backtest", str(tmp_path / "nope.csv")]) == 2
    assert "does not exist" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli.main(["backtest", str(path), "--holdout", "biggest"])
    with pytest.raises(SystemExit):
        cli.main(["backtest", str(path), "--min-fraction", "1.5"])


@pytest.mark.slow
def test_backtest_command_end_to_end(tmp_path, capsys):
    """Real NUTS, small: three families of simulated curves, the largest size held out (in-process;
    tests/test_cli.py checks the --json stdout contract in a subprocess)."""
    path = tmp_path / "runs.csv"
    simulated(n_families=3, sizes=(3e7, 1e8, 3e8, 1e9), random_seed=5).to_csv(path, index=False)
    status = cli.main(["backtest", str(path), "--law", "chinchilla", "--holdout", "largest",
                       "--draws", "300", "--tune", "300", "--chains", "2", "--n-boot", "20",
                       "--json"])
    out, err = capsys.readouterr()
    assert status == 0, err
    d = json.loads(out)
    assert set(d) == JSON_KEYS and len(d["families"]) == 3
    assert all(set(f) == FAMILY_KEYS for f in d["families"])
    # simulated from the law with 1% noise: a 3.3x extrapolation in N is accurate
    assert d["median_are"] < 0.03 and d["coverage"] >= 2 / 3


def test_held_out_checkpoint_check(fake_fit):
    runs = simulated()
    result = backtest(runs, baseline=False, checkpoints=True, selection={"min_fraction": 0.5})
    c = result.checkpoints
    held = runs[runs["params"] == 2e8]
    final = held.groupby("run")["tokens"].transform("max")
    assert len(c) == int((held["tokens"] >= 0.5 * final).sum())  # same cut as training rows
    np.testing.assert_array_equal(c["covered"],
                                  (c["lower"] <= c["observed"]) & (c["observed"] <= c["upper"]))
    assert np.isfinite(c["log_score"]).all()
    s = result.checkpoint_summary()
    assert s["rows"] == len(c) and s["coverage"] == pytest.approx(c["covered"].mean())
    assert backtest(runs, baseline=False).checkpoint_summary() is None
