"""Write a fit to one NetCDF file atomically, and read it back only if it can be trusted."""

from __future__ import annotations

import os
import uuid
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
    tmp = folder / f".{path.name}.{uuid.uuid4().hex}.tmp"
    # Created with mode 0o666 so the process umask applies as for any new file (no umask is
    # read or changed); O_EXCL: never reuse another writer's file.
    os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
    try:
        write(str(tmp))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def writable_folder(path: str | os.PathLike, *, what: str = "output folder") -> Path:
    """Create folder ``path`` if needed and check it is writable (before any sampling starts).

    Raises ``OSError`` (``PermissionError`` when not writable) naming ``what`` and the path.
    """
    folder = Path(path)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise OSError(f"cannot create {what} {folder}: {err.strerror or err}") from err
    if not os.access(folder, os.W_OK | os.X_OK):
        raise PermissionError(f"{what} {folder} is not writable")
    return folder


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` to ``path`` atomically (UTF-8)."""
    return atomic_write(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))


def save_tree(tree, path: str | os.PathLike) -> Path:
    """Write a fit's DataTree to one NetCDF file (h5netcdf), atomically."""
    return atomic_write(path, lambda tmp: tree.to_netcdf(tmp, engine="h5netcdf"))


def read_tree(path: str | os.PathLike, *, groups: tuple[str, ...] = ("posterior",)):
    """Read a DataTree written by :func:`save_tree` and check it is a bayescale fit.

    Raises ``FileNotFoundError`` when there is no file, and :class:`SpecMismatchError` when it
    is not readable NetCDF, has no bayescale fit marker, has another format version, or lacks
    one of ``groups``. What the tree holds (a loss or a metric fit) is for the caller to check.
    """
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
    for group in groups:
        if group not in idata.children:
            raise SpecMismatchError(f"{path} lacks the {group!r} group")
    return idata
