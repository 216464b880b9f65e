"""Emergence thresholds: the compute C (FLOPs) at which a family's expected metric reaches a
level, per posterior draw."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from bayescale import _defaults
from bayescale.exceptions import SpecError
from bayescale.metric.data import BY, GRID_POINTS, TOKENS_PER_PARAM

# ----------------------------------------------------------------------------- emergence

if TYPE_CHECKING:  # only an annotation: law.py imports this module
    from bayescale.metric.law import MetricFit


@dataclass(frozen=True)
class Emergence:
    """Emergence thresholds at one level.

    Attributes
    ----------
    table : DataFrame
        One row per fitted family and one for a new family (``"(new family)"``): ``family``,
        ``median``, ``lower``, ``upper`` (the threshold, in FLOPs or parameters, see ``by``;
        inf where more than the tail share of draws never reach the level inside the range),
        ``p_reached_by_target``, ``p_not_emerged`` (share of draws whose expected metric stays
        below the level over the whole range), ``p_reached_at_start`` (already at the level at
        the start of the range: the threshold lies at or below it).
    draws : dict
        Family -> threshold draws (inf: not reached in the range).
    level, prob, by, target, target_flops, flops_range, tokens_per_param, params
        What was asked: the metric level, interval probability, unit (``"flops"`` or
        ``"params"``), the target in that unit and in FLOPs, the searched compute range
        (FLOPs), the tokens per parameter of ``by="params"`` and the model size N followed
        with ``by="flops"`` by a law of size and compute.
    """

    table: pd.DataFrame
    draws: dict[str, np.ndarray] = field(repr=False)
    level: float
    prob: float
    by: str
    target: float
    target_flops: float
    flops_range: tuple[float, float]
    tokens_per_param: float | None
    diagnostics_ok: bool
    params: float | None = None

    def row(self, family: str) -> dict:
        """The table row of one family, as a dict (None for an infinite bound)."""
        row = self.table.set_index("family").loc[family]
        return {"family": family, **{k: _finite(row[k]) for k in (
            "median", "lower", "upper", "p_reached_by_target", "p_not_emerged",
            "p_reached_at_start")}}

    def to_dict(self) -> dict:
        """The JSON contract: ``families``, ``population``, ``level``, ``prob`` (+ context)."""
        families = [f for f in self.table["family"] if f != _defaults.NEW_FAMILY]
        return {
            "families": [self.row(f) for f in families],
            "population": self.row(_defaults.NEW_FAMILY),
            "level": self.level,
            "prob": self.prob,
            "by": self.by,
            "target": self.target,
            "target_flops": self.target_flops,
            "range_flops": list(self.flops_range),
            "tokens_per_param": self.tokens_per_param,
            "params": self.params,
            "diagnostics_ok": self.diagnostics_ok,
        }


def _finite(value) -> float | None:
    value = float(value)
    return value if np.isfinite(value) else None


def _quantiles(values: np.ndarray, qs: Sequence[float]) -> list[float]:
    """Quantiles of draws that may be +inf (an infinite quantile stays inf, no NaN)."""
    finite = np.isfinite(values)
    largest = values[finite].max() if finite.any() else -np.inf
    q = np.quantile(np.where(finite, values, np.finfo(float).max / 4), qs)
    return [float(v) if v <= largest else float("inf") for v in q]


def threshold_draws(curve: np.ndarray, log_grid: np.ndarray, level: float) -> np.ndarray:
    """Per draw (row of ``curve``), the first log-compute at which ``curve`` reaches ``level``.

    Linear interpolation between grid points; ``log_grid[0]`` when the first point already
    reaches it; +inf when no point does.
    """
    above = curve >= level
    first = np.argmax(above, axis=1)
    reached = above.any(axis=1)
    out = np.full(curve.shape[0], np.inf)
    rows = np.flatnonzero(reached & (first > 0))
    i = first[rows]
    y0, y1 = curve[rows, i - 1], curve[rows, i]
    frac = np.clip((level - y0) / np.where(y1 > y0, y1 - y0, 1.0), 0.0, 1.0)
    out[rows] = log_grid[i - 1] + frac * (log_grid[i] - log_grid[i - 1])
    out[reached & (first == 0)] = log_grid[0]
    return out


def emergence(
    fit: MetricFit,
    level: float,
    *,
    by: str = "flops",
    target_flops: float | None = None,
    flops_range: tuple[float, float] | None = None,
    tokens_per_param: float = TOKENS_PER_PARAM,
    params: float | None = None,
    families: Sequence[str] | None = None,
    prob: float = _defaults.CI_PROB,
    random_seed: int = 0,
) -> Emergence:
    """Posterior of the scale at which the expected metric reaches ``level``.

    Parameters
    ----------
    fit : MetricFit
        A fit of a metric law of compute (input ``flops``), or of model size and compute
        (``params`` and ``flops``, e.g. ``gompertz_size``).
    level : float
        The metric level, strictly between the chance level and the ceiling.
    by : {"flops", "params"}
        Report C (FLOPs), or N (parameters) trained at D = ``tokens_per_param`` N tokens
        (C = 6 N D). For a law of size and compute, ``"params"`` moves along
        N = sqrt(C / (6 R)), and ``"flops"`` along the training of one model of ``params``
        parameters.
    target_flops : float, optional
        Target compute C (FLOPs) for ``p_reached_by_target``; default: the largest observed C.
    flops_range : (float, float), optional
        Compute range (FLOPs) searched; default: from the smallest observed C to 100 times
        max(largest observed C, target).
    params : float, optional
        Model size N (parameters) for a law of size and compute with ``by="flops"``.
    families : sequence of str, optional
        Fitted families to report (default all); a new family is always added.
    prob : float
        Interval probability (equal-tailed).
    random_seed : int
        Seed of the new-family draws.
    """
    if fit.form.inputs not in (("flops",), ("params", "flops")):
        raise SpecError(f"metric law {fit.law.form} is not a law in compute (inputs "
                        f"{fit.form.inputs}); emergence thresholds need a law of flops, or of "
                        "params and flops")
    if by not in BY:
        raise SpecError(f"by must be one of {', '.join(BY)}, got {by!r}")
    sized = "params" in fit.form.inputs
    if sized and by == "flops" and not (params is not None and params > 0):
        raise SpecError(f"metric law {fit.law.form} depends on model size: give params= (N, "
                        "the model whose training is followed) or use by='params'")
    if not fit.chance < level < fit.ceiling:
        raise SpecError(f"level must lie strictly between chance ({fit.chance}) and the "
                        f"ceiling ({fit.ceiling}), got {level}")
    if not 0 < prob < 1:
        raise SpecError(f"prob must lie strictly between 0 and 1, got {prob}")
    if not tokens_per_param > 0:
        raise SpecError(f"tokens_per_param must be > 0, got {tokens_per_param}")
    observed = fit.data["flops"].to_numpy(dtype=float)
    target = float(observed.max()) if target_flops is None else float(target_flops)
    if not target > 0:
        raise SpecError(f"target_flops must be > 0, got {target_flops}")
    lo, hi = flops_range or (float(observed.min()), 100.0 * max(observed.max(), target))
    if not 0 < lo < hi:
        raise SpecError(f"flops_range needs 0 < LO < HI, got {lo:g}, {hi:g}")
    log_grid = np.linspace(np.log(lo), np.log(hi), GRID_POINTS)
    names = list(families) if families is not None else fit.families
    rows, all_draws = [], {}
    tail = (1 - prob) / 2
    for family in [*names, _defaults.NEW_FAMILY]:
        p = fit.parameter_draws(fit._family(family), random_seed=random_seed)
        compute = np.exp(log_grid)
        inputs = {"flops": compute}
        if sized:
            inputs["params"] = (np.full_like(compute, params) if by == "flops"
                                else np.sqrt(compute / (6.0 * tokens_per_param)))
        curve = fit.mean_draws(inputs, p)
        log_c = threshold_draws(curve, log_grid, level)
        flops = np.exp(log_c)
        value = flops if by == "flops" else np.sqrt(flops / (6.0 * tokens_per_param))
        all_draws[family] = value
        median, lower, upper = _quantiles(value, (0.5, tail, 1 - tail))
        rows.append({
            "family": family,
            "median": median,
            "lower": lower,
            "upper": upper,
            "p_reached_by_target": float(np.mean(flops <= target)),
            "p_not_emerged": float(np.mean(~np.isfinite(log_c))),
            "p_reached_at_start": float(np.mean(log_c == log_grid[0])),
        })
    target_by = target if by == "flops" else float(np.sqrt(target / (6.0 * tokens_per_param)))
    return Emergence(
        table=pd.DataFrame(rows), draws=all_draws, level=float(level), prob=float(prob), by=by,
        target=target_by, target_flops=target, flops_range=(float(lo), float(hi)),
        tokens_per_param=float(tokens_per_param) if by == "params" else None,
        diagnostics_ok=fit.diagnostics.ok,
        params=float(params) if sized and by == "flops" else None,
    )
