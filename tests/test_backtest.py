"""Backtests (bayescale.evaluation.holdout, ``bayescale backtest``): split, metrics and the JSON contract.

The fast tests replace the NUTS fit by the hand-built posterior of tests/conftest.py (families
fam0 and fam1); the slow one runs the command end to end with real NUTS on simulated runs.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from conftest import make_fit

import bayescale.cli as cli
from bayescale import DataError, DataWarning, ScalingLaw, SpecError, read_runs
from bayescale.evaluation.holdout import BacktestResult, backtest, holdout_split
from bayescale.simulate import simulate_runs

JSON_KEYS = {"families", "median_are", "coverage", "baseline_median_are", "baseline_coverage"}
FAMILY_KEYS = {"family", "are", "covered", "baseline_are", "baseline_covered"}


def simulated(n_families=2, sizes=(2e7, 6e7, 2e8), seed=1) -> pd.DataFrame:
    runs, _ = simulate_runs(n_families=n_families, sizes=sizes, seeds=1, checkpoints=5,
                            random_seed=seed)
    return runs


@pytest.fixture
def fake_fit(monkeypatch):
    """ScalingLaw.fit returns the hand-built posterior (no sampling); records its input."""
    seen = {}

    def fit(self, runs, **kwargs):
        seen["runs"], seen["kwargs"] = runs, kwargs
        return make_fit("chinchilla", jitter=0.01)

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
    t = result.table
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
    simulated(n_families=3, sizes=(3e7, 1e8, 3e8, 1e9), seed=5).to_csv(path, index=False)
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
