"""bayescale: Bayesian estimation of neural scaling laws.

Units everywhere: N in parameters (``params``), D in tokens (``tokens``), C in FLOPs
(``flops``), loss in nats/token.
"""

from bayescale._version import __version__
from bayescale.checkpoints import Selection, select_checkpoints
from bayescale.data import read_runs
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
from bayescale.prediction import predict
from bayescale.priors import ParamPrior

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
    "compare_laws",
    "diagnose",
    "fit_reference",
    "get_form",
    "load_fit",
    "predict",
    "read_runs",
    "save_fit",
    "select_checkpoints",
]
