"""The standard non-Bayesian fit, for side-by-side comparisons (Hoffmann et al. 2022, approach 3).

The chinchilla law ``L(N, D) = E + A/N^alpha + B/D^beta`` (N parameters, D tokens, L nats/token)
is fitted by minimising the Huber loss (``delta = 1e-3``) between the predicted and observed
log-loss,

    sum_i Huber_delta( LSE(a - alpha log N_i, b - beta log D_i, e) - log L_i ),

with ``a = log A``, ``b = log B``, ``e = log E``, using L-BFGS from Hoffmann et al.'s grid of
initialisations (alpha, beta in {0, 0.5, ..., 2}, e in {-1, -0.5, ..., 1}, a, b in
{0, 5, ..., 25}: 4,500 points). The objective is evaluated at every grid point; L-BFGS runs from
the ``n_starts`` best ones, and the best results are polished with tight tolerances (with the
default tolerances L-BFGS stops early on this flat, nearly piecewise-linear objective). The
compute law ``L(C) = E + A/C^alpha`` (C in FLOPs) is fitted the same way with its own grid.

Intervals come from a bootstrap over rows (resample the rows with replacement, refit), the
usual practice; it treats every checkpoint as an independent point and ignores seed and
observation noise, so its intervals are for the mean curve and are expected to be too narrow:
that is what bayescale is compared against.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from threadpoolctl import threadpool_limits

from bayescale import _defaults
from bayescale.data import read_runs
from bayescale.exceptions import SpecError
from bayescale.prediction import check_points, summarize_draws

HUBER_DELTA = 1e-3
N_BOOT = 200

#: Per law: its inputs (one power-law term each) and the names of the fitted constants. A term
#: for input X is ``log_c - exponent * log X``; the irreducible term is ``log_E``.
LAWS = {
    "chinchilla": {"inputs": ("params", "tokens"), "coefs": ("A", "B"),
                   "exponents": ("alpha", "beta")},
    "compute": {"inputs": ("flops",), "coefs": ("A",), "exponents": ("alpha",)},
    # Gadre et al. 2024's over-training law is the chinchilla law with alpha = beta (see
    # models/overtraining.py): one exponent shared by both terms
    "overtraining": {"inputs": ("params", "tokens"), "coefs": ("A", "B"),
                     "exponents": ("alpha",)},
}
#: Hoffmann et al.'s initialisation grid (log coefficients per input scale as they give them).
GRID = {
    "exponent": np.arange(0.0, 2.01, 0.5),
    "log_E": np.arange(-1.0, 1.01, 0.5),
    "log_coef": np.arange(0.0, 25.1, 5.0),
}


def huber(r: np.ndarray, delta: float) -> np.ndarray:
    """Huber loss of residuals ``r``: r^2/2 inside ``delta``, linear outside."""
    a = np.abs(r)
    return np.where(a <= delta, 0.5 * r * r, delta * (a - 0.5 * delta))


def _lse(z: np.ndarray, axis: int = -1) -> tuple[np.ndarray, np.ndarray]:
    """Log-sum-exp over ``axis`` and the softmax weights (plain numpy: scipy's versions cost
    more than the whole objective on small tables)."""
    m = z.max(axis=axis, keepdims=True)
    e = np.exp(z - m)
    s = e.sum(axis=axis, keepdims=True)
    return (np.log(s) + m).squeeze(axis), e / s


def _law_spec(law: str) -> dict:
    if law not in LAWS:
        raise SpecError(f"the reference estimator knows the laws {', '.join(LAWS)}, not {law!r}")
    return LAWS[law]


def _unpack(theta: np.ndarray, k: int):
    """theta = [log_E, log_c_1..k, exponent_1..k], or one exponent shared by the k terms."""
    return theta[0], theta[1:1 + k], theta[1 + k:]


def _terms(theta: np.ndarray, log_x: np.ndarray) -> np.ndarray:
    """Log of each term, shape (rows, 1 + k): [log E, log c_j - exponent_j log X_j]."""
    k = log_x.shape[1]
    log_e, log_c, expo = _unpack(theta, k)
    return np.column_stack([np.full(len(log_x), log_e), log_c - log_x * expo])


def objective(theta: np.ndarray, log_x: np.ndarray, log_y: np.ndarray, weights: np.ndarray,
              delta: float) -> tuple[float, np.ndarray]:
    """Weighted sum of Huber losses on log-loss and its gradient in theta."""
    z = _terms(theta, log_x)
    pred, soft = _lse(z, axis=1)
    r = pred - log_y
    value = float(np.sum(weights * huber(r, delta)))
    dr = weights * np.clip(r, -delta, delta)  # Huber'(r)
    w = soft * dr[:, None]
    k = log_x.shape[1]
    grad = np.empty_like(theta)
    grad[0] = w[:, 0].sum()
    grad[1:1 + k] = w[:, 1:].sum(axis=0)
    grad_expo = -(w[:, 1:] * log_x).sum(axis=0)
    grad[1 + k:] = grad_expo if len(theta) == 1 + 2 * k else grad_expo.sum()
    return value, grad


def grid_starts(k: int, n_exponents: int | None = None) -> np.ndarray:
    """Hoffmann et al.'s grid for a law with ``k`` power-law terms and ``n_exponents`` distinct
    exponents (default ``k``), shape (points, 1 + k + n_exponents)."""
    n_exponents = k if n_exponents is None else n_exponents
    axes = [GRID["log_E"], *([GRID["log_coef"]] * k), *([GRID["exponent"]] * n_exponents)]
    mesh = np.meshgrid(*axes, indexing="ij")
    return np.column_stack([m.ravel() for m in mesh])


def _grid_values(starts, log_x, log_y, weights, delta, chunk=256) -> np.ndarray:
    values = np.empty(len(starts))
    k = log_x.shape[1]
    for i in range(0, len(starts), chunk):
        th = starts[i:i + chunk]
        z = np.concatenate(
            [np.broadcast_to(th[:, None, :1], (len(th), len(log_x), 1)),
             th[:, None, 1:1 + k] - log_x[None] * th[:, None, 1 + k:]], axis=2)
        r = _lse(z, axis=2)[0] - log_y[None]
        values[i:i + chunk] = (weights[None] * huber(r, delta)).sum(axis=1)
    return values


#: L-BFGS-B options: tight tolerances (the defaults stop ~40% above the optimum of this objective)
LBFGS_OPTIONS = {"maxiter": 10_000, "ftol": 1e-15, "gtol": 1e-12}


def _minimise(theta0, args):
    res = minimize(objective, theta0, args=args, jac=True, method="L-BFGS-B",
                   options=LBFGS_OPTIONS)
    return res.x, float(res.fun)


def _fit_arrays(log_x, log_y, weights, delta, starts, n_polish) -> tuple[np.ndarray, float,
                                                                           np.ndarray]:
    """Best theta and objective from L-BFGS at ``starts``, the best ``n_polish`` results
    restarted (polished) once more; also those polished optima, best first."""
    args = (log_x, log_y, weights, delta)
    results = sorted((_minimise(s, args) for s in starts), key=lambda t: t[1])
    polished = sorted((_minimise(theta, args) for theta, _ in results[:n_polish]),
                      key=lambda t: t[1])
    optima = np.array([theta for theta, _ in polished])
    return polished[0][0], polished[0][1], optima


@dataclass(frozen=True)
class ReferenceFit:
    """A Huber/L-BFGS fit of one law with row-bootstrap refits.

    Attributes
    ----------
    law : str
        ``"chinchilla"`` or ``"compute"``.
    params : dict
        The fitted constants: ``E`` (nats/token), ``A`` (and ``B``), ``alpha`` (and ``beta``),
        for N in parameters, D in tokens, C in FLOPs.
    objective : float
        Sum of Huber losses at the optimum.
    boot : DataFrame
        One row per bootstrap refit, the same constants as columns.
    rows : int
        Rows fitted.
    """

    law: str
    params: dict
    objective: float
    boot: pd.DataFrame = field(repr=False)
    rows: int = 0

    def log_loss(self, points: pd.DataFrame, constants: pd.DataFrame | None = None) -> np.ndarray:
        """Log predicted loss (nats/token) at ``points``; shape (points,) for the point
        estimate, or (len(constants), points) for a table of constants (e.g. ``boot``)."""
        spec = _law_spec(self.law)
        points = check_points(_law_form(self.law), pd.DataFrame(points))
        table = pd.DataFrame([self.params]) if constants is None else constants
        z = [np.log(table["E"].to_numpy())[:, None]]
        for name, coef, expo in zip(spec["inputs"], spec["coefs"], _exponent_names(spec),
                                    strict=True):
            log_x = np.log(points[name].to_numpy(dtype=float))
            z.append(np.log(table[coef].to_numpy())[:, None]
                     - table[expo].to_numpy()[:, None] * log_x[None])
        out = np.logaddexp.reduce(np.stack(np.broadcast_arrays(*z)), axis=0)
        return out[0] if constants is None else out

    def predict(self, points, *, prob: float = _defaults.CI_PROB) -> pd.DataFrame:
        """Point prediction and bootstrap interval of the loss (nats/token) at ``points``.

        Returns the inputs plus ``estimate`` (the full-data fit), ``median``, ``lower``,
        ``upper`` (equal-tailed ``prob`` percentiles over the bootstrap refits) and ``prob``.
        """
        points = check_points(_law_form(self.law), pd.DataFrame(points)).reset_index(drop=True)
        estimate = np.exp(self.log_loss(points))
        if len(self.boot):
            summary = summarize_draws(np.exp(self.log_loss(points, self.boot)), prob=prob)
        else:
            summary = pd.DataFrame({k: estimate for k in ("mean", "median", "lower", "upper")})
        out = pd.concat([points, summary[["median", "lower", "upper"]]], axis=1)
        out.insert(len(points.columns), "estimate", estimate)
        out["prob"] = prob
        return out


def _law_form(law: str):
    from bayescale.forms import get_form

    return get_form(law)


def _constants(theta: np.ndarray, spec: dict) -> dict:
    k = len(spec["inputs"])
    log_e, log_c, expo = _unpack(theta, k)
    out = {"E": float(np.exp(log_e))}
    out.update({c: float(np.exp(v)) for c, v in zip(spec["coefs"], log_c, strict=True)})
    out.update({e: float(v) for e, v in zip(spec["exponents"], expo, strict=True)})
    return out


def _exponent_names(spec: dict) -> tuple[str, ...]:
    """The exponent (column name) of each input's term; a shared exponent repeats."""
    expo = spec["exponents"]
    return expo if len(expo) == len(spec["inputs"]) else expo * len(spec["inputs"])


