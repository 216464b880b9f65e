"""Choose which checkpoints of which runs a law is fitted to.

A run table (see :func:`bayescale.read_runs`) has one row per (run, checkpoint): ``tokens`` is
D, the tokens a run had seen at that checkpoint, and a run's *final* checkpoint is its row with
the most tokens. :func:`select_checkpoints` applies, in this order:

1. ``annealed_only``: keep a checkpoint only where the law applies to it. The laws describe the
   loss a run reaches at the end of its learning-rate schedule; in the middle of a decaying
   (cosine, linear) schedule a checkpoint sits above that curve. Rows of runs whose
   ``lr_schedule`` column says ``"constant"`` are all kept, other runs keep their final
   checkpoint only (a table without that column is treated as all decaying).
2. ``q_maximal``: keep only the runs trained on at least a fraction q of the tokens of their
   family's longest run (final tokens).
3. ``min_tokens``: drop intermediate checkpoints below D tokens (the earliest checkpoints, where
   warm-up and initial transients dominate, hurt extrapolation: Choshen et al. 2024 drop those
   below 10B tokens).
4. ``min_fraction``: drop intermediate checkpoints below a fraction of their run's final tokens.
5. ``max_per_run``: thin each run to at most K checkpoints, log-spaced in tokens (always
   keeping the final one). This bounds the cost of a fit; with AR(1) residuals (the default for
   checkpoint data) thinning a dense curve loses little information.

A run's final checkpoint is never dropped by ``min_tokens`` or ``min_fraction``: it is not an
early checkpoint of anything, and dropping it would drop the run. "Final" always means final in
the table given, before any selection.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from bayescale.data import read_runs
from bayescale.exceptions import DataError, SpecError

SCHEDULE_COLUMN = "lr_schedule"
CONSTANT_SCHEDULE = "constant"


@dataclass(frozen=True)
class Selection:
    """Checkpoint-selection settings (all off by default); see :func:`select_checkpoints`.

    Attributes
    ----------
    min_tokens : float, optional
        Drop intermediate checkpoints with fewer tokens than this (D, tokens).
    min_fraction : float, optional
        Drop intermediate checkpoints below this fraction (0, 1] of their run's final tokens.
    q_maximal : float, optional
        Keep only runs whose final tokens are at least q (0, 1] times the longest run's of
        their family.
    max_per_run : int, optional
        Keep at most this many (>= 2) log-spaced checkpoints per run, the final one included.
    annealed_only : bool
        Keep all checkpoints of constant-LR runs (``lr_schedule == "constant"``) and only the
        final checkpoint of every other run.
    """

    min_tokens: float | None = None
    min_fraction: float | None = None
    q_maximal: float | None = None
    max_per_run: int | None = None
    annealed_only: bool = False

    def __post_init__(self) -> None:
        problems = []
        if self.min_tokens is not None and not (np.isfinite(self.min_tokens)
                                                 and self.min_tokens > 0):
            problems.append(f"min_tokens must be a finite number > 0, got {self.min_tokens!r}")
        for name in ("min_fraction", "q_maximal"):
            value = getattr(self, name)
            if value is not None and not 0 < value <= 1:
                problems.append(f"{name} must lie in (0, 1], got {value!r}")
        if self.max_per_run is not None and (int(self.max_per_run) != self.max_per_run
                                             or self.max_per_run < 2):
            problems.append(f"max_per_run must be an integer >= 2, got {self.max_per_run!r}")
        if problems:
            raise SpecError("invalid checkpoint selection: " + "; ".join(problems))

    def to_dict(self) -> dict:
        """JSON-serialisable settings."""
        return asdict(self)

    @property
    def label(self) -> str:
        """Short description, e.g. ``"min_tokens=1e+10, max_per_run=30"`` or ``"all rows"``."""
        parts = [f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}"
                 for k, v in self.to_dict().items() if v not in (None, False)]
        return ", ".join(parts) if parts else "all rows"


def final_tokens(runs: pd.DataFrame) -> pd.Series:
    """Each row's run's final (largest) token count, D in tokens, aligned with ``runs``."""
    return runs.groupby("run")["tokens"].transform("max")


def log_thin(tokens: np.ndarray, k: int) -> np.ndarray:
    """Positions of at most ``k`` rows of one run, log-spaced in tokens (D, tokens).

    For each of ``k`` targets spaced evenly in log D between the run's first and last
    checkpoint, the nearest checkpoint is kept (each at most once); the first and the last are
    always kept. Returns sorted positions into ``tokens``.
    """
    tokens = np.asarray(tokens, dtype=float)
    if len(tokens) <= k:
        return np.arange(len(tokens))
    log_t = np.log(tokens)
    order = np.argsort(log_t, kind="stable")
    targets = np.linspace(log_t[order[0]], log_t[order[-1]], k)
    chosen = {int(order[0]), int(order[-1])}
    for target in targets:
        distance = np.abs(log_t - target)
        distance[list(chosen)] = np.inf
        best = int(np.argmin(distance))
        if len(chosen) < k and np.isfinite(distance[best]):
            # a target already served by a kept row needs no second row
            kept = np.abs(log_t[list(chosen)] - target).min()
            if distance[best] < kept:
                chosen.add(best)
    return np.array(sorted(chosen))


def select_checkpoints(
    runs: pd.DataFrame | str | os.PathLike,
    selection: Selection | Mapping | None = None,
    *,
    columns: Mapping[str, str] | None = None,
    **options,
) -> pd.DataFrame:
    """Keep the checkpoints a law should be fitted to.

    Parameters
    ----------
    runs : DataFrame or path
        A run table; validated with :func:`bayescale.read_runs` unless it already is one.
    selection : Selection or mapping, optional
        The settings; or give them as keyword ``options`` (``min_tokens``, ``min_fraction``,
        ``q_maximal``, ``max_per_run``, ``annealed_only``).
    columns : mapping, optional
        Column mapping for :func:`bayescale.read_runs`.

    Returns
    -------
    DataFrame
        The kept rows, a canonical run table (fresh index, same columns, ``row`` still points
        at the input rows).

    Raises
    ------
    SpecError
        Bad settings.
    DataError
        Nothing would be left.
    """
    if selection is not None and options:
        raise SpecError("give the selection either as a Selection / mapping or as keywords")
    if not isinstance(selection, Selection):
        selection = Selection(**dict(selection or options))
    if not isinstance(runs, pd.DataFrame) or not {"run", "row", "family"} <= set(runs.columns):
        runs = read_runs(runs, columns=columns)
    keep = pd.Series(True, index=runs.index)
    final = final_tokens(runs)
    is_final = runs["tokens"] == final
    if selection.annealed_only:
        if SCHEDULE_COLUMN in runs:
            constant = runs[SCHEDULE_COLUMN].astype(str).str.lower() == CONSTANT_SCHEDULE
        else:
            constant = pd.Series(False, index=runs.index)
        keep &= constant | is_final
    if selection.q_maximal is not None:
        longest = final.groupby(runs["family"]).transform("max")
        keep &= final >= selection.q_maximal * longest
    if selection.min_tokens is not None:
        keep &= is_final | (runs["tokens"] >= selection.min_tokens)
    if selection.min_fraction is not None:
        keep &= is_final | (runs["tokens"] >= selection.min_fraction * final)
    out = runs[keep]
    if selection.max_per_run is not None:
        positions = []
        for _, rows in out.groupby("run", sort=False):
            chosen = log_thin(rows["tokens"].to_numpy(), int(selection.max_per_run))
            positions.extend(rows.index[chosen])
        out = out.loc[sorted(positions)]
    if out.empty:
        raise DataError(f"checkpoint selection ({selection.label}) leaves no rows")
    return out.reset_index(drop=True)
