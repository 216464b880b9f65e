"""Downstream metrics and emergence: when does an ability appear, and how sure are we.

A downstream metric m (accuracy; or 1 - error) of family f is modelled by a bounded-metric law
(``models/`` modules with ``KIND = "metric"``, see :mod:`bayescale.metric_forms`) whose
parameters are pooled across families exactly like a loss law's (:mod:`bayescale.priors`):

    mu_i = law(x_i; theta[f(i)], chance, ceiling)         expected metric, in (chance, ceiling)

and a likelihood that respects how the metric was measured:

- the number of evaluation items n is known (an ``n_items`` column, a number, or a per-task
  default from :data:`DEFAULT_N_ITEMS` when the table has a ``task`` column): the number
  correct k_i = round(m_i n_i) is **beta-binomial**, k_i ~ BetaBinomial(n_i, mu_i phi,
  (1 - mu_i) phi) (default), or **binomial** (``likelihood="binomial"``: only item sampling
  noise, phi -> infinity). The concentration phi absorbs what item sampling does not: checkpoint
  to checkpoint wobble and misfit of the law (for large n the metric's sd is about
  sqrt(mu (1 - mu) / (1 + phi))).
- n is unknown (e.g. an average over tasks): the metric itself is **beta**,
  m_i ~ Beta(mu_i phi, (1 - mu_i) phi); values of exactly 0 or 1 are moved inside by
  Smithson & Verkuilen's (m (n - 1) + 1/2) / n with n the number of rows (a DataWarning
  says so).

There is no normal likelihood on raw accuracies: near 0 or 1 it puts mass outside [0, 1] and
gets the noise wrong. log phi ~ Normal(log 300, 2) (phi 6 to 16,000, 95%).

The **emergence threshold** of family f at level l is the smallest compute C (FLOPs) at which
the expected metric reaches l, computed per posterior draw on a fine log grid over a range
(interpolated in log C); draws whose curve stays below l over the whole range have no
threshold there (+inf). Its posterior quantiles (inf included, so an upper bound of inf means
more than (1 - prob)/2 of the draws never reach the level in the range), the probability it is
reached by a target compute, and the probability that the ability has not emerged inside the
range, are reported per family and for a new family drawn from the population. ``by="params"``
reports the threshold as a parameter count N trained at D = R N tokens (C = 6 N D, so
N = sqrt(C / (6 R))).

The **two-stage** prediction (:func:`two_stage`) chains a loss-law posterior (loss at a target
N, D) into a loss-to-metric posterior (e.g. Gadre et al.'s error = epsilon - k exp(-gamma L)),
draw by draw, so both uncertainties propagate.
"""

from __future__ import annotations

import json
import os
import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pymc as pm
import pytensor.tensor as pt
import xarray as xr

from bayescale import _defaults
from bayescale._version import __version__
from bayescale.diagnostics import Diagnostics, diagnose
from bayescale.exceptions import DataError, DataWarning, SpecError
from bayescale.forms import get_metric_form
from bayescale.metric_forms import LOG_INPUTS, MetricForm
from bayescale.model import family_parameter
from bayescale.predict import draws_of, family_parameter_draws, summarize_draws
from bayescale.priors import ParamPrior
from bayescale.sampling import check_sampler, sample

#: Test-set sizes of common lm-evaluation-harness tasks, used as the per-task default of
#: n_items when a table has a ``task`` column and no item counts. Checked against the Pythia
#: evaluations' reported stderr, sqrt(p (1 - p) / (n - 1)), which gives these n exactly.
DEFAULT_N_ITEMS = {
    "lambada_openai": 5153,
    "arc_easy": 2376,
    "arc_challenge": 1172,
    "piqa": 1838,
    "sciq": 1000,
    "winogrande": 1267,
    "logiqa": 651,
    "wsc": 104,
}
LIKELIHOODS = ("auto", "beta_binomial", "binomial", "beta")
PHI_PRIOR = (float(np.log(300.0)), 2.0)  # log concentration ~ Normal(mu, sigma)
MU_EPS = 1e-9  # expected metric kept in [MU_EPS, 1 - MU_EPS] inside the likelihood
GRID_POINTS = 1024  # log-spaced compute values on which thresholds are searched
BY = ("flops", "params")
TOKENS_PER_PARAM = 20.0
_NUMERIC = ("params", "tokens", "flops", "loss")
_LABELS = ("family", "run")


