"""Compute-optimal allocation: N*(C) parameters and D*(C) tokens per posterior draw."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from bayescale import _defaults
from bayescale.decisions.recipes import CHINCHILLA_CONSTANTS
from bayescale.exceptions import SpecError
from bayescale.prediction import (
    default_family,
    family_parameter_draws,
    summarize_draws,
)


@dataclass(frozen=True)
class ComputeOptimal:
    """Posterior of the compute-optimal allocation of a chinchilla-form law.

    Attributes
    ----------
    family : str
        The family (or new family) whose law was used.
    prob : float
        Probability of the equal-tailed intervals.
    table : DataFrame
        One row per (budget, quantity): ``flops`` (C, FLOPs), ``quantity`` (``params`` N*,
        ``tokens`` D*, ``tokens_per_param`` D*/N*, ``loss`` at the optimum), ``mean``,
        ``median``, ``lower``, ``upper``, ``prob``.
    exponents : DataFrame
        ``quantity`` ``a`` (N* ~ C^a) and ``b`` (D* ~ C^b) with ``mean``, ``median``,
        ``lower``, ``upper``, ``prob``.
    params, tokens : ndarray
        Draws of N* and D*, shape (samples, budgets).
    """

    family: str
    prob: float
    table: pd.DataFrame = field(repr=False)
    exponents: pd.DataFrame = field(repr=False)
    params: np.ndarray = field(repr=False)
    tokens: np.ndarray = field(repr=False)

    def at(self, flops: float) -> dict[str, dict[str, float]]:
        """``{quantity: {mean, median, lower, upper}}`` at one of the budgets."""
        rows = self.table[np.isclose(self.table["flops"], flops, rtol=1e-12)]
        if rows.empty:
            raise SpecError(f"budget {flops:g} FLOPs was not computed")
        return {
            str(r["quantity"]): {k: float(r[k]) for k in ("mean", "median", "lower", "upper")}
            for _, r in rows.iterrows()
        }



# --------------------------------------------------------------------------------------------
# Compute-optimal allocation
# --------------------------------------------------------------------------------------------


def chinchilla_optimum(A, B, alpha, beta, flops):
    """Compute-optimal N*, D* of L = E + A/N^alpha + B/D^beta under C = 6 N D (closed form).

    ``N* = G (C/6)^(beta/(alpha+beta))``, ``G = (alpha A / (beta B))^(1/(alpha+beta))``,
    ``D* = C / (6 N*)`` (Hoffmann et al. 2022, eq. 4); E does not move the optimum. Arguments
    broadcast against each other; computed in logs. Returns ``(params, tokens)``.
    """
    alpha, beta = np.asarray(alpha, float), np.asarray(beta, float)
    s = alpha + beta
    log_g = (np.log(alpha) + np.log(A) - np.log(beta) - np.log(B)) / s
    log_c6 = np.log(np.asarray(flops, float) / 6.0)
    log_n = log_g + beta / s * log_c6
    return np.exp(log_n), np.exp(log_c6 - log_n)


def _constants(fit, posterior, family: str, random_seed: int) -> dict[str, np.ndarray]:
    """The paper's constants (E, A, B, alpha, beta) of one family, one value per draw."""
    form = fit.form
    if form.derived is None:
        raise SpecError(f"law {form.name} reports no constants; compute-optimal needs a "
                        "chinchilla-form law (E, A, B, alpha, beta)")
    p = family_parameter_draws(posterior, form, family=family, random_seed=random_seed)
    constants = form.derived(p, fit.scales, np)
    if not set(CHINCHILLA_CONSTANTS) <= set(constants):
        raise SpecError(f"law {form.name} is not of chinchilla form (E + A/N^alpha + "
                        "B/D^beta): compute-optimal allocation needs N and D")
    return constants


def compute_optimal(
    fit,
    flops: float | Sequence[float],
    *,
    family: str | None = None,
    prob: float = _defaults.CI_PROB,
    random_seed: int = 0,
) -> ComputeOptimal:
    """Posterior of the compute-optimal N*(C), D*(C), D*/N* and loss at budgets C (FLOPs).

    Per posterior draw, the closed form of :func:`chinchilla_optimum` applied to the family's
    constants (``derived``); the exponents are ``a = beta/(alpha+beta)`` (N* ~ C^a) and
    ``b = alpha/(alpha+beta)`` (D* ~ C^b). ``family`` defaults to the only family of a
    one-family fit, else a new family drawn from the population.
    """
    flops = np.atleast_1d(np.asarray(flops, dtype=float))
    if not (np.all(np.isfinite(flops)) and np.all(flops > 0)):
        raise SpecError("compute budgets must be finite and > 0 FLOPs")
    family = default_family(fit.families, family)
    posterior = fit.idata["posterior"].to_dataset()
    c = _constants(fit, posterior, family, random_seed)
    alpha, beta = c["alpha"][:, None], c["beta"][:, None]
    n, d = chinchilla_optimum(c["A"][:, None], c["B"][:, None], alpha, beta, flops[None, :])
    loss = c["E"][:, None] + c["A"][:, None] / n ** alpha + c["B"][:, None] / d ** beta
    rows = []
    for name, draws in (("params", n), ("tokens", d), ("tokens_per_param", d / n),
                        ("loss", loss)):
        summary = summarize_draws(draws, prob=prob)
        summary.insert(0, "quantity", name)
        summary.insert(0, "flops", flops)
        rows.append(summary)
    table = pd.concat(rows, ignore_index=True).sort_values(["flops"], kind="stable")
    table["prob"] = prob
    s = c["alpha"] + c["beta"]
    exps = summarize_draws(np.column_stack([c["beta"] / s, c["alpha"] / s]), prob=prob)
    exps.insert(0, "quantity", ["a", "b"])
    exps["prob"] = prob
    return ComputeOptimal(family, prob, table.reset_index(drop=True), exps, n, d)



def compute_optimal_text(result: ComputeOptimal, flops: float) -> str:
    """One plain sentence on the optimum at ``flops``."""
    q = result.at(flops)
    prob = result.prob
    n, d, r = q["params"], q["tokens"], q["tokens_per_param"]
    a = result.exponents.set_index("quantity")
    return (
        f"At {flops:.3g} FLOPs ({result.family}): N* = {n['median']:.3g} parameters "
        f"[{n['lower']:.3g}, {n['upper']:.3g}], D* = {d['median']:.3g} tokens "
        f"[{d['lower']:.3g}, {d['upper']:.3g}], {r['median']:.3g} tokens per parameter "
        f"[{r['lower']:.3g}, {r['upper']:.3g}] ({prob:.0%}); N* ~ C^{a.loc['a', 'median']:.3f}, "
        f"D* ~ C^{a.loc['b', 'median']:.3f}."
    )
