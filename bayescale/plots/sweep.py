"""The sweep figure: median ARE and coverage against the number of fitted models, per cut."""

from __future__ import annotations

import pandas as pd

from bayescale import _defaults
from bayescale._defaults import SWEEP_STATUS_OK as STATUS_OK


def plot_sweep(table: pd.DataFrame, targets: pd.DataFrame, *, prob: float = _defaults.CI_PROB):
    """Median ARE (top) and coverage (bottom) against the number of model sizes fitted per
    family, one panel per data table, one colour per checkpoint cut.

    Over the ok fits' held-out targets; for ``n_models = "all"`` the x value is the number of
    sizes actually fitted. Of the other axes (families, pick, law, holdout) that vary within a
    table, the first with at most 3 values sets the line style; the targets of all other
    values are pooled (the panel title says which; :func:`summarise` has every cell). Returns
    the matplotlib figure.
    """
    from bayescale.plots._common import pyplot as _pyplot

    plt = _pyplot()
    names = list(dict.fromkeys(table["data"])) or ["(none)"]
    fig, axes = plt.subplots(2, len(names), figsize=(4.4 * len(names), 6.6), squeeze=False,
                             sharex="col")
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    styles = ["-", "--", ":"]
    for j, name in enumerate(names):
        top, bottom = axes[0, j], axes[1, j]
        sub = targets[targets["data"] == name].copy()
        for axis in ("cut", "families", "pick", "law", "holdout"):
            sub[axis] = sub[axis].astype(str)
        cuts = list(dict.fromkeys(sub["cut"]))
        others = [a for a in ("families", "pick", "law", "holdout") if sub[a].nunique() > 1]
        style_axis = next((a for a in others if sub[a].nunique() <= len(styles)), None)
        pooled = [a for a in others if a != style_axis]
        style_values = list(dict.fromkeys(sub[style_axis])) if style_axis else [None]
        for c, cut in enumerate(cuts):
            for k, value in enumerate(style_values):
                group = sub[(sub["cut"] == cut)
                            & ((sub[style_axis] == value) if style_axis else True)]
                if group.empty:
                    continue
                stats = group.groupby("n_sizes").agg(
                    are=("are", "median"), cov=("covered", lambda v: v.astype(float).mean()))
                label = f"cut={cut}" + (f", {style_axis}={value}" if style_axis else "")
                kw = {"color": colours[c % len(colours)], "ls": styles[k], "marker": "o",
                      "label": label}
                top.plot(stats.index, 100 * stats["are"], **kw)
                bottom.plot(stats.index, 100 * stats["cov"], **kw)
        failed = table[(table["data"] == name) & (table["status"] != STATUS_OK)]
        notes = [f"{len(failed)} failed task(s) not shown"] if len(failed) else []
        notes += [f"pooled over {sub[a].nunique()} {a}" for a in pooled]
        top.set_title(name + (f"\n({'; '.join(notes)})" if notes else ""), fontsize=10)
        bottom.xaxis.get_major_locator().set_params(integer=True)
        top.set_ylabel("median ARE of held-out final loss (%)")
        bottom.set_ylabel(f"{prob:.0%} interval coverage (%)")
        bottom.set_xlabel("model sizes fitted per family")
        bottom.axhline(100 * prob, color="grey", lw=0.8, ls="--")
        bottom.set_ylim(-5, 105)
        if len(sub):
            top.legend(fontsize=7)
    fig.suptitle("backtest sweep: held-out largest model's final loss")
    fig.tight_layout()
    return fig
