"""Broken power law with one break: L(C) = E + b C^-c0 (1 + (C / d)^(1/f))^(-c1 f).

C is the training compute in FLOPs (the ``flops`` column, 6·N·D unless given), L the loss in
nats/token (Caballero et al. 2022, "Broken Neural Scaling Laws", eq. 1 with n = 1 break). Well
below the break d the reducible loss falls like C^-c0, well above it like C^-(c0 + c1); f sets
how sharp the bend is (in e-folds of compute: the bend spans about f on each side of log d).
c1 > 0 steepens the curve after the break, c1 < 0 flattens it.

Parametrisation: with C centred at a reference C0 (chosen from the data) and
x = log(C / C0), x_d = log(d / C0), the reducible loss is

    log r(x) = log r(0) - c0 x - c1 f [softplus((x - x_d) / f) - softplus(-x_d / f)]

so r(0) is the reducible loss at C0 whatever the break. bayescale samples ``log_L0`` =
log(E + r(0)), ``log_a_over_E`` = log(r(0) / E), ``log_c0``, ``c1`` (unbounded), ``x_break`` =
x_d and ``log_f``; log L = logsumexp(log E, log r(x)). The paper's constants are reported too
(``derived``): E, b, c0, c1, d (FLOPs), f.

Default priors (population mean ~ Normal(mu, sigma); between-family sd ~ Gamma(2, 1/tau)):

- log_L0 ~ Normal(1.0, 0.5), log_a_over_E ~ Normal(-0.5, 1.0), log_c0 ~ Normal(log 0.15, 0.5):
  as the compute law (``models/compute.py``);
- c1 ~ Normal(0, 0.1): the slope changes by at most about 0.2 (95%), no change a priori;
- x_break ~ Normal(0, 3): the break within about 6 e-folds (a factor 400) of C0 (95%);
- log_f ~ Normal(0, 0.5): bend width 0.4 to 2.7 e-folds (95%);
- spreads (modes): log_L0 0.1, log_a_over_E 0.2, log_c0 0.1, c1 0.05, x_break 0.5, log_f 0.1.

With no break inside the data, c1, x_break and f are left to their priors and the law is the
compute law there; a break is then an assumption about the extrapolation, not a finding.
These priors are checked against real losses by prior-predictive draws in
``tests/test_laws.py``.
"""

import math

from bayescale.priors import ParamPrior

NAME = "broken_power"
INPUTS = ("flops",)
REFERENCE = "Caballero et al. 2022, Broken Neural Scaling Laws, arXiv:2210.14891, eq. 1"
DEFAULT_PRIORS = {
    "log_L0": ParamPrior(mu=1.0, sigma=0.5, tau=0.1, centered=True),
    "log_a_over_E": ParamPrior(mu=-0.5, sigma=1.0, tau=0.2),
    "log_c0": ParamPrior(mu=math.log(0.15), sigma=0.5, tau=0.1),
    "c1": ParamPrior(mu=0.0, sigma=0.1, tau=0.05),
    "x_break": ParamPrior(mu=0.0, sigma=3.0, tau=0.5),
    "log_f": ParamPrior(mu=0.0, sigma=0.5, tau=0.1),
}


def _softplus(z, xp):
    return xp.logaddexp(0.0 * z, z)


def log_loss(x, p, xp):
    """Log of the predicted loss (nats/token) at centred log compute ``x["flops"]``."""
    log_e = p["log_L0"] - xp.logaddexp(0.0 * p["log_L0"], p["log_a_over_E"])
    f = xp.exp(p["log_f"])
    bend = _softplus((x["flops"] - p["x_break"]) / f, xp) - _softplus(-p["x_break"] / f, xp)
    log_r = (log_e + p["log_a_over_E"] - xp.exp(p["log_c0"]) * x["flops"]
             - p["c1"] * f * bend)
    return xp.logaddexp(log_e, log_r)


def derived(p, scales, xp):
    """The paper's constants: E (nats/token), b, c0, c1, d (FLOPs), f (e-folds)."""
    log_e = p["log_L0"] - xp.logaddexp(0.0 * p["log_L0"], p["log_a_over_E"])
    c0, f = xp.exp(p["log_c0"]), xp.exp(p["log_f"])
    log_c0 = math.log(scales["flops"])
    return {
        "E": xp.exp(log_e),
        "b": xp.exp(log_e + p["log_a_over_E"] + c0 * log_c0
                    + p["c1"] * f * _softplus(-p["x_break"] / f, xp)),
        "c0": c0,
        "c1": p["c1"],
        "d": xp.exp(log_c0 + p["x_break"]),
        "f": f,
    }
