"""Decisions from a fitted law: is recipe B better than A, where do they cross, what is optimal.

Everything here works on the posterior draws of ONE fit (numpy, no model rebuilt, nothing
resampled). Recipes are compared inside one model: :func:`fit_recipes` fits them jointly as
groups ("families") of the usual hierarchy, so draw ``s`` of recipe A and draw ``s`` of recipe
B come from the same joint posterior sample (paired draws). Every probability below is a
fraction of those paired draws.

Conventions (units as everywhere: N in parameters, D in tokens, C in FLOPs, loss in
nats/token or whatever positive "loss" was fitted, e.g. an error rate):

- the difference is ``L_B - L_A``: negative means B has the lower loss (B is better);
- ``p_b_better`` is P(L_B < L_A), exact ties counting one half;
- intervals are equal-tailed, ``prob`` (default 0.9) and every result records ``prob``;
- along compute C, a law in (N, D) is evaluated at an *allocation* of C: ``"optimal"`` (the
  default: each recipe at its own compute-optimal N*(C), D*(C) in every draw, see
  :func:`chinchilla_optimum`) or a number R of tokens per parameter (N = sqrt(C / 6R),
  D = R N, C = 6 N D); a law in C alone is evaluated directly.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from bayescale import _defaults
from bayescale.data import read_runs
from bayescale.exceptions import DataError, SpecError
from bayescale.predict import (
    check_points,
    draws_of,
    family_parameter_draws,
    loss_draws,
    summarize_draws,
)

RECIPE_SEPARATOR = "/"  # family label of recipe r in data family f: "r/f"
OPTIMAL = "optimal"  # the default allocation of compute between N and D
CROSSOVER_GRID = 200  # log-spaced points on which crossings are located (then interpolated)
CHINCHILLA_CONSTANTS = ("E", "A", "B", "alpha", "beta")


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


@dataclass(frozen=True)
class DecisionReport:
    """A decision in one object: a table, plain-language text, and the diagnostics verdict.

    Attributes
    ----------
    table : DataFrame
        ``quantity``, ``flops``, ``value``, ``lower``, ``upper``, ``prob``: P(B better) and the
        expected difference L_B - L_A at the target and at the largest observed compute, the
        crossover probabilities and the crossover C.
    text : str
        The same in sentences, ending with the diagnostics verdict.
    diagnostics_ok : bool
        False when the fit's sampling diagnostics failed: then the numbers are not reliable.
    comparison, crossover : Comparison, Crossover
        The results the report was built from.
    """

    table: pd.DataFrame
    text: str
    diagnostics_ok: bool
    comparison: Comparison | None = field(default=None, repr=False)
    crossover: Crossover | None = field(default=None, repr=False)

    def __str__(self) -> str:
        return self.text


# --------------------------------------------------------------------------------------------
# Recipes in one model
# --------------------------------------------------------------------------------------------


def recipe_runs(
    source,
    recipe_column: str = "recipe",
    *,
    columns: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Read a run table whose recipes become the groups ("families") of the hierarchy.

    The family of a row becomes its recipe, or ``"{recipe}/{family}"`` when the table also has
    a family column (then every (recipe, family) pair is one group). Runs are relabelled so
    that runs of different recipes never share a label (a default run label is rebuilt from
    the new family; a given one is prefixed with the recipe).

    Parameters
    ----------
    source : path or DataFrame
        The run table (see :func:`bayescale.read_runs`).
    recipe_column : str
        Column holding the recipe label (default ``"recipe"``).
    columns : mapping, optional
        Further renames, canonical name -> your column.

    Returns
    -------
    DataFrame
        The canonical run table with the new ``family`` and ``run`` and the ``recipe`` column.
    """
    mapping = dict(columns or {})
    if recipe_column != "recipe":
        mapping.setdefault("recipe", recipe_column)
    runs = read_runs(source, columns=mapping or None)
    if "recipe" not in runs:
        raise DataError(f"no recipe column {recipe_column!r} in the run table")
    recipe = runs["recipe"].astype(str)
    has_family = not (runs["family"] == "all").all()
    family = recipe + RECIPE_SEPARATOR + runs["family"] if has_family else recipe
    default_run = [
        f"{f}|N={p:.6g}|seed={s}"
        for f, p, s in zip(runs["family"], runs["params"], runs["seed"], strict=True)
    ]
    if (runs["run"] == pd.Series(default_run, index=runs.index)).all():
        run = [f"{f}|N={p:.6g}|seed={s}"
               for f, p, s in zip(family, runs["params"], runs["seed"], strict=True)]
    else:
        run = recipe + "|" + runs["run"]
    runs = runs.assign(family=family, run=run)
    return runs.sort_values(["family", "run", "tokens", "row"], kind="stable").reset_index(
        drop=True
    )


