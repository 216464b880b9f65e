"""Figures of a fit (matplotlib); they draw what ``predict`` computes, never compute it anew."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from bayescale import _defaults
from bayescale.predict import loss_draws, summarize_draws

MAX_PLOT_DRAWS = 400  # posterior draws used for bands (thinned evenly); enough for 90% bands


def _curves(form, family_runs: pd.DataFrame, num: int = 60) -> list[pd.DataFrame]:
    """Input grids along which to draw the law: one per model size (tokens vary), or compute."""
    if "tokens" not in form.inputs:
        lo, hi = family_runs["flops"].min(), family_runs["flops"].max()
        return [pd.DataFrame({"flops": np.geomspace(lo / 1.5, hi * 1.5, num)})]
    grids = []
    for n, rows in family_runs.groupby("params"):
        tokens = np.geomspace(rows["tokens"].min(), rows["tokens"].max(), num)
        if rows["tokens"].nunique() == 1:
            tokens = rows["tokens"].to_numpy()[:1]
        grid = pd.DataFrame({"params": float(n), "tokens": tokens})
        grid["flops"] = 6.0 * grid["params"] * grid["tokens"]
        grids.append(grid)
    return grids


def plot_fit(fit, *, prob: float = _defaults.CI_PROB, held_out: pd.DataFrame | None = None):
    """Data and posterior median curves with ``prob`` bands, one panel per family.

    x axis: training compute C (FLOPs), y axis: loss (nats/token), both logarithmic; each model
    size N is one colour, its curve runs along its tokens D. ``held_out`` rows (canonical
    columns ``family, params, tokens, flops, loss``) are drawn as black crosses.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    runs = fit.runs
    families = fit.families
    ncols = min(3, len(families))
    nrows = math.ceil(len(families) / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.6 * ncols, 3.8 * nrows), squeeze=False,
                             sharey=True)
    sizes = np.sort(runs["params"].unique())
    cmap = plt.get_cmap("viridis")
    colour = {n: cmap(i / max(1, len(sizes) - 1)) for i, n in enumerate(sizes)}
    for ax, family in zip(axes.flat, families, strict=False):
        rows = runs[runs["family"] == family]
        for grid in _curves(fit.form, rows):
            draws = loss_draws(fit, grid, family=family, kind="mean", max_draws=MAX_PLOT_DRAWS)
            band = summarize_draws(draws, prob=prob)
            c = colour.get(grid["params"].iloc[0], "C0") if "params" in grid else "C0"
            ax.plot(grid["flops"], band["median"], color=c, lw=1.2)
            ax.fill_between(grid["flops"], band["lower"], band["upper"], color=c, alpha=0.25,
                            lw=0)
        point_colours = [colour.get(n, "C0") for n in rows["params"]]
        ax.scatter(rows["flops"], rows["loss"], s=9, c=point_colours, edgecolor="none",
                   alpha=0.8)
        if held_out is not None:
            mine = held_out[held_out["family"] == family]
            ax.scatter(mine["flops"], mine["loss"], marker="x", color="black", s=30,
                       label="held out")
            if len(mine):
                ax.legend(loc="upper right", fontsize=8)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_title(f"{family}", fontsize=10)
        ax.set_xlabel("training compute C (FLOPs)")
    for ax in axes[:, 0]:
        ax.set_ylabel("loss (nats/token)")
    for ax in list(axes.flat)[len(families):]:
        ax.set_visible(False)
    fig.suptitle(
        f"{fit.law.form} law: posterior median and {prob:.0%} equal-tailed bands "
        "(colour: model size N)",
        fontsize=10,
    )
    fig.tight_layout()
    return fig


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def plot_crossover(crossover, *, runs: pd.DataFrame | None = None,
                   target_flops: float | None = None):
    """Both recipes' mean curves with bands along compute, and the crossover posterior beneath.

    ``crossover`` is a :class:`bayescale.decision.Crossover`; ``runs`` (canonical columns
    ``family, flops, loss``) adds the observed rows of the two recipes; ``target_flops`` draws
    a vertical line. Top: median and ``prob`` bands of L_A and L_B against C (FLOPs), log-log.
    Bottom: histogram of the crossover C over the draws that cross, with median and interval.

    Returns
    -------
    matplotlib.figure.Figure
    """
    plt = _pyplot()
    cx = crossover
    table = cx.table
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(6.4, 6.4), sharex=True,
                                      gridspec_kw={"height_ratios": [2.2, 1]})
    for key, name, colour in (("a", cx.a, "C0"), ("b", cx.b, "C3")):
        top.plot(table["flops"], table[f"{key}_median"], color=colour, lw=1.4,
                 label=f"{name} ({key.upper()})")
        top.fill_between(table["flops"], table[f"{key}_lower"], table[f"{key}_upper"],
                         color=colour, alpha=0.25, lw=0)
        if runs is not None:
            rows = runs[runs["family"] == name]
            top.scatter(rows["flops"], rows["loss"], s=8, color=colour, alpha=0.5,
                        edgecolor="none")
    top.set_xscale("log")
    top.set_yscale("log")
    top.set_ylabel("loss")
    top.set_title(f"{cx.b} vs {cx.a}: posterior median and {cx.prob:.0%} bands", fontsize=10)
    crossed = cx.draws[np.isfinite(cx.draws)]
    lo, hi = cx.flops_range
    if crossed.size:
        bins = np.geomspace(lo, hi, 41)
        bottom.hist(crossed, bins=bins, color="0.4", weights=np.full(crossed.size,
                                                                      1 / cx.draws.size))
        for value, style in ((cx.median, "-"), (cx.lower, "--"), (cx.upper, "--")):
            bottom.axvline(value, color="black", ls=style, lw=1)
            top.axvline(value, color="black", ls=style, lw=0.8, alpha=0.6)
    else:
        bottom.set_xlim(lo, hi)
        bottom.text(0.5, 0.5, "no posterior draw crosses in this range", ha="center",
                    va="center", transform=bottom.transAxes, fontsize=9)
    bottom.set_ylabel("posterior share")
    bottom.set_xlabel("training compute C (FLOPs)")
    bottom.set_title(f"crossover C: P(cross in range) = {cx.p_cross_in_range:.2f}, "
                     f"P({cx.b} overtakes) = {cx.p_b_overtakes:.2f}", fontsize=9)
    if target_flops is not None:
        for ax in (top, bottom):
            ax.axvline(target_flops, color="C2", lw=1, ls=":")
        top.plot([], [], color="C2", ls=":", label="target")
    top.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_compute_optimal(result, *, runs: pd.DataFrame | None = None):
    """The compute-optimal frontier N*(C) and D*(C) with bands, from a ``ComputeOptimal``.

    x axis: compute C (FLOPs); y axis: N* (parameters) and D* (tokens), log-log, median and
    ``prob`` band of each. ``runs`` (canonical ``params, tokens, flops``) adds the observed
    runs' N and D for reference.

    Returns
    -------
    matplotlib.figure.Figure
    """
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.0, 4.4))
    for quantity, colour, label in (("params", "C0", "N* (parameters)"),
                                    ("tokens", "C1", "D* (tokens)")):
        rows = result.table[result.table["quantity"] == quantity]
        ax.plot(rows["flops"], rows["median"], color=colour, lw=1.4, label=label)
        ax.fill_between(rows["flops"], rows["lower"], rows["upper"], color=colour, alpha=0.25,
                        lw=0)
        if runs is not None:
            ax.scatter(runs["flops"], runs[quantity], s=7, color=colour, alpha=0.35,
                       edgecolor="none")
    exps = result.exponents.set_index("quantity")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("training compute C (FLOPs)")
    ax.set_ylabel("compute-optimal N*, D*")
    ax.set_title(
        f"compute-optimal allocation ({result.family}): N* ~ C^{exps.loc['a', 'median']:.3f}, "
        f"D* ~ C^{exps.loc['b', 'median']:.3f}; {result.prob:.0%} bands", fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