def fit_reference(
    runs: pd.DataFrame | str | os.PathLike,
    *,
    law: str = "chinchilla",
    family: str | None = None,
    delta: float = HUBER_DELTA,
    n_starts: int = 32,
    n_polish: int = 3,
    n_boot: int = N_BOOT,
    random_seed: int = 0,
    columns: Mapping[str, str] | None = None,
) -> ReferenceFit:
    """Fit a law by Huber loss on log-loss with L-BFGS (Hoffmann et al. 2022, approach 3).

    Parameters
    ----------
    runs : DataFrame or path
        A run table (validated with :func:`bayescale.read_runs`); every row is one point.
    law : {"chinchilla", "compute", "overtraining"}
        The law.
    family : str, optional
        Fit only this family's rows; default: all rows as one law (one family per call is the
        usual practice).
    delta : float
        Huber threshold on log-loss residuals (Hoffmann et al.: 1e-3).
    n_starts : int
        L-BFGS runs from this many best points of the 4,500-point grid (>= 1).
    n_polish : int
        The best this many results are polished with tight tolerances.
    n_boot : int
        Row-bootstrap refits (0 for none); each runs L-BFGS from the ``n_polish`` optima of the
        full-data fit and keeps the best.
    random_seed : int
        Seed of the bootstrap resampling.

    Returns
    -------
    ReferenceFit
    """
    spec = _law_spec(law)
    if n_starts < 1 or n_polish < 1 or n_boot < 0:
        raise SpecError(f"need n_starts >= 1, n_polish >= 1, n_boot >= 0; got {n_starts}, "
                        f"{n_polish}, {n_boot}")
    table = runs if isinstance(runs, pd.DataFrame) and "row" in runs else read_runs(
        runs, columns=columns)
    if family is not None:
        if family not in set(table["family"]):
            raise SpecError(f"unknown family {family!r}")
        table = table[table["family"] == family]
    # L-BFGS-B calls BLAS on 5-vectors: threads only add overhead (25x measured on 2 cores)
    with threadpool_limits(limits=1, user_api="blas"):
        return _fit_table(table, law, spec, delta, n_starts, n_polish, n_boot, random_seed)


