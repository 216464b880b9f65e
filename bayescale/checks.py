"""Model checks as numbers: posterior and prior predictive draws at the observed rows, residuals.

The figures of :mod:`bayescale.plots` draw these; nothing here plots. Predictive draws come
from the PyMC model itself (:func:`bayescale.model.build_model`): ``pm.sample_prior_predictive``
and ``pm.sample_posterior_predictive``, so they follow any change to the model.

Replicates of a row are drawn from its *marginal* predictive distribution,

    log loss_rep = log L(x_i; theta_f) + delta_r + sigma * eps,   eps ~ StudentT(nu) (or Normal)

with the fitted run offset ``delta_r`` of the row's run when the fit has run effects: the
model's ``log_loss`` with iid residuals. With AR(1) residuals the model's ``log_loss`` is
conditional on the *observed* previous checkpoint (one-step-ahead, not a replicate), so the
replicate is drawn from the iid version of the same model: every checkpoint keeps the marginal
scale ``sigma`` (exactly so for a normal likelihood and for a run's first checkpoint; see
:mod:`bayescale.model`), so each row's replicate has the right spread, but the correlation
along a run is not reproduced: use the residual plot (:func:`residual_table`) to see it.
"""

from __future__ import annotations

import contextlib
import logging

import numpy as np
import pandas as pd
import pymc as pm

from bayescale import _defaults
from bayescale.exceptions import SpecError
from bayescale.model import build_model, centred_inputs, reference_scales, use_run_effect
from bayescale.prediction import KINDS, loss_draws, thinned_posterior


@contextlib.contextmanager
def _quiet_forward_sampling():
    """Hold back PyMC's INFO line "Sampling: [...]" of one predictive call (it would print on
    stderr for every check and figure); the logger's own level is restored afterwards."""
    logger = logging.getLogger("pymc.sampling.forward")
    level = logger.level
    logger.setLevel(max(level, logging.WARNING))
    try:
        yield
    finally:
        logger.setLevel(level)

def law_model(law, runs: pd.DataFrame, *, scales, run_effect: bool,
              residuals: str = "iid") -> pm.Model:
    """The PyMC model of ``law`` (a :class:`bayescale.ScalingLaw`) on the run table ``runs``."""
    return build_model(law.law_form, runs, priors=law.full_priors(), likelihood=law.likelihood,
                       pooling=law.pooling, run_effect=run_effect, scales=scales,
                       residuals=residuals)


def fit_model(fit, runs: pd.DataFrame | None = None, *, residuals: str | None = None):
    """The PyMC model a fit was sampled from (its law, scales and run effect), on ``runs``.

    ``runs`` defaults to the fitted table; ``residuals`` to the fit's residual model.
    """
    return law_model(fit.law, fit.runs if runs is None else runs, scales=fit.scales,
                     run_effect=fit.run_effect,
                     residuals=fit.residuals if residuals is None else residuals)


def _samples(values) -> np.ndarray:
    """(chain, draw, ...) draws of a DataArray flattened to (samples, ...)."""
    return np.asarray(values).reshape(-1, *values.shape[2:])


def posterior_predictive_draws(
    fit,
    *,
    max_draws: int | None = 400,
    random_seed: int = 0,
) -> np.ndarray:
    """Replicated losses (nats/token) at every observed row, shape (samples, rows).

    Row order is ``fit.runs``. Each row is drawn from its marginal posterior predictive (the
    law of its family, its run's fitted offset when the fit has run effects, and the
    likelihood's noise; see the module docstring) with ``pm.sample_posterior_predictive`` on
    the fit's model with iid residuals. ``max_draws`` thins the posterior evenly.
    """
    posterior = thinned_posterior(fit, max_draws)
    with fit_model(fit, residuals="iid"), _quiet_forward_sampling():
        replicate = pm.sample_posterior_predictive(
            posterior, var_names=["log_loss"], random_seed=np.random.default_rng([random_seed, 2]),
            progressbar=False, return_inferencedata=False)
    return np.exp(_samples(replicate["log_loss"]))


def residual_table(fit, *, max_draws: int | None = 400) -> pd.DataFrame:
    """Residuals of log-loss around each family's posterior median law, one row per data row.

    Returns the run table's ``family``, ``run``, ``params``, ``tokens``, ``flops``, ``loss``
    plus ``fitted`` (posterior median of the family's mean curve, nats/token) and ``residual``
    = log(loss) - log(fitted). Run offsets are *not* removed: a run that sits above the law
    shows as a shifted line, and correlated checkpoints as a smooth one.
    """
    runs = fit.runs
    fitted = np.empty(len(runs))
    for family in fit.families:
        where = np.flatnonzero(runs["family"].to_numpy() == family)
        draws = loss_draws(fit, runs.iloc[where], family=family, kind="mean",
                           max_draws=max_draws)
        fitted[where] = np.median(draws, axis=0)
    keep = [c for c in ("family", "run", "params", "tokens", "flops", "loss") if c in runs]
    table = runs[keep].copy()
    table["fitted"] = fitted
    table["residual"] = np.log(table["loss"].to_numpy()) - np.log(fitted)
    return table


