"""Figures of a fit (matplotlib): each function returns a ``matplotlib.figure.Figure``.

They draw what :mod:`bayescale.predict` and :mod:`bayescale.checks` compute; none calls
``plt.show``, so they work in notebooks, scripts and the command line alike.
``bayescale.plotting`` re-exports them next to the decision plots.
"""

from bayescale.plots.curves import plot_loss
from bayescale.plots.mcmc import plot_rank, plot_trace
from bayescale.plots.posteriors import parameter_draws, plot_parameters
from bayescale.plots.predictive import plot_ppc, plot_prior_predictive, plot_residuals

__all__ = [
    "parameter_draws",
    "plot_loss",
    "plot_parameters",
    "plot_ppc",
    "plot_prior_predictive",
    "plot_rank",
    "plot_residuals",
    "plot_trace",
]
