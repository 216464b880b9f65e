"""Kaplan law: L(N, D) = [(N_c / N)^(alpha_N / alpha_D) + D_c / D]^alpha_D.

N is the parameter count, D the number of training tokens, L the loss in nats/token (Kaplan et
al. 2020, "Scaling Laws for Neural Language Models", eq. 1.5, the joint L(N, D) form). It has no
irreducible loss: L falls without bound as N and D grow.

Parametrisation (what is sampled). With inputs centred at reference scales N0, D0 (chosen from
the data, stored with the fit), write the two terms inside the bracket at the reference point as
u = (N_c / N0)^(alpha_N / alpha_D) and v = D_c / D0. bayescale samples

- ``log_L0``: log of the loss at the reference point, alpha_D log(u + v);
- ``log_n_over_d``: log(u / v), how the bracket splits into the parameter and data terms;
- ``log_alpha_n``, ``log_alpha_d``: the exponents on the log scale,

and evaluates the law as a log-sum-exp:

    log(u + v) = log_L0 / alpha_D,  log u = log(u + v) - log(1 + v/u),  log v likewise
    log L = alpha_D logsumexp(log u - (alpha_N / alpha_D) log(N/N0), log v - log(D/D0))

The paper's constants are reported too (``derived``): N_c = N0 u^(alpha_D / alpha_N),
D_c = D0 v, alpha_N, alpha_D. Kaplan et al. (table 2) fitted alpha_N = 0.076, alpha_D = 0.103,
N_c = 6.4e13, D_c = 1.8e13 (non-embedding parameters, their tokenizer).

Default priors (population mean ~ Normal(mu, sigma); between-family sd ~ Gamma(2, 1/tau)):

- log_L0 ~ Normal(1.0, 0.5): loss at the reference 1.0 to 7.3 nats (95%).
- log_n_over_d ~ Normal(0.0, 1.5): either term may dominate at the reference (Kaplan's
  constants give about 1.5 at N0 = 3e8, D0 = 1e10).
- log_alpha_n, log_alpha_d ~ Normal(log 0.1, 0.6): exponents 0.03 to 0.32 (95%). Without an
  irreducible term the fitted exponents are small (Kaplan: 0.076, 0.103).
- Spreads (modes): log_L0 0.1, log-ratio 0.2, log-exponents 0.1.

These priors are checked against real losses by prior-predictive draws in
``tests/test_laws.py``.
"""

import math

from bayescale.priors import ParamPrior

NAME = "kaplan"
INPUTS = ("params", "tokens")
REFERENCE = "Kaplan et al. 2020, Scaling Laws for Neural Language Models, arXiv:2001.08361, eq. 1.5"
DEFAULT_PRIORS = {
    "log_L0": ParamPrior(mu=1.0, sigma=0.5, tau=0.1, centered=True),
    "log_n_over_d": ParamPrior(mu=0.0, sigma=1.5, tau=0.2),
    "log_alpha_n": ParamPrior(mu=math.log(0.1), sigma=0.6, tau=0.1),
    "log_alpha_d": ParamPrior(mu=math.log(0.1), sigma=0.6, tau=0.1),
}


def _log_terms(p, xp):
    """log u and log v (the bracket's two terms at the reference point) and the exponents."""
    alpha_n, alpha_d = xp.exp(p["log_alpha_n"]), xp.exp(p["log_alpha_d"])
    log_sum = p["log_L0"] / alpha_d
    zero = 0.0 * p["log_n_over_d"]
    log_u = log_sum - xp.logaddexp(zero, -p["log_n_over_d"])
    log_v = log_sum - xp.logaddexp(zero, p["log_n_over_d"])
    return log_u, log_v, alpha_n, alpha_d


def log_loss(x, p, xp):
    """Log of the predicted loss (nats/token) at centred log inputs ``x``."""
    log_u, log_v, alpha_n, alpha_d = _log_terms(p, xp)
    return alpha_d * xp.logaddexp(log_u - alpha_n / alpha_d * x["params"],
                                  log_v - x["tokens"])


def derived(p, scales, xp):
    """The paper's constants: N_c (parameters), D_c (tokens), alpha_N, alpha_D."""
    log_u, log_v, alpha_n, alpha_d = _log_terms(p, xp)
    return {
        "N_c": xp.exp(math.log(scales["params"]) + alpha_d / alpha_n * log_u),
        "D_c": xp.exp(math.log(scales["tokens"]) + log_v),
        "alpha_N": alpha_n,
        "alpha_D": alpha_d,
    }
