"""Saved fits: :func:`save_fit` and :func:`load_fit` for every kind of fit bayescale makes.

A fit file is one NetCDF DataTree (see :mod:`bayescale.io`) whose ``attrs`` say what it is:
``bayescale_kind`` ``"loss"`` (a loss-law fit, back as a :class:`~bayescale.law.ScalingFit`;
files written before the kind was recorded are loss fits) or ``"metric"`` (a bounded-metric
fit, back as a :class:`~bayescale.metric.MetricFit`).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from bayescale.data import data_hash
from bayescale.exceptions import SpecMismatchError
from bayescale.forms import get_form, get_metric_form
from bayescale.io import read_tree, save_tree
from bayescale.law import KIND as LOSS_KIND
from bayescale.law import ScalingFit, dataset_to_runs
from bayescale.metric.data import metric_data_hash
from bayescale.metric.law import KIND as METRIC_KIND
from bayescale.metric.law import MetricFit, dataset_to_table

KINDS = (LOSS_KIND, METRIC_KIND)


def save_fit(fit, path: str | os.PathLike) -> Path:
    """Save a fit (loss or metric) to one NetCDF file (h5netcdf), written atomically.

    The file holds the posterior, sample stats, observed data, the data table and, as
    attributes, the kind of fit, the law, priors, sampler settings, seed, bayescale version
    and a SHA-256 of the data.
    """
    return save_tree(fit.idata, path)


def load_fit(path: str | os.PathLike, *, warn: bool = True):
    """Load a fit saved by :func:`save_fit`: a ScalingFit or a MetricFit, by its kind.

    Raises
    ------
    FileNotFoundError
        No file at ``path``.
    SpecMismatchError
        The file is not a bayescale fit, has another format version or an unknown kind, names
        an unknown law, or its data table no longer matches the stored data hash.
    """
    idata = read_tree(path, groups=("posterior", "sample_stats"))
    kind = str(idata.attrs.get("bayescale_kind", LOSS_KIND))
    if kind == LOSS_KIND:
        return _load_loss_fit(idata, path, warn=warn)
    if kind == METRIC_KIND:
        return _load_metric_fit(idata, path, warn=warn)
    raise SpecMismatchError(f"{path}: unknown kind of fit {kind!r}; this bayescale reads "
                            f"{', '.join(KINDS)}")


def _needs_group(idata, group: str, path) -> None:
    if group not in idata.children:
        raise SpecMismatchError(f"{path} lacks the {group!r} group")


def _check_hash(stored, actual: str, path) -> None:
    if actual != stored:
        raise SpecMismatchError(
            f"{path}: the stored data table does not match its data hash; the file was changed "
            "or corrupted"
        )


def _load_loss_fit(idata, path, *, warn: bool) -> ScalingFit:
    _needs_group(idata, "runs", path)
    attrs = idata.attrs
    try:
        law = json.loads(attrs["law"])
        get_form(law["form"])
    except Exception as err:  # noqa: BLE001
        raise SpecMismatchError(f"{path}: the stored law cannot be rebuilt: {err}") from err
    runs = dataset_to_runs(idata["runs"].to_dataset())
    _check_hash(attrs.get("data_sha256"), data_hash(runs), path)
    return ScalingFit(idata, warn=warn)


def _load_metric_fit(idata, path, *, warn: bool) -> MetricFit:
    _needs_group(idata, "data", path)
    attrs = idata.attrs
    try:
        law = json.loads(attrs["metric_law"])
        get_metric_form(law["form"])
    except Exception as err:  # noqa: BLE001
        raise SpecMismatchError(f"{path}: the stored metric law cannot be rebuilt: {err}") \
            from err
    table = dataset_to_table(idata["data"].to_dataset())
    _check_hash(attrs.get("data_sha256"), metric_data_hash(table), path)
    return MetricFit(idata, warn=warn)
