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
