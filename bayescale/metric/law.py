"""MetricLaw (the spec of a metric fit) and MetricFit (its result)."""

from __future__ import annotations

import json
import os
import time
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from bayescale import _defaults
from bayescale._version import __version__
from bayescale.diagnostics import Diagnostics, diagnose
from bayescale.exceptions import DataWarning, SpecError
from bayescale.forms import LOG_INPUTS, MetricForm, get_metric_form
from bayescale.io import save_tree
from bayescale.metric.data import (
    LIKELIHOODS,
    MU_EPS,
    _rows,
    metric_data_hash,
    metric_scales,
    read_metric_runs,
)
from bayescale.metric.model import build_metric_model, choose_likelihood
from bayescale.metric.thresholds import Emergence, emergence
from bayescale.prediction import (
    default_family,
    draws_of,
    family_parameter_draws,
    summarize_draws,
)
from bayescale.priors import ParamPrior
from bayescale.sampling import check_sampler, sample

# ----------------------------------------------------------------------------- spec and fit


@dataclass(frozen=True)
class MetricLaw:
    """A bounded-metric law specification.

    Parameters
    ----------
    form : str
        A metric law in ``bayescale.models`` (``"sigmoid"``, ``"gadre_error"``).
    likelihood : {"auto", "beta_binomial", "binomial", "beta"}
        "auto": beta-binomial on the number correct when item counts are known, else beta.
    pooling : {"partial", "complete", "none"}
        How law parameters are shared across families (one family: complete).
    priors : mapping, optional
        Overrides of the law's default priors.
    chance : float, optional
        Floor of the metric (random guessing); default from the data (see
        :func:`read_metric_runs`).
    ceiling : float
        Largest attainable metric (default 1).
    """

    form: str = "sigmoid"
    likelihood: str = "auto"
    pooling: str = _defaults.POOLING
    priors: Mapping[str, ParamPrior] = field(default_factory=dict)
    chance: float | None = None
    ceiling: float = 1.0

    def __post_init__(self) -> None:
        form = get_metric_form(self.form)
        problems = []
        if self.likelihood not in LIKELIHOODS:
            problems.append(f"unknown likelihood {self.likelihood!r}; choose {LIKELIHOODS}")
        if self.pooling not in _defaults.POOLINGS:
            problems.append(f"unknown pooling {self.pooling!r}; choose {_defaults.POOLINGS}")
        if not 0 < self.ceiling <= 1:
            problems.append(f"ceiling must lie in (0, 1], got {self.ceiling}")
        priors = {}
        for name, prior in dict(self.priors).items():
            if name not in form.parameters:
                problems.append(f"prior for unknown parameter {name!r}; law {self.form} has "
                                f"{', '.join(form.parameters)}")
            priors[name] = prior if isinstance(prior, ParamPrior) else ParamPrior.from_dict(prior)
        if problems:
            raise SpecError("invalid metric law: " + "; ".join(problems))
        object.__setattr__(self, "priors", priors)

    @property
    def metric_form(self) -> MetricForm:
        """The checked metric law."""
        return get_metric_form(self.form)

    def full_priors(self) -> dict[str, ParamPrior]:
        """Default priors updated with the overrides."""
        return {**self.metric_form.default_priors, **self.priors}

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable description (stored with the fit)."""
        return {"form": self.form, "likelihood": self.likelihood, "pooling": self.pooling,
                "priors": {k: v.to_dict() for k, v in self.full_priors().items()},
                "chance": self.chance, "ceiling": self.ceiling}

    def fit(
        self,
        data: pd.DataFrame | str | os.PathLike,
        *,
        metric: str = "accuracy",
        n_items: str | int | None = None,
        columns: Mapping[str, str] | None = None,
        sampler: str = _defaults.SAMPLER,
        draws: int = _defaults.DRAWS,
        tune: int = _defaults.TUNE,
        chains: int = _defaults.CHAINS,
        random_seed: int = 0,
        target_accept: float = _defaults.TARGET_ACCEPT,
        progressbar: bool | None = None,
        sampler_kwargs: Mapping[str, Any] | None = None,
    ) -> MetricFit:
        """Fit the law with NUTS; diagnostics are checked and warned about (ConvergenceWarning).

        ``data`` is read by :func:`read_metric_runs` (``metric``, ``n_items``, ``columns``);
        ``sampler_kwargs`` go to the backend as in :meth:`bayescale.ScalingLaw.fit`.
        """
        check_sampler(sampler)
        table, chance = read_metric_runs(data, metric=metric, n_items=n_items,
                                         chance=self.chance, columns=columns)
        if not chance < self.ceiling:
            raise SpecError(f"chance ({chance}) must lie below the ceiling ({self.ceiling})")
        form = self.metric_form
        likelihood = choose_likelihood(self.likelihood, table["n_items"].to_numpy())
        if likelihood == "beta" and ((table["metric"] == 0) | (table["metric"] == 1)).any():
            warnings.warn(
                f"column {metric!r}: values of exactly 0 or 1 at "
                f"{_rows((table['metric'] == 0) | (table['metric'] == 1))} are moved inside "
                "(0, 1) for the beta likelihood; give item counts (n_items) to fit the number "
                "correct instead", DataWarning, stacklevel=2)
        n_families = table["family"].nunique()
        pooling = "complete" if self.pooling == "partial" and n_families == 1 else self.pooling
        scales = metric_scales(form, table)
        model = build_metric_model(form, table, priors=self.full_priors(), likelihood=likelihood,
                                   pooling=pooling, scales=scales, chance=chance,
                                   ceiling=self.ceiling)
        start = time.perf_counter()
        idata = sample(model, sampler=sampler, draws=draws, tune=tune, chains=chains,
                       random_seed=random_seed, target_accept=target_accept,
                       progressbar=progressbar, sampler_kwargs=sampler_kwargs)
        seconds = time.perf_counter() - start
        idata["data"] = xr.DataTree(table_to_dataset(table))
        idata.attrs.update(metric_fit_attrs(
            self, table, metric=metric, chance=chance, likelihood=likelihood, pooling=pooling,
            scales=scales,
            sampler={"sampler": sampler, "draws": draws, "tune": tune, "chains": chains,
                     "random_seed": random_seed, "target_accept": target_accept,
                     "wall_seconds": seconds}))
        return MetricFit(idata)


def _row(name: str, family: str, draws: np.ndarray, prob: float) -> dict:
    """One row of :meth:`MetricFit.summary` (columns as the loss fit's parameter table)."""
    tail = (1 - prob) / 2
    lower, median, upper = np.quantile(draws, [tail, 0.5, 1 - tail])
    return {"parameter": name, "family": family, "mean": float(np.mean(draws)),
            "sd": float(np.std(draws, ddof=1)), "median": float(median),
            "lower": float(lower), "upper": float(upper)}


#: ``bayescale_kind`` of a metric fit (loss fits: ``"loss"``, see :func:`bayescale.law.fit_attrs`)
KIND = "metric"


def table_to_dataset(table: pd.DataFrame) -> xr.Dataset:
    """A validated metric table as a Dataset along ``obs`` (numbers as float, labels as str)."""
    return xr.Dataset(
        {name: ("obs", table[name].to_numpy(dtype=float) if pd.api.types.is_numeric_dtype(
            table[name]) else table[name].astype(str).to_numpy(dtype=str))
         for name in table.columns},
        coords={"obs": np.arange(len(table))})


def dataset_to_table(dataset: xr.Dataset) -> pd.DataFrame:
    """Inverse of :func:`table_to_dataset`."""
    table = pd.DataFrame({name: dataset[name].to_numpy() for name in dataset.data_vars})
    for name in ("family", "run", "task"):
        if name in table:
            table[name] = table[name].astype(str)
    return table


def metric_fit_attrs(law: MetricLaw, table: pd.DataFrame, *, metric: str, chance: float,
                     likelihood: str, pooling: str, scales: dict[str, float],
                     sampler: dict[str, Any]) -> dict[str, Any]:
    """The ``attrs`` of a metric fit's DataTree: the fit marker, format and package version,
    kind (``"metric"``), the law as JSON with its name and source SHA-256, metric, chance,
    ceiling, likelihood used, scales, sampler settings, seed and the data's SHA-256."""
    return {
        "bayescale_format": _defaults.FIT_FORMAT,
        "bayescale_format_version": _defaults.FIT_FORMAT_VERSION,
        "bayescale_kind": KIND,
        "bayescale_version": __version__,
        "metric_law": json.dumps({**law.to_dict(), "pooling": pooling}),
        "law_name": law.form,
        "law_sha256": law.metric_form.source_sha256 or "",
        "metric": metric,
        "chance": chance,
        "ceiling": law.ceiling,
        "likelihood_used": likelihood,
        "scales": json.dumps(scales),
        "sampler": json.dumps(sampler),
        "random_seed": sampler["random_seed"],
        "data_sha256": metric_data_hash(table),
    }


class MetricFit:
    """A fitted bounded-metric law: the ArviZ DataTree plus accessors (build with MetricLaw.fit).

    The DataTree holds ``posterior``, ``sample_stats``, ``observed_data``, ``data`` (the
    validated metric table) and, in ``attrs``, the law, chance, ceiling, likelihood, scales
    and sampler settings.
    """

    def __init__(self, idata: xr.DataTree, *, warn: bool = True) -> None:
        self.idata = idata
        spec = json.loads(idata.attrs["metric_law"])
        self.law = MetricLaw(**{k: v for k, v in spec.items() if k != "pooling"},
                             pooling=spec["pooling"])
        self.metric: str = str(idata.attrs["metric"])
        self.chance = float(idata.attrs["chance"])
        self.ceiling = float(idata.attrs["ceiling"])
        self.likelihood: str = str(idata.attrs["likelihood_used"])
        self.scales: dict[str, float] = json.loads(idata.attrs["scales"])
        self.settings: dict[str, Any] = json.loads(idata.attrs["sampler"])
        names = [str(v) for v in idata["posterior"].data_vars]
        self.diagnostics: Diagnostics = diagnose(idata, var_names=names, warn=warn)

    @property
    def form(self) -> MetricForm:
        """The metric law."""
        return self.law.metric_form

    @property
    def families(self) -> list[str]:
        """Fitted family names, in model order."""
        return [str(f) for f in self.idata["posterior"]["family"].to_numpy()]

    @property
    def data(self) -> pd.DataFrame:
        """The validated metric table the law was fitted to."""
        return dataset_to_table(self.idata["data"].to_dataset())

    def summary(self, *, prob: float = _defaults.CI_PROB) -> pd.DataFrame:
        """Posterior of every law parameter (population mean ``_mu`` and sd ``_tau``, per
        family) and of the concentration, with equal-tailed ``prob`` intervals, r_hat and bulk
        ESS; the columns of :meth:`bayescale.ScalingFit.summary`."""
        posterior = self.idata["posterior"].to_dataset()
        rows, keys = [], []
        for name in self.form.parameters:
            for suffix, label in (("_mu", "population mean"), ("_tau", "population sd")):
                if f"{name}{suffix}" in posterior:
                    rows.append(_row(name, label, draws_of(posterior, f"{name}{suffix}"), prob))
                    keys.append(f"{name}{suffix}")
            values = draws_of(posterior, name)
            for i, family in enumerate(self.families):
                rows.append(_row(name, family, values[:, i] if values.ndim > 1 else values,
                                 prob))
                keys.append(f"{name}[{family}]" if values.ndim > 1 else name)
        if "concentration" in posterior:
            rows.append(_row("concentration", "", draws_of(posterior, "concentration"), prob))
            keys.append("concentration")
        table = pd.DataFrame(rows)
        diag = self.diagnostics.table
        table["r_hat"] = [diag["r_hat"].get(k, np.nan) for k in keys]
        table["ess_bulk"] = [diag["ess_bulk"].get(k, np.nan) for k in keys]
        table["prob"] = prob
        return table

    def save(self, path: str | os.PathLike) -> Path:
        """Write the fit to one NetCDF file, atomically (read it back with
        :func:`bayescale.load_fit`)."""
        return save_tree(self.idata, path)

    def parameter_draws(self, family: str, *, random_seed: int = 0) -> dict[str, np.ndarray]:
        """Draws of each law parameter of ``family`` (or ``"(new family)"``), one per sample."""
        return family_parameter_draws(self.idata["posterior"].to_dataset(), self.form,
                                      family=family, random_seed=random_seed)

    def mean_draws(self, inputs: Mapping, p: Mapping[str, np.ndarray]) -> np.ndarray:
        """Expected metric, shape (samples, points), for parameter draws ``p``.

        ``inputs[name]`` is an array of shape (points,) or (samples, points), in the units of
        the data (C in FLOPs, loss in nats/token).
        """
        x = {}
        for name in self.form.inputs:
            values = np.asarray(inputs[name], dtype=float)
            values = values[None, :] if values.ndim == 1 else values
            x[name] = (np.log(values / self.scales[name]) if name in LOG_INPUTS
                       else values - self.scales[name])
        pp = {k: v[:, None] for k, v in p.items()}
        return self.form.mean_metric(x, pp, np, chance=self.chance, ceiling=self.ceiling)

    def observation_draws(self, mean: np.ndarray, *, n_items: int | None = None,
                          random_seed: int = 0) -> np.ndarray:
        """One new measurement of the metric per draw: beta-binomial / binomial / beta noise.

        ``n_items`` is the size of the new evaluation for count likelihoods (default: the
        median count of the data).
        """
        rng = np.random.default_rng([random_seed, 2])
        mu = np.clip(mean, MU_EPS, 1 - MU_EPS)
        if self.likelihood in ("binomial", "beta_binomial"):
            n = int(n_items or np.median(self.data["n_items"]))
            if self.likelihood == "beta_binomial":
                phi = self._phi()[:, None]
                mu = rng.beta(mu * phi, (1 - mu) * phi)
            return rng.binomial(n, mu) / n
        phi = self._phi()[:, None]
        return rng.beta(mu * phi, (1 - mu) * phi)

    def _phi(self) -> np.ndarray:
        return draws_of(self.idata["posterior"].to_dataset(), "concentration")

    def predict(self, points: pd.DataFrame | Mapping, *, family: str | None = None,
                kind: str = "mean", prob: float = _defaults.CI_PROB,
                random_seed: int = 0) -> pd.DataFrame:
        """Expected metric (``kind="mean"``) or one new measurement (``"predictive"``).

        Returns the points plus ``family``, ``mean``, ``median``, ``lower``, ``upper``,
        ``kind``, ``prob``.
        """
        points = pd.DataFrame(points).reset_index(drop=True)
        if "flops" in self.form.inputs and "flops" not in points and {"params", "tokens"} <= set(
                points):
            points["flops"] = 6.0 * points["params"] * points["tokens"]
        family = self._family(family)
        draws = self.mean_draws(points, self.parameter_draws(family, random_seed=random_seed))
        if kind == "predictive":
            draws = self.observation_draws(draws, random_seed=random_seed)
        elif kind != "mean":
            raise SpecError(f"unknown kind {kind!r}; choose mean or predictive")
        out = pd.concat([points, summarize_draws(draws, prob=prob)], axis=1)
        out.insert(0, "family", family)
        out["kind"], out["prob"] = kind, prob
        return out

    def _family(self, family: str | None) -> str:
        if family is None:
            return default_family(self.families)
        if family != _defaults.NEW_FAMILY and family not in self.families:
            raise SpecError(f"unknown family {family!r}; fitted families: "
                            f"{', '.join(self.families)}")
        return family

    def emergence(self, level: float, **kwargs) -> Emergence:
        """Emergence thresholds; see :func:`emergence`."""
        return emergence(self, level, **kwargs)

    def __repr__(self) -> str:
        d = self.diagnostics
        return (f"MetricFit(law={self.law.form!r}, likelihood={self.likelihood!r}, "
                f"families={len(self.families)}, rows={self.idata['data'].sizes['obs']}, "
                f"divergences={d.divergences}, max_rhat={d.max_rhat:.3f}, ok={d.ok})")
