"""Learning-rate annealing law: L(s) = E + A S1^-alpha - C S2.

The loss of one model along training under any learning-rate schedule (Tissue et al. 2024,
"Scaling Law with Learning Rate Annealing", eq. 1; their L0 is E here). After step s with
learning rates eta_1..eta_s:

- S1 = sum_i eta_i, the *forward area* (column ``lr_area``, > 0): how far training has moved;
- S2 = sum_i m_i, m_i = lambda m_{i-1} + (eta_{i-1} - eta_i), the *annealing area* (column
  ``lr_anneal_area``, >= 0; 0 while the learning rate has not decayed), with the decay factor
  lambda = 0.999 of the paper. :func:`lr_areas` computes both from a schedule.

L is the loss in nats/token. A model family (one model size, one data set) has one law; the
fitted law predicts the loss under schedules not trained, e.g. where to anneal. Warm-up steps
are left out of the sums in the paper.

Parametrisation: with S1 centred at a reference S1_0 and S2 at S2_0 (the geometric median of
its positive values), x1 = log(S1 / S1_0), x2 = log(S2 / S2_0) (-inf where S2 = 0). bayescale
samples ``log_L0`` = log(E + a) with a = A S1_0^-alpha (the loss at S1_0 without annealing),
``log_a_over_E`` = log(a / E), ``log_alpha`` and ``log_c_over_E`` = log(c / E) with
c = C S2_0 (the drop at the reference annealing area):

    log L = log(E + a e^(-alpha x1)) + log(1 - c e^(x2) / (E + a e^(-alpha x1)))

A drop larger than the loss (no positive loss) has zero likelihood. The paper's constants are
reported too (``derived``): E, A, alpha, C (in S1 and S2 units).

Default priors (population mean ~ Normal(mu, sigma); between-family sd ~ Gamma(2, 1/tau)):

- log_L0 ~ Normal(1.0, 0.5), log_a_over_E ~ Normal(-0.5, 1.0): as the compute law;
- log_alpha ~ Normal(log 0.5, 0.5): alpha 0.19 to 1.3 (95%);
- log_c_over_E ~ Normal(-3, 1): the drop at S2_0 is 0.7% to 35% of E (95%);
- spreads (modes): log_L0 0.1, log-ratios 0.2, log_alpha 0.1.

No dataset in ``../shared/data`` has per-checkpoint losses together with the learning-rate
schedule that produced them (the Gadre et al. runs are final losses of complete cosine
schedules, where S1 and S2 only grow with the run's length), so this law is tested on
simulated schedules only (``tests/test_laws_recovery.py``).
"""

import math

import numpy as np

from bayescale.priors import ParamPrior

NAME = "lr_annealing"
INPUTS = ("lr_area", "lr_anneal_area")
REFERENCE = "Tissue et al. 2024, Scaling Law with Learning Rate Annealing, arXiv:2408.11029, eq. 1"
DEFAULT_PRIORS = {
    "log_L0": ParamPrior(mu=1.0, sigma=0.5, tau=0.1, centered=True),
    "log_a_over_E": ParamPrior(mu=-0.5, sigma=1.0, tau=0.2),
    "log_alpha": ParamPrior(mu=math.log(0.5), sigma=0.5, tau=0.1),
    "log_c_over_E": ParamPrior(mu=-3.0, sigma=1.0, tau=0.2),
}
DECAY = 0.999  # lambda, the momentum of the annealing area (Tissue et al. 2024)


def lr_areas(lr, *, decay: float = DECAY) -> tuple[np.ndarray, np.ndarray]:
    """Forward area S1 and annealing area S2 after each step of a learning-rate schedule.

    Parameters
    ----------
    lr : array-like
        The learning rate at steps 1..s (warm-up steps left out), in any consistent unit.
    decay : float
        lambda, the decay factor of the annealing momentum (0.999 in the paper).

    Returns
    -------
    s1, s2 : ndarray
        Cumulative sums, one value per step: S1 in learning-rate x steps, S2 likewise (S2 is
        kept >= 0 where a schedule rises again).
    """
    lr = np.asarray(lr, dtype=float)
    drops = np.r_[0.0, lr[:-1] - lr[1:]]
    momentum = np.empty_like(lr)
    m = 0.0
    for i, drop in enumerate(drops):
        m = decay * m + drop
        momentum[i] = m
    return np.cumsum(lr), np.maximum(np.cumsum(momentum), 0.0)


def _log_e(p, xp):
    return p["log_L0"] - xp.logaddexp(0.0 * p["log_L0"], p["log_a_over_E"])


def log_loss(x, p, xp):
    """Log of the predicted loss (nats/token) at centred log areas ``x``."""
    log_e = _log_e(p, xp)
    log_before = xp.logaddexp(
        log_e, log_e + p["log_a_over_E"] - xp.exp(p["log_alpha"]) * x["lr_area"]
    )
    drop = xp.exp(log_e + p["log_c_over_E"] + x["lr_anneal_area"] - log_before)
    return log_before + xp.log1p(-drop)


def derived(p, scales, xp):
    """The paper's constants: E (= their L0, nats/token), A, alpha, C."""
    log_e = _log_e(p, xp)
    alpha = xp.exp(p["log_alpha"])
    return {
        "E": xp.exp(log_e),
        "A": xp.exp(log_e + p["log_a_over_E"] + alpha * math.log(scales["lr_area"])),
        "alpha": alpha,
        "C": xp.exp(log_e + p["log_c_over_E"] - math.log(scales["lr_anneal_area"])),
    }
