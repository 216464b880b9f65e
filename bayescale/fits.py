"""Saved fits: :func:`save_fit` and :func:`load_fit` for every kind of fit bayescale makes.

A fit file is one NetCDF DataTree (see :mod:`bayescale.io`) whose ``attrs`` say what it is:
``bayescale_kind`` ``"loss"`` (a loss-law fit, back as a :class:`~bayescale.law.ScalingFit`;
files written before the kind was recorded are loss fits) or ``"metric"`` (a bounded-metric
fit, back as a :class:`~bayescale.metric.MetricFit`).
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Mapping
from pathlib import Path

from bayescale.data import data_hash
from bayescale.exceptions import LawChangedWarning, SpecMismatchError
from bayescale.forms import Form, MetricForm, get_form, get_metric_form
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


def load_fit(path: str | os.PathLike, *, warn: bool = True, strict: bool = False):
    """Load a fit saved by :func:`save_fit`: a ScalingFit or a MetricFit, by its kind.

    ``warn``: emit a ConvergenceWarning when the stored draws fail the diagnostics.
    ``strict``: refuse (SpecMismatchError) rather than warn (LawChangedWarning) when the law's
    source code differs from the code the fit was made with; see :func:`check_law_hash`.

    Raises
    ------
    FileNotFoundError
        No file at ``path``.
    SpecMismatchError
        The file is not a bayescale fit, has another format version or an unknown kind, names
        an unknown or broken law, its data table no longer matches the stored data hash, or
        (``strict``) the law's source changed since the fit was saved.
    """
    idata = read_tree(path, groups=("posterior", "sample_stats"))
    kind = str(idata.attrs.get("bayescale_kind", LOSS_KIND))
    if kind == LOSS_KIND:
        return _load_loss_fit(idata, path, warn=warn, strict=strict)
    if kind == METRIC_KIND:
        return _load_metric_fit(idata, path, warn=warn, strict=strict)
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


def _stored_form(attrs, key: str, get, path, what: str):
    """The registered law a fit's ``attrs[key]`` (the law as JSON) names, or SpecMismatchError."""
    try:
        return get(json.loads(attrs[key])["form"])
    except Exception as err:  # noqa: BLE001 - any failure means the law cannot be rebuilt
        raise SpecMismatchError(f"{path}: the stored {what} cannot be rebuilt: {err}") from err


def _load_loss_fit(idata, path, *, warn: bool, strict: bool) -> ScalingFit:
    _needs_group(idata, "runs", path)
    attrs = idata.attrs
    form = _stored_form(attrs, "law", get_form, path, "law")
    runs = dataset_to_runs(idata["runs"].to_dataset())
    _check_hash(attrs.get("data_sha256"), data_hash(runs), path)
    check_law_hash(attrs, form, path, strict=strict)
    return ScalingFit(idata, warn=warn)


def _load_metric_fit(idata, path, *, warn: bool, strict: bool) -> MetricFit:
    _needs_group(idata, "data", path)
    attrs = idata.attrs
    form = _stored_form(attrs, "metric_law", get_metric_form, path, "metric law")
    table = dataset_to_table(idata["data"].to_dataset())
    _check_hash(attrs.get("data_sha256"), metric_data_hash(table), path)
    check_law_hash(attrs, form, path, strict=strict)
    return MetricFit(idata, warn=warn)


def check_law_hash(attrs: Mapping, form: Form | MetricForm, path: str | os.PathLike, *,
                   strict: bool = False) -> None:
    """Compare the law source hash a fit stored (``attrs["law_sha256"]``) with today's law.

    When they differ, or either is unknown (a fit saved before hashes were stored, a law
    registered as a module object without a file), warn with :class:`LawChangedWarning` naming
    the law, or raise :class:`SpecMismatchError` when ``strict``.
    """
    stored = str(attrs.get("law_sha256", "") or "")
    current = form.source_sha256
    if stored and stored == current:
        return
    if not stored:
        problem = "the fit records no law source hash, so the law code cannot be checked"
    elif current is None:
        problem = f"the law ({form.module}) has no source file to hash, so it cannot be checked"
    else:
        problem = (f"the law's source ({form.module}) changed since the fit was saved "
                   f"(SHA-256 {stored[:12]}... then, {current[:12]}... now)")
    message = f"{path}: law {form.name!r}: {problem}; the fit is evaluated with today's code"
    if strict:
        raise SpecMismatchError(message + " (strict=True refuses it)")
    warnings.warn(message, LawChangedWarning, stacklevel=3)
