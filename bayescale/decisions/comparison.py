"""Recipe B against A on paired draws: P(B better) at a target compute C (FLOPs), and the
crossover compute where the sign of L_B - L_A changes."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from bayescale import _defaults
from bayescale.decisions.optimal import _constants, chinchilla_optimum
from bayescale.decisions.recipes import CROSSOVER_GRID, OPTIMAL
from bayescale.exceptions import SpecError
from bayescale.prediction import (
    add_new_run_noise,
    check_points,
    family_parameter_draws,
    loss_draws,
    summarize_draws,
)

# --------------------------------------------------------------------------------------------
# Result objects
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Comparison:
    """P(recipe B has lower loss than recipe A) at given inputs.

    Attributes
    ----------
    a, b : str
        Fitted families (groups) compared; the difference is ``L_B - L_A``.
    kind : {"mean", "predictive"}
        Mean curves, or a new run of each recipe (independent seed and observation noise).
    prob : float
        Probability of the equal-tailed intervals.
    table : DataFrame
        One row per input point: the inputs (``flops`` and/or ``params``, ``tokens``),
        ``p_b_better``, ``expected_difference`` (posterior mean of L_B - L_A), ``median``,
        ``lower``, ``upper`` (of L_B - L_A), ``prob``.
    difference : ndarray
        Draws of L_B - L_A, shape (samples, points).
    """

    a: str
    b: str
    kind: str
    prob: float
    table: pd.DataFrame = field(repr=False)
    difference: np.ndarray = field(repr=False)

    @property
    def p_b_better(self) -> np.ndarray:
        """P(L_B < L_A) at each point."""
        return self.table["p_b_better"].to_numpy()


@dataclass(frozen=True)
class Crossover:
    """Where along compute C (FLOPs) recipe B's mean curve crosses recipe A's.

    Per posterior draw, the first C in ``flops_range`` where the sign of L_B - L_A changes,
    located on a log-spaced grid and interpolated linearly in log C (NaN when the curves do not
    cross in the range).

    Attributes
    ----------
    p_cross_in_range : float
        Fraction of draws whose curves cross inside the range.
    p_b_overtakes : float
        Fraction of draws in which B is behind at the low end of the range and its first
        crossing puts it ahead (B overtakes A inside the range).
    p_a_overtakes : float
        The same with the roles of A and B exchanged.
    median, lower, upper : float
        Median and equal-tailed ``prob`` interval of the crossover C among the draws that
        cross (FLOPs); NaN when no draw crosses.
    p_b_ahead_at_lo, p_b_ahead_at_hi : float
        P(L_B < L_A) at the two ends of the range.
    table : DataFrame
        Along the grid: ``flops``, ``p_b_better``, and the median / lower / upper of each
        recipe's mean loss (``a_median``, ..., ``b_upper``).
    draws : ndarray
        Crossover C of each draw (NaN where none), FLOPs.
    """

    a: str
    b: str
    flops_range: tuple[float, float]
    prob: float
    allocation: str | float
    p_cross_in_range: float
    p_b_overtakes: float
    p_a_overtakes: float
    median: float
    lower: float
    upper: float
    p_b_ahead_at_lo: float
    p_b_ahead_at_hi: float
    table: pd.DataFrame = field(repr=False)
    draws: np.ndarray = field(repr=False)

    def to_dict(self) -> dict:
        """JSON-ready summary (NaN becomes None)."""
        return {
            "p_cross_in_range": self.p_cross_in_range,
            "p_b_overtakes": self.p_b_overtakes,
            "p_a_overtakes": self.p_a_overtakes,
            "median": _finite_or_none(self.median),
            "lower": _finite_or_none(self.lower),
            "upper": _finite_or_none(self.upper),
            "prob": self.prob,
            "range": list(self.flops_range),
            "p_b_ahead_at_range_start": self.p_b_ahead_at_lo,
            "p_b_ahead_at_range_end": self.p_b_ahead_at_hi,
        }



# --------------------------------------------------------------------------------------------
# Loss draws along compute
# --------------------------------------------------------------------------------------------


def _check_allocation(form, allocation) -> None:
    if allocation == OPTIMAL:
        return
    if "tokens" not in form.inputs:
        raise SpecError(f"law {form.name} is a function of compute alone: an allocation "
                        f"({allocation!r}) does not apply")
    if isinstance(allocation, str) or not (math.isfinite(allocation) and allocation > 0):
        raise SpecError(f"allocation must be {OPTIMAL!r} or a number of tokens per parameter "
                        f"> 0, got {allocation!r}")


def loss_at_flops(
    fit,
    flops: float | Sequence[float],
    *,
    family: str,
    allocation: str | float = OPTIMAL,
    kind: str = "mean",
    random_seed: int = 0,
) -> np.ndarray:
    """Draws of a family's loss at compute budgets C (FLOPs), shape (samples, budgets).

    A law of compute alone is evaluated at C. A law of (N, D) is evaluated at the
    ``allocation`` of C: ``"optimal"`` (the family's own compute-optimal N*, D* in each draw)
    or R tokens per parameter (N = sqrt(C / 6R), D = R N).
    """
    form = fit.form
    _check_allocation(form, allocation)
    flops = np.atleast_1d(np.asarray(flops, dtype=float))
    if "tokens" not in form.inputs or allocation != OPTIMAL:
        if "tokens" in form.inputs:
            n = np.sqrt(flops / (6.0 * allocation))
            points = pd.DataFrame({"params": n, "tokens": allocation * n, "flops": flops})
        else:
            points = pd.DataFrame({"flops": flops})
        return loss_draws(fit, points, family=family, kind=kind, random_seed=random_seed)
    if kind not in ("mean", "predictive"):
        raise SpecError(f"unknown kind {kind!r}; choose one of mean, predictive")
    posterior = fit.idata["posterior"].to_dataset()
    c = _constants(fit, posterior, family, random_seed)
    n, d = chinchilla_optimum(c["A"][:, None], c["B"][:, None], c["alpha"][:, None],
                              c["beta"][:, None], flops[None, :])
    p = family_parameter_draws(posterior, form, family=family, random_seed=random_seed)
    x = {"params": np.log(n) - np.log(fit.scales["params"]),
         "tokens": np.log(d) - np.log(fit.scales["tokens"])}
    log_loss = form.log_loss(x, {k: v[:, None] for k, v in p.items()}, np)
    if kind == "predictive":
        log_loss = add_new_run_noise(fit, posterior, log_loss, random_seed=random_seed)
    return np.exp(log_loss)


def _p_better(diff: np.ndarray) -> np.ndarray:
    """P(diff < 0) per column, exact ties counting one half."""
    return (diff < 0).mean(axis=0) + 0.5 * (diff == 0).mean(axis=0)


# --------------------------------------------------------------------------------------------
# P(B better), crossover, report
# --------------------------------------------------------------------------------------------


def compare(
    fit,
    a: str,
    b: str,
    *,
    flops: float | Sequence[float] | None = None,
    points: pd.DataFrame | Mapping | None = None,
    kind: str = "mean",
    allocation: str | float = OPTIMAL,
    prob: float = _defaults.CI_PROB,
    random_seed: int = 0,
) -> Comparison:
    """P(recipe B's loss < recipe A's) and the difference L_B - L_A, on paired draws.

    Give either ``flops`` (budgets C in FLOPs, evaluated at ``allocation``, see
    :func:`loss_at_flops`) or ``points`` (the law's inputs, e.g. ``params`` and ``tokens``).
    ``kind="predictive"`` compares a new run of each recipe: each gets its own, independent
    seed and observation noise (seeds ``random_seed`` and ``random_seed + 1``).
    """
    for name in (a, b):
        if name not in fit.families:
            raise SpecError(f"unknown family {name!r}; fitted: {', '.join(fit.families)}")
    if (flops is None) == (points is None):
        raise SpecError("give exactly one of flops= or points=")
    if flops is not None:
        flops = np.atleast_1d(np.asarray(flops, dtype=float))
        inputs = pd.DataFrame({"flops": flops})
        la = loss_at_flops(fit, flops, family=a, allocation=allocation, kind=kind,
                           random_seed=random_seed)
        lb = loss_at_flops(fit, flops, family=b, allocation=allocation, kind=kind,
                           random_seed=random_seed + 1)
    else:
        points = pd.DataFrame(points) if not isinstance(points, pd.DataFrame) else points
        inputs = check_points(fit.form, points).reset_index(drop=True)
        la = loss_draws(fit, inputs, family=a, kind=kind, random_seed=random_seed)
        lb = loss_draws(fit, inputs, family=b, kind=kind, random_seed=random_seed + 1)
    diff = lb - la
    summary = summarize_draws(diff, prob=prob)
    table = pd.concat([inputs.reset_index(drop=True), summary.drop(columns="mean")], axis=1)
    table.insert(len(inputs.columns), "p_b_better", _p_better(diff))
    table.insert(len(inputs.columns) + 1, "expected_difference", summary["mean"])
    table["prob"] = prob
    return Comparison(a, b, kind, prob, table, diff)


def crossover_draws(flops: np.ndarray, difference: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First sign change of each row of ``difference`` along the increasing grid ``flops``.

    Returns ``(crossing, direction)``: the crossover C per row, interpolated linearly in
    log C between the grid points that bracket it (NaN where the sign never changes), and
    -1 where the difference goes from > 0 to <= 0 (B overtakes A), +1 the other way, 0 none.
    """
    positive = difference > 0
    change = positive[:, 1:] != positive[:, :-1]
    has = change.any(axis=1)
    j = np.argmax(change, axis=1)
    rows = np.arange(difference.shape[0])
    d0, d1 = difference[rows, j], difference[rows, j + 1]
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(has, d0 / (d0 - d1), np.nan)
    log_c = np.log(flops)
    crossing = np.exp(log_c[j] + t * (log_c[j + 1] - log_c[j]))
    crossing = np.where(has, crossing, np.nan)
    direction = np.where(has, np.where(positive[rows, j], -1, 1), 0)
    return crossing, direction


def crossover(
    fit,
    a: str,
    b: str,
    *,
    flops_range: tuple[float, float],
    allocation: str | float = OPTIMAL,
    prob: float = _defaults.CI_PROB,
    num: int = CROSSOVER_GRID,
    random_seed: int = 0,
) -> Crossover:
    """Posterior of the compute C at which B's mean curve crosses A's, inside ``flops_range``.

    The mean curves of both recipes are evaluated per draw on ``num`` log-spaced budgets from
    ``flops_range[0]`` to ``flops_range[1]`` (FLOPs; at ``allocation``); the first sign change
    of L_B - L_A is interpolated in log C (:func:`crossover_draws`). For a fixed tokens per
    parameter R the crossover model size is ``N = sqrt(C / 6R)``.
    """
    lo, hi = (float(v) for v in flops_range)
    if not (0 < lo < hi and math.isfinite(hi)):
        raise SpecError(f"flops_range must satisfy 0 < lo < hi, got {flops_range!r}")
    grid = np.geomspace(lo, hi, num)
    la = loss_at_flops(fit, grid, family=a, allocation=allocation, random_seed=random_seed)
    lb = loss_at_flops(fit, grid, family=b, allocation=allocation, random_seed=random_seed)
    diff = lb - la
    crossing, direction = crossover_draws(grid, diff)
    crossed = crossing[np.isfinite(crossing)]
    tail = (1 - prob) / 2
    if crossed.size:
        median, lower, upper = np.exp(np.quantile(np.log(crossed), [0.5, tail, 1 - tail]))
    else:
        median = lower = upper = float("nan")
    p_better = _p_better(diff)
    table = pd.DataFrame({"flops": grid, "p_b_better": p_better})
    for name, draws in (("a", la), ("b", lb)):
        summary = summarize_draws(draws, prob=prob)
        for col in ("median", "lower", "upper"):
            table[f"{name}_{col}"] = summary[col].to_numpy()
    b_overtakes = (direction == -1) & (diff[:, 0] > 0)
    a_overtakes = (direction == 1) & (diff[:, 0] <= 0)
    return Crossover(
        a, b, (lo, hi), prob, allocation,
        p_cross_in_range=float(np.isfinite(crossing).mean()),
        p_b_overtakes=float(b_overtakes.mean()),
        p_a_overtakes=float(a_overtakes.mean()),
        median=float(median), lower=float(lower), upper=float(upper),
        p_b_ahead_at_lo=float(p_better[0]), p_b_ahead_at_hi=float(p_better[-1]),
        table=table, draws=crossing,
    )


def max_observed_flops(fit, families: Sequence[str]) -> float:
    """Largest training compute C (FLOPs) among the fitted rows of ``families``."""
    runs = fit.runs
    return float(runs.loc[runs["family"].isin(list(families)), "flops"].max())


def _finite_or_none(value: float) -> float | None:
    return float(value) if value is not None and math.isfinite(value) else None
