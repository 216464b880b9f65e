"""Saved fits: :func:`save_fit` and :func:`load_fit` for every kind of fit bayescale makes.

A fit file is one NetCDF DataTree (see :mod:`bayescale.io`) whose ``attrs`` say what it is; a
loss-law fit comes back as a :class:`~bayescale.law.ScalingFit`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from bayescale.data import data_hash
from bayescale.exceptions import SpecMismatchError
from bayescale.forms import get_form
from bayescale.io import read_tree, save_tree
from bayescale.law import ScalingFit, dataset_to_runs


def save_fit(fit, path: str | os.PathLike) -> Path:
    """Save a fit to one NetCDF file (h5netcdf), written atomically.

    The file holds the posterior, sample stats, observed data, the run table and, as attributes,
    the law, priors, sampler settings, seed, bayescale version and a SHA-256 of the data.
    """
    return save_tree(fit.idata, path)


def load_fit(path: str | os.PathLike, *, warn: bool = True):
    """Load a fit saved by :func:`save_fit`.

    Raises
    ------
    FileNotFoundError
        No file at ``path``.
    SpecMismatchError
        The file is not a bayescale fit, has another format version, names an unknown law,
        or its run table no longer matches the stored data hash.
    """
    idata = read_tree(path, groups=("posterior", "sample_stats", "runs"))
    attrs = idata.attrs
    try:
        law = json.loads(attrs["law"])
        get_form(law["form"])
    except Exception as err:  # noqa: BLE001
        raise SpecMismatchError(f"{path}: the stored law cannot be rebuilt: {err}") from err
    runs = dataset_to_runs(idata["runs"].to_dataset())
    if data_hash(runs) != attrs.get("data_sha256"):
        raise SpecMismatchError(
            f"{path}: the stored run table does not match its data hash; the file was changed "
            "or corrupted"
        )
    return ScalingFit(idata, warn=warn)