# ----------------------------------------------------------------------------- data


def _rows(mask) -> str:
    rows = np.flatnonzero(np.asarray(mask, dtype=bool))
    text = ", ".join(map(str, rows[:5]))
    return f"rows {text}" + (f" and {len(rows) - 5} more" if len(rows) > 5 else "")


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
        path = os.fspath(source)
        if not os.path.exists(path):
            raise DataError(f"cannot read metric table {path!r}: the file does not exist")
        try:
            table = pd.read_csv(path)
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
            raise DataError(f"cannot read metric table {path!r}: {err}") from err
    table = table.reset_index(drop=True)
    if columns:
        for canonical, user in columns.items():
            if canonical not in (*_NUMERIC, *_LABELS):
                raise DataError(f"unknown canonical column {canonical!r} in the column mapping; "
                                f"known: {', '.join((*_LABELS, *_NUMERIC))}")
            if user not in table:
                raise DataError(f"column mapping names column {user!r} (for {canonical!r}) "
                                f"which is not in the table")
        table = table.rename(columns={u: c for c, u in columns.items()})
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


# ----------------------------------------------------------------------------- model


def choose_likelihood(setting: str, n_items: np.ndarray) -> str:
    """Resolve ``"auto"``: beta-binomial when every row's item count is known, else beta.

    Raises SpecError for a count likelihood without counts, DataError for counts on some
    rows only.
    """
    if setting not in LIKELIHOODS:
        raise SpecError(f"unknown likelihood {setting!r}; choose one of {', '.join(LIKELIHOODS)}")
    known = np.isfinite(n_items)
    if known.any() and not known.all():
        raise DataError(f"column 'n_items': item counts missing at {_rows(~known)}; give every "
                        "row a count, or none (beta likelihood)")
    if setting == "auto":
        return "beta_binomial" if known.all() else "beta"
    if setting in ("binomial", "beta_binomial") and not known.all():
        raise SpecError(f"likelihood {setting!r} needs the number of evaluation items (an "
                        "n_items column or a number); without it use 'beta' or 'auto'")
    return setting


def squeeze_unit(values: np.ndarray) -> np.ndarray:
    """Smithson & Verkuilen's (y (n - 1) + 1/2) / n: moves 0 and 1 inside (0, 1)."""
    n = len(values)
    return (values * (n - 1) + 0.5) / n


