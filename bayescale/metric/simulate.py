"""Seeded synthetic metric runs from a known sigmoid truth."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

# ----------------------------------------------------------------------------- simulation


def logistic(z):
    """1 / (1 + exp(-z)) without overflow."""
    return np.exp(-np.logaddexp(0.0, -z))


def sigmoid_threshold(level: float, *, c50: float, slope: float, top: float,
                      chance: float) -> float:
    """Compute C (FLOPs) at which the sigmoid law reaches ``level`` (inf if top <= level).

    ``c50`` is the compute at half the rise (FLOPs), ``slope`` per e-fold, ``top`` the plateau.
    """
    q = (level - chance) / (top - chance)
    if q >= 1:
        return float("inf")
    return float(c50 * np.exp(np.log(q / (1 - q)) / slope))


def simulate_emergence(
    truth: Mapping[str, Mapping[str, float]],
    flops: Sequence[float] | Mapping[str, Sequence[float]],
    *,
    chance: float = 0.25,
    n_items: int = 500,
    random_seed: int = 0,
) -> pd.DataFrame:
    """Simulated benchmark scores of families with a known sigmoid take-off (seeded).

    ``truth[family]`` has ``c50`` (FLOPs at half the rise), ``slope`` (per e-fold of compute)
    and ``top`` (plateau); ``flops`` is one compute grid (FLOPs) for every family or one per
    family. Each row's number correct is Binomial(n_items, expected metric); returns columns
    ``family``, ``flops``, ``accuracy``, ``n_items``, ``chance``.
    """
    rng = np.random.default_rng(random_seed)
    rows = []
    for family, t in truth.items():
        grid = np.asarray(flops[family] if isinstance(flops, Mapping) else flops, dtype=float)
        mean = chance + (t["top"] - chance) * logistic(t["slope"] * np.log(grid / t["c50"]))
        correct = rng.binomial(n_items, mean)
        rows.append(pd.DataFrame({"family": family, "flops": grid,
                                  "accuracy": correct / n_items, "n_items": n_items,
                                  "chance": chance}))
    return pd.concat(rows, ignore_index=True)
