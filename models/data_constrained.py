"""Data-constrained law: L(N, D, U) = E + A / N'^alpha + B / D'^beta with repeated data.

N is the parameter count, D the training tokens seen, U the unique tokens in the training set
(column ``unique_tokens``), L the loss in nats/token (Muennighoff et al. 2023, "Scaling
Data-Constrained Language Models", eqs. 5-7). Repeated tokens are worth less than new ones, and
parameters beyond what the unique data can use are worth less than useful ones:

    U_D = min(D, U),   R_D = D / U_D - 1                (repetitions beyond the first epoch)
    D'  = U_D + U_D R_D* (1 - exp(-R_D / R_D*))
    U_N = min(N_opt(U_D), N),   R_N = N / U_N - 1       (excess parameters)
    N'  = U_N + U_N R_N* (1 - exp(-R_N / R_N*))

N_opt(U_D) is the compute-optimal parameter count for U_D tokens under the law's own
E, A, B, alpha, beta (C = 6 N D): log N_opt = [log(alpha A / (beta B)) + beta log U_D] / alpha.
Without repetition (D <= U and N <= N_opt(U)) the law is the chinchilla law. Muennighoff et al.
fitted R_D* = 15.4 (repeated data loses most of its value after about 15 epochs) and
R_N* = 5.3.

Parametrisation: as ``models/chinchilla.py`` (``log_L0``, ``log_a_over_E``, ``log_b_over_E``,
``log_alpha``, ``log_beta``: the loss at the reference (N0, D0) on fresh data, the log term ratios
and the log exponents), plus ``log_rd_star`` and ``log_rn_star`` (log R_D*, log R_N*). U is
centred at the tokens scale D0, so ``x["tokens"] - x["unique_tokens"]`` is log(D / U). In
centred coordinates the compute-optimal size is
log(N_opt / N0) = [log(alpha a / (beta b)) + beta log(U_D / D0)] / alpha, with a, b the
parameter and data terms at the reference point.

Default priors (population mean ~ Normal(mu, sigma); between-family sd ~ Gamma(2, 1/tau)):

- the five chinchilla parameters: as ``models/chinchilla.py``;
- log_rd_star ~ Normal(log 15, 0.7): R_D* 3.8 to 59 epochs (95%);
- log_rn_star ~ Normal(log 5, 0.7): R_N* 1.3 to 20;
- spreads (modes) 0.1 for both.

These priors are checked against the real datablations losses (C4/OSCAR, 1 to 44 epochs) by
prior-predictive draws in ``tests/test_laws.py``.
"""

import math

from bayescale.priors import ParamPrior

NAME = "data_constrained"
INPUTS = ("params", "tokens", "unique_tokens")
REFERENCE = (
    "Muennighoff et al. 2023, Scaling Data-Constrained Language Models, arXiv:2305.16264, "
    "eqs. 5-7"
)
DEFAULT_PRIORS = {
    "log_L0": ParamPrior(mu=1.0, sigma=0.5, tau=0.1, centered=True),
    "log_a_over_E": ParamPrior(mu=-0.5, sigma=1.0, tau=0.2),
    "log_b_over_E": ParamPrior(mu=-0.5, sigma=1.0, tau=0.2),
    "log_alpha": ParamPrior(mu=math.log(0.35), sigma=0.4, tau=0.1),
    "log_beta": ParamPrior(mu=math.log(0.35), sigma=0.4, tau=0.1),
    "log_rd_star": ParamPrior(mu=math.log(15.0), sigma=0.7, tau=0.1),
    "log_rn_star": ParamPrior(mu=math.log(5.0), sigma=0.7, tau=0.1),
}


def _log_terms(p, xp):
    log_e = p["log_L0"] - xp.logaddexp(
        xp.logaddexp(0.0 * p["log_L0"], p["log_a_over_E"]), p["log_b_over_E"]
    )
    return log_e, log_e + p["log_a_over_E"], log_e + p["log_b_over_E"]


def _log_effective(x_unique, x_total, log_r_star, xp):
    """log of U + U R* (1 - exp(-R / R*)), R = total / U - 1, all in centred logs."""
    r_star = xp.exp(log_r_star)
    repeats = xp.expm1(x_total - x_unique)  # R >= 0
    return x_unique + xp.log1p(-r_star * xp.expm1(-repeats / r_star))


def effective_inputs(x, p, xp):
    """Centred logs of the effective data D' and effective parameters N' (see module doc)."""
    alpha, beta = xp.exp(p["log_alpha"]), xp.exp(p["log_beta"])
    x_ud = xp.minimum(x["tokens"], x["unique_tokens"])
    x_d = _log_effective(x_ud, x["tokens"], p["log_rd_star"], xp)
    # log(alpha a / (beta b)) with a / b = exp(log_a_over_E - log_b_over_E)
    log_ratio = p["log_alpha"] + p["log_a_over_E"] - p["log_beta"] - p["log_b_over_E"]
    x_opt = (log_ratio + beta * x_ud) / alpha
    x_un = xp.minimum(x_opt, x["params"])
    x_n = _log_effective(x_un, x["params"], p["log_rn_star"], xp)
    return x_n, x_d


def log_loss(x, p, xp):
    """Log of the predicted loss (nats/token) at centred log inputs ``x``."""
    log_e, log_a, log_b = _log_terms(p, xp)
    x_n, x_d = effective_inputs(x, p, xp)
    return xp.logaddexp(
        xp.logaddexp(log_e, log_a - xp.exp(p["log_alpha"]) * x_n),
        log_b - xp.exp(p["log_beta"]) * x_d,
    )


def derived(p, scales, xp):
    """The paper's constants: E (nats/token), A, B, alpha, beta, R_D*, R_N*."""
    log_e, log_a, log_b = _log_terms(p, xp)
    alpha, beta = xp.exp(p["log_alpha"]), xp.exp(p["log_beta"])
    return {
        "E": xp.exp(log_e),
        "A": xp.exp(log_a + alpha * math.log(scales["params"])),
        "B": xp.exp(log_b + beta * math.log(scales["tokens"])),
        "alpha": alpha,
        "beta": beta,
        "R_D_star": xp.exp(p["log_rd_star"]),
        "R_N_star": xp.exp(p["log_rn_star"]),
    }
