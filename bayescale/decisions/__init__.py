"""Decisions from a fitted law: is recipe B better than A, where do they cross, what is optimal.

Everything here works on the posterior draws of ONE fit (numpy, no model rebuilt, nothing
resampled). Recipes are compared inside one model: :func:`fit_recipes` fits them jointly as
groups ("families") of the usual hierarchy, so draw ``s`` of recipe A and draw ``s`` of recipe
B come from the same joint posterior sample (paired draws). Every probability below is a
fraction of those paired draws.

Conventions (units as everywhere: N in parameters, D in tokens, C in FLOPs, loss in
nats/token or whatever positive "loss" was fitted, e.g. an error rate):

- the difference is ``L_B - L_A``: negative means B has the lower loss (B is better);
- ``p_b_better`` is P(L_B < L_A), exact ties counting one half;
- intervals are equal-tailed, ``prob`` (default 0.9) and every result records ``prob``;
- along compute C, a law in (N, D) is evaluated at an *allocation* of C: ``"optimal"`` (the
  default: each recipe at its own compute-optimal N*(C), D*(C) in every draw, see
  :func:`chinchilla_optimum`) or a number R of tokens per parameter (N = sqrt(C / 6R),
  D = R N, C = 6 N D); a law in C alone is evaluated directly.
"""

from __future__ import annotations

from bayescale.decisions.comparison import (
    Comparison,
    Crossover,
    compare,
    crossover,
    crossover_draws,
    loss_at_flops,
    max_observed_flops,
)
from bayescale.decisions.optimal import (
    ComputeOptimal,
    chinchilla_optimum,
    compute_optimal,
    compute_optimal_text,
)
from bayescale.decisions.recipes import (
    CHINCHILLA_CONSTANTS,
    CROSSOVER_GRID,
    OPTIMAL,
    RECIPE_SEPARATOR,
    fit_recipes,
    recipe_family,
    recipe_pooling,
    recipe_runs,
)
from bayescale.decisions.summary import (
    DecisionReport,
    decision_report,
)

__all__ = [
    "CHINCHILLA_CONSTANTS",
    "CROSSOVER_GRID",
    "Comparison",
    "ComputeOptimal",
    "Crossover",
    "DecisionReport",
    "OPTIMAL",
    "RECIPE_SEPARATOR",
    "chinchilla_optimum",
    "compare",
    "compute_optimal",
    "compute_optimal_text",
    "crossover",
    "crossover_draws",
    "decision_report",
    "fit_recipes",
    "loss_at_flops",
    "max_observed_flops",
    "recipe_family",
    "recipe_pooling",
    "recipe_runs",
]
