"""Sigmoid in log compute: a downstream metric (accuracy) that takes off from chance.

With C the training compute in FLOPs, centred as x = log(C / C0) (C0 chosen from the data,
stored with the fit), the expected metric of family f is

    metric(C) = chance + (top - chance) * logistic(s * (x - m))
    top = chance + (ceiling - chance) * logistic(logit_height)
    s = exp(log_slope)

so it sits at chance for small C (the floor), rises around C0 * exp(m) (``midpoint``, in e-folds
of compute from C0; there the metric is halfway between chance and the family's top) with
slope s per e-fold, and levels off at ``top``, which is below ``ceiling`` (1 unless told).
Families whose top lies below a level never reach it: the emergence threshold then does not
exist, and :mod:`bayescale.metric` counts that as "not emerged". This is the sigmoid-in-log-
compute picture of emergent abilities (e.g. "Unlock Predictable Scaling from Emergent
Abilities", Hu et al. 2023; Ruan et al. 2024's observational scaling uses a sigmoid in a
capability score).

Default priors (population mean ~ Normal(mu, sigma), between-family sd ~ Gamma(2, 1/tau)):

- midpoint ~ Normal(0, 4): take-off within about +-8 e-folds (a factor 3000) of C0 (95%);
  spread mode 1.5 e-folds.
- log_slope ~ Normal(0, 1): slope 0.14 to 7 per e-fold (95%); a slope of 1 takes the metric
  from 27% to 73% of its rise over 2 e-folds (a factor 7.4 in compute); spread mode 0.3.
- logit_height ~ Normal(0, 1.5): the top covers 5% to 95% of the room between chance and the
  ceiling (95%); spread mode 0.5.

All three are non-centred (few families, weakly identified per family).
"""

from bayescale.priors import ParamPrior

KIND = "metric"
NAME = "sigmoid"
INPUTS = ("flops",)
REFERENCE = (
    "Hu et al. 2023, Unlock Predictable Scaling from Emergent Abilities, arXiv:2310.03262; "
    "Ruan et al. 2024, Observational Scaling Laws, arXiv:2405.10938"
)
DEFAULT_PRIORS = {
    "midpoint": ParamPrior(mu=0.0, sigma=4.0, tau=1.5, centered=True),
    "log_slope": ParamPrior(mu=0.0, sigma=1.0, tau=0.3, centered=True),
    "logit_height": ParamPrior(mu=0.0, sigma=1.5, tau=0.5, centered=True),
}


def _logistic(z, xp):
    return xp.exp(-xp.logaddexp(0.0, -z))  # 1 / (1 + exp(-z)), no overflow either way


def mean_metric(x, p, xp, *, chance, ceiling):
    """Expected metric (in [chance, ceiling]) at centred log compute ``x["flops"]``."""
    top = (ceiling - chance) * _logistic(p["logit_height"], xp)
    rise = _logistic(xp.exp(p["log_slope"]) * (x["flops"] - p["midpoint"]), xp)
    return chance + top * rise
