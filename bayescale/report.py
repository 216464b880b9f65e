"""Tables and text that summarise a fit for people (parameter table, console summary)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from arviz_stats import eti

from bayescale import _defaults
from bayescale.prediction import draws_of


def _row(name: str, family: str, draws: np.ndarray, prob: float) -> dict:
    lower, upper = eti(np.asarray(draws, dtype=float), prob=prob)
    return {
        "parameter": name,
        "family": family,
        "mean": float(np.mean(draws)),
        "sd": float(np.std(draws, ddof=1)),
        "median": float(np.median(draws)),
        "lower": float(lower),
        "upper": float(upper),
    }


def _derived_rows(fit, posterior, prob: float) -> list[dict]:
    """The paper's constants per family, and at the population mean (a typical family)."""
    form = fit.form
    rows = []
    population = {}
    for name in form.parameters:
        key = f"{name}_mu" if f"{name}_mu" in posterior else name
        population[name] = draws_of(posterior, key)
        if population[name].ndim > 1:
            population = None
            break
    values = {name: draws_of(posterior, name) for name in form.parameters}
    derived = form.derived(values, fit.scales, np)
    typical = form.derived(population, fit.scales, np) if population is not None else {}
    for name, draws in derived.items():
        if name in typical:
            rows.append(_row(name, "population mean", typical[name], prob))
        for i, family in enumerate(fit.families):
            rows.append(_row(name, family, draws[:, i], prob))
    return rows


def parameter_summary(fit, *, prob: float = _defaults.CI_PROB) -> pd.DataFrame:
    """Posterior of every law parameter: population (mean ``_mu`` and spread ``_tau``) and per
    family, the paper's constants (e.g. E, A, B, alpha, beta) derived from them, and the noise
    parameters; with equal-tailed ``prob`` intervals, r_hat and bulk ESS (NaN for derived rows).
    """
    posterior = fit.idata["posterior"].to_dataset()
    families = fit.families
    rows = []
    for name in fit.form.parameters:
        if f"{name}_mu" in posterior:
            rows.append(_row(name, "population mean", draws_of(posterior, f"{name}_mu"), prob))
        if f"{name}_tau" in posterior:
            rows.append(_row(name, "population sd", draws_of(posterior, f"{name}_tau"), prob))
        values = draws_of(posterior, name)
        for i, family in enumerate(families):
            rows.append(_row(name, family, values[:, i], prob))
    if fit.form.derived is not None:
        rows.extend(_derived_rows(fit, posterior, prob))
    for name in ("sigma", "nu", "sigma_run", "corr_length"):
        if name in posterior:
            rows.append(_row(name, "", draws_of(posterior, name), prob))
    table = pd.DataFrame(rows)
    diag = fit.diagnostics.table
    keys = []
    for row in rows:
        name, family = row["parameter"], row["family"]
        if family == "population mean":
            keys.append(f"{name}_mu")
        elif family == "population sd":
            keys.append(f"{name}_tau")
        elif family:
            keys.append(f"{name}[{family}]")
        else:
            keys.append(name)
    table["r_hat"] = [diag["r_hat"].get(k, np.nan) for k in keys]
    table["ess_bulk"] = [diag["ess_bulk"].get(k, np.nan) for k in keys]
    table["prob"] = prob
    return table
