"""Write a fit to one NetCDF file atomically, and read it back only if it can be trusted."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import xarray as xr

from bayescale import _defaults
from bayescale.exceptions import SpecMismatchError


def atomic_write(path: str | os.PathLike, write) -> Path:
    """Call ``write(tmp_path)`` on a temporary file beside ``path``, then rename it into place.

    A crash leaves either the old file or the new one, never half a file. Raises ``OSError``
    naming the path when its folder does not exist or is not writable.
    """
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise NotADirectoryError(f"cannot write {path}: folder {folder} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise PermissionError(f"cannot write {path}: folder {folder} is not writable")
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual permissions
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _umask() -> int:
    """The process umask (read by setting it, then restoring it)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` to ``path`` atomically (UTF-8)."""
    return atomic_write(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))


def save_fit(fit, path: str | os.PathLike) -> Path:
    """Save a :class:`ScalingFit` to one NetCDF file (h5netcdf), written atomically.

    The file holds the posterior, sample stats, observed data, the run table and, as attributes,
    the law, priors, sampler settings, seed, bayescale version and a SHA-256 of the data.
    """
    return atomic_write(path, lambda tmp: fit.idata.to_netcdf(tmp, engine="h5netcdf"))


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
    from bayescale.data import data_hash
    from bayescale.forms import get_form
    from bayescale.law import ScalingFit, dataset_to_runs

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no saved fit at {path}")
    try:
        with xr.open_datatree(path, engine="h5netcdf") as tree:
            idata = tree.load()
    except Exception as err:  # noqa: BLE001 - any reader failure means an untrustworthy file
        raise SpecMismatchError(f"{path} is not a readable NetCDF fit: {err}") from err
    attrs = idata.attrs
    if attrs.get("bayescale_format") != _defaults.FIT_FORMAT:
        raise SpecMismatchError(f"{path} was not written by bayescale (no fit marker)")
    version = int(attrs.get("bayescale_format_version", -1))
    if version != _defaults.FIT_FORMAT_VERSION:
        raise SpecMismatchError(
            f"{path} has fit format version {version}; this bayescale reads version "
            f"{_defaults.FIT_FORMAT_VERSION} (written by bayescale "
            f"{attrs.get('bayescale_version', '?')})"
        )
    for group in ("posterior", "sample_stats", "runs"):
        if group not in idata.children:
            raise SpecMismatchError(f"{path} lacks the {group!r} group")
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
