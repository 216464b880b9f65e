"""The PyMC graph of a bounded-metric law: pooled parameters, beta-binomial / binomial / beta
likelihood."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
import pymc as pm
import pytensor.tensor as pt

from bayescale.exceptions import DataError, SpecError
from bayescale.forms import MetricForm
from bayescale.metric.data import LIKELIHOODS, MU_EPS, PHI_PRIOR, _rows, metric_inputs
from bayescale.model import family_parameter
from bayescale.priors import ParamPrior

# ----------------------------------------------------------------------------- model


def choose_likelihood(setting: str, n_items: np.ndarray) -> str:
    """Resolve ``"auto"``: beta-binomial when every row's item count is known, else beta.

    Raises SpecError for a count likelihood without counts, DataError for counts on some
    rows only.
    """
    if setting not in LIKELIHOODS:
        raise SpecError(f"unknown likelihood {setting!r}; choose one of {', '.join(LIKELIHOODS)}")
    known = np.isfinite(n_items)
    if known.any() and not known.all():
        raise DataError(f"column 'n_items': item counts missing at {_rows(~known)}; give every "
                        "row a count, or none (beta likelihood)")
    if setting == "auto":
        return "beta_binomial" if known.all() else "beta"
    if setting in ("binomial", "beta_binomial") and not known.all():
        raise SpecError(f"likelihood {setting!r} needs the number of evaluation items (an "
                        "n_items column or a number); without it use 'beta' or 'auto'")
    return setting


def squeeze_unit(values: np.ndarray) -> np.ndarray:
    """Smithson & Verkuilen's (y (n - 1) + 1/2) / n: moves 0 and 1 inside (0, 1)."""
    n = len(values)
    return (values * (n - 1) + 0.5) / n


def build_metric_model(
    form: MetricForm,
    table: pd.DataFrame,
    *,
    priors: Mapping[str, ParamPrior],
    likelihood: str,
    pooling: str,
    scales: Mapping[str, float],
    chance: float,
    ceiling: float,
) -> pm.Model:
    """The PyMC model of a bounded-metric law on a canonical metric table (see module doc)."""
    families = pd.Index(sorted(table["family"].unique()))
    idx = families.get_indexer(table["family"])
    x = metric_inputs(form, table, scales)
    coords = {"family": families.to_numpy(), "obs": np.arange(len(table))}
    with pm.Model(coords=coords) as model:
        theta = {name: family_parameter(name, priors[name], pooling, len(families))
                 for name in form.parameters}
        p = {name: value[idx] for name, value in theta.items()}
        mu = pt.clip(form.mean_metric(x, p, pt, chance=chance, ceiling=ceiling), MU_EPS,
                     1.0 - MU_EPS)
        metric = table["metric"].to_numpy(dtype=float)
        if likelihood == "binomial":
            n = table["n_items"].to_numpy().astype("int64")
            pm.Binomial("correct", n=n, p=mu, observed=np.rint(metric * n).astype("int64"),
                        dims="obs")
            return model
        log_phi = pm.Normal("log_concentration", *PHI_PRIOR)
        phi = pm.Deterministic("concentration", pt.exp(log_phi))
        if likelihood == "beta_binomial":
            n = table["n_items"].to_numpy().astype("int64")
            pm.BetaBinomial("correct", alpha=mu * phi, beta=(1.0 - mu) * phi, n=n,
                            observed=np.rint(metric * n).astype("int64"), dims="obs")
        else:
            pm.Beta("metric", alpha=mu * phi, beta=(1.0 - mu) * phi,
                    observed=squeeze_unit(metric), dims="obs")
    return model
