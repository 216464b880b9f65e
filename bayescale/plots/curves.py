"""Loss against compute, parameters or tokens: data, posterior median curves and bands."""

from __future__ import annotations

import numpy as np
import pandas as pd

from bayescale import _defaults
from bayescale.exceptions import SpecError
from bayescale.plots._common import (
    LABELS,
    MAX_PLOT_DRAWS,
    curve_inputs,
    interpolate_along,
    panels,
    plain_log_axis,
    size_colours,
)
from bayescale.prediction import loss_draws, summarize_draws

AXES = ("flops", "params", "tokens")
#: Most tokens-per-parameter groups drawn against N (quantile bins of D/N beyond that).
MAX_RATIO_GROUPS = 5


def _is_6nd(runs: pd.DataFrame) -> bool:
    c = 6.0 * runs["params"].to_numpy(dtype=float) * runs["tokens"].to_numpy(dtype=float)
    return bool(np.allclose(runs["flops"].to_numpy(dtype=float), c, rtol=1e-6))


def _line_keys(form, runs: pd.DataFrame) -> list[str]:
    """Columns whose values name one curve along tokens.

    One curve per model size N, and per value of every other law input that is constant within
    runs (e.g. unique tokens U); one curve per run when some input varies along a run besides
    D and C (e.g. a learning-rate area), since such curves cannot be pooled across runs.
    """
    extra = [i for i in form.inputs if i not in ("params", "tokens", "flops")]
    if any(runs.groupby("run")[name].nunique().max() > 1 for name in extra):
        return ["run"]
    return ["params", *extra]


def _ratio_groups(final: pd.DataFrame) -> pd.Series:
    """Tokens-per-parameter group of each final row (labels are geometric-mean ratios)."""
    ratio = final["tokens"] / final["params"]
    rounded = ratio.map(lambda r: float(f"{r:.2g}"))
    if rounded.nunique() <= MAX_RATIO_GROUPS:
        return rounded
    bins = pd.qcut(np.log(ratio), MAX_RATIO_GROUPS, labels=False, duplicates="drop")
    centre = np.exp(np.log(ratio).groupby(bins).transform("mean"))
    return centre.map(lambda r: float(f"{r:.2g}"))


def _band(ax, fit, grid, family, x, colour, prob):
    draws = loss_draws(fit, grid, family=family, kind="mean", max_draws=MAX_PLOT_DRAWS)
    band = summarize_draws(draws, prob=prob)
    if len(grid) == 1:
        ax.errorbar(grid[x], band["median"],
                    yerr=[band["median"] - band["lower"], band["upper"] - band["median"]],
                    color=colour, fmt="_", ms=8, lw=1.2, capsize=0)
        return
    ax.plot(grid[x], band["median"], color=colour, lw=1.2)
    ax.fill_between(grid[x], band["lower"], band["upper"], color=colour, alpha=0.25, lw=0)


def _family_curves(ax, fit, rows: pd.DataFrame, family: str, x: str, prob: float,
                   colour_of: dict, num: int, ratio_of_run: dict | None = None) -> None:
    """Curves and data of one family along ``x`` (N: final checkpoints, by D/N group)."""
    form = fit.form
    columns = curve_inputs(form, rows)
    six_nd = "flops" in rows and _is_6nd(rows)
    if x == "params":
        final = rows.loc[rows.groupby("run")["tokens"].idxmax()]
        groups = final["run"].map(ratio_of_run)
        for ratio, members in final.groupby(groups):
            n = np.geomspace(members["params"].min(), members["params"].max(), num)
            n = np.unique(n) if members["params"].nunique() == 1 else n
            grid = interpolate_along(members, "params", n, columns)
            grid["tokens"] = ratio * grid["params"]
            if six_nd:
                grid["flops"] = 6.0 * grid["params"] * grid["tokens"]
            _band(ax, fit, grid, family, x, colour_of[ratio], prob)
        ax.scatter(final["params"], final["loss"], s=10, edgecolor="none", alpha=0.85,
                   c=[colour_of[g] for g in groups])
        return
    if "tokens" not in form.inputs and set(form.inputs) == {"flops"} and x == "flops":
        lo, hi = rows["flops"].min(), rows["flops"].max()
        grid = pd.DataFrame({"flops": np.geomspace(lo / 1.5, hi * 1.5, num)})
        _band(ax, fit, grid, family, x, "C0", prob)
    else:
        for _, members in rows.groupby(_line_keys(form, rows)):
            d = np.geomspace(members["tokens"].min(), members["tokens"].max(), num)
            d = np.unique(d) if members["tokens"].nunique() == 1 else d
            grid = interpolate_along(members, "tokens", d, columns)
            if six_nd:
                grid["flops"] = 6.0 * grid["params"] * grid["tokens"]
            _band(ax, fit, grid, family, x, colour_of[members["params"].iloc[0]], prob)
    ax.scatter(rows[x], rows["loss"], s=9, edgecolor="none", alpha=0.8,
               c=[colour_of[n] for n in rows["params"]])


