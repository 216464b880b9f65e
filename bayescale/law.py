"""The two user-facing objects: :class:`ScalingLaw` (a specification) and :class:`ScalingFit`.

Both are thin: the work is done by plain functions in ``data``, ``model``, ``sampling``,
``diagnostics``, ``predict``, ``io`` and ``plotting``.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pymc as pm
import xarray as xr

from bayescale import _defaults
from bayescale._version import __version__
from bayescale.data import check_family_points, data_hash, read_runs
from bayescale.diagnostics import Diagnostics, diagnose
from bayescale.exceptions import DataError, SpecError
from bayescale.forms import Form, get_form
from bayescale.io import save_tree
from bayescale.model import RESIDUALS, build_model, reference_scales, use_ar1, use_run_effect
from bayescale.prediction import predict
from bayescale.priors import ParamPrior
from bayescale.report import parameter_summary
from bayescale.sampling import check_sampler, sample


@dataclass(frozen=True)
class ScalingLaw:
    """A scaling-law specification: which law, which priors, which likelihood, which pooling.

    Parameters
    ----------
    form : str
        Name of a law in ``bayescale.models`` (``"chinchilla"``, ``"compute"``, ...).
    likelihood : {"student_t", "normal"}
        Likelihood of log-loss; Student-t (default) keeps loss spikes and odd runs from
        dragging the fit.
    pooling : {"partial", "complete", "none"}
        How law parameters are shared across families. With one family, partial pooling is
        complete pooling (there is no spread between families to learn).
    priors : mapping, optional
        Overrides of the law's default priors, ``{parameter: ParamPrior}`` (or dicts).
    run_effect : bool or "auto"
        Per-run offsets on log-loss (seed noise; their sd ``sigma_run`` is reported); "auto"
        turns them on when sizes have several seeds.
    residuals : {"auto", "ar1", "iid"}
        Residuals on log-loss: AR(1) along each run's log-tokens (the checkpoints of a run are
        one correlated training curve), or independent. "auto" picks AR(1) when the median run
        has at least 3 checkpoints. See :mod:`bayescale.model`.
    """

    form: str = "chinchilla"
    likelihood: str = _defaults.LIKELIHOOD
    pooling: str = _defaults.POOLING
    priors: Mapping[str, ParamPrior] = field(default_factory=dict)
    run_effect: bool | str = "auto"
    residuals: str = "auto"

    def __post_init__(self) -> None:
        problems = []
        form = None
        try:
            form = get_form(self.form)
        except SpecError as err:
            problems.append(str(err))
        if self.likelihood not in _defaults.LIKELIHOODS:
            problems.append(
                f"unknown likelihood {self.likelihood!r}; choose {_defaults.LIKELIHOODS}"
            )
        if self.pooling not in _defaults.POOLINGS:
            problems.append(f"unknown pooling {self.pooling!r}; choose {_defaults.POOLINGS}")
        if self.run_effect not in (True, False, "auto"):
            problems.append(f"run_effect must be True, False or 'auto', got {self.run_effect!r}")
        if self.residuals not in ("auto", *RESIDUALS):
            problems.append(
                f"residuals must be 'auto', {' or '.join(map(repr, RESIDUALS))}, got "
                f"{self.residuals!r}"
            )
        priors = {}
        for name, prior in dict(self.priors).items():
            if form is not None and name not in form.parameters:
                problems.append(
                    f"prior for unknown parameter {name!r}; law {self.form} has "
                    f"{', '.join(form.parameters)}"
                )
            try:
                priors[name] = prior if isinstance(prior, ParamPrior) else ParamPrior.from_dict(
                    prior
                )
            except (SpecError, TypeError) as err:
                problems.append(f"prior for {name!r}: {err}")
        if problems:
            raise SpecError("invalid scaling law: " + "; ".join(problems))
        object.__setattr__(self, "priors", priors)

    @property
    def law_form(self) -> Form:
        """The checked functional form."""
        return get_form(self.form)

    def full_priors(self) -> dict[str, ParamPrior]:
        """Default priors of the law updated with the overrides."""
        return {**self.law_form.default_priors, **self.priors}

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable description (stored in every saved fit)."""
        return {
            "form": self.form,
            "likelihood": self.likelihood,
            "pooling": self.pooling,
            "priors": {k: v.to_dict() for k, v in self.full_priors().items()},
            "run_effect": self.run_effect,
            "residuals": self.residuals,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ScalingLaw:
        """Inverse of :meth:`to_dict`."""
        return cls(**dict(data))

    def fit(
        self,
        runs: pd.DataFrame | str | os.PathLike,
        *,
        columns: Mapping[str, str] | None = None,
        sampler: str = _defaults.SAMPLER,
        draws: int = _defaults.DRAWS,
        tune: int = _defaults.TUNE,
        chains: int = _defaults.CHAINS,
        random_seed: int = 0,
        target_accept: float = _defaults.TARGET_ACCEPT,
        progressbar: bool | None = None,
        sampler_kwargs: Mapping[str, Any] | None = None,
    ) -> ScalingFit:
        """Fit the law to a run table with NUTS and check the draws.

        ``runs`` is a CSV path or DataFrame (validated by :func:`bayescale.read_runs`).
        Returns a :class:`ScalingFit`; a :class:`ConvergenceWarning` is emitted when
        diagnostics fail. The same ``random_seed`` and sampler give the same posterior.
        """
        check_sampler(sampler)
        runs = read_runs(runs, columns=columns)
        form = self.law_form
        missing = [name for name in form.inputs if name not in runs]
        if missing:
            raise DataError(
                f"law {form.name} reads column(s) {', '.join(map(repr, missing))}, which the "
                f"run table does not have (available: {', '.join(map(str, runs.columns))})"
            )
        n_families = runs["family"].nunique()
        pooling = "complete" if self.pooling == "partial" and n_families == 1 else self.pooling
        law = self if pooling == self.pooling else ScalingLaw(**{**self.__dict__,
                                                                 "pooling": pooling})
        check_family_points(runs, n_family_params=len(form.parameters), pooling=pooling)
        scales = reference_scales(form, runs)
        run_effect = use_run_effect(runs, self.run_effect)
        residuals = "ar1" if use_ar1(runs, self.residuals) else "iid"
        model = build_model(
            form, runs, priors=law.full_priors(), likelihood=law.likelihood, pooling=pooling,
            run_effect=run_effect, scales=scales, residuals=residuals,
        )
        start = time.perf_counter()
        idata = sample(
            model, sampler=sampler, draws=draws, tune=tune, chains=chains,
            random_seed=random_seed, target_accept=target_accept, progressbar=progressbar,
            sampler_kwargs=sampler_kwargs,
        )
        seconds = time.perf_counter() - start
        idata["runs"] = xr.DataTree(runs_to_dataset(runs))
        idata.attrs.update(fit_attrs(
            law, runs, scales=scales, run_effect=run_effect, residuals=residuals,
            sampler={"sampler": sampler, "draws": draws, "tune": tune, "chains": chains,
                     "random_seed": random_seed, "target_accept": target_accept,
                     "wall_seconds": seconds},
        ))
        return ScalingFit(idata)


#: ``bayescale_kind`` of a loss-law fit (metric fits: ``"metric"``, see :mod:`bayescale.metric`)
KIND = "loss"


def fit_attrs(law: ScalingLaw, runs: pd.DataFrame, *, scales: dict[str, float],
              run_effect: bool, residuals: str, sampler: dict[str, Any]) -> dict[str, Any]:
    """The ``attrs`` a fit's DataTree carries (what :class:`ScalingFit` and ``load_fit`` read):
    format marker and version, kind (``"loss"``), package version, the law as JSON, reference
    scales, the run effect and residual model used, sampler settings, seed, the data's SHA-256
    and the SHA-256 of the law module's source (``""`` for a law without a source file)."""
    return {
        "bayescale_format": _defaults.FIT_FORMAT,
        "bayescale_format_version": _defaults.FIT_FORMAT_VERSION,
        "bayescale_kind": KIND,
        "bayescale_version": __version__,
        "law": json.dumps(law.to_dict()),
        "scales": json.dumps(scales),
        "run_effect_used": int(run_effect),
        "residuals_used": residuals,
        "sampler": json.dumps(sampler),
        "random_seed": sampler["random_seed"],
        "data_sha256": data_hash(runs),
        "law_sha256": law.law_form.source_sha256 or "",
    }


def runs_to_dataset(runs: pd.DataFrame) -> xr.Dataset:
    """The run table as an xarray Dataset along ``obs`` (strings as fixed unicode)."""
    data = {}
    for name in runs.columns:
        values = runs[name].to_numpy()
        if values.dtype == object or pd.api.types.is_string_dtype(runs[name]):
            values = runs[name].astype(str).to_numpy(dtype=str)
        data[name] = ("obs", values)
    return xr.Dataset(data, coords={"obs": np.arange(len(runs))})


def dataset_to_runs(dataset: xr.Dataset) -> pd.DataFrame:
    """Inverse of :func:`runs_to_dataset`."""
    table = pd.DataFrame({name: dataset[name].to_numpy() for name in dataset.data_vars})
    for name in ("family", "run", "recipe"):
        if name in table:
            table[name] = table[name].astype(str)
    return table


class ScalingFit:
    """A fitted scaling law: the ArviZ DataTree plus accessors. Build with ScalingLaw.fit.

    The DataTree holds ``posterior``, ``sample_stats``, ``observed_data``, ``runs`` (the
    validated input table) and, in ``attrs``, the law, priors, sampler settings, seed, package
    version and data hash: it alone is enough to reload the fit (:func:`bayescale.load_fit`).
    """

    def __init__(self, idata: xr.DataTree, *, warn: bool = True) -> None:
        self.idata = idata
        self.law = ScalingLaw.from_dict(json.loads(idata.attrs["law"]))
        self.scales: dict[str, float] = json.loads(idata.attrs["scales"])
        self.run_effect = bool(idata.attrs["run_effect_used"])
        #: "ar1" or "iid"; fits saved before AR(1) residuals existed are iid
        self.residuals: str = str(idata.attrs.get("residuals_used", "iid"))
        self.settings: dict[str, Any] = json.loads(idata.attrs["sampler"])
        self.diagnostics: Diagnostics = diagnose(idata, var_names=self.checked_variables(),
                                                 warn=warn)

    @property
    def form(self) -> Form:
        """The law's functional form."""
        return self.law.law_form

    @property
    def families(self) -> list[str]:
        """Fitted family names, in model order."""
        return [str(f) for f in self.idata["posterior"]["family"].to_numpy()]

    @property
    def runs(self) -> pd.DataFrame:
        """The validated run table the law was fitted to."""
        return dataset_to_runs(self.idata["runs"].to_dataset())

    def checked_variables(self) -> list[str]:
        """Posterior variables whose r_hat and ESS are checked (all sampled quantities)."""
        return [str(v) for v in self.idata["posterior"].data_vars]

    def predict(self, points, **kwargs) -> pd.DataFrame:
        """Predicted loss with intervals; see :func:`bayescale.prediction.predict`."""
        return predict(self, points, **kwargs)

    def build_model(self, runs: pd.DataFrame | None = None) -> pm.Model:
        """The PyMC model this fit sampled (law, priors, pooling, scales, run effect, residuals),
        built on ``runs`` (default: the fitted table); e.g. for ``pm.compute_log_likelihood``."""
        runs = self.runs if runs is None else runs
        return build_model(
            self.form, runs, priors=self.law.full_priors(), likelihood=self.law.likelihood,
            pooling=self.law.pooling, run_effect=self.run_effect, scales=self.scales,
            residuals=self.residuals,
        )

    def summary(self, *, prob: float = _defaults.CI_PROB) -> pd.DataFrame:
        """Posterior summary of the law parameters, population and per family."""
        return parameter_summary(self, prob=prob)

    def save(self, path: str | os.PathLike) -> None:
        """Write the fit to one NetCDF file, atomically; see :func:`bayescale.fits.save_fit`."""
        save_tree(self.idata, path)

    def __repr__(self) -> str:
        d = self.diagnostics
        return (
            f"ScalingFit(law={self.law.form!r}, families={len(self.families)}, "
            f"rows={self.idata['runs'].sizes['obs']}, divergences={d.divergences}, "
            f"max_rhat={d.max_rhat:.3f}, min_ess_bulk={d.min_ess_bulk:.0f}, ok={d.ok})"
        )