def recipe_pooling(n_groups: int) -> str:
    """Default pooling for ``n_groups`` recipe groups: ``"none"`` below 3, else ``"partial"``.

    With two groups there is no population to learn: the between-group spread is its prior,
    which shrinks the recipes towards each other (biasing a comparison towards "no
    difference") and slows NUTS (measured on simulated pairs of recipes, compute law, 2x1000
    draws: r_hat up to 1.024 and bulk ESS down to 216 with partial pooling, versus r_hat <=
    1.009 and ESS >= 447 without). The recipes still share one model: the noise parameters
    are common and the draws are paired.
    """
    return "none" if n_groups < 3 else "partial"


def fit_recipes(source, recipe_column: str = "recipe", *, law=None, columns=None, **fit_kwargs):
    """Fit several recipes jointly: one model, the recipes as groups of the hierarchy.

    ``law`` is a :class:`~bayescale.ScalingLaw` or a law name (default ``"chinchilla"``); a
    name gets :func:`recipe_pooling`'s pooling. ``fit_kwargs`` go to :meth:`ScalingLaw.fit`
    (``draws``, ``tune``, ``chains``, ``random_seed``, ``sampler``, ...). Returns a
    :class:`~bayescale.ScalingFit` whose families are the groups of :func:`recipe_runs`.
    """
    from bayescale.law import ScalingLaw

    runs = recipe_runs(source, recipe_column, columns=columns)
    if law is None or isinstance(law, str):
        law = ScalingLaw(law or "chinchilla", pooling=recipe_pooling(runs["family"].nunique()))
    return law.fit(runs, **fit_kwargs)


def recipe_family(groups: Sequence[str], recipe: str, family: str | None = None) -> str:
    """The group label of ``recipe`` (in data family ``family``) among ``groups``.

    ``groups`` are the fitted families (``fit.families``) or the ``family`` column of
    :func:`recipe_runs`. Raises SpecError naming the groups when the label is not there.
    """
    groups = sorted({str(g) for g in groups})
    label = recipe if family is None else f"{recipe}{RECIPE_SEPARATOR}{family}"
    if label not in groups:
        hint = ""
        if family is None and any(g.startswith(recipe + RECIPE_SEPARATOR) for g in groups):
            hint = " (the data has families too: name one)"
        raise SpecError(f"unknown recipe {label!r}; groups: {', '.join(groups)}{hint}")
    return label


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


def _default_family(fit, family: str | None) -> str:
    if family is not None:
        return family
    return fit.families[0] if len(fit.families) == 1 else _defaults.NEW_FAMILY


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
    family = _default_family(fit, family)
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


def _add_noise(fit, posterior, log_loss: np.ndarray, random_seed: int) -> np.ndarray:
    """A new run's seed offset and observation noise on log-loss (as ``loss_draws`` adds)."""
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
        log_loss = _add_noise(fit, posterior, log_loss, random_seed)
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


