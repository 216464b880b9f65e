"""Build the PyMC model of a hierarchical scaling law; nothing else happens here.

The model, for row i of family f(i) and run r(i):

    log loss_i = mu_i + e_i,   mu_i = law.log_loss(x_i, theta[f(i)]) + delta[r(i)]
    delta[r] ~ Normal(0, sigma_run)                  (only when run effects are on)

with every law parameter ``theta`` pooled across families as described in
:mod:`bayescale.priors`, and inputs centred: ``x_i = log(input_i / reference scale)``.

The residuals ``e_i`` on log-loss are either independent (``residuals="iid"``):

    e_i ~ StudentT(nu, 0, sigma)                     (or Normal(0, sigma))

or, for the checkpoints of one run, an AR(1) process along log-tokens (``residuals="ar1"``):
with the run's checkpoints in token order and ``t_i = log D_i`` (D in tokens),

    e_first ~ StudentT(nu, 0, sigma)
    e_i | e_prev ~ StudentT(nu, rho_i e_prev, sigma sqrt(1 - rho_i^2)),
    rho_i = exp(-(t_i - t_prev) / corr_length)

a continuous-time AR(1) (Ornstein-Uhlenbeck) process sampled at the checkpoints: every
checkpoint has the same marginal scale ``sigma``, and two checkpoints ``k`` e-folds of tokens
apart are correlated by ``exp(-k / corr_length)`` whatever lies between them. A run's curve
therefore carries the information of about (its log-token span / corr_length) independent
points, however densely it is checkpointed; with iid residuals every checkpoint counts as a new
point and intervals shrink like one over the square root of the number of checkpoints.
A prediction for one checkpoint (a run's final loss) is unchanged: on its own it scatters
around the law with scale ``sigma`` (exactly ``StudentT(nu, 0, sigma)`` for a run's first
checkpoint, and for every checkpoint with a normal likelihood). The correlation length has a
prior that keeps it near one e-fold of tokens (see ``CORR_LENGTH_PRIOR``).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping

import numpy as np
import pandas as pd
import pymc as pm
import pytensor.tensor as pt

from bayescale import _defaults
from bayescale.exceptions import DataError, DataWarning
from bayescale.forms import Form
from bayescale.priors import ParamPrior

SIGMA_PRIOR = _defaults.SIGMA_PRIOR  # HalfNormal scale of the residual sd on log-loss
SIGMA_RUN_PRIOR = _defaults.SIGMA_RUN_PRIOR  # HalfNormal scale of the run-to-run sd on log-loss
NU_GAMMA = _defaults.NU_GAMMA  # nu - 2 ~ Gamma(alpha, beta): mean 20, keeps nu > 2
#: log corr_length ~ Normal(mu, sigma), see :data:`bayescale._defaults.CORR_LENGTH_PRIOR`.
CORR_LENGTH_PRIOR = _defaults.CORR_LENGTH_PRIOR
RESIDUALS = _defaults.RESIDUALS


def reference_scales(form: Form, runs: pd.DataFrame) -> dict[str, float]:
    """Reference scale of each input: the geometric median of its distinct values, 1 digit.

    Returns a dict input -> scale (N0 in parameters, D0 in tokens, C0 in FLOPs, ...).
    ``unique_tokens`` (U) is centred at the scale of ``tokens`` (D0), so that a law can form
    the number of epochs ``D / U`` as ``x["tokens"] - x["unique_tokens"]``; ``lr_anneal_area``
    (which may be 0) takes the geometric median of its positive values (1 if none is).
    """
    scales = {}
    for name in form.inputs:
        source = "tokens" if name == "unique_tokens" else name
        values = np.unique(runs[source].to_numpy(dtype=float))
        values = values[values > 0]
        if values.size == 0:
            scales[name] = 1.0
            continue
        scales[name] = float(f"{float(np.exp(np.median(np.log(values)))):.1g}")
    return scales


def centred_inputs(form: Form, table: pd.DataFrame, scales: Mapping[str, float]) -> dict:
    """``log(input / scale)`` for each input of the law, as float64 arrays.

    An input that may be zero (``lr_anneal_area``) gives ``-inf`` there; laws use it only
    through ``exp``, which maps it back to 0.
    """
    with np.errstate(divide="ignore"):
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


def use_ar1(runs: pd.DataFrame, setting: str) -> bool:
    """Decide whether residuals are AR(1) along each run's log-tokens.

    ``"auto"`` picks AR(1) for checkpoint data (the median run has at least 3 rows), where the
    checkpoints of a run are one training curve, not independent points; iid otherwise. A run
    with two rows at the same token count cannot be ordered: "auto" then falls back to iid with
    a :class:`DataWarning` naming the rows (``"ar1"`` raises, see :func:`checkpoint_order`).
    """
    if setting != "auto":
        return setting == "ar1"
    if not runs.groupby("run").size().median() >= 3:
        return False
    try:
        checkpoint_order(runs)
    except DataError as err:
        warnings.warn(f"{err}; fitting iid residuals instead", DataWarning, stacklevel=3)
        return False
    return True


def checkpoint_order(runs: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Previous checkpoint of each row within its run, and the log-token step to it.

    Returns ``(previous, step)``: ``previous[i]`` is the position of the row before ``i`` in
    its run (token order), or ``i`` itself for a run's first row; ``step[i]`` is
    ``log D_i - log D_previous`` (0 for first rows), D in tokens.

    Raises
    ------
    DataError
        If a run has two rows at the same token count: an AR(1) along tokens cannot place
        them (average them, thin with ``bayescale.checkpoints.select_checkpoints``, or use
        ``residuals="iid"``).
    """
    log_tokens = np.log(runs["tokens"].to_numpy(dtype=float))
    order = np.lexsort((log_tokens, runs["run"].to_numpy(dtype=str)))
    run_sorted = runs["run"].to_numpy(dtype=str)[order]
    same_run = np.r_[False, run_sorted[1:] == run_sorted[:-1]]
    previous = np.arange(len(runs))
    previous[order[1:]] = np.where(same_run[1:], order[:-1], order[1:])
    step = log_tokens - log_tokens[previous]
    clash = same_run & (np.r_[1.0, np.diff(log_tokens[order])] <= 0)
    if clash.any():
        rows = runs["row"].to_numpy() if "row" in runs else np.arange(len(runs))
        bad = sorted(int(rows[order[i]]) for i in np.flatnonzero(clash)[:5])
        raise DataError(
            f"column 'tokens': runs with two checkpoints at the same token count (rows "
            f"{', '.join(map(str, bad))}); AR(1) residuals along tokens need distinct tokens "
            "within a run: average or drop them, thin the checkpoints "
            "(select_checkpoints(max_per_run=...)), or use residuals='iid'"
        )
    return previous, step


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
    residuals: str = "iid",
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
    residuals : {"iid", "ar1"}
        Independent residuals, or AR(1) along each run's log-tokens (see the module docstring).
    """
    families = pd.Index(sorted(runs["family"].unique()))
    family_idx = families.get_indexer(runs["family"])
    coords = {"family": families.to_numpy(), "obs": np.arange(len(runs))}
    if run_effect:
        run_names = pd.Index(sorted(runs["run"].unique()))
        coords["run"] = run_names.to_numpy()
        run_idx = run_names.get_indexer(runs["run"])
    x = centred_inputs(form, runs, scales)
    if residuals == "ar1":
        previous, step = checkpoint_order(runs)
        first = previous == np.arange(len(runs))
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
        if residuals == "ar1":
            log_length = pm.Normal("log_corr_length", *CORR_LENGTH_PRIOR)
            pm.Deterministic("corr_length", pt.exp(log_length))
            # rho = exp(-step / length); 1 - rho^2 = -expm1(-2 step / length), exact near 1
            scaled = np.where(first, 1.0, step) * pt.exp(-log_length)
            rho = pt.where(first, 0.0, pt.exp(-scaled))
            innovation = pt.where(first, 1.0, pt.sqrt(-pt.expm1(-2.0 * scaled)))
            mu = mu + rho * (observed[previous] - mu[previous])
            sigma = sigma * innovation
        if likelihood == "student_t":
            nu_minus_two = pm.Gamma("nu_minus_two", *NU_GAMMA)
            nu = pm.Deterministic("nu", nu_minus_two + 2.0)
            pm.StudentT("log_loss", nu=nu, mu=mu, sigma=sigma, observed=observed, dims="obs")
        else:
            pm.Normal("log_loss", mu=mu, sigma=sigma, observed=observed, dims="obs")
    return model
