"""Chinchilla law: L(N, D) = E + A / N^alpha + B / D^beta.

N is the parameter count, D the number of training tokens, L the loss in nats/token
(Hoffmann et al. 2022, "Training Compute-Optimal Large Language Models", approach 3).

Parametrisation (what is sampled). With inputs centred at reference scales N0, D0 (chosen from the
data, stored with the fit), write the three terms at the reference point as E, a = A / N0^alpha
and b = B / D0^beta. bayescale samples

- ``log_L0``: log of the loss at the reference point, log(E + a + b), which the data pin tightly;
- ``log_a_over_E``, ``log_b_over_E``: log(a / E) and log(b / E), how that loss splits into the
  irreducible, parameter and data terms;
- ``log_alpha``, ``log_beta``: the exponents on the log scale,

and evaluates the law as a log-sum-exp, stable for any N and D:

    log E = log_L0 - logsumexp(0, log_a_over_E, log_b_over_E)
    log L = logsumexp(log E, log E + log_a_over_E - alpha log(N/N0),
                      log E + log_b_over_E - beta log(D/D0))

In E, A, B coordinates the posterior is a curved ridge (E, A and alpha trade off, and the loss at
the reference fixes a curved surface); in these coordinates that surface is flat, which cut NUTS
trajectories about threefold on simulated checkpoint data. The paper's constants are reported
too (``derived``): E, A = a N0^alpha, B = b D0^beta, alpha, beta.

Default priors (population mean ~ Normal(mu, sigma); between-family sd ~ Gamma(2, 1/tau), mode
tau, which keeps the sd off zero where few families would let it collapse into a funnel):

- log_L0 ~ Normal(1.0, 0.5): loss at the reference 1.0 to 7.3 nats (95%).
- log_a_over_E, log_b_over_E ~ Normal(-0.5, 1.0): each reducible term 0.08 to 4 times E.
- log_alpha, log_beta ~ Normal(log 0.35, 0.4): exponents 0.16 to 0.77 (95%); published fits lie
  in 0.28-0.37 (Hoffmann et al. 0.34/0.28; Besiroglu et al. 0.35/0.37).
- Spreads (modes): log_L0 0.1, log-ratios 0.2, log-exponents 0.1 (10% relative spread).

log_L0 is centred (pinned by each family's points); the rest are non-centred (weakly identified
per family). These priors are checked against real losses by prior-predictive draws in
``tests/test_priors.py``.
"""

import math

from bayescale.priors import ParamPrior

NAME = "chinchilla"
INPUTS = ("params", "tokens")
REFERENCE = (
    "Hoffmann et al. 2022, Training Compute-Optimal Large Language Models, arXiv:2203.15556"
)
DEFAULT_PRIORS = {
    "log_L0": ParamPrior(mu=1.0, sigma=0.5, tau=0.1, centered=True),
    "log_a_over_E": ParamPrior(mu=-0.5, sigma=1.0, tau=0.2),
    "log_b_over_E": ParamPrior(mu=-0.5, sigma=1.0, tau=0.2),
    "log_alpha": ParamPrior(mu=math.log(0.35), sigma=0.4, tau=0.1),
    "log_beta": ParamPrior(mu=math.log(0.35), sigma=0.4, tau=0.1),
}


def _log_terms(p, xp):
    log_e = p["log_L0"] - xp.logaddexp(
        xp.logaddexp(0.0 * p["log_L0"], p["log_a_over_E"]), p["log_b_over_E"]
    )
    return log_e, log_e + p["log_a_over_E"], log_e + p["log_b_over_E"]


def log_loss(x, p, xp):
    """Log of the predicted loss (nats/token) at centred log inputs ``x``."""
    log_e, log_a, log_b = _log_terms(p, xp)
    return xp.logaddexp(
        xp.logaddexp(log_e, log_a - xp.exp(p["log_alpha"]) * x["params"]),
        log_b - xp.exp(p["log_beta"]) * x["tokens"],
    )


def derived(p, scales, xp):
    """The paper's constants: E (nats/token), A, B, alpha, beta."""
    log_e, log_a, log_b = _log_terms(p, xp)
    alpha, beta = xp.exp(p["log_alpha"]), xp.exp(p["log_beta"])
    return {
        "E": xp.exp(log_e),
        "A": xp.exp(log_a + alpha * math.log(scales["params"])),
        "B": xp.exp(log_b + beta * math.log(scales["tokens"])),
        "alpha": alpha,
        "beta": beta,
    }
