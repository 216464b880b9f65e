"""Helpers shared by the figures: a headless pyplot, panel grids, input grids along a curve."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from bayescale import _defaults

#: Posterior draws used for bands (thinned evenly); enough for 90% bands.
MAX_PLOT_DRAWS = _defaults.MAX_PLOT_DRAWS
#: Axis labels with units.
LABELS = {
    "flops": "training compute C (FLOPs)",
    "params": "parameters N",
    "tokens": "training tokens D",
    "loss": "loss (nats/token)",
}


def pyplot():
    """matplotlib.pyplot with the user's backend (Agg by itself where there is no display)."""
    # no matplotlib.use(): a notebook keeps its inline backend, and without a display
    # matplotlib falls back to Agg by itself
    import matplotlib.pyplot as plt

    return plt


def panels(n: int, *, ncols: int = 3, width: float = 4.6, height: float = 3.8,
           sharey: bool = False):
    """A figure with ``n`` visible panels on a grid of at most ``ncols`` columns."""
    plt = pyplot()
    ncols = max(1, min(ncols, n))
    nrows = math.ceil(n / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(width * ncols, height * nrows),
                             squeeze=False, sharey=sharey)
    for ax in list(axes.flat)[n:]:
        ax.set_visible(False)
    return fig, axes


def interpolate_along(rows: pd.DataFrame, along: str, grid: np.ndarray,
                      columns) -> pd.DataFrame:
    """Columns of ``rows`` interpolated at ``grid`` values of the column ``along``.

    Interpolation is linear in log-log (positive columns) or in log ``along`` (columns with
    zeros, such as an annealing area); values repeated at one ``along`` value are averaged.
    Outside the rows' range the end values are held (``np.interp``).
    """
    out = {along: grid}
    table = rows[[along, *[c for c in columns if c != along]]].astype(float)
    for name in columns:
        if name == along:
            continue
        values = table[name].to_numpy()
        positive = bool(np.all(values > 0))
        key = np.log(table[along].to_numpy())
        target = np.log(values) if positive else values
        frame = pd.DataFrame({"k": key, "v": target}).groupby("k", sort=True)["v"].mean()
        result = np.interp(np.log(grid), frame.index.to_numpy(), frame.to_numpy())
        out[name] = np.exp(result) if positive else result
    return pd.DataFrame(out)


def curve_inputs(form, runs: pd.DataFrame) -> list[str]:
    """Numeric columns a curve needs: the law's inputs, plus N, D and C when present."""
    names = list(dict.fromkeys([*form.inputs, "params", "tokens", "flops"]))
    return [n for n in names if n in runs]


def size_colours(sizes, cmap_name: str = "viridis") -> dict:
    """One colour per value (e.g. model size N), evenly along a colour map in log scale."""
    plt = pyplot()
    cmap = plt.get_cmap(cmap_name)
    sizes = np.sort(np.unique(np.asarray(sizes, dtype=float)))
    if sizes.size == 1:
        return {sizes[0]: cmap(0.4)}
    logs = np.log(sizes)
    span = logs[-1] - logs[0]
    return {s: cmap(0.9 * (v - logs[0]) / span) for s, v in zip(sizes, logs, strict=True)}


def plain_log_axis(axis) -> None:
    """Label a logarithmic loss axis with plain numbers (2.5, 3, 4) instead of 3x10^0."""
    from matplotlib.ticker import LogFormatter

    axis.set_major_formatter(LogFormatter())
    axis.set_minor_formatter(LogFormatter(minor_thresholds=(2, 0.5)))
