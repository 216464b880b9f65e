"""Compute law: L(C) = E + A * C^-alpha.

C is the training compute in FLOPs (the ``flops`` column, 6·N·D unless given), L the loss in
nats/token (Kaplan et al. 2020, "Scaling Laws for Neural Language Models", L(C_min)).

Parametrisation, as for the chinchilla law: with C centred at a reference C0 (chosen from the
data, stored with the fit) and a = A C0^-alpha the reducible loss at C0, bayescale samples
``log_L0`` = log(E + a), ``log_a_over_E`` = log(a / E) and ``log_alpha``:

    log E = log_L0 - logsumexp(0, log_a_over_E)
    log L = logsumexp(log E, log E + log_a_over_E - alpha log(C/C0))

Default priors (population mean ~ Normal(mu, sigma); between-family sd ~ Gamma(2, 1/tau)):

- log_L0 ~ Normal(1.0, 0.5): loss at C0 between 1.0 and 7.3 nats (95%).
- log_a_over_E ~ Normal(-0.5, 1.0): reducible loss 0.08 to 4 times E at C0.
- log_alpha ~ Normal(log 0.15, 0.5): exponent 0.06 to 0.4 (95%); Kaplan's L(C_min) exponent
  is 0.050 without an irreducible term, a Chinchilla law gives alpha*beta/(alpha+beta) ~ 0.15.
- Spreads (modes): log_L0 0.1, log-ratio 0.2, log-exponent 0.1.
"""

import math

from bayescale.priors import ParamPrior

NAME = "compute"
INPUTS = ("flops",)
REFERENCE = "Kaplan et al. 2020, Scaling Laws for Neural Language Models, arXiv:2001.08361"
DEFAULT_PRIORS = {
    "log_L0": ParamPrior(mu=1.0, sigma=0.5, tau=0.1, centered=True),
    "log_a_over_E": ParamPrior(mu=-0.5, sigma=1.0, tau=0.2),
    "log_alpha": ParamPrior(mu=math.log(0.15), sigma=0.5, tau=0.1),
}


def log_loss(x, p, xp):
    """Log of the predicted loss (nats/token) at centred log compute ``x["flops"]``."""
    log_e = p["log_L0"] - xp.logaddexp(0.0 * p["log_L0"], p["log_a_over_E"])
    return xp.logaddexp(
        log_e, log_e + p["log_a_over_E"] - xp.exp(p["log_alpha"]) * x["flops"]
    )


def derived(p, scales, xp):
    """The paper's constants: E (nats/token), A, alpha."""
    log_e = p["log_L0"] - xp.logaddexp(0.0 * p["log_L0"], p["log_a_over_E"])
    alpha = xp.exp(p["log_alpha"])
    return {
        "E": xp.exp(log_e),
        "A": xp.exp(log_e + p["log_a_over_E"] + alpha * math.log(scales["flops"])),
        "alpha": alpha,
    }
