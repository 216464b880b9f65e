"""Errors and warnings raised by bayescale.

Every error subclasses the builtin it refines, so ``except ValueError`` keeps working.
"""

from __future__ import annotations


class BayescaleError(Exception):
    """Base class of every bayescale error."""


class DataError(BayescaleError, ValueError):
    """The run table is unusable; the message names the column and the first offending rows."""


class SpecError(BayescaleError, ValueError):
    """A model specification is invalid (unknown law, unknown parameter, bad option)."""


class SpecMismatchError(BayescaleError):
    """A saved fit cannot be trusted: wrong format, version, law or data hash."""


class MissingDependencyError(BayescaleError, ImportError):
    """An optional dependency (a sampler backend) is not installed; the message names the extra."""


class BayescaleWarning(UserWarning):
    """Base class of bayescale warnings."""


class ConvergenceWarning(BayescaleWarning):
    """NUTS reported divergences, r_hat above threshold or too small an effective sample size."""


class DataWarning(BayescaleWarning):
    """The data is usable but weak (e.g. a family with fewer points than per-family parameters)."""


class ComparisonWarning(BayescaleWarning):
    """A model comparison is unreliable (e.g. PSIS-LOO Pareto k above its threshold)."""


class LawChangedWarning(BayescaleWarning):
    """A saved fit is loaded with law code whose source differs from the code it was fitted
    with (or the fit records no source hash to compare): the law named in the message now
    computes with today's code."""
