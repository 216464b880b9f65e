"""Figure of an emergence analysis: data, posterior curves with bands, level, threshold posterior.

It draws what :mod:`bayescale.metric` computes (curves from ``MetricFit.mean_draws``,
thresholds from :class:`~bayescale.metric.Emergence`), never anything new.
"""

from __future__ import annotations

import numpy as np

from bayescale import _defaults
from bayescale.prediction import summarize_draws

MAX_PLOT_DRAWS = _defaults.MAX_PLOT_DRAWS  # parameter draws used for the bands (thinned evenly)


def _curves(ax, fit, family: str, colour, grid: np.ndarray, prob: float, *,
            reach: float) -> None:
    """The data of ``family`` and the posterior median and ``prob`` band of its expected metric
    along compute ``grid`` (a new family: the median only, dashed); for laws of size and
    compute, one curve per model size along its training, continued to ``reach`` x 3."""
    import matplotlib.pyplot as plt

    p = fit.parameter_draws(family)
    n = len(next(iter(p.values())))
    keep = np.linspace(0, n - 1, min(n, MAX_PLOT_DRAWS)).astype(int)
    p = {k: v[keep] for k, v in p.items()}
    style = "--" if family == _defaults.NEW_FAMILY else "-"
    rows = fit.data[fit.data["family"] == family]
    if "params" not in fit.form.inputs:
        band = summarize_draws(fit.mean_draws({"flops": grid}, p), prob=prob)
        ax.plot(grid, band["median"], color=colour, lw=1.3, ls=style, label=family)
        if family != _defaults.NEW_FAMILY:
            ax.fill_between(grid, band["lower"], band["upper"], color=colour, alpha=0.2, lw=0)
            ax.scatter(rows["flops"], rows["metric"], s=12, color=colour, edgecolor="none")
    elif family != _defaults.NEW_FAMILY:  # one curve per model size, along its training
        sizes = np.sort(rows["params"].unique())
        for j, size in enumerate(sizes):
            shade = plt.get_cmap("viridis")(j / max(1, len(sizes) - 1))
            mine = rows[rows["params"] == size]
            along = np.geomspace(mine["flops"].min(), max(mine["flops"].max(), reach) * 3, 80)
            band = summarize_draws(fit.mean_draws(
                {"flops": along, "params": np.full_like(along, size)}, p), prob=prob)
            ax.plot(along, band["median"], color=shade, lw=1.2, label=f"{family} N={size:.2g}")
            ax.fill_between(along, band["lower"], band["upper"], color=shade, alpha=0.2, lw=0)
            ax.scatter(mine["flops"], mine["metric"], s=10, color=shade, edgecolor="none")


def plot_metric_fit(fit, *, prob: float = _defaults.CI_PROB):
    """A metric fit without a level: the data (one colour per family) and each family's
    posterior median curve of the expected metric with its ``prob`` band, a new family's
    median (dashed) and the chance level (dotted), against compute C (FLOPs), continued to
    10 x the largest observed C.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    flops = fit.data["flops"]
    grid = np.geomspace(flops.min(), flops.max() * 10, 120)
    fig, ax = plt.subplots(figsize=(7.5, 4.8))
    for i, family in enumerate([*fit.families, _defaults.NEW_FAMILY]):
        colour = "black" if family == _defaults.NEW_FAMILY else f"C{i % 10}"
        _curves(ax, fit, family, colour, grid, prob, reach=float(flops.max()))
    ax.axhline(fit.chance, color="grey", ls=":", lw=0.8)
    ax.set_xscale("log")
    ax.set_xlabel("training compute C (FLOPs)")
    ax.set_ylabel(f"{fit.metric} (expected; {prob:.0%} band)")
    ax.set_title(f"{fit.law.form} law, {fit.likelihood} likelihood", fontsize=10)
    ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    return fig


def plot_emergence(fit, result, *, prob: float = _defaults.CI_PROB):
    """Two panels: metric vs compute, and the posterior of the threshold compute.

    Top: the data (one colour per family), each family's posterior median curve of the
    expected metric with its ``prob`` band, the level (dashed) and the target compute
    (dotted). Bottom: histograms of the threshold draws (log10 of C in FLOPs, or of N in
    parameters for ``by="params"``) per family and for a new family; the legend gives each
    family's probability of not emerging inside the range.

    Returns
    -------
    matplotlib.figure.Figure
    """
    # no matplotlib.use(): a notebook keeps its inline backend, and without a display
    # matplotlib falls back to Agg by itself
    import matplotlib.pyplot as plt

    data = fit.data
    lo, hi = result.flops_range
    grid = np.geomspace(lo, min(hi, max(data["flops"].max(), result.target_flops) * 10), 120)
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(7.5, 8.0),
                                      gridspec_kw={"height_ratios": [3, 2]})
    # the families the result has thresholds for (emergence(..., families=[...]) may pick some)
    names = [f for f in [*fit.families, _defaults.NEW_FAMILY] if f in result.draws]
    for i, family in enumerate(names):
        colour = "black" if family == _defaults.NEW_FAMILY else f"C{i % 10}"
        style = "--" if family == _defaults.NEW_FAMILY else "-"
        _curves(top, fit, family, colour, grid, prob, reach=result.target_flops)
        draws = result.draws[family]
        finite = np.log10(draws[np.isfinite(draws)])
        p_never = result.table.set_index("family").loc[family, "p_not_emerged"]
        if finite.size:
            bottom.hist(finite, bins=50, histtype="step", density=True, color=colour, ls=style,
                        label=f"{family} (P not emerged {p_never:.2f})")
    top.axhline(result.level, color="grey", ls="--", lw=1)
    top.axhline(fit.chance, color="grey", ls=":", lw=0.8)
    top.axvline(result.target_flops, color="grey", ls=":", lw=1)
    top.set_xscale("log")
    top.set_xlabel("training compute C (FLOPs)")
    top.set_ylabel(f"{fit.metric} (expected; {prob:.0%} band)")
    top.legend(fontsize=7, loc="upper left")
    unit = "C (FLOPs)" if result.by == "flops" else (
        f"N (parameters) at {result.tokens_per_param:g} tokens/parameter")
    bottom.axvline(np.log10(result.target), color="grey", ls=":", lw=1)
    bottom.set_xlabel(f"log10 threshold {unit} where the expected {fit.metric} reaches "
                      f"{result.level:g}")
    bottom.set_ylabel("posterior density")
    bottom.legend(fontsize=7)
    fig.tight_layout()
    return fig
