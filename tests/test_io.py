"""Tests for bayescale.io: atomic save and trusted load of fits (no sampling)."""

from __future__ import annotations

import hashlib
import importlib.util
import math
import os
import re
import stat
import warnings
from pathlib import Path

import bayescale.models
import numpy as np
import pandas as pd
import pytest
import xarray as xr
from conftest import make_idata

from bayescale import LawChangedWarning, SpecMismatchError, load_fit, save_fit
from bayescale.forms import temporary_laws
from bayescale.law import ScalingFit


def _same_diagnostics(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(
        (isinstance(v, float) and math.isnan(v) and math.isnan(b[k])) or v == b[k]
        for k, v in a.items()
    )


def test_round_trip(mixed_fit, tmp_path):
    path = tmp_path / "fit.nc"
    save_fit(mixed_fit, path)
    loaded = load_fit(path, warn=False)
    assert isinstance(loaded, ScalingFit)
    before, after = mixed_fit.idata["posterior"], loaded.idata["posterior"]
    assert set(before.data_vars) == set(after.data_vars)
    for name in before.data_vars:
        np.testing.assert_array_equal(after[name].to_numpy(), before[name].to_numpy())
    assert loaded.families == mixed_fit.families
    assert loaded.law == mixed_fit.law and loaded.scales == mixed_fit.scales
    assert loaded.settings == mixed_fit.settings and loaded.run_effect == mixed_fit.run_effect
    pd.testing.assert_frame_equal(loaded.runs, mixed_fit.runs)
    assert _same_diagnostics(loaded.diagnostics.to_dict(), mixed_fit.diagnostics.to_dict())
    assert loaded.idata.attrs["data_sha256"] == mixed_fit.idata.attrs["data_sha256"]
    points = {"params": [1e8], "tokens": [2e9]}
    pd.testing.assert_frame_equal(loaded.predict(points), mixed_fit.predict(points))


def test_save_leaves_no_temporary_files(chinchilla_fit, tmp_path):
    path = tmp_path / "fit.nc"
    chinchilla_fit.save(path)
    chinchilla_fit.save(path)  # overwriting works too
    assert [p.name for p in tmp_path.iterdir()] == ["fit.nc"]


def test_failed_save_keeps_old_file_and_no_temporary(chinchilla_fit, mixed_fit, tmp_path,
                                                      monkeypatch):
    path = tmp_path / "fit.nc"
    save_fit(chinchilla_fit, path)
    before = path.read_bytes()

    def half_write(self, tmp, **kwargs):
        with open(tmp, "wb") as handle:
            handle.write(b"\x89HDF partial")
        raise OSError("disk full")

    monkeypatch.setattr(xr.DataTree, "to_netcdf", half_write)
    with pytest.raises(OSError, match="disk full"):
        save_fit(mixed_fit, path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["fit.nc"]


def test_save_into_missing_folder(chinchilla_fit, tmp_path):
    path = tmp_path / "missing" / "fit.nc"
    with pytest.raises(OSError, match=re.escape(str(path.parent))):
        save_fit(chinchilla_fit, path)
    assert not path.parent.exists()


def test_save_into_read_only_folder(chinchilla_fit, tmp_path, monkeypatch):
    folder = tmp_path / "ro"
    folder.mkdir()
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode, **kw: False if str(p) == str(folder)
                        else real_access(p, mode, **kw))
    with pytest.raises(PermissionError, match="not writable"):
        save_fit(chinchilla_fit, folder / "fit.nc")
    assert list(folder.iterdir()) == []


def test_save_into_chmod_read_only_folder(chinchilla_fit, tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        if os.access(folder, os.W_OK):
            pytest.skip("running as root: a read-only folder is still writable")
        with pytest.raises(PermissionError, match=re.escape(str(folder))):
            save_fit(chinchilla_fit, folder / "fit.nc")
    finally:
        folder.chmod(stat.S_IRWXU)


def test_load_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.nc"):
        load_fit(tmp_path / "nope.nc")


def test_load_refuses_foreign_files(tmp_path):
    netcdf = tmp_path / "other.nc"
    xr.Dataset({"x": ("i", np.arange(3.0))}).to_netcdf(netcdf, engine="h5netcdf")
    with pytest.raises(SpecMismatchError, match="not written by bayescale"):
        load_fit(netcdf)
    text = tmp_path / "text.nc"
    text.write_text("family,params\n")
    with pytest.raises(SpecMismatchError, match="not a readable NetCDF"):
        load_fit(text)


def _save_tampered(tmp_path, **attrs):
    idata = make_idata(jitter=0.01)
    idata.attrs.update(attrs)
    path = tmp_path / "tampered.nc"
    idata.to_netcdf(path, engine="h5netcdf")
    return path


def test_load_refuses_altered_hash(tmp_path):
    path = _save_tampered(tmp_path, data_sha256="0" * 64)
    with pytest.raises(SpecMismatchError, match="data hash"):
        load_fit(path)


def test_load_refuses_altered_run_table(tmp_path):
    idata = make_idata(jitter=0.01)
    runs = idata["runs"].to_dataset()
    runs["loss"] = runs["loss"] * 1.001
    idata["runs"] = xr.DataTree(runs)
    path = tmp_path / "edited.nc"
    idata.to_netcdf(path, engine="h5netcdf")
    with pytest.raises(SpecMismatchError, match="data hash"):
        load_fit(path)


@pytest.mark.parametrize("version", [0, 2])
def test_load_refuses_other_format_version(tmp_path, version):
    path = _save_tampered(tmp_path, bayescale_format_version=version)
    with pytest.raises(SpecMismatchError, match=f"version {version}"):
        load_fit(path)


def test_load_refuses_unknown_law(tmp_path):
    path = _save_tampered(tmp_path, law='{"form": "retired_law"}')
    with pytest.raises(SpecMismatchError, match="retired_law"):
        load_fit(path)


def test_atomic_write_gives_usual_permissions(tmp_path):
    """Results are readable like any file the user writes (mkstemp alone would give 0600)."""
    import os
    import stat

    from bayescale.io import atomic_write_text

    old = os.umask(0o022)
    try:
        path = atomic_write_text(tmp_path / "out.txt", "x")
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


# ------------------------------------------------- the law's source hash, and broken laws

TEMP_LAW = '''"""Temporary law for the io tests: L = exp(log_L0) * (C / C0)^-exp(log_alpha)."""
from bayescale.priors import ParamPrior

NAME = "iolaw"
INPUTS = ("flops",)
REFERENCE = "bayescale test suite"
DEFAULT_PRIORS = {
    "log_L0": ParamPrior(mu=1.0, sigma=0.5, tau=0.1, centered=True),
    "log_alpha": ParamPrior(mu=-2.0, sigma=0.5, tau=0.1),
}


def log_loss(x, p, xp):
    return p["log_L0"] - xp.exp(p["log_alpha"]) * x["flops"]
'''
IOLAW_VALUES = {"log_L0": (1.1, 1.0), "log_alpha": (-2.0, -1.8)}


def _law_file(folder, source=TEMP_LAW):
    folder.mkdir()
    path = folder / "iolaw.py"
    path.write_text(source, encoding="utf-8")
    return path


@pytest.fixture
def iolaw_fit_path(tmp_path):
    """A fit of the temporary law ``iolaw`` saved while its first version was registered."""
    path = tmp_path / "fit.nc"
    with temporary_laws(_law_file(tmp_path / "v1")):
        idata = make_idata("iolaw", values=IOLAW_VALUES, jitter=0.01)
    assert idata.attrs["law_sha256"] == hashlib.sha256(TEMP_LAW.encode()).hexdigest()
    idata.to_netcdf(path, engine="h5netcdf")
    return path


def test_saved_fit_records_the_law_source_hash(mixed_fit, tmp_path):
    source = Path(bayescale.models.__path__[0]) / "chinchilla.py"
    expected = hashlib.sha256(source.read_bytes()).hexdigest()
    assert mixed_fit.idata.attrs["law_sha256"] == expected
    save_fit(mixed_fit, tmp_path / "fit.nc")
    with warnings.catch_warnings():
        warnings.simplefilter("error", LawChangedWarning)
        loaded = load_fit(tmp_path / "fit.nc", warn=False, strict=True)
    assert loaded.idata.attrs["law_sha256"] == expected


def test_unchanged_law_loads_without_warning(iolaw_fit_path, tmp_path):
    with temporary_laws(_law_file(tmp_path / "same")), warnings.catch_warnings():
        warnings.simplefilter("error", LawChangedWarning)
        fit = load_fit(iolaw_fit_path, warn=False, strict=True)
    assert fit.law.form == "iolaw"


def test_changed_law_warns_or_refuses_when_strict(iolaw_fit_path, tmp_path):
    changed = TEMP_LAW.replace("xp.exp(p[\"log_alpha\"])", "0.9 * xp.exp(p[\"log_alpha\"])")
    assert changed != TEMP_LAW
    with temporary_laws(_law_file(tmp_path / "v2", changed)):
        with pytest.warns(LawChangedWarning, match=r"law 'iolaw': the law's source .*v2.*changed"):
            fit = load_fit(iolaw_fit_path, warn=False)
        assert fit.law.form == "iolaw"
        with pytest.raises(SpecMismatchError, match="law 'iolaw'.*changed.*strict"):
            load_fit(iolaw_fit_path, warn=False, strict=True)


def test_fit_without_a_law_hash_warns_or_refuses_when_strict(tmp_path):
    path = _save_tampered(tmp_path, law_sha256="")
    with pytest.warns(LawChangedWarning, match="law 'chinchilla': the fit records no law source"):
        load_fit(path, warn=False)
    with pytest.raises(SpecMismatchError, match="records no law source hash"):
        load_fit(path, warn=False, strict=True)


def test_law_without_source_file_cannot_be_checked(iolaw_fit_path, tmp_path):
    spec = importlib.util.spec_from_file_location("iolaw_object", _law_file(tmp_path / "obj"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    del module.__file__  # a module object with no file behind it
    with temporary_laws(module):
        with pytest.warns(LawChangedWarning, match="has no source file to hash"):
            load_fit(iolaw_fit_path, warn=False)


def test_broken_law_module_spares_other_fits(mixed_fit, iolaw_fit_path, tmp_path):
    """A malformed law file breaks only the fits of its own law."""
    save_fit(mixed_fit, tmp_path / "chinchilla.nc")
    broken = TEMP_LAW.replace('p["log_alpha"]', 'p["log_beta"]')
    with temporary_laws(_law_file(tmp_path / "bad", broken), tmp_path / "bad2.py"):
        loaded = load_fit(tmp_path / "chinchilla.nc", warn=False, strict=True)
        assert loaded.law == mixed_fit.law
        with pytest.raises(SpecMismatchError, match=r"cannot be rebuilt: .*law module "
                           + re.escape(str(tmp_path / "bad" / "iolaw.py")) + " is broken"):
            load_fit(iolaw_fit_path, warn=False)
