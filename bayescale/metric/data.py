"""Metric run tables: read and validate downstream-metric rows (accuracy or 1 - error per
checkpoint), item counts and chance level."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping

import numpy as np
import pandas as pd

from bayescale import _defaults
from bayescale.data import _format_rows, read_csv_table, rename_columns
from bayescale.exceptions import DataError
from bayescale.forms import LOG_INPUTS, MetricForm

#: Test-set sizes of common lm-evaluation-harness tasks (per-task default of n_items).
DEFAULT_N_ITEMS = _defaults.METRIC_N_ITEMS
LIKELIHOODS = _defaults.METRIC_LIKELIHOODS
PHI_PRIOR = _defaults.PHI_PRIOR  # log concentration ~ Normal(mu, sigma)
MU_EPS = _defaults.MU_EPS  # expected metric kept in [MU_EPS, 1 - MU_EPS] inside the likelihood
GRID_POINTS = _defaults.GRID_POINTS  # log-spaced compute values on which thresholds are searched
BY = _defaults.THRESHOLD_BY
TOKENS_PER_PARAM = _defaults.TOKENS_PER_PARAM
_NUMERIC = ("params", "tokens", "flops", "loss")
_LABELS = ("family", "run")


# ----------------------------------------------------------------------------- data


def _rows(mask) -> str:
    """``"rows 3, 17"``: the 0-based positions where ``mask`` is true (as in loss tables)."""
    return _format_rows(np.flatnonzero(np.asarray(mask, dtype=bool)))


def read_metric_runs(
    source: str | os.PathLike | pd.DataFrame,
    *,
    metric: str = "accuracy",
    n_items: str | int | None = None,
    chance: float | None = None,
    columns: Mapping[str, str] | None = None,
) -> tuple[pd.DataFrame, float]:
    """Read and validate a table of downstream metrics.

    Parameters
    ----------
    source : path or DataFrame
        One row per (model or checkpoint, task): the metric column, ``flops`` (C, FLOPs) or
        ``params`` (N) and ``tokens`` (D) (C = 6 N D), and/or ``loss`` (nats/token);
        optional ``family``, ``run``, ``task``, ``chance``.
    metric : str
        Column holding the metric, a fraction in [0, 1] (e.g. accuracy).
    n_items : str, int or None
        Column of evaluation item counts, or one count for every row; None: the per-task
        default (:data:`DEFAULT_N_ITEMS`) when a ``task`` column names only known tasks,
        otherwise unknown (beta likelihood).
    chance : float, optional
        The metric of random guessing (the floor), e.g. 0.25 for 4-way multiple choice.
        Default: the table's ``chance`` column (one value), else 0.
    columns : mapping, optional
        Canonical name -> your column (``family``, ``run``, ``params``, ``tokens``,
        ``flops``, ``loss``).

    Returns
    -------
    (DataFrame, float)
        The canonical table (``family``, ``run``, the numeric inputs present, ``metric``,
        ``n_items`` (NaN when unknown), ``row``, plus ``task`` if given) and the chance level.

    Raises
    ------
    DataError
        Naming the column and rows: missing or non-numeric metric, values outside [0, 1],
        non-positive or non-finite inputs, bad item counts, several chance levels.
    """
    if isinstance(source, pd.DataFrame):
        table = source.copy()
    else:
        table = read_csv_table(source, what="metric table")
    table = rename_columns(table.reset_index(drop=True), columns, known=(*_LABELS, *_NUMERIC))
    if len(table) == 0:
        raise DataError("the metric table is empty (no rows)")
    if metric not in table:
        raise DataError(f"missing metric column {metric!r}; available columns: "
                        f"{', '.join(map(str, table.columns))} (choose it with --metric)")
    out = pd.DataFrame(index=table.index)
    out["family"] = table["family"].astype(str) if "family" in table else "all"
    if "family" in table and table["family"].isna().any():
        raise DataError(f"column 'family' has missing values at {_rows(table['family'].isna())}")
    for name in (*_NUMERIC, metric):
        if name not in table:
            continue
        values = pd.to_numeric(table[name], errors="coerce")
        bad = values.isna() | ~np.isfinite(values)
        if bad.any():
            raise DataError(f"column {name!r} has non-numeric or non-finite values at "
                            f"{_rows(bad)}")
        if name in _NUMERIC and (values <= 0).any():
            raise DataError(f"column {name!r} has non-positive values at {_rows(values <= 0)}; "
                            f"{name} must be > 0")
        out[name if name in _NUMERIC else "metric"] = values.astype(float)
    if "flops" not in out and {"params", "tokens"} <= set(out):
        out["flops"] = 6.0 * out["params"] * out["tokens"]
    bad = (out["metric"] < 0) | (out["metric"] > 1)
    if bad.any():
        raise DataError(f"column {metric!r} must be a fraction in [0, 1]; outside at {_rows(bad)}"
                        " (percentages? divide by 100)")
    out["n_items"] = _item_counts(table, n_items)
    out["run"] = table["run"].astype(str) if "run" in table else out["family"]
    if "task" in table:
        out["task"] = table["task"].astype(str)
    out["row"] = np.arange(len(table))
    chance = _chance(table, chance)
    return out.reset_index(drop=True), chance


def _item_counts(table: pd.DataFrame, n_items) -> np.ndarray:
    if n_items is None and "n_items" in table:
        n_items = "n_items"
    if n_items is None:
        if "task" in table and table["task"].isin(list(DEFAULT_N_ITEMS)).all():
            return table["task"].map(DEFAULT_N_ITEMS).to_numpy(dtype=float)
        return np.full(len(table), np.nan)
    if isinstance(n_items, str):
        if n_items not in table:
            raise DataError(f"missing item-count column {n_items!r}; available columns: "
                            f"{', '.join(map(str, table.columns))}")
        values = pd.to_numeric(table[n_items], errors="coerce")
        name = n_items
    else:
        values = pd.Series(float(n_items), index=table.index)
        name = "n_items"
    bad = ~np.isfinite(values) | (values < 1) | (values != np.round(values))
    if bad.any():
        raise DataError(f"column {name!r}: item counts must be integers >= 1; bad at "
                        f"{_rows(bad)}")
    return values.to_numpy(dtype=float)


def _chance(table: pd.DataFrame, chance: float | None) -> float:
    if chance is None and "chance" in table:
        values = pd.to_numeric(table["chance"], errors="coerce")
        if values.isna().any():
            raise DataError(f"column 'chance' has missing or non-numeric values at "
                            f"{_rows(values.isna())}")
        if values.nunique() > 1:
            raise DataError(f"column 'chance' has several values ({sorted(values.unique())}); "
                            "fit one task (one chance level) at a time, or pass chance=")
        chance = float(values.iloc[0])
    chance = 0.0 if chance is None else float(chance)
    if not 0.0 <= chance < 1.0:
        raise DataError(f"chance must lie in [0, 1), got {chance}")
    return chance


def metric_scales(form: MetricForm, table: pd.DataFrame) -> dict[str, float]:
    """Reference scale of each input: geometric median (N, D, C) or median (loss), 2 digits."""
    scales = {}
    for name in form.inputs:
        if name not in table:
            raise DataError(f"metric law {form.name} needs column {name!r}"
                            + (" (or params and tokens)" if name == "flops" else ""))
        values = np.unique(table[name].to_numpy(dtype=float))
        centre = np.exp(np.median(np.log(values))) if name in LOG_INPUTS else np.median(values)
        scales[name] = float(f"{float(centre):.2g}")
    return scales


def metric_inputs(form: MetricForm, table: pd.DataFrame | Mapping, scales: Mapping) -> dict:
    """Centred inputs: log(input / scale) for N, D, C; loss - scale for the loss (nats)."""
    x = {}
    for name in form.inputs:
        values = np.asarray(table[name], dtype=float)
        x[name] = np.log(values / scales[name]) if name in LOG_INPUTS else values - scales[name]
    return x


#: columns of a validated metric table that identify its data (others, e.g. ``row``, do not)
_HASHED = ("family", "run", "task", *_NUMERIC, "metric", "n_items")


def metric_data_hash(table: pd.DataFrame) -> str:
    """SHA-256 hex digest of a validated metric table (from :func:`read_metric_runs`).

    It covers family, run and task labels, the law inputs (params, tokens, flops, loss), the
    metric and the item counts present, as canonical CSV sorted by those columns (float repr
    round-trips), so it is independent of row order and of any other column.
    """
    names = [name for name in _HASHED if name in table.columns]
    canonical = pd.DataFrame({
        name: table[name].astype(str) if name in ("family", "run", "task")
        else table[name].astype("float64") for name in names})
    canonical = canonical.sort_values(names, kind="stable")
    text = canonical.to_csv(index=False, lineterminator="\n")
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
