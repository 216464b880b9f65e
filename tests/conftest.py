"""Shared test helpers: synthetic fits built by hand (no sampling)."""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping

import arviz as az
import numpy as np
import pandas as pd
import pymc as pm
import pytest
import xarray as xr

from bayescale.checks import prior_parameter_draws
from bayescale.data import read_runs
from bayescale.forms import get_form
from bayescale.law import ScalingFit, ScalingLaw, fit_attrs, runs_to_dataset
from bayescale.model import build_model, reference_scales
from bayescale.simulate import simulate_runs

FAMILIES = ("fam0", "fam1")
CHAINS, DRAWS = 2, 50

#: Per-family values of the chinchilla parameters used by the synthetic fit.
CHINCHILLA_VALUES = {
    "log_L0": (1.1, 1.0),
    "log_a_over_E": (-0.4, -0.6),
    "log_b_over_E": (-0.7, -0.5),
    "log_alpha": (math.log(0.34), math.log(0.30)),
    "log_beta": (math.log(0.28), math.log(0.32)),
}
#: Per-family values of the compute law parameters.
COMPUTE_VALUES = {
    "log_L0": (1.1, 1.0),
    "log_a_over_E": (-0.4, -0.6),
    "log_alpha": (math.log(0.15), math.log(0.12)),
}
TAU = 0.2  # between-family sd of every parameter in the synthetic posterior
SIGMA, NU = 0.02, 8.0


def small_runs():
    """A canonical run table with the two families of the synthetic fit (simulated, tiny)."""
    runs, _ = simulate_runs(n_families=len(FAMILIES), sizes=(2e7, 1e8), seeds=1,
                            checkpoints=4, random_seed=1)
    return read_runs(runs)


def prior_draws(fit: ScalingFit, var_names, *, draws: int = 4000, seed: int = 0) -> xr.Dataset:
    """Draws of ``var_names`` from the priors of the very model ``fit`` was sampled from.

    The model is rebuilt by :func:`bayescale.model.build_model` from the fit's own law, run
    table, scales, run effect and residual model, and sampled by ``pm.sample_prior_predictive``:
    no hand-written copy of the priors.
    """
    law = fit.law
    model = build_model(law.law_form, fit.runs, priors=law.full_priors(),
                        likelihood=law.likelihood, pooling=law.pooling,
                        run_effect=fit.run_effect, scales=fit.scales, residuals=fit.residuals)
    prior = pm.sample_prior_predictive(draws=draws, model=model, random_seed=seed,
                                       var_names=list(var_names))
    return prior["prior"].to_dataset()


def interval(draws, prob: float = 0.9) -> tuple[float, float]:
    """Equal-tailed ``prob`` interval of the flattened draws."""
    tail = (1.0 - prob) / 2.0
    lower, upper = np.quantile(np.asarray(draws).ravel(), [tail, 1.0 - tail])
    return float(lower), float(upper)


def make_idata(
    form: str = "chinchilla",
    *,
    values: Mapping[str, tuple[float, ...]] | None = None,
    jitter: float = 0.0,
    seed: int = 0,
    runs: pd.DataFrame | None = None,
    residuals: str = "iid",
) -> xr.DataTree:
    """A DataTree laid out exactly as ``ScalingLaw.fit`` returns it.

    Every draw of a law parameter equals ``values`` (per family) unless ``jitter`` > 0, which
    adds iid Normal(0, jitter) noise to every draw of every variable (finite r_hat, ESS).
    ``runs`` is the run table the fit is "of" (default :func:`small_runs`; its families must be
    ``FAMILIES``): the fit stores it, its scales and its hash through the library's
    :func:`bayescale.law.fit_attrs`, as ``ScalingLaw.fit`` does. ``residuals="ar1"`` adds the
    AR(1) correlation length (1 e-fold) to the posterior.
    """
    runs = small_runs() if runs is None else read_runs(runs)
    if sorted(runs["family"].unique()) != list(FAMILIES):
        raise ValueError(f"make_idata: runs must have families {FAMILIES}")
    law = ScalingLaw(form, residuals=residuals)
    values = dict(values or (CHINCHILLA_VALUES if form == "chinchilla" else COMPUTE_VALUES))
    rng = np.random.default_rng(seed)
    shape = (CHAINS, DRAWS)

    def const(value, *extra):
        return np.full(shape + extra, value, dtype=float) + jitter * rng.standard_normal(
            shape + extra
        )

    posterior = {}
    for name, prior in law.full_priors().items():
        per_family = np.asarray(values[name], dtype=float)
        mu = float(per_family.mean())
        posterior[name] = np.broadcast_to(per_family, shape + per_family.shape).copy()
        posterior[name] += jitter * rng.standard_normal(posterior[name].shape)
        posterior[f"{name}_mu"] = const(mu)
        posterior[f"{name}_tau"] = np.abs(const(TAU))
        if not prior.centered:
            posterior[f"{name}_z"] = (posterior[name] - mu) / TAU
    posterior["sigma"] = np.abs(const(SIGMA))
    posterior["nu_minus_two"] = np.abs(const(NU - 2.0))
    posterior["nu"] = posterior["nu_minus_two"] + 2.0
    if residuals == "ar1":
        posterior["log_corr_length"] = const(0.0)
        posterior["corr_length"] = np.exp(posterior["log_corr_length"])
    dims = {name: ["family"] for name in posterior if posterior[name].ndim == 3}
    idata = az.from_dict(
        {
            "posterior": posterior,
            "sample_stats": {"diverging": np.zeros(shape, dtype=bool),
                             "n_steps": np.full(shape, 7.0)},
        },
        dims=dims,
        coords={"family": list(FAMILIES)},
    )
    scales = reference_scales(law.law_form, runs)
    idata["runs"] = xr.DataTree(runs_to_dataset(runs))
    idata.attrs.update(fit_attrs(
        law, runs, scales=scales, run_effect=False, residuals=residuals,
        sampler={"sampler": "nutpie", "draws": DRAWS, "tune": DRAWS, "chains": CHAINS,
                 "random_seed": seed, "target_accept": 0.9, "wall_seconds": 0.0},
    ))
    return idata


def make_fit(form: str = "chinchilla", **kwargs) -> ScalingFit:
    """A :class:`ScalingFit` around :func:`make_idata` (diagnostics not warned)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # r_hat of constant draws is 0/0
        return ScalingFit(make_idata(form, **kwargs), warn=False)


@pytest.fixture
def chinchilla_fit() -> ScalingFit:
    """Synthetic chinchilla fit: every draw equals ``CHINCHILLA_VALUES``."""
    return make_fit("chinchilla")


@pytest.fixture
def mixed_fit() -> ScalingFit:
    """Synthetic chinchilla fit with iid jitter on every draw (finite r_hat and ESS)."""
    return make_fit("chinchilla", jitter=0.01)


def law_prior_draws(law: str, n: int, seed: int) -> dict[str, np.ndarray]:
    """Parameters of one family drawn from the law's default priors, by the library
    (:func:`bayescale.checks.prior_parameter_draws`: ``pm.sample_prior_predictive`` on the
    model) on a two-family table, so partial pooling draws mean + spread * z."""
    form = get_form(law)
    runs = pd.DataFrame({"family": ["a", "b"], "run": ["a", "b"], "loss": 3.0,
                         **{name: 1.0 for name in {*form.inputs, "params", "tokens"}}})
    draws = prior_parameter_draws(ScalingLaw(law), runs, draws=n, random_seed=seed)
    return {name: value[:, 0] for name, value in draws.items()}
