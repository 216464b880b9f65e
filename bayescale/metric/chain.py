"""Two-stage prediction: a loss-law posterior chained into a loss-to-metric posterior, draw by
draw."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from bayescale import _defaults
from bayescale.exceptions import SpecError
from bayescale.metric.law import MetricFit
from bayescale.prediction import default_family, summarize_draws

# ----------------------------------------------------------------------------- two stages


def two_stage(
    loss_fit,
    metric_fit: MetricFit,
    points: pd.DataFrame | Mapping,
    *,
    loss_family: str | None = None,
    metric_family: str | None = None,
    loss_kind: str = "predictive",
    prob: float = _defaults.CI_PROB,
    random_seed: int = 0,
) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """Downstream metric at new (N, D) by chaining a loss posterior into a metric posterior.

    For posterior sample s: a loss L_s of the target run from ``loss_fit`` (a ScalingFit;
    ``loss_kind="predictive"``: a new run's loss, with seed and observation noise; ``"mean"``:
    the family's law), then the expected metric mu_s = law(L_s; theta_s) of ``metric_fit``
    (a loss-to-metric law), and one new measurement of it (``predictive``). The two fits'
    draws are paired after a seeded shuffle, so both uncertainties propagate.

    Returns
    -------
    (DataFrame, dict)
        Per point: the inputs, ``loss_median``, ``loss_lower``, ``loss_upper`` (nats/token),
        ``mean``, ``median``, ``lower``, ``upper`` of the expected metric and
        ``pred_median``, ``pred_lower``, ``pred_upper`` of a new measurement, and ``prob``;
        and the draws (``"loss"``, ``"mean"``, ``"predictive"``, each samples x points).
    """
    from bayescale.prediction import loss_draws

    if metric_fit.form.inputs != ("loss",):
        raise SpecError(f"the second stage needs a loss-to-metric law (input 'loss'); "
                        f"{metric_fit.law.form} reads {metric_fit.form.inputs}")
    points = pd.DataFrame(points).reset_index(drop=True)
    loss_family = default_family(loss_fit.families, loss_family)
    losses = loss_draws(loss_fit, points, family=loss_family, kind=loss_kind,
                        random_seed=random_seed)
    p = metric_fit.parameter_draws(metric_fit._family(metric_family), random_seed=random_seed)
    n = len(next(iter(p.values())))
    rng = np.random.default_rng([random_seed, 3])
    pick = rng.permutation(np.resize(np.arange(losses.shape[0]), max(n, losses.shape[0])))[:n]
    losses = losses[pick]
    mean = metric_fit.mean_draws({"loss": losses}, p)
    predictive = metric_fit.observation_draws(mean, random_seed=random_seed)
    summary = summarize_draws(mean, prob=prob)
    tail = (1 - prob) / 2
    out = points.copy()
    out["loss_median"] = np.median(losses, axis=0)
    out["loss_lower"] = np.quantile(losses, tail, axis=0)
    out["loss_upper"] = np.quantile(losses, 1 - tail, axis=0)
    out = pd.concat([out, summary], axis=1)
    out["pred_median"] = np.median(predictive, axis=0)
    out["pred_lower"] = np.quantile(predictive, tail, axis=0)
    out["pred_upper"] = np.quantile(predictive, 1 - tail, axis=0)
    out["prob"] = prob
    return out, {"loss": losses, "mean": mean, "predictive": predictive}
