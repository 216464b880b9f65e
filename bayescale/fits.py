"""Saved fits: :func:`save_fit` and :func:`load_fit` for every kind of fit bayescale makes.

A fit file is one NetCDF DataTree (see :mod:`bayescale.io`) whose ``attrs`` say what it is; a
loss-law fit comes back as a :class:`~bayescale.law.ScalingFit`.
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Mapping
from pathlib import Path

from bayescale.data import data_hash
from bayescale.exceptions import LawChangedWarning, SpecMismatchError
from bayescale.forms import Form, MetricForm, get_form
from bayescale.io import read_tree, save_tree
from bayescale.law import ScalingFit, dataset_to_runs


def save_fit(fit, path: str | os.PathLike) -> Path:
    """Save a fit to one NetCDF file (h5netcdf), written atomically.

    The file holds the posterior, sample stats, observed data, the run table and, as attributes,
    the law, priors, sampler settings, seed, bayescale version and a SHA-256 of the data.
    """
    return save_tree(fit.idata, path)


def load_fit(path: str | os.PathLike, *, warn: bool = True, strict: bool = False):
    """Load a fit saved by :func:`save_fit`.

    ``warn``: emit a ConvergenceWarning when the stored draws fail the diagnostics.
    ``strict``: refuse (SpecMismatchError) rather than warn (LawChangedWarning) when the law's
    source code differs from the code the fit was made with; see :func:`check_law_hash`.

    Raises
    ------
    FileNotFoundError
        No file at ``path``.
    SpecMismatchError
        The file is not a bayescale fit, has another format version, names an unknown or
        broken law, its run table no longer matches the stored data hash, or (``strict``) the
        law's source changed since the fit was saved.
    """
    idata = read_tree(path, groups=("posterior", "sample_stats", "runs"))
    attrs = idata.attrs
    try:
        law = json.loads(attrs["law"])
        form = get_form(law["form"])
    except Exception as err:  # noqa: BLE001
        raise SpecMismatchError(f"{path}: the stored law cannot be rebuilt: {err}") from err
    runs = dataset_to_runs(idata["runs"].to_dataset())
    if data_hash(runs) != attrs.get("data_sha256"):
        raise SpecMismatchError(
            f"{path}: the stored run table does not match its data hash; the file was changed "
            "or corrupted"
        )
    check_law_hash(attrs, form, path, strict=strict)
    return ScalingFit(idata, warn=warn)


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
