"""Loss-to-error link of Gadre et al. 2024: error = epsilon - k * exp(-gamma * L).

L is a loss in nats/token (Gadre et al. use the C4 validation loss), the error a downstream
top-1 error (e.g. the average over their 17 tasks). bayescale fits it as the accuracy
1 - error with the floor at chance, epsilon = 1 - chance:

    accuracy(L) = chance + exp(log_k0 - gamma * (L - L0)),   gamma = exp(log_gamma)

where L0 is a reference loss chosen from the data (stored with the fit), so exp(log_k0) is the
accuracy above chance at L0 (k = exp(log_k0 + gamma L0) in the paper's form). As L grows the
accuracy falls to chance; the paper's form has no ceiling, and the accuracy is only capped at
``ceiling`` (1 unless told) to stay a probability, far beyond any fitted loss.

Default priors (population mean ~ Normal(mu, sigma), between-family sd ~ Gamma(2, 1/tau)):

- log_k0 ~ Normal(log 0.1, 1.5): 0.005 to 1.9 above chance at L0 (95%); spread mode 0.2.
- log_gamma ~ Normal(0, 0.7): gamma 0.25 to 4 per nat (95%); Gadre et al. fit about 1 to 2 on
  the 17-task average; spread mode 0.15.
"""

import math

from bayescale.priors import ParamPrior

KIND = "metric"
NAME = "gadre_error"
INPUTS = ("loss",)
REFERENCE = (
    "Gadre et al. 2024, Language models scale reliably with over-training and on downstream "
    "tasks, arXiv:2403.08540"
)
DEFAULT_PRIORS = {
    "log_k0": ParamPrior(mu=math.log(0.1), sigma=1.5, tau=0.2),
    "log_gamma": ParamPrior(mu=0.0, sigma=0.7, tau=0.15),
}
_HEADROOM = 1.0 - 1e-6  # share of (ceiling - chance) the accuracy may reach


def mean_metric(x, p, xp, *, chance, ceiling):
    """Expected accuracy at the centred loss ``x["loss"]`` = L - L0 (nats/token)."""
    above = xp.exp(p["log_k0"] - xp.exp(p["log_gamma"]) * x["loss"])
    return chance + xp.minimum(above, (ceiling - chance) * _HEADROOM)
