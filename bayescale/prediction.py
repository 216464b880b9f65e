"""Evaluate a fitted law over posterior draws at new inputs and summarise it.

Everything here works on posterior draws with numpy (the law's function with ``xp=numpy``): no
model is rebuilt and nothing is resampled.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import xarray as xr
from arviz_base import extract
from arviz_stats import eti, thin

from bayescale import _defaults
from bayescale.exceptions import DataError, SpecError
from bayescale.forms import Form
from bayescale.model import centred_inputs

KINDS = ("mean", "predictive")
#: law inputs that may be 0 (the annealing area of a run whose learning rate never decayed)
NON_NEGATIVE_INPUTS = ("lr_anneal_area",)


def default_family(families: Sequence[str], family: str | None = None) -> str:
    """The family a prediction is for: ``family`` when given, else the only fitted family of a
    one-family fit, else :data:`_defaults.NEW_FAMILY` (a family drawn from the population)."""
    if family is not None:
        return family
    return families[0] if len(families) == 1 else _defaults.NEW_FAMILY


def draws_of(posterior: xr.Dataset, name: str) -> np.ndarray:
    """Posterior draws of ``name`` flattened over (chain, draw) to the first axis
    (``arviz_base.extract``: chain-major order)."""
    value = extract(posterior, var_names=name, combined=True)
    return np.moveaxis(value.to_numpy(), value.dims.index("sample"), 0)


def thinned_posterior(fit, max_draws: int | None = None) -> xr.Dataset:
    """The fit's posterior, thinned evenly (``arviz_stats.thin``) to at most ``max_draws``."""
    posterior = fit.idata["posterior"].to_dataset()
    if max_draws is None:
        return posterior
    step = -(-posterior.sizes["chain"] * posterior.sizes["draw"] // max_draws)
    return thin(posterior, factor=step) if step > 1 else posterior


def family_parameter_draws(
    posterior: xr.Dataset,
    form: Form,
    *,
    family: str,
    random_seed: int = 0,
) -> dict[str, np.ndarray]:
    """Draws (one per posterior sample) of each law parameter for one family.

    ``family`` is a fitted family's name or :data:`_defaults.NEW_FAMILY` for a family not in
    the data, drawn from the population: ``mu + tau * z``, ``z ~ Normal(0, 1)`` (seeded) for a
    partially pooled parameter, ``mu`` for a completely pooled one; a parameter without pooling
    has no population, and a new family cannot be predicted.
    """
    families = list(posterior["family"].to_numpy())
    if family != _defaults.NEW_FAMILY:
        if family not in families:
            raise SpecError(f"unknown family {family!r}; fitted families: {', '.join(families)}")
        i = families.index(family)
        return {name: draws_of(posterior, name)[:, i] for name in form.parameters}
    unpooled = [name for name in form.parameters if f"{name}_mu" not in posterior]
    if unpooled:
        raise SpecError(
            f"parameters {', '.join(unpooled)} were fitted without pooling: there is no "
            "population to draw a new family from; name a fitted family"
        )
    rng = np.random.default_rng(random_seed)
    out = {}
    for name in form.parameters:
        mu = draws_of(posterior, f"{name}_mu")
        if f"{name}_tau" in posterior:
            mu = mu + draws_of(posterior, f"{name}_tau") * rng.standard_normal(mu.shape)
        out[name] = mu
    return out


def check_points(form: Form, points: pd.DataFrame) -> pd.DataFrame:
    """Validate a table of prediction inputs; fill ``flops`` as 6·N·D when the law needs it."""
    points = points.copy()
    if "flops" in form.inputs and "flops" not in points and {"params", "tokens"} <= set(points):
        points["flops"] = 6.0 * points["params"].astype(float) * points["tokens"].astype(float)
    for name in form.inputs:
        if name not in points:
            raise DataError(f"law {form.name} needs column {name!r} to predict")
        values = pd.to_numeric(points[name], errors="coerce").astype(float)
        zero_ok = name in NON_NEGATIVE_INPUTS
        bad = ~(np.isfinite(values) & ((values >= 0) if zero_ok else (values > 0)))
        if bad.any():
            raise DataError(
                f"column {name!r} must be finite and {'>=' if zero_ok else '>'} 0 to predict; "
                "bad at rows "
                f"{', '.join(map(str, np.flatnonzero(bad)[:5]))}"
            )
        points[name] = values
    return points


def add_new_run_noise(fit, posterior: xr.Dataset, log_loss: np.ndarray, *,
                      random_seed: int) -> np.ndarray:
    """``log_loss`` (samples, points) plus a new run's noise, as the model generates it.

    Per posterior sample: a new run offset ``Normal(0, sigma_run)`` (when the fit has run
    effects; every point is its own new run) and the likelihood's noise, ``sigma`` times
    ``StudentT(nu)`` or ``Normal(0, 1)``. With AR(1) residuals one checkpoint on its own keeps
    the marginal scale ``sigma`` (see :mod:`bayescale.model`). The one place the new-run noise
    is drawn (predictions, comparisons); pinned to ``pm.sample_posterior_predictive`` on
    new runs in the tests. ``posterior`` holds the draws ``log_loss`` was computed from.
    """
    rng = np.random.default_rng([random_seed, 1])
    shape = log_loss.shape
    if fit.run_effect:
        log_loss = log_loss + draws_of(posterior, "sigma_run")[:, None] * rng.standard_normal(
            shape)
    sigma = draws_of(posterior, "sigma")[:, None]
    if fit.law.likelihood == "student_t":
        noise = rng.standard_t(draws_of(posterior, "nu")[:, None], size=shape)
    else:
        noise = rng.standard_normal(shape)
    return log_loss + sigma * noise


def loss_draws(
    fit,
    points: pd.DataFrame,
    *,
    family: str,
    kind: str = "mean",
    random_seed: int = 0,
    max_draws: int | None = None,
) -> np.ndarray:
    """Draws of loss (nats/token), shape (samples, points).

    ``kind="mean"`` is the law itself (the mean curve of a family); ``"predictive"`` adds a new
    run's offset (seed noise, ``sigma_run``) and the observation noise of the likelihood: the
    loss of one checkpoint of a new run, e.g. its final one (with AR(1) residuals along a run,
    one checkpoint on its own still scatters with scale ``sigma``). ``max_draws`` thins
    the posterior evenly to at most that many draws (cheaper bands for plots).
    """
    if kind not in KINDS:
        raise SpecError(f"unknown kind {kind!r}; choose one of {', '.join(KINDS)}")
    posterior = thinned_posterior(fit, max_draws)
    form = fit.form
    points = check_points(form, points)
    p = family_parameter_draws(posterior, form, family=family, random_seed=random_seed)
    x = centred_inputs(form, points, fit.scales)
    log_loss = form.log_loss(
        {k: v[None, :] for k, v in x.items()}, {k: v[:, None] for k, v in p.items()}, np
    )
    if kind == "predictive":
        log_loss = add_new_run_noise(fit, posterior, log_loss, random_seed=random_seed)
    return np.exp(log_loss)


def summarize_draws(draws: np.ndarray, *, prob: float) -> pd.DataFrame:
    """Mean, median and equal-tailed ``prob`` interval (``arviz_stats.eti``) of each column of
    ``draws`` (samples, columns)."""
    if not 0 < prob < 1:
        raise SpecError(f"prob must lie strictly between 0 and 1, got {prob}")
    bounds = eti(draws, prob=prob, axis=0)  # (columns, 2)
    return pd.DataFrame(
        {
            "mean": draws.mean(axis=0),
            "median": np.median(draws, axis=0),
            "lower": bounds[..., 0],
            "upper": bounds[..., 1],
        }
    )


def predict(
    fit,
    points: pd.DataFrame | Mapping,
    *,
    family: str | None = None,
    prob: float = _defaults.CI_PROB,
    kind: str = "mean",
    random_seed: int = 0,
) -> pd.DataFrame:
    """Predicted loss (nats/token) at new inputs, as a tidy table.

    Parameters
    ----------
    fit : ScalingFit
        The fitted law.
    points : DataFrame or mapping
        Inputs of the law: ``params`` (N) and ``tokens`` (D), or ``flops`` (C, FLOPs).
    family : str, optional
        A fitted family, or ``"(new family)"`` for an unseen one drawn from the population.
        Default: the only family of a one-family fit, else a new family.
    prob : float
        Probability of the equal-tailed interval (default 0.9).
    kind : {"mean", "predictive"}
        The family's mean curve, or the loss of a new run (adds seed and observation noise).
    random_seed : int
        Seed of the new-family and noise draws.

    Returns
    -------
    DataFrame
        The inputs plus ``family``, ``kind``, ``mean``, ``median``, ``lower``, ``upper``,
        ``prob``.
    """
    points = pd.DataFrame(points) if not isinstance(points, pd.DataFrame) else points
    family = default_family(fit.families, family)
    draws = loss_draws(fit, points, family=family, kind=kind, random_seed=random_seed)
    table = check_points(fit.form, points).reset_index(drop=True)
    table.insert(0, "family", family)
    summary = summarize_draws(draws, prob=prob)
    out = pd.concat([table, summary], axis=1)
    out["kind"] = kind
    out["prob"] = prob
    return out
