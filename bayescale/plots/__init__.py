"""Every figure (matplotlib): each function returns a ``matplotlib.figure.Figure``.

They draw what :mod:`bayescale.prediction`, :mod:`bayescale.checks`, :mod:`bayescale.decisions`,
:mod:`bayescale.metric` and :mod:`bayescale.sweep` compute, and compute nothing themselves;
none calls ``plt.show``, so they work in notebooks, scripts and the command line alike.
"""

from bayescale.plots.curves import plot_fit, plot_loss
from bayescale.plots.decisions import plot_compute_optimal, plot_crossover
from bayescale.plots.emergence import plot_emergence, plot_metric_fit
from bayescale.plots.mcmc import plot_rank, plot_trace
from bayescale.plots.posteriors import parameter_draws, plot_parameters
from bayescale.plots.predictive import plot_ppc, plot_prior_predictive, plot_residuals
from bayescale.plots.sweep import plot_sweep

__all__ = [
    "parameter_draws",
    "plot_compute_optimal",
    "plot_crossover",
    "plot_emergence",
    "plot_fit",
    "plot_loss",
    "plot_metric_fit",
    "plot_parameters",
    "plot_ppc",
    "plot_prior_predictive",
    "plot_rank",
    "plot_residuals",
    "plot_sweep",
    "plot_trace",
]
