"""Sampling diagnostics as figures: ArviZ trace and rank plots (arviz_plots, matplotlib)."""

from __future__ import annotations

from bayescale.exceptions import SpecError
from bayescale.plots._common import pyplot

NOISE = ("sigma", "nu", "sigma_run", "corr_length")
#: Most variables drawn by default (trace plots grow one row per variable).
MAX_VARIABLES = 12


def default_variables(fit) -> list[str]:
    """The variables worth a trace: population means and spreads of the law parameters (the
    per-family values when unpooled) and the noise parameters, at most ``MAX_VARIABLES``."""
    posterior = fit.idata["posterior"]
    names = []
    for name in fit.form.parameters:
        if f"{name}_mu" in posterior:
            names.append(f"{name}_mu")
            if f"{name}_tau" in posterior:
                names.append(f"{name}_tau")
        else:
            names.append(name)
    names += [n for n in NOISE if n in posterior]
    return names[:MAX_VARIABLES]


def _variables(fit, var_names):
    names = default_variables(fit) if var_names is None else list(var_names)
    missing = [n for n in names if n not in fit.idata["posterior"]]
    if missing:
        raise SpecError(f"no posterior variables {missing}; the fit has "
                        f"{', '.join(map(str, fit.idata['posterior'].data_vars))}")
    return names


def plot_trace(fit, *, var_names=None):
    """Trace (draws against iteration, per chain) and marginal density of each variable.

    ArviZ's ``plot_trace_dist`` with the matplotlib backend; per-family vectors share a panel.
    Chains that do not overlap, or trend, have not mixed. ``var_names`` defaults to
    :func:`default_variables`.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import arviz_plots as azp

    pyplot()
    pc = azp.plot_trace_dist(fit.idata, var_names=_variables(fit, var_names),
                             backend="matplotlib")
    fig = pc.get_viz("figure")
    fig.suptitle(f"{fit.law.form} law: trace and density per chain", fontsize=10)
    return fig


def plot_rank(fit, *, var_names=None):
    """Rank plots: ECDF of each chain's draw ranks with a simultaneous envelope.

    ArviZ's ``plot_rank`` (fractional-rank ECDF differences) with the matplotlib backend: every
    chain inside the envelope means the chains sample the same distribution; a chain leaving it
    is what a high r_hat looks like. ``var_names`` defaults to :func:`default_variables`.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import arviz_plots as azp

    pyplot()
    pc = azp.plot_rank(fit.idata, var_names=_variables(fit, var_names), backend="matplotlib")
    fig = pc.get_viz("figure")
    rows = len({round(ax.get_position().y0, 3) for ax in fig.axes})
    width, height = fig.get_size_inches()
    fig.set_size_inches(width, max(height, 2.2 * rows + 0.6))
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.4 / fig.get_size_inches()[1]))  # titles, suptitle
    fig.suptitle(f"{fit.law.form} law: rank ECDF per chain (inside the envelope: mixed)",
                 fontsize=10)
    return fig