def build_metric_model(
    form: MetricForm,
    table: pd.DataFrame,
    *,
    priors: Mapping[str, ParamPrior],
    likelihood: str,
    pooling: str,
    scales: Mapping[str, float],
    chance: float,
    ceiling: float,
) -> pm.Model:
    """The PyMC model of a bounded-metric law on a canonical metric table (see module doc)."""
    families = pd.Index(sorted(table["family"].unique()))
    idx = families.get_indexer(table["family"])
    x = metric_inputs(form, table, scales)
    coords = {"family": families.to_numpy(), "obs": np.arange(len(table))}
    with pm.Model(coords=coords) as model:
        theta = {name: family_parameter(name, priors[name], pooling, len(families))
                 for name in form.parameters}
        p = {name: value[idx] for name, value in theta.items()}
        mu = pt.clip(form.mean_metric(x, p, pt, chance=chance, ceiling=ceiling), MU_EPS,
                     1.0 - MU_EPS)
        metric = table["metric"].to_numpy(dtype=float)
        if likelihood == "binomial":
            n = table["n_items"].to_numpy().astype("int64")
            pm.Binomial("correct", n=n, p=mu, observed=np.rint(metric * n).astype("int64"),
                        dims="obs")
            return model
        log_phi = pm.Normal("log_concentration", *PHI_PRIOR)
        phi = pm.Deterministic("concentration", pt.exp(log_phi))
        if likelihood == "beta_binomial":
            n = table["n_items"].to_numpy().astype("int64")
            pm.BetaBinomial("correct", alpha=mu * phi, beta=(1.0 - mu) * phi, n=n,
                            observed=np.rint(metric * n).astype("int64"), dims="obs")
        else:
            pm.Beta("metric", alpha=mu * phi, beta=(1.0 - mu) * phi,
                    observed=squeeze_unit(metric), dims="obs")
    return model


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
    pooling: str = "partial"
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
    ) -> MetricFit:
        """Fit the law with NUTS; diagnostics are checked and warned about (ConvergenceWarning).

        ``data`` is read by :func:`read_metric_runs` (``metric``, ``n_items``, ``columns``).
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
                       progressbar=progressbar)
        seconds = time.perf_counter() - start
        data_set = xr.Dataset(
            {name: ("obs", table[name].to_numpy(dtype=float) if pd.api.types.is_numeric_dtype(
                table[name]) else table[name].astype(str).to_numpy(dtype=str))
             for name in table.columns},
            coords={"obs": np.arange(len(table))})
        idata["data"] = xr.DataTree(data_set)
        idata.attrs.update({
            "bayescale_version": __version__,
            "metric_law": json.dumps({**self.to_dict(), "pooling": pooling}),
            "metric": metric,
            "chance": chance,
            "ceiling": self.ceiling,
            "likelihood_used": likelihood,
            "scales": json.dumps(scales),
            "sampler": json.dumps({"sampler": sampler, "draws": draws, "tune": tune,
                                   "chains": chains, "random_seed": random_seed,
                                   "target_accept": target_accept, "wall_seconds": seconds}),
            "random_seed": random_seed,
        })
        return MetricFit(idata)


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
        ds = self.idata["data"].to_dataset()
        table = pd.DataFrame({name: ds[name].to_numpy() for name in ds.data_vars})
        for name in ("family", "run", "task"):
            if name in table:
                table[name] = table[name].astype(str)
        return table

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
            return self.families[0] if len(self.families) == 1 else _defaults.NEW_FAMILY
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


# ----------------------------------------------------------------------------- emergence


@dataclass(frozen=True)
class Emergence:
    """Emergence thresholds at one level.

    Attributes
    ----------
    table : DataFrame
        One row per fitted family and one for a new family (``"(new family)"``): ``family``,
        ``median``, ``lower``, ``upper`` (the threshold, in FLOPs or parameters, see ``by``;
        inf where more than the tail share of draws never reach the level inside the range),
        ``p_reached_by_target``, ``p_not_emerged`` (share of draws whose expected metric stays
        below the level over the whole range), ``p_reached_at_start`` (already at the level at
        the start of the range: the threshold lies at or below it).
    draws : dict
        Family -> threshold draws (inf: not reached in the range).
    level, prob, by, target, target_flops, flops_range, tokens_per_param, params
        What was asked: the metric level, interval probability, unit (``"flops"`` or
        ``"params"``), the target in that unit and in FLOPs, the searched compute range
        (FLOPs), the tokens per parameter of ``by="params"`` and the model size N followed
        with ``by="flops"`` by a law of size and compute.
    """

    table: pd.DataFrame
    draws: dict[str, np.ndarray] = field(repr=False)
    level: float
    prob: float
    by: str
    target: float
    target_flops: float
    flops_range: tuple[float, float]
    tokens_per_param: float | None
    diagnostics_ok: bool
    params: float | None = None

    def row(self, family: str) -> dict:
        """The table row of one family, as a dict (None for an infinite bound)."""
        row = self.table.set_index("family").loc[family]
        return {"family": family, **{k: _finite(row[k]) for k in (
            "median", "lower", "upper", "p_reached_by_target", "p_not_emerged",
            "p_reached_at_start")}}

    def to_dict(self) -> dict:
        """The JSON contract: ``families``, ``population``, ``level``, ``prob`` (+ context)."""
        families = [f for f in self.table["family"] if f != _defaults.NEW_FAMILY]
        return {
            "families": [self.row(f) for f in families],
            "population": self.row(_defaults.NEW_FAMILY),
            "level": self.level,
            "prob": self.prob,
            "by": self.by,
            "target": self.target,
            "target_flops": self.target_flops,
            "range_flops": list(self.flops_range),
            "tokens_per_param": self.tokens_per_param,
            "params": self.params,
            "diagnostics_ok": self.diagnostics_ok,
        }


def _finite(value) -> float | None:
    value = float(value)
    return value if np.isfinite(value) else None


def _quantiles(values: np.ndarray, qs: Sequence[float]) -> list[float]:
    """Quantiles of draws that may be +inf (an infinite quantile stays inf, no NaN)."""
    finite = np.isfinite(values)
    largest = values[finite].max() if finite.any() else -np.inf
    q = np.quantile(np.where(finite, values, np.finfo(float).max / 4), qs)
    return [float(v) if v <= largest else float("inf") for v in q]


def threshold_draws(curve: np.ndarray, log_grid: np.ndarray, level: float) -> np.ndarray:
    """Per draw (row of ``curve``), the first log-compute at which ``curve`` reaches ``level``.

    Linear interpolation between grid points; ``log_grid[0]`` when the first point already
    reaches it; +inf when no point does.
    """
    above = curve >= level
    first = np.argmax(above, axis=1)
    reached = above.any(axis=1)
    out = np.full(curve.shape[0], np.inf)
    rows = np.flatnonzero(reached & (first > 0))
    i = first[rows]
    y0, y1 = curve[rows, i - 1], curve[rows, i]
    frac = np.clip((level - y0) / np.where(y1 > y0, y1 - y0, 1.0), 0.0, 1.0)
    out[rows] = log_grid[i - 1] + frac * (log_grid[i] - log_grid[i - 1])
    out[reached & (first == 0)] = log_grid[0]
    return out


def emergence(
    fit: MetricFit,
    level: float,
    *,
    by: str = "flops",
    target_flops: float | None = None,
    flops_range: tuple[float, float] | None = None,
    tokens_per_param: float = TOKENS_PER_PARAM,
    params: float | None = None,
    families: Sequence[str] | None = None,
    prob: float = _defaults.CI_PROB,
    random_seed: int = 0,
) -> Emergence:
    """Posterior of the scale at which the expected metric reaches ``level``.

    Parameters
    ----------
    fit : MetricFit
        A fit of a metric law of compute (input ``flops``), or of model size and compute
        (``params`` and ``flops``, e.g. ``gompertz_size``).
    level : float
        The metric level, strictly between the chance level and the ceiling.
    by : {"flops", "params"}
        Report C (FLOPs), or N (parameters) trained at D = ``tokens_per_param`` N tokens
        (C = 6 N D). For a law of size and compute, ``"params"`` moves along
        N = sqrt(C / (6 R)), and ``"flops"`` along the training of one model of ``params``
        parameters.
    target_flops : float, optional
        Target compute C (FLOPs) for ``p_reached_by_target``; default: the largest observed C.
    flops_range : (float, float), optional
        Compute range (FLOPs) searched; default: from the smallest observed C to 100 times
        max(largest observed C, target).
    params : float, optional
        Model size N (parameters) for a law of size and compute with ``by="flops"``.
    families : sequence of str, optional
        Fitted families to report (default all); a new family is always added.
    prob : float
        Interval probability (equal-tailed).
    random_seed : int
        Seed of the new-family draws.
    """
    if fit.form.inputs not in (("flops",), ("params", "flops")):
        raise SpecError(f"metric law {fit.law.form} is not a law in compute (inputs "
                        f"{fit.form.inputs}); emergence thresholds need a law of flops, or of "
                        "params and flops")
    if by not in BY:
        raise SpecError(f"by must be one of {', '.join(BY)}, got {by!r}")
    sized = "params" in fit.form.inputs
    if sized and by == "flops" and not (params is not None and params > 0):
        raise SpecError(f"metric law {fit.law.form} depends on model size: give params= (N, "
                        "the model whose training is followed) or use by='params'")
    if not fit.chance < level < fit.ceiling:
        raise SpecError(f"level must lie strictly between chance ({fit.chance}) and the "
                        f"ceiling ({fit.ceiling}), got {level}")
    if not 0 < prob < 1:
        raise SpecError(f"prob must lie strictly between 0 and 1, got {prob}")
    if not tokens_per_param > 0:
        raise SpecError(f"tokens_per_param must be > 0, got {tokens_per_param}")
    observed = fit.data["flops"].to_numpy(dtype=float)
    target = float(observed.max()) if target_flops is None else float(target_flops)
    if not target > 0:
        raise SpecError(f"target_flops must be > 0, got {target_flops}")
    lo, hi = flops_range or (float(observed.min()), 100.0 * max(observed.max(), target))
    if not 0 < lo < hi:
        raise SpecError(f"flops_range needs 0 < LO < HI, got {lo:g}, {hi:g}")
    log_grid = np.linspace(np.log(lo), np.log(hi), GRID_POINTS)
    names = list(families) if families is not None else fit.families
    rows, all_draws = [], {}
    tail = (1 - prob) / 2
    for family in [*names, _defaults.NEW_FAMILY]:
        p = fit.parameter_draws(fit._family(family), random_seed=random_seed)
        compute = np.exp(log_grid)
        inputs = {"flops": compute}
        if sized:
            inputs["params"] = (np.full_like(compute, params) if by == "flops"
                                else np.sqrt(compute / (6.0 * tokens_per_param)))
        curve = fit.mean_draws(inputs, p)
        log_c = threshold_draws(curve, log_grid, level)
        flops = np.exp(log_c)
        value = flops if by == "flops" else np.sqrt(flops / (6.0 * tokens_per_param))
        all_draws[family] = value
        median, lower, upper = _quantiles(value, (0.5, tail, 1 - tail))
        rows.append({
            "family": family,
            "median": median,
            "lower": lower,
            "upper": upper,
            "p_reached_by_target": float(np.mean(flops <= target)),
            "p_not_emerged": float(np.mean(~np.isfinite(log_c))),
            "p_reached_at_start": float(np.mean(log_c == log_grid[0])),
        })
    target_by = target if by == "flops" else float(np.sqrt(target / (6.0 * tokens_per_param)))
    return Emergence(
        table=pd.DataFrame(rows), draws=all_draws, level=float(level), prob=float(prob), by=by,
        target=target_by, target_flops=target, flops_range=(float(lo), float(hi)),
        tokens_per_param=float(tokens_per_param) if by == "params" else None,
        diagnostics_ok=fit.diagnostics.ok,
        params=float(params) if sized and by == "flops" else None,
    )


# ----------------------------------------------------------------------------- two stages


def two_stage(
    loss_fit,
    metric_fit: MetricFit,
    points: pd.DataFrame | Mapping,
    *,
    loss_family: str | None = None,
    metric_family: str | None = None,
    loss_kind: str = "predictive",
    prob: float = _defaults.CI_PROB,
    random_seed: int = 0,
) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """Downstream metric at new (N, D) by chaining a loss posterior into a metric posterior.

    For posterior sample s: a loss L_s of the target run from ``loss_fit`` (a ScalingFit;
    ``loss_kind="predictive"``: a new run's loss, with seed and observation noise; ``"mean"``:
    the family's law), then the expected metric mu_s = law(L_s; theta_s) of ``metric_fit``
    (a loss-to-metric law), and one new measurement of it (``predictive``). The two fits'
    draws are paired after a seeded shuffle, so both uncertainties propagate.

    Returns
    -------
    (DataFrame, dict)
        Per point: the inputs, ``loss_median``, ``loss_lower``, ``loss_upper`` (nats/token),
        ``mean``, ``median``, ``lower``, ``upper`` of the expected metric and
        ``pred_median``, ``pred_lower``, ``pred_upper`` of a new measurement, and ``prob``;
        and the draws (``"loss"``, ``"mean"``, ``"predictive"``, each samples x points).
    """
    from bayescale.predict import loss_draws

    if metric_fit.form.inputs != ("loss",):
        raise SpecError(f"the second stage needs a loss-to-metric law (input 'loss'); "
                        f"{metric_fit.law.form} reads {metric_fit.form.inputs}")
    points = pd.DataFrame(points).reset_index(drop=True)
    loss_family = loss_family if loss_family is not None else (
        loss_fit.families[0] if len(loss_fit.families) == 1 else _defaults.NEW_FAMILY)
    losses = loss_draws(loss_fit, points, family=loss_family, kind=loss_kind,
                        random_seed=random_seed)
    p = metric_fit.parameter_draws(metric_fit._family(metric_family), random_seed=random_seed)
    n = len(next(iter(p.values())))
    rng = np.random.default_rng([random_seed, 3])
    pick = rng.permutation(np.resize(np.arange(losses.shape[0]), max(n, losses.shape[0])))[:n]
    losses = losses[pick]
    mean = metric_fit.mean_draws({"loss": losses}, p)
    predictive = metric_fit.observation_draws(mean, random_seed=random_seed)
    summary = summarize_draws(mean, prob=prob)
    tail = (1 - prob) / 2
    out = points.copy()
    out["loss_median"] = np.median(losses, axis=0)
    out["loss_lower"] = np.quantile(losses, tail, axis=0)
    out["loss_upper"] = np.quantile(losses, 1 - tail, axis=0)
    out = pd.concat([out, summary], axis=1)
    out["pred_median"] = np.median(predictive, axis=0)
    out["pred_lower"] = np.quantile(predictive, tail, axis=0)
    out["pred_upper"] = np.quantile(predictive, 1 - tail, axis=0)
    out["prob"] = prob
    return out, {"loss": losses, "mean": mean, "predictive": predictive}


# ----------------------------------------------------------------------------- simulation


def logistic(z):
    """1 / (1 + exp(-z)) without overflow."""
    return np.exp(-np.logaddexp(0.0, -z))


def sigmoid_threshold(level: float, *, c50: float, slope: float, top: float,
                      chance: float) -> float:
    """Compute C (FLOPs) at which the sigmoid law reaches ``level`` (inf if top <= level).

    ``c50`` is the compute at half the rise (FLOPs), ``slope`` per e-fold, ``top`` the plateau.
    """
    q = (level - chance) / (top - chance)
    if q >= 1:
        return float("inf")
    return float(c50 * np.exp(np.log(q / (1 - q)) / slope))


def simulate_emergence(
    truth: Mapping[str, Mapping[str, float]],
    flops: Sequence[float] | Mapping[str, Sequence[float]],
    *,
    chance: float = 0.25,
    n_items: int = 500,
    random_seed: int = 0,
) -> pd.DataFrame:
    """Simulated benchmark scores of families with a known sigmoid take-off (seeded).

    ``truth[family]`` has ``c50`` (FLOPs at half the rise), ``slope`` (per e-fold of compute)
    and ``top`` (plateau); ``flops`` is one compute grid (FLOPs) for every family or one per
    family. Each row's number correct is Binomial(n_items, expected metric); returns columns
    ``family``, ``flops``, ``accuracy``, ``n_items``, ``chance``.
    """
    rng = np.random.default_rng(random_seed)
    rows = []
    for family, t in truth.items():
        grid = np.asarray(flops[family] if isinstance(flops, Mapping) else flops, dtype=float)
        mean = chance + (t["top"] - chance) * logistic(t["slope"] * np.log(grid / t["c50"]))
        correct = rng.binomial(n_items, mean)
        rows.append(pd.DataFrame({"family": family, "flops": grid,
                                  "accuracy": correct / n_items, "n_items": n_items,
                                  "chance": chance}))
    return pd.concat(rows, ignore_index=True)
