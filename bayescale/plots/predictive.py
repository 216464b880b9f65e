"""Predictive checks: posterior predictive, prior predictive and residuals along each run."""

from __future__ import annotations

import numpy as np
import pandas as pd

from bayescale import _defaults
from bayescale.checks import (
    interval_coverage,
    lag1_autocorrelation,
    posterior_predictive_draws,
    prior_predictive_draws,
    residual_table,
)
from bayescale.plots._common import LABELS, panels, plain_log_axis, pyplot, size_colours


def _ecdf(values: np.ndarray):
    x = np.sort(values)
    return x, np.arange(1, x.size + 1) / x.size


def _predictive_tree(observed: np.ndarray, draws: np.ndarray):
    """Observed losses and replicated data sets (rows of ``draws``) as an ArviZ DataTree."""
    from arviz_base import from_dict

    return from_dict({"posterior_predictive": {"loss": draws[None]},
                      "observed_data": {"loss": observed}}, dims={"loss": ["obs"]})


def _on_axis(tree, fig, ax):
    """An arviz_plots PlotCollection that draws the ``loss`` variable onto ``ax`` of ``fig``."""
    import xarray as xr
    from arviz_plots import PlotCollection

    viz = xr.DataTree(xr.Dataset({"chart": np.array(fig, dtype=object)}), children={
        "plot": xr.DataTree(xr.Dataset({"loss": np.array(ax, dtype=object)})),
        "row_index": xr.DataTree(xr.Dataset({"loss": 0})),
        "col_index": xr.DataTree(xr.Dataset({"loss": 0})),
    })
    return PlotCollection(tree["posterior_predictive"].to_dataset(), viz, backend="matplotlib")


