"""Tests for bayescale.priors and law specifications, plus a prior predictive check on real runs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import law_prior_draws

from bayescale import ParamPrior, ScalingLaw, SpecError, get_form, read_runs
from bayescale.model import centred_inputs, reference_scales

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
GADRE = DATA / "gadre_overtrain" / "runs.csv"
HITCHHIKER = DATA / "hitchhiker_colpret" / "lm_loss_curves.csv"


# ---------------------------------------------------------------- ParamPrior


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"sigma": 0.0}, "sigma=0.0"),
        ({"sigma": -1.0}, "sigma=-1.0"),
        ({"tau": 0.0}, "tau=0.0"),
        ({"tau": -0.5}, "tau=-0.5"),
        ({"tau": float("nan")}, "tau=nan"),
        ({"pooling": "total"}, "'total'"),
    ],
)
def test_param_prior_validation(kwargs, match):
    with pytest.raises(SpecError, match=match):
        ParamPrior(**{"mu": 0.0, "sigma": 1.0, "tau": 0.1, **kwargs})


def test_param_prior_round_trip():
    prior = ParamPrior(mu=-1.2, sigma=0.4, tau=0.05, centered=True, pooling="none")
    data = prior.to_dict()
    assert data == {"mu": -1.2, "sigma": 0.4, "tau": 0.05, "centered": True, "pooling": "none"}
    assert ParamPrior.from_dict(data) == prior


def test_param_prior_unknown_keys():
    with pytest.raises(SpecError, match="scale"):
        ParamPrior.from_dict({"mu": 0.0, "sigma": 1.0, "tau": 0.1, "scale": 2.0})


# ---------------------------------------------------------------- ScalingLaw specification


def test_law_errors_are_collected_in_one_error():
    with pytest.raises(SpecError) as err:
        ScalingLaw(form="kaplanish", likelihood="cauchy", pooling="full", run_effect="maybe")
    message = str(err.value)
    for name in ("kaplanish", "cauchy", "full", "maybe"):
        assert name in message


def test_prior_for_unknown_parameter_and_bad_prior():
    with pytest.raises(SpecError) as err:
        ScalingLaw(
            likelihood="laplace",
            priors={"gamma": ParamPrior(0.0, 1.0, 0.1), "log_alpha": {"mu": 0, "sigma": -1,
                                                                     "tau": 0.1}},
        )
    message = str(err.value)
    assert "'gamma'" in message and "log_alpha" in message and "laplace" in message
    assert "sigma=-1" in message


def test_prior_overrides_from_dicts():
    law = ScalingLaw(priors={"log_beta": {"mu": -1.0, "sigma": 0.2, "tau": 0.05}})
    assert law.full_priors()["log_beta"] == ParamPrior(mu=-1.0, sigma=0.2, tau=0.05)
    assert law.full_priors()["log_alpha"] == get_form("chinchilla").default_priors["log_alpha"]
    assert ScalingLaw.from_dict(law.to_dict()).to_dict() == law.to_dict()


# ---------------------------------------------------------------- prior predictive on real data


def _gadre() -> pd.DataFrame:
    table = pd.read_csv(GADRE)
    return read_runs(table, columns={"loss": "loss_c4_val", "family": "dataset",
                                     "run": "run_name"})


def _hitchhiker() -> pd.DataFrame:
    table = pd.read_csv(HITCHHIKER)
    table = table[table["metric_kind"] == "loss"]
    table = table.assign(run=table["model_name"] + "|" + table["metric"])
    table = table[["family", "run", "params", "tokens", "value"]].drop_duplicates()
    return read_runs(table, columns={"loss": "value"})


@pytest.mark.parametrize("law", ["chinchilla", "compute"])
@pytest.mark.parametrize("dataset", ["gadre", "hitchhiker"])
def test_prior_predictive_covers_real_losses(law, dataset):
    path = GADRE if dataset == "gadre" else HITCHHIKER
    if not path.is_file():
        pytest.skip(f"{path} not available")
    runs = _gadre() if dataset == "gadre" else _hitchhiker()
    form = get_form(law)
    scales = reference_scales(form, runs)
    unique, at_row = np.unique(runs[list(form.inputs)].to_numpy(dtype=float), axis=0,
                               return_inverse=True)
    x = centred_inputs(form, pd.DataFrame(unique, columns=list(form.inputs)), scales)
    p = law_prior_draws(law, 2000, 20241)
    log_loss = form.log_loss({k: v[None, :] for k, v in x.items()},
                             {k: v[:, None] for k, v in p.items()}, np)
    low, median, high = np.quantile(log_loss, [0.005, 0.5, 0.995], axis=0)
    observed = np.log(runs["loss"].to_numpy())
    inside = np.mean((observed >= low[at_row]) & (observed <= high[at_row]))
    median_loss = np.exp(median[at_row])
    plausible = np.mean((median_loss >= 1.0) & (median_loss <= 10.0))
    assert len(runs) > 100
    print(f"{law}/{dataset}: {inside:.2%} inside, median 1-10 nats at {plausible:.2%}")
    assert inside >= 0.95, f"{law} on {dataset}: only {inside:.1%} of losses inside 99% range"
    assert plausible >= 0.90, f"{law} on {dataset}: median in 1-10 nats at {plausible:.1%} rows"