def lag1_autocorrelation(table: pd.DataFrame) -> float:
    """Correlation of consecutive residuals within runs (rows in token order), pooled.

    ``table`` is a :func:`residual_table`. NaN when no run has two rows. Near 0: checkpoints
    scatter independently; near 1: a run's checkpoints move together (one curve, not new runs).
    """
    pairs = []
    for _, rows in table.sort_values("tokens").groupby("run", sort=False):
        r = rows["residual"].to_numpy()
        if r.size >= 2:
            pairs.append(np.column_stack([r[:-1], r[1:]]))
    if not pairs:
        return float("nan")
    both = np.concatenate(pairs)
    both = both - both.mean(axis=0)
    denom = np.sqrt((both[:, 0] ** 2).sum() * (both[:, 1] ** 2).sum())
    return float((both[:, 0] * both[:, 1]).sum() / denom) if denom > 0 else float("nan")


def pit_values(observed: np.ndarray, draws: np.ndarray) -> np.ndarray:
    """Probability integral transform: share of draws at or below each observed value.

    ``draws`` has shape (samples, rows). A calibrated model gives uniform PIT values; a pile at
    0 and 1 means intervals too narrow, a hump in the middle too wide. Ties count one half.
    """
    below = (draws < observed[None, :]).mean(axis=0)
    equal = (draws == observed[None, :]).mean(axis=0)
    return below + 0.5 * equal


def _prior_sample(law, runs: pd.DataFrame, draws: int, random_seed: int) -> dict:
    form = law.law_form
    model = law_model(law, runs, scales=reference_scales(form, runs),
                      run_effect=use_run_effect(runs, law.run_effect))
    with model, _quiet_forward_sampling():
        sample = pm.sample_prior_predictive(
            draws=draws, var_names=[*form.parameters, "log_loss"],
            random_seed=np.random.default_rng([random_seed, 3]), return_inferencedata=False)
    return {name: np.asarray(value) for name, value in sample.items()}  # (draws, ...)


def prior_parameter_draws(law, runs: pd.DataFrame, *, draws: int = 500,
                          random_seed: int = 0) -> dict[str, np.ndarray]:
    """Law parameters of every family of ``runs`` drawn from the law's priors, shape
    (draws, families), families in sorted order: ``pm.sample_prior_predictive`` on the model
    of ``law`` on ``runs`` (the hierarchy of :func:`bayescale.model.family_parameter`).
    """
    sample = _prior_sample(law, runs, draws, random_seed)
    return {name: sample[name] for name in law.law_form.parameters}


def prior_predictive_draws(
    law,
    runs: pd.DataFrame,
    *,
    draws: int = 500,
    kind: str = "predictive",
    random_seed: int = 0,
) -> np.ndarray:
    """Losses (nats/token) at every row of ``runs`` drawn from the priors, shape (draws, rows).

    ``law`` is a :class:`bayescale.ScalingLaw`, ``runs`` a canonical run table
    (:func:`bayescale.read_runs`). ``pm.sample_prior_predictive`` on the model of ``law`` on
    ``runs`` (iid residuals: each row's marginal, see the module docstring): with
    ``kind="predictive"`` the model's ``log_loss`` (law, run offsets when run effects would be
    on, the likelihood's noise); ``kind="mean"`` is the law alone at the same parameter draws.
    """
    if kind not in KINDS:
        raise SpecError(f"unknown kind {kind!r}; choose one of {', '.join(KINDS)}")
    sample = _prior_sample(law, runs, draws, random_seed)
    if kind == "predictive":
        return np.exp(sample["log_loss"])
    form = law.law_form
    families = pd.Index(sorted(runs["family"].unique()))
    at = families.get_indexer(runs["family"])
    scales = reference_scales(form, runs)
    x = centred_inputs(form, runs, scales)
    return np.exp(form.log_loss({k: v[None, :] for k, v in x.items()},
                                {k: sample[k][:, at] for k in form.parameters}, np))


def interval_coverage(observed: np.ndarray, draws: np.ndarray, *,
                      prob: float = _defaults.CI_PROB) -> float:
    """Share of observed values inside the equal-tailed ``prob`` interval of their draws."""
    tail = (1 - prob) / 2
    lower, upper = np.quantile(draws, [tail, 1 - tail], axis=0)
    return float(np.mean((observed >= lower) & (observed <= upper)))
