"""Build the PyMC model of a hierarchical scaling law; nothing else happens here.

The model, for row i of family f(i) and run r(i):

    log loss_i ~ StudentT(nu, mu_i, sigma)          (or Normal(mu_i, sigma))
    mu_i = law.log_loss(x_i, theta[f(i)]) + delta[r(i)]
    delta[r] ~ Normal(0, sigma_run)                  (only when run effects are on)

with every law parameter ``theta`` pooled across families as described in
:mod:`bayescale.priors`, and inputs centred: ``x_i = log(input_i / reference scale)``.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
import pymc as pm
import pytensor.tensor as pt

from bayescale.forms import Form
from bayescale.priors import ParamPrior

SIGMA_PRIOR = 0.1  # HalfNormal scale of the residual sd on log-loss
SIGMA_RUN_PRIOR = 0.05  # HalfNormal scale of the run-to-run sd on log-loss
NU_GAMMA = (2.0, 0.1)  # nu - 2 ~ Gamma(alpha, beta): mean 20, keeps nu > 2


def reference_scales(form: Form, runs: pd.DataFrame) -> dict[str, float]:
    """Reference scale of each input: the geometric median of its distinct values, 1 digit.

    Returns a dict input -> scale (N0 in parameters, D0 in tokens, C0 in FLOPs).
    """
    scales = {}
    for name in form.inputs:
        values = np.unique(runs[name].to_numpy(dtype=float))
        scales[name] = float(f"{float(np.exp(np.median(np.log(values)))):.1g}")
    return scales


def centred_inputs(form: Form, table: pd.DataFrame, scales: Mapping[str, float]) -> dict:
    """``log(input / scale)`` for each input of the law, as float64 arrays."""
    return {
        name: np.log(table[name].to_numpy(dtype=float)) - np.log(scales[name])
        for name in form.inputs
    }


def use_run_effect(runs: pd.DataFrame, setting: bool | str) -> bool:
    """Decide whether runs get their own offsets.

    ``"auto"`` turns them on when some (family, params) size has several runs (seeds) and runs
    have several rows (checkpoints); otherwise a run offset is confounded with the law or noise.
    """
    if setting != "auto":
        return bool(setting)
    runs_per_size = runs.groupby(["family", "params"])["run"].nunique()
    rows_per_run = runs.groupby("run").size()
    return bool(runs_per_size.max() > 1 and rows_per_run.median() >= 2)


def family_parameter(name: str, prior: ParamPrior, pooling: str, n_families: int):
    """Create the per-family vector of one law parameter under the chosen pooling."""
    pooling = prior.pooling or pooling
    if pooling == "partial" and n_families == 1:
        pooling = "complete"
    if pooling == "none":
        return pm.Normal(name, prior.mu, prior.sigma, dims="family")
    mu = pm.Normal(f"{name}_mu", prior.mu, prior.sigma)
    if pooling == "complete":
        return pm.Deterministic(name, pt.repeat(mu, n_families), dims="family")
    tau = pm.Gamma(f"{name}_tau", alpha=2.0, beta=1.0 / prior.tau)
    if prior.centered:
        return pm.Normal(name, mu, tau, dims="family")
    z = pm.Normal(f"{name}_z", 0.0, 1.0, dims="family")
    return pm.Deterministic(name, mu + tau * z, dims="family")


def run_offsets(runs: pd.DataFrame):
    """Offsets of runs on log-loss: ``delta[r] ~ Normal(0, sigma_run)``.

    They make the rows of one run share a shift (seed noise), so the run, not the row, is the
    unit of replication when the law is fitted across sizes. Runs with many checkpoints pin
    their own offset, and a centred offset samples best; otherwise non-centred.
    """
    sigma_run = pm.HalfNormal("sigma_run", SIGMA_RUN_PRIOR)
    if runs.groupby("run").size().median() >= 10:
        return pm.Normal("run_offset", 0.0, sigma_run, dims="run")
    z = pm.Normal("run_offset_z", 0.0, 1.0, dims="run")
    return pm.Deterministic("run_offset", sigma_run * z, dims="run")


def build_model(
    form: Form,
    runs: pd.DataFrame,
    *,
    priors: Mapping[str, ParamPrior],
    likelihood: str,
    pooling: str,
    run_effect: bool,
    scales: Mapping[str, float],
) -> pm.Model:
    """Build the PyMC model of ``form`` on the canonical run table ``runs``.

    Parameters
    ----------
    form : Form
        The law.
    runs : DataFrame
        Canonical run table (see :func:`bayescale.data.read_runs`).
    priors : mapping
        A :class:`ParamPrior` for every law parameter.
    likelihood : {"student_t", "normal"}
        Likelihood of log-loss.
    pooling : {"partial", "complete", "none"}
        How law parameters are shared across families.
    run_effect : bool
        Whether each run gets an offset on log-loss.
    scales : mapping
        Reference scale of each input (N0 in parameters, D0 in tokens, C0 in FLOPs).
    """
    families = pd.Index(sorted(runs["family"].unique()))
    family_idx = families.get_indexer(runs["family"])
    coords = {"family": families.to_numpy(), "obs": np.arange(len(runs))}
    if run_effect:
        run_names = pd.Index(sorted(runs["run"].unique()))
        coords["run"] = run_names.to_numpy()
        run_idx = run_names.get_indexer(runs["run"])
    x = centred_inputs(form, runs, scales)
    with pm.Model(coords=coords) as model:
        theta = {
            name: family_parameter(name, priors[name], pooling, len(families))
            for name in form.parameters
        }
        p = {name: value[family_idx] for name, value in theta.items()}
        mu = form.log_loss(x, p, pt)
        if run_effect:
            mu = mu + run_offsets(runs)[run_idx]
        sigma = pm.HalfNormal("sigma", SIGMA_PRIOR)
        observed = np.log(runs["loss"].to_numpy(dtype=float))
        if likelihood == "student_t":
            nu_minus_two = pm.Gamma("nu_minus_two", *NU_GAMMA)
            nu = pm.Deterministic("nu", nu_minus_two + 2.0)
            pm.StudentT("log_loss", nu=nu, mu=mu, sigma=sigma, observed=observed, dims="obs")
        else:
            pm.Normal("log_loss", mu=mu, sigma=sigma, observed=observed, dims="obs")
    return model
