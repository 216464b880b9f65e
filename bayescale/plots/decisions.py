"""Decision figures: the crossover of two recipes and the compute-optimal frontier.

They draw what :mod:`bayescale.decisions` computes, never compute it anew.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from bayescale.plots._common import pyplot as _pyplot


def plot_crossover(crossover, *, runs: pd.DataFrame | None = None,
                   target_flops: float | None = None):
    """Both recipes' mean curves with bands along compute, and the crossover posterior beneath.

    ``crossover`` is a :class:`bayescale.decisions.Crossover`; ``runs`` (canonical columns
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
