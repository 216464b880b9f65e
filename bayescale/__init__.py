"""bayescale: Bayesian estimation of neural scaling laws.

Units everywhere: N in parameters (``params``), D in tokens (``tokens``), C in FLOPs
(``flops``), loss in nats/token.
"""

from bayescale._version import __version__
from bayescale.data import read_runs
from bayescale.diagnostics import Diagnostics, diagnose
from bayescale.exceptions import (
    BayescaleError,
    ConvergenceWarning,
    DataError,
    DataWarning,
    MissingDependencyError,
    SpecError,
    SpecMismatchError,
)
from bayescale.forms import Form, available_forms, get_form
from bayescale.io import load_fit, save_fit
from bayescale.law import ScalingFit, ScalingLaw
from bayescale.predict import predict
from bayescale.priors import ParamPrior

__all__ = [
    "BayescaleError",
    "ConvergenceWarning",
    "DataError",
    "DataWarning",
    "Diagnostics",
    "Form",
    "MissingDependencyError",
    "ParamPrior",
    "ScalingFit",
    "ScalingLaw",
    "SpecError",
    "SpecMismatchError",
    "__version__",
    "available_forms",
    "diagnose",
    "get_form",
    "load_fit",
    "predict",
    "read_runs",
    "save_fit",
]
