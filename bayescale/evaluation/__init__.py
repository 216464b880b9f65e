"""How good are the predictions: backtests (hold out the largest runs, predict them), the
non-Bayesian reference estimator (Huber + L-BFGS, row bootstrap), and which law the data
supports (PSIS-LOO, leave-future-out)."""

from bayescale.evaluation.holdout import BacktestResult, backtest, holdout_split
from bayescale.evaluation.law_comparison import LawComparison, compare_laws
from bayescale.evaluation.reference import ReferenceFit, fit_reference

__all__ = ["BacktestResult", "LawComparison", "ReferenceFit", "backtest", "compare_laws",
           "fit_reference", "holdout_split"]