def plot_ppc(
    fit,
    *,
    n_replicates: int = 50,
    prob: float = _defaults.CI_PROB,
    random_seed: int = 0,
):
    """Posterior predictive check of the observed losses.

    Left: the empirical CDF of the observed losses (black) over those of ``n_replicates``
    replicated data sets (blue), each row drawn from its posterior predictive
    (:func:`bayescale.checks.posterior_predictive_draws`), on a log loss axis. Right
    (``arviz_plots.plot_ppc_pit``): the ECDF of the PIT values (share of replicates below each
    observed loss) minus the uniform CDF, with ArviZ's simultaneous-envelope test p-value; flat
    when calibrated, a rising-then-falling S when intervals are too narrow. The title gives the
    coverage of the ``prob`` predictive intervals.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import arviz_plots as azp

    plt = pyplot()
    draws = posterior_predictive_draws(fit, random_seed=random_seed)
    observed = fit.runs["loss"].to_numpy(dtype=float)
    rng = np.random.default_rng([random_seed, 4])
    chosen = rng.choice(draws.shape[0], size=min(n_replicates, draws.shape[0]), replace=False)
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.9))
    for i, s in enumerate(chosen):
        left.plot(*_ecdf(draws[s]), color="C0", alpha=0.25, lw=0.8,
                  label="replicated data" if i == 0 else None)
    left.plot(*_ecdf(observed), color="black", lw=1.6, label="observed")
    left.set_xscale("log")
    plain_log_axis(left.xaxis)
    left.set_xlabel(LABELS["loss"])
    left.set_ylabel("share of rows at or below")
    left.legend(fontsize=8, loc="lower right")
    left.set_title(f"observed vs {len(chosen)} replicated data sets", fontsize=10)
    tree = _predictive_tree(observed, draws)
    azp.plot_ppc_pit(tree, plot_collection=_on_axis(tree, fig, right), backend="matplotlib")
    right.set_xlabel("PIT: share of replicates below the observed loss")
    cover = interval_coverage(observed, draws, prob=prob)
    right.set_title(f"{cover:.0%} of rows inside their {prob:.0%} predictive interval",
                    fontsize=10)
    fig.suptitle(f"{fit.law.form} law: posterior predictive check ({observed.size} rows)",
                 fontsize=10)
    fig.tight_layout()
    return fig


def plot_residuals(fit, *, max_draws: int | None = 400):
    """Residuals of log-loss around each family's posterior median law, against tokens, by run.

    One panel per family; each run is one line through its checkpoints in token order (colour:
    model size N). Smooth, wandering lines mean a run's checkpoints are correlated (one curve,
    not independent points; bayescale's AR(1) residuals model this); a line shifted as a whole
    is a run offset. The title gives the pooled lag-1 autocorrelation within runs
    (:func:`bayescale.checks.lag1_autocorrelation`).

    Returns
    -------
    matplotlib.figure.Figure
    """
    table = residual_table(fit, max_draws=max_draws)
    colour_of = size_colours(table["params"])
    fig, axes = panels(len(fit.families), sharey=True)
    for ax, family in zip(axes.flat, fit.families, strict=False):
        rows = table[table["family"] == family]
        for _, run in rows.sort_values("tokens").groupby("run", sort=False):
            colour = colour_of[run["params"].iloc[0]]
            ax.plot(run["tokens"], 100 * run["residual"], color=colour, lw=1,
                    marker="o" if len(run) == 1 else None, ms=3)
        ax.axhline(0.0, color="black", lw=0.8, ls="--")
        ax.set_xscale("log")
        ax.set_xlabel(LABELS["tokens"])
        ax.set_title(family, fontsize=10)
    for ax in axes[:, 0]:
        ax.set_ylabel("residual of log loss (%)")
    rho = lag1_autocorrelation(table)
    rho_text = "n/a (one row per run)" if np.isnan(rho) else f"{rho:.2f}"
    fig.suptitle(f"{fit.law.form} law: residuals around the posterior median law, one line per "
                 f"run (colour: N); lag-1 autocorrelation within runs {rho_text}",
                 fontsize=10)
    fig.tight_layout()
    return fig


def plot_prior_predictive(
    law,
    runs: pd.DataFrame | None = None,
    *,
    draws: int = 500,
    prob: float = _defaults.CI_PROB,
    random_seed: int = 0,
):
    """What the priors say about the observed losses, before seeing them.

    ``law`` is a :class:`bayescale.ScalingLaw` with a canonical run table ``runs``, or a
    :class:`bayescale.ScalingFit` (its law, priors and data). Left: for every row, the ``prob``
    (dark) and 99% (light) prior predictive intervals of its loss against compute C, with the
    observed losses (black). Right: the prior predictive distribution of log10 loss over all
    rows against the observed one. Priors should cover the data without being much tighter.

    Returns
    -------
    matplotlib.figure.Figure
    """
    if runs is None:  # a fit
        law, runs = law.law, law.runs
    plt = pyplot()
    from matplotlib.collections import LineCollection

    sim = prior_predictive_draws(law, runs, draws=draws, random_seed=random_seed)
    observed = runs["loss"].to_numpy(dtype=float)
    c = runs["flops"].to_numpy(dtype=float)
    tail = (1 - prob) / 2
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.9))
    for q, colour, width in ((0.005, "0.85", 3.0), (tail, "0.55", 1.6)):
        lo, hi = np.quantile(sim, [q, 1 - q], axis=0)
        segments = np.stack([np.column_stack([c, lo]), np.column_stack([c, hi])], axis=1)
        left.add_collection(LineCollection(segments, colors=colour, linewidths=width,
                                           label=f"{1 - 2 * q:.0%} prior predictive"))
    left.scatter(c, observed, s=6, color="black", zorder=3, label="observed")
    left.set_xscale("log")
    left.set_yscale("log")
    left.set_xlim(c.min() / 1.5, c.max() * 1.5)
    left.set_ylim(max(np.quantile(sim, 0.001), 1e-3), np.quantile(sim, 0.999))
    left.set_xlabel(LABELS["flops"])
    left.set_ylabel(LABELS["loss"])
    left.legend(fontsize=8)
    inside = interval_coverage(observed, sim, prob=0.99)
    left.set_title(f"{inside:.0%} of observed losses inside their 99% prior interval",
                   fontsize=10)
    bins = np.linspace(*np.quantile(np.log10(sim), [0.001, 0.999]), 50)
    right.hist(np.log10(sim).ravel(), bins=bins, density=True, color="0.6",
               label="prior predictive")
    right.hist(np.log10(observed), bins=bins, density=True, histtype="step", color="black",
               lw=1.5, label="observed")
    right.set_xlabel("log10 loss (nats/token)")
    right.set_ylabel("density")
    right.legend(fontsize=8)
    right.set_title("all rows", fontsize=10)
    fig.suptitle(f"{law.form} law: prior predictive check ({draws} draws from the priors, "
                 f"{len(runs)} rows)", fontsize=10)
    fig.tight_layout()
    return fig