def decision_report(
    fit,
    a: str,
    b: str,
    *,
    target_flops: float,
    flops_range: tuple[float, float] | None = None,
    kind: str = "mean",
    allocation: str | float = OPTIMAL,
    prob: float = _defaults.CI_PROB,
    random_seed: int = 0,
) -> DecisionReport:
    """Will B beat A at ``target_flops``, where do they cross, and can the fit be trusted?

    ``flops_range`` (FLOPs) defaults to [smallest observed C of A and B, max(target, largest
    observed C)]. ``kind`` applies to P(B better) and the expected difference; the crossover
    is always between mean curves. The text carries the diagnostics verdict of ``fit``.
    """
    observed = fit.runs[fit.runs["family"].isin([a, b])]["flops"]
    c_max = max_observed_flops(fit, [a, b])
    if flops_range is None:
        flops_range = (float(observed.min()), max(float(target_flops), c_max))
    comparison = compare(fit, a, b, flops=[target_flops, c_max], kind=kind,
                         allocation=allocation, prob=prob, random_seed=random_seed)
    cross = crossover(fit, a, b, flops_range=flops_range, allocation=allocation, prob=prob,
                      random_seed=random_seed)
    rows = []
    for label, (_, r) in zip(("target", "max observed"), comparison.table.iterrows(),
                             strict=True):
        rows.append({"quantity": f"p_b_better at {label}", "flops": r["flops"],
                     "value": r["p_b_better"], "lower": np.nan, "upper": np.nan})
        rows.append({"quantity": f"expected_difference at {label}", "flops": r["flops"],
                     "value": r["expected_difference"], "lower": r["lower"],
                     "upper": r["upper"]})
    rows += [
        {"quantity": "p_cross_in_range", "flops": np.nan, "value": cross.p_cross_in_range,
         "lower": np.nan, "upper": np.nan},
        {"quantity": "p_b_overtakes", "flops": np.nan, "value": cross.p_b_overtakes,
         "lower": np.nan, "upper": np.nan},
        {"quantity": "crossover_flops", "flops": np.nan, "value": cross.median,
         "lower": cross.lower, "upper": cross.upper},
    ]
    table = pd.DataFrame(rows)
    table["prob"] = prob
    text = _report_text(fit, comparison, cross, kind=kind)
    return DecisionReport(table, text, fit.diagnostics.ok, comparison, cross)


def _report_text(fit, comparison: Comparison, cross: Crossover, *, kind: str) -> str:
    a, b, prob = comparison.a, comparison.b, comparison.prob
    target, at_max = comparison.table.iloc[0], comparison.table.iloc[1]
    lo, hi = cross.flops_range
    what = "mean loss" if kind == "mean" else "loss of a new run"
    lines = []
    if cross.p_cross_in_range > 0:
        first, second, p = b, a, cross.p_b_overtakes
        if cross.p_a_overtakes > cross.p_b_overtakes:
            first, second, p = a, b, cross.p_a_overtakes
        lines.append(
            f"{first} overtakes {second} between {lo:.3g} and {hi:.3g} FLOPs with probability "
            f"{p:.2f} (the curves cross there with probability "
            f"{cross.p_cross_in_range:.2f}); given a crossing, it lies between "
            f"{cross.lower:.3g} and {cross.upper:.3g} FLOPs ({prob:.0%}, median "
            f"{cross.median:.3g})."
        )
    else:
        leader = b if cross.p_b_ahead_at_lo > 0.5 else a
        lines.append(f"The curves do not cross between {lo:.3g} and {hi:.3g} FLOPs in any "
                     f"posterior draw; {leader} is ahead throughout.")
    lines.append(
        f"At the target {target['flops']:.3g} FLOPs, P({b} has the lower {what}) = "
        f"{target['p_b_better']:.2f}; expected difference L_{b} - L_{a} = "
        f"{target['expected_difference']:+.4g} [{target['lower']:+.4g}, {target['upper']:+.4g}] "
        f"({prob:.0%})."
    )
    lines.append(
        f"At the largest observed compute, {at_max['flops']:.3g} FLOPs, P({b} better) = "
        f"{at_max['p_b_better']:.2f}."
    )
    if "tokens" in fit.form.inputs:
        alloc = cross.allocation
        lines.append("Each recipe is placed at its own compute-optimal N and D in every draw."
                     if alloc == OPTIMAL else
                     f"Models are trained with {alloc:g} tokens per parameter.")
    d = fit.diagnostics
    if d.ok:
        lines.append(f"Sampling diagnostics: ok ({d.divergences} divergences, max r_hat "
                     f"{d.max_rhat:.3f}, min bulk ESS {d.min_ess_bulk:.0f}).")
    else:
        lines.append("Sampling diagnostics FAILED, so these numbers are not reliable: "
                     + "; ".join(d.messages))
    return "\n".join(lines)


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


__all__ = [
    "Comparison",
    "ComputeOptimal",
    "Crossover",
    "DecisionReport",
    "chinchilla_optimum",
    "compare",
    "compute_optimal",
    "crossover",
    "crossover_draws",
    "decision_report",
    "fit_recipes",
    "loss_at_flops",
    "recipe_family",
    "recipe_pooling",
    "recipe_runs",
]