def _held_out(ax, fit, rows: pd.DataFrame, family: str, x: str, prob: float,
              random_seed: int) -> bool:
    """Held-out rows: observed loss (crosses) and the predictive interval of a new run."""
    drawn = False
    try:
        table = fit.predict(rows[curve_inputs(fit.form, rows)], family=family, prob=prob,
                            kind="predictive",
                            random_seed=random_seed)
    except SpecError:
        table = None  # e.g. a new family of an unpooled fit: observed points only
    if table is not None:
        xs = table[x].to_numpy(dtype=float) if x in table else rows[x].to_numpy(dtype=float)
        ax.errorbar(xs, table["median"], yerr=[table["median"] - table["lower"],
                                               table["upper"] - table["median"]],
                    fmt="o", mfc="white", color="black", ms=4, lw=1.1, capsize=3,
                    label=f"predicted, new run ({prob:.0%})", zorder=4)
        drawn = True
    ax.scatter(rows[x], rows["loss"], marker="x", color="C3", s=36, zorder=5,
               label="held out (observed)")
    return drawn


def plot_loss(
    fit,
    *,
    x: str = "flops",
    held_out: pd.DataFrame | None = None,
    prob: float = _defaults.CI_PROB,
    families=None,
    num: int = 60,
    random_seed: int = 0,
):
    """Loss against compute, parameters or tokens: data, posterior median and bands per family.

    One panel per family (per-family panels; ``families`` picks some). Curves are the family's
    mean law (``kind="mean"``), median and equal-tailed ``prob`` band over posterior draws:

    - ``x="flops"`` (C, FLOPs) or ``"tokens"`` (D): one curve per model size N (colour), along
      the tokens its runs span (with other inputs interpolated between the runs' rows); a law
      of compute alone draws one curve per family.
    - ``x="params"`` (N): each run's final checkpoint, and one curve per tokens-per-parameter
      group D/N (colour; at most five, quantile groups beyond that).

    ``held_out`` rows (canonical columns: ``family``, the law's inputs, ``loss``) are marked as
    red crosses with the ``prob`` predictive interval of a new run (black; unseen families are
    predicted as a new family, in their own panel). Axes are log-log, loss in nats/token.

    Returns
    -------
    matplotlib.figure.Figure
    """
    if x not in AXES:
        raise SpecError(f"x must be one of {', '.join(AXES)}, got {x!r}")
    runs = fit.runs
    names = list(fit.families if families is None else families)
    unknown = [f for f in names if f not in fit.families]
    if unknown:
        raise SpecError(f"unknown families {unknown}; fitted: {', '.join(fit.families)}")
    extra = []
    if held_out is not None and len(held_out):
        held_out = held_out.copy()
        if "family" not in held_out:
            held_out["family"] = fit.families[0] if len(fit.families) == 1 else "all"
        held_out["family"] = held_out["family"].astype(str)
        if "flops" not in held_out and {"params", "tokens"} <= set(held_out):
            held_out["flops"] = 6.0 * held_out["params"] * held_out["tokens"]
        if families is None:
            extra = [f for f in dict.fromkeys(held_out["family"]) if f not in fit.families]
    fig, axes = panels(len(names) + len(extra), sharey=True)
    if x == "params":
        final = runs.loc[runs.groupby("run")["tokens"].idxmax()]
        ratio_of_run = dict(zip(final["run"], _ratio_groups(final), strict=True))
        colour_of = size_colours(list(ratio_of_run.values()), "plasma")
    else:
        ratio_of_run = None
        colour_of = size_colours(runs["params"])
    for ax, family in zip(axes.flat, names + extra, strict=False):
        new = family not in fit.families
        if not new:
            rows = runs[runs["family"] == family]
            _family_curves(ax, fit, rows, family, x, prob, colour_of, num, ratio_of_run)
        if held_out is not None and len(held_out):
            mine = held_out[held_out["family"] == family]
            if len(mine):
                target = _defaults.NEW_FAMILY if new else family
                _held_out(ax, fit, mine, target, x, prob, random_seed)
                ax.legend(loc="upper right", fontsize=7)
        ax.set_xscale("log")
        ax.set_yscale("log")
        plain_log_axis(ax.yaxis)
        ax.set_title(f"{family} (predicted as a new family)" if new else family, fontsize=10)
        ax.set_xlabel(LABELS[x])
    for ax in axes[:, 0]:
        ax.set_ylabel(LABELS["loss"])
    colour = "tokens per parameter D/N" if x == "params" else "model size N"
    what = "final checkpoints; " if x == "params" else ""
    fig.suptitle(f"{fit.law.form} law: {what}posterior median and {prob:.0%} equal-tailed "
                 f"bands of the mean curve (colour: {colour})", fontsize=10)
    fig.tight_layout()
    return fig


def plot_fit(fit, *, prob: float = _defaults.CI_PROB, held_out: pd.DataFrame | None = None):
    """Data and posterior median curves with ``prob`` bands, one panel per family.

    x axis: training compute C (FLOPs), y axis: loss (nats/token), both logarithmic; each model
    size N is one colour, its curve runs along its tokens D. ``held_out`` rows (canonical
    columns ``family, params, tokens, flops, loss``) are drawn as crosses with the predictive
    interval of a new run. Same as :func:`plot_loss` with ``x="flops"``.

    Returns
    -------
    matplotlib.figure.Figure
    """
    return plot_loss(fit, x="flops", prob=prob, held_out=held_out)
