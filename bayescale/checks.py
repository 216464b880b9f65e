"""Model checks as numbers: posterior and prior predictive draws at the observed rows, residuals.

The figures of :mod:`bayescale.plots` draw these; nothing here plots. Everything works with
numpy on posterior (or prior) draws of the law's parameters: no model is rebuilt, nothing is
resampled with NUTS.

Replicates of a row are drawn from its *marginal* predictive distribution,

    log loss_rep = log L(x_i; theta_f) + delta_r + sigma * eps,   eps ~ StudentT(nu) (or Normal)

with the fitted run offset ``delta_r`` of the row's run when the fit has run effects. With AR(1)
residuals every checkpoint keeps the marginal scale ``sigma`` (see :mod:`bayescale.model`), so
each row's replicate has the right spread, but the correlation along a run is not reproduced:
use the residual plot (:func:`residual_table`) to see that correlation.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from bayescale import _defaults
from bayescale.model import (
    NU_GAMMA,
    SIGMA_PRIOR,
    SIGMA_RUN_PRIOR,
    centred_inputs,
    reference_scales,
    use_run_effect,
)
from bayescale.prediction import draws_of, family_parameter_draws, loss_draws


def _thinned_posterior(fit, max_draws: int | None):
    posterior = fit.idata["posterior"].to_dataset()
    if max_draws is not None:
        step = -(-posterior.sizes["chain"] * posterior.sizes["draw"] // max_draws)
        posterior = posterior.isel(draw=slice(None, None, step))
    return posterior


def _law_log_loss(form, rows: pd.DataFrame, params: dict[str, np.ndarray], scales) -> np.ndarray:
    """log L at ``rows`` for parameter draws of shape (samples,): (samples, rows)."""
    x = centred_inputs(form, rows, scales)
    return form.log_loss({k: v[None, :] for k, v in x.items()},
                         {k: v[:, None] for k, v in params.items()}, np)


def _noise(rng, shape, sigma, nu, likelihood):
    if likelihood == "student_t":
        return sigma * rng.standard_t(nu, size=shape)
    return sigma * rng.standard_normal(shape)


def posterior_predictive_draws(
    fit,
    *,
    max_draws: int | None = 400,
    random_seed: int = 0,
) -> np.ndarray:
    """Replicated losses (nats/token) at every observed row, shape (samples, rows).

    Row order is ``fit.runs``. Each row is drawn from its marginal posterior predictive (the
    law of its family, its run's fitted offset when the fit has run effects, and the
    likelihood's noise; see the module docstring). ``max_draws`` thins the posterior evenly.
    """
    posterior = _thinned_posterior(fit, max_draws)
    runs = fit.runs
    log_mu = np.empty((posterior.sizes["chain"] * posterior.sizes["draw"], len(runs)))
    for family in fit.families:
        where = np.flatnonzero(runs["family"].to_numpy() == family)
        p = family_parameter_draws(posterior, fit.form, family=family)
        log_mu[:, where] = _law_log_loss(fit.form, runs.iloc[where], p, fit.scales)
    if fit.run_effect and "run_offset" in posterior:
        names = [str(r) for r in posterior["run"].to_numpy()]
        index = pd.Index(names).get_indexer(runs["run"].astype(str))
        log_mu = log_mu + draws_of(posterior, "run_offset")[:, index]
    rng = np.random.default_rng([random_seed, 2])
    sigma = draws_of(posterior, "sigma")[:, None]
    nu = draws_of(posterior, "nu")[:, None] if "nu" in posterior else None
    return np.exp(log_mu + _noise(rng, log_mu.shape, sigma, nu, fit.law.likelihood))


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


def prior_parameter_draws(law, n_families: int, n: int, rng) -> dict[str, np.ndarray]:
    """Law parameters of ``n_families`` families drawn from the law's priors, shape (n, fam).

    Exactly the hierarchy of :func:`bayescale.model.family_parameter`: population mean
    ``Normal(mu, sigma)``; with partial pooling a spread ``Gamma(2, 1/tau)`` (scale ``tau``)
    and ``mu + spread * z``; complete pooling shares the mean; no pooling draws each family
    from ``Normal(mu, sigma)``.
    """
    out = {}
    for name, prior in law.full_priors().items():
        pooling = prior.pooling or law.pooling
        if pooling == "partial" and n_families == 1:
            pooling = "complete"
        if pooling == "none":
            out[name] = rng.normal(prior.mu, prior.sigma, (n, n_families))
            continue
        mu = rng.normal(prior.mu, prior.sigma, (n, 1))
        if pooling == "complete":
            out[name] = np.repeat(mu, n_families, axis=1)
        else:
            tau = rng.gamma(2.0, prior.tau, (n, 1))
            out[name] = mu + tau * rng.standard_normal((n, n_families))
    return out


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
    (:func:`bayescale.read_runs`). Parameters come from :func:`prior_parameter_draws`;
    ``kind="predictive"`` adds, as the model does, a run offset ``Normal(0, sigma_run)``
    (``sigma_run ~ HalfNormal``) when run effects would be on, and the likelihood's noise with
    ``sigma ~ HalfNormal``, ``nu = 2 + Gamma(2, rate 0.1)``. ``kind="mean"`` is the law alone.
    """
    from bayescale.exceptions import SpecError
    from bayescale.prediction import KINDS

    if kind not in KINDS:
        raise SpecError(f"unknown kind {kind!r}; choose one of {', '.join(KINDS)}")
    rng = np.random.default_rng([random_seed, 3])
    form = law.law_form
    families = sorted(runs["family"].unique())
    scales = reference_scales(form, runs)
    p = prior_parameter_draws(law, len(families), draws, rng)
    log_loss = np.empty((draws, len(runs)))
    for i, family in enumerate(families):
        where = np.flatnonzero(runs["family"].to_numpy() == family)
        log_loss[:, where] = _law_log_loss(form, runs.iloc[where],
                                           {k: v[:, i] for k, v in p.items()}, scales)
    if kind == "mean":
        return np.exp(log_loss)
    if use_run_effect(runs, law.run_effect):
        names, index = np.unique(runs["run"].astype(str).to_numpy(), return_inverse=True)
        sigma_run = np.abs(rng.normal(0.0, SIGMA_RUN_PRIOR, (draws, 1)))
        log_loss = log_loss + (sigma_run * rng.standard_normal((draws, names.size)))[:, index]
    sigma = np.abs(rng.normal(0.0, SIGMA_PRIOR, (draws, 1)))
    nu = 2.0 + rng.gamma(NU_GAMMA[0], 1.0 / NU_GAMMA[1], (draws, 1))
    return np.exp(log_loss + _noise(rng, log_loss.shape, sigma, nu, law.likelihood))


def interval_coverage(observed: np.ndarray, draws: np.ndarray, *,
                      prob: float = _defaults.CI_PROB) -> float:
    """Share of observed values inside the equal-tailed ``prob`` interval of their draws."""
    tail = (1 - prob) / 2
    lower, upper = np.quantile(draws, [tail, 1 - tail], axis=0)
    return float(np.mean((observed >= lower) & (observed <= upper)))
