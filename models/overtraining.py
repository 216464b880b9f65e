"""Over-training law: L(C, M) = E + (a M^eta + b M^-eta) C^-eta.

C = 6 N D is the training compute in FLOPs, M = D / N the token multiplier (tokens per
parameter), L the loss in nats/token (Gadre et al. 2024, "Language models scale reliably with
over-training and on downstream tasks", eq. 4). At a fixed multiplier M the loss is a power law
in compute with the same exponent eta for every M: over-training shifts the curve, it does not
bend it. Written in N (parameters) and D (tokens), M^eta C^-eta = 6^-eta N^(-2 eta) and
M^-eta C^-eta = 6^-eta D^(-2 eta): this is the chinchilla law with one shared exponent
alpha = beta = 2 eta, the assumption Gadre et al. derive it from. The law reads ``params`` and
``tokens`` and forms C and M itself (C = 6 N D exactly, whatever the ``flops`` column says).

Parametrisation: with C0 = 6 N0 D0 and M0 = D0 / N0 at the reference scales (chosen from the
data), log(C / C0) = log(N / N0) + log(D / D0) and log(M / M0) = log(D / D0) - log(N / N0).
Write the three terms at the reference point as E, a' = a M0^eta C0^-eta and
b' = b M0^-eta C0^-eta; bayescale samples ``log_L0`` = log(E + a' + b'), ``log_a_over_E`` =
log(a' / E), ``log_b_over_E`` = log(b' / E) and ``log_eta``:

    log L = logsumexp(log E, log a' + eta (x_M - x_C), log b' - eta (x_M + x_C))

The paper's constants are reported too (``derived``): E, a, b (for C in FLOPs), eta. Gadre et
al. report eta near 0.12 to 0.14 on their open_lm runs.

Default priors (population mean ~ Normal(mu, sigma); between-family sd ~ Gamma(2, 1/tau)):

- log_L0 ~ Normal(1.0, 0.5), log_a_over_E, log_b_over_E ~ Normal(-0.5, 1.0): as the chinchilla
  law;
- log_eta ~ Normal(log 0.15, 0.4): eta 0.07 to 0.33 (95%), alpha = beta = 2 eta 0.14 to 0.66;
- spreads (modes): log_L0 0.1, log-ratios 0.2, log_eta 0.1.

These priors are checked against real losses by prior-predictive draws in
``tests/test_laws.py``.
"""

import math

from bayescale.priors import ParamPrior

NAME = "overtraining"
INPUTS = ("params", "tokens")
REFERENCE = (
    "Gadre et al. 2024, Language models scale reliably with over-training and on downstream "
    "tasks, arXiv:2403.08540, eq. 4"
)
DEFAULT_PRIORS = {
    "log_L0": ParamPrior(mu=1.0, sigma=0.5, tau=0.1, centered=True),
    "log_a_over_E": ParamPrior(mu=-0.5, sigma=1.0, tau=0.2),
    "log_b_over_E": ParamPrior(mu=-0.5, sigma=1.0, tau=0.2),
    "log_eta": ParamPrior(mu=math.log(0.15), sigma=0.4, tau=0.1),
}


def _log_terms(p, xp):
    log_e = p["log_L0"] - xp.logaddexp(
        xp.logaddexp(0.0 * p["log_L0"], p["log_a_over_E"]), p["log_b_over_E"]
    )
    return log_e, log_e + p["log_a_over_E"], log_e + p["log_b_over_E"]


def log_loss(x, p, xp):
    """Log of the predicted loss (nats/token) at centred log inputs ``x``."""
    log_e, log_a, log_b = _log_terms(p, xp)
    eta = xp.exp(p["log_eta"])
    x_c = x["params"] + x["tokens"]
    x_m = x["tokens"] - x["params"]
    return xp.logaddexp(xp.logaddexp(log_e, log_a + eta * (x_m - x_c)),
                        log_b - eta * (x_m + x_c))


def derived(p, scales, xp):
    """The paper's constants: E (nats/token), a, b (C in FLOPs, M in tokens/parameter), eta."""
    log_e, log_a, log_b = _log_terms(p, xp)
    eta = xp.exp(p["log_eta"])
    log_c0 = math.log(6.0 * scales["params"] * scales["tokens"])
    log_m0 = math.log(scales["tokens"] / scales["params"])
    return {
        "E": xp.exp(log_e),
        "a": xp.exp(log_a + eta * (log_c0 - log_m0)),
        "b": xp.exp(log_b + eta * (log_c0 + log_m0)),
        "eta": eta,
    }
