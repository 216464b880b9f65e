"""Gompertz in log compute with a size-dependent onset and plateau, for training curves.

For checkpoint data (each model size N trained along its tokens D, C = 6 N D in FLOPs), with
centred inputs xN = log(N / N0) and xC = log(C / C0) (N0, C0 chosen from the data):

    metric(N, C) = chance + (ceiling - chance) * logistic(h0 + h1 xN)
                          * exp(-exp(-s (xC - m0 - m1 xN)))
    s = exp(log_slope)

- ``logistic(h0 + h1 xN)``: the plateau's share of the room between chance and the ceiling
  grows with model size (``logit_height``, ``height_per_size`` per e-fold of N): a small model
  levels off lower, so a level can be out of its reach.
- The onset (the compute at which the curve has risen to exp(-1) = 37% of its plateau) moves
  by ``onset_per_size`` e-folds of compute per e-fold of N; 1 means onset at the same number
  of tokens for every size.
- The Gompertz shape exp(-exp(-z)) is an asymmetric sigmoid: its lower tail falls off doubly
  exponentially (accuracy exactly 0 early in training) while it approaches the plateau slowly
  (like 1 - exp(-z)). On the Pythia LAMBADA curves it fits with about half the weighted squared
  error of a logistic (checked by least squares, per size and jointly).

Default priors (population mean ~ Normal(mu, sigma), between-family sd ~ Gamma(2, 1/tau)):

- midpoint ~ Normal(0, 4) e-folds of compute from C0; onset_per_size ~ Normal(1, 0.5).
- log_slope ~ Normal(0, 1): s 0.14 to 7 per e-fold (95%).
- logit_height ~ Normal(0, 1.5); height_per_size ~ Normal(0.5, 1) per e-fold of N.
- Spreads (modes): 1.5, 0.2, 0.3, 0.5, 0.3. All centred.

With ``by="params"`` :func:`bayescale.metric.emergence` evaluates this law along
N = sqrt(C / (6 R)) (D = R N tokens); with ``by="flops"`` along the training of one size N.
"""

from bayescale.priors import ParamPrior

KIND = "metric"
NAME = "gompertz_size"
INPUTS = ("params", "flops")
REFERENCE = (
    "Gompertz curve in log compute; size-dependent plateau as in Hu et al. 2023 "
    "(arXiv:2310.03262) and Ruan et al. 2024 (arXiv:2405.10938)"
)
DEFAULT_PRIORS = {
    "midpoint": ParamPrior(mu=0.0, sigma=4.0, tau=1.5, centered=True),
    "onset_per_size": ParamPrior(mu=1.0, sigma=0.5, tau=0.2, centered=True),
    "log_slope": ParamPrior(mu=0.0, sigma=1.0, tau=0.3, centered=True),
    "logit_height": ParamPrior(mu=0.0, sigma=1.5, tau=0.5, centered=True),
    "height_per_size": ParamPrior(mu=0.5, sigma=1.0, tau=0.3, centered=True),
}


def mean_metric(x, p, xp, *, chance, ceiling):
    """Expected metric at centred log parameters ``x["params"]`` and log compute ``x["flops"]``."""
    height = p["logit_height"] + p["height_per_size"] * x["params"]
    share = xp.exp(-xp.logaddexp(0.0, -height))
    z = xp.exp(p["log_slope"]) * (x["flops"] - p["midpoint"] - p["onset_per_size"] * x["params"])
    return chance + (ceiling - chance) * share * xp.exp(-xp.exp(-z))