def _fit_table(table, law, spec, delta, n_starts, n_polish, n_boot, random_seed):
    log_x = np.column_stack([np.log(table[name].to_numpy(dtype=float))
                             for name in spec["inputs"]])
    log_y = np.log(table["loss"].to_numpy(dtype=float))
    ones = np.ones(len(log_y))
    starts = grid_starts(len(spec["inputs"]), len(spec["exponents"]))
    values = _grid_values(starts, log_x, log_y, ones, delta)
    best = starts[np.argsort(values, kind="stable")[:n_starts]]
    theta, value, optima = _fit_arrays(log_x, log_y, ones, delta, best, n_polish)
    rng = np.random.default_rng(random_seed)
    boot = []
    for _ in range(n_boot):
        weights = np.bincount(rng.integers(0, len(log_y), len(log_y)),
                              minlength=len(log_y)).astype(float)
        args = (log_x, log_y, weights, delta)
        b_theta = min((_minimise(start, args) for start in optima), key=lambda t: t[1])[0]
        boot.append(_constants(b_theta, spec))
    columns_ = ["E", *spec["coefs"], *spec["exponents"]]
    return ReferenceFit(law=law, params=_constants(theta, spec), objective=value,
                        boot=pd.DataFrame(boot, columns=columns_), rows=len(log_y))
