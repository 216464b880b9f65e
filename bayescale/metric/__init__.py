"""Downstream metrics and emergence: when does an ability appear, and how sure are we.

A downstream metric m (accuracy; or 1 - error) of family f is modelled by a bounded-metric law
(``models/`` modules with ``KIND = "metric"``, see :mod:`bayescale.forms`) whose
parameters are pooled across families exactly like a loss law's (:mod:`bayescale.priors`):

    mu_i = law(x_i; theta[f(i)], chance, ceiling)         expected metric, in (chance, ceiling)

and a likelihood that respects how the metric was measured:

- the number of evaluation items n is known (an ``n_items`` column, a number, or a per-task
  default from :data:`DEFAULT_N_ITEMS` when the table has a ``task`` column): the number
  correct k_i = round(m_i n_i) is **beta-binomial**, k_i ~ BetaBinomial(n_i, mu_i phi,
  (1 - mu_i) phi) (default), or **binomial** (``likelihood="binomial"``: only item sampling
  noise, phi -> infinity). The concentration phi absorbs what item sampling does not: checkpoint
  to checkpoint wobble and misfit of the law (for large n the metric's sd is about
  sqrt(mu (1 - mu) / (1 + phi))).
- n is unknown (e.g. an average over tasks): the metric itself is **beta**,
  m_i ~ Beta(mu_i phi, (1 - mu_i) phi); values of exactly 0 or 1 are moved inside by
  Smithson & Verkuilen's (m (n - 1) + 1/2) / n with n the number of rows (a DataWarning
  says so).

There is no normal likelihood on raw accuracies: near 0 or 1 it puts mass outside [0, 1] and
gets the noise wrong. log phi ~ Normal(log 300, 2) (phi 6 to 16,000, 95%).

The **emergence threshold** of family f at level l is the smallest compute C (FLOPs) at which
the expected metric reaches l, computed per posterior draw on a fine log grid over a range
(interpolated in log C); draws whose curve stays below l over the whole range have no
threshold there (+inf). Its posterior quantiles (inf included, so an upper bound of inf means
more than (1 - prob)/2 of the draws never reach the level in the range), the probability it is
reached by a target compute, and the probability that the ability has not emerged inside the
range, are reported per family and for a new family drawn from the population. ``by="params"``
reports the threshold as a parameter count N trained at D = R N tokens (C = 6 N D, so
N = sqrt(C / (6 R))).

The **two-stage** prediction (:func:`two_stage`) chains a loss-law posterior (loss at a target
N, D) into a loss-to-metric posterior (e.g. Gadre et al.'s error = epsilon - k exp(-gamma L)),
draw by draw, so both uncertainties propagate.
"""

from __future__ import annotations

from bayescale.metric.chain import (
    two_stage,
)
from bayescale.metric.data import (
    BY,
    DEFAULT_N_ITEMS,
    GRID_POINTS,
    LIKELIHOODS,
    MU_EPS,
    PHI_PRIOR,
    TOKENS_PER_PARAM,
    metric_inputs,
    metric_scales,
    read_metric_runs,
)
from bayescale.metric.law import (
    MetricFit,
    MetricLaw,
)
from bayescale.metric.model import (
    build_metric_model,
    choose_likelihood,
    squeeze_unit,
)
from bayescale.metric.simulate import (
    logistic,
    sigmoid_threshold,
    simulate_emergence,
)
from bayescale.metric.thresholds import (
    Emergence,
    emergence,
    threshold_draws,
)

__all__ = [
    "BY",
    "DEFAULT_N_ITEMS",
    "Emergence",
    "GRID_POINTS",
    "LIKELIHOODS",
    "MU_EPS",
    "MetricFit",
    "MetricLaw",
    "PHI_PRIOR",
    "TOKENS_PER_PARAM",
    "build_metric_model",
    "choose_likelihood",
    "emergence",
    "logistic",
    "metric_inputs",
    "metric_scales",
    "read_metric_runs",
    "sigmoid_threshold",
    "simulate_emergence",
    "squeeze_unit",
    "threshold_draws",
    "two_stage",
]
