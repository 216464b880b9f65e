"""bayescale: Bayesian estimation of neural scaling laws.

Units everywhere: N in parameters (``params``), D in tokens (``tokens``), C in FLOPs
(``flops``), loss in nats/token.
"""

from bayescale._version import __version__
from bayescale.checkpoints import Selection, select_checkpoints
from bayescale.data import read_runs
from bayescale.decisions import (
    compare,
    compute_optimal,
    crossover,
    decision_report,
    fit_recipes,
)
from bayescale.diagnostics import Diagnostics, diagnose
from bayescale.evaluation.holdout import BacktestResult, backtest
from bayescale.evaluation.law_comparison import LawComparison, compare_laws
from bayescale.evaluation.reference import ReferenceFit, fit_reference
from bayescale.exceptions import (
    BayescaleError,
    ComparisonWarning,
    ConvergenceWarning,
    DataError,
    DataWarning,
    LawChangedWarning,
    MissingDependencyError,
    SpecError,
    SpecMismatchError,
)
from bayescale.fits import load_fit, save_fit
from bayescale.forms import Form, available_forms, get_form
from bayescale.law import ScalingFit, ScalingLaw
from bayescale.metric import MetricFit, MetricLaw, emergence, read_metric_runs, two_stage
from bayescale.metric.simulate import simulate_emergence
from bayescale.plots import (
    plot_compute_optimal,
    plot_crossover,
    plot_emergence,
    plot_fit,
    plot_loss,
    plot_parameters,
    plot_ppc,
    plot_prior_predictive,
    plot_residuals,
    plot_sweep,
)
from bayescale.prediction import predict
from bayescale.priors import ParamPrior
from bayescale.simulate import simulate_losses, simulate_runs
from bayescale.sweep import run_sweep

__all__ = [
    "BacktestResult",
    "BayescaleError",
    "ComparisonWarning",
    "ConvergenceWarning",
    "DataError",
    "DataWarning",
    "Diagnostics",
    "Form",
    "LawChangedWarning",
    "LawComparison",
    "MetricFit",
    "MetricLaw",
    "MissingDependencyError",
    "ParamPrior",
    "ReferenceFit",
    "ScalingFit",
    "ScalingLaw",
    "Selection",
    "SpecError",
    "SpecMismatchError",
    "__version__",
    "available_forms",
    "backtest",
    "compare",
    "compare_laws",
    "compute_optimal",
    "crossover",
    "decision_report",
    "diagnose",
    "emergence",
    "fit_recipes",
    "fit_reference",
    "get_form",
    "load_fit",
    "plot_compute_optimal",
    "plot_crossover",
    "plot_emergence",
    "plot_fit",
    "plot_loss",
    "plot_parameters",
    "plot_ppc",
    "plot_prior_predictive",
    "plot_residuals",
    "plot_sweep",
    "predict",
    "read_metric_runs",
    "read_runs",
    "run_sweep",
    "save_fit",
    "select_checkpoints",
    "simulate_emergence",
    "simulate_losses",
    "simulate_runs",
    "two_stage",
]
