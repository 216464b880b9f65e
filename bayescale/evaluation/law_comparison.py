"""Which law does the data support? PSIS-LOO and leave-future-out across laws.

Every law is fitted to the same run table with the same likelihood, pooling and residual model,
and scored two ways:

- **PSIS-LOO** (ArviZ ``loo`` / ``compare``): the expected log predictive density of left-out
  data, estimated from one fit per law by Pareto-smoothed importance sampling, from PyMC's own
  pointwise log-likelihood of the sampled model (``pm.compute_log_likelihood``). The unit left out
  is a **training run** by default (``unit="run"``): its log-likelihood is the joint density of
  all its checkpoints, so the estimate is leave-one-run-out. With AR(1) residuals along a run
  (the default for checkpoint data) the checkpoints of a run are not exchangeable: a row's term
  is its density *given the previous checkpoint*, and leaving out one such term is not leaving
  out a point. The run's joint density is exact under the model and runs are conditionally
  independent given the law, so runs are the unit that PSIS-LOO can leave out.
  ``unit="row"`` (leave-one-checkpoint-out) is allowed only with iid residuals. A run with many
  checkpoints is very influential, so Pareto k above ArviZ's threshold (0.7 at most, lower with
  few draws) is common with few runs; such laws are flagged and a :class:`ComparisonWarning`
  names them: their elpd is then not trustworthy, trust the leave-future-out score instead.
- **Leave-future-out** (LFO): what users care about is extrapolation. In each family the runs of
  the largest model (or every run with at least N parameters) are held out, every law is
  fitted to the rest, and each held-out run is scored by its log predictive density: the joint
  density of all its checkpoints under the posterior, as a *new* run of its family (a new seed
  offset when the fit has run offsets, the AR(1) or iid residuals of the fit), averaged over
  posterior draws (``log mean_s p(run | theta_s)``). ``elpd`` is the sum over held-out runs,
  ``se`` its standard error (sqrt(R) times the sd over the R runs), ``elpd_diff`` and ``dse``
  the difference to the best law and its standard error over the same runs. The final loss of
  each held-out run is also predicted (posterior median and equal-tailed interval of a new
  run's loss): ``median_are`` is the median absolute relative error, ``coverage`` the share of
  intervals that contain the observed loss.

Densities are of log-loss (the scale the model is fitted on); every law is scored on the same
scale, so differences do not depend on it (the Jacobian of log is common to all laws).
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pymc as pm
import xarray as xr
from scipy import stats
from scipy.special import logsumexp

from bayescale import _defaults
from bayescale.exceptions import ComparisonWarning, DataError, SpecError
from bayescale.forms import available_forms
from bayescale.law import ScalingFit, ScalingLaw
from bayescale.model import centred_inputs, checkpoint_order, use_ar1
from bayescale.prediction import draws_of, family_parameter_draws, thinned_posterior

UNITS = ("run", "row")


def pointwise_log_likelihood(fit: ScalingFit, *, max_draws: int | None = None) -> xr.DataArray:
    """PyMC's pointwise log-likelihood of the fit's own rows, dims (chain, draw, obs).

    Computed by ``pm.compute_log_likelihood`` on the model the fit sampled
    (:meth:`ScalingFit.build_model`), so it is the sampled model's density by construction.
    With iid residuals each row's density; with AR(1) residuals each row's density given the
    previous checkpoint of its run (a run's first row: its marginal density), so the sum over
    a run's rows is the run's joint log density.
    """
    posterior = thinned_posterior(fit, max_draws)
    log_lik = pm.compute_log_likelihood(
        xr.DataTree.from_dict({"posterior": posterior}), model=fit.build_model(),
        var_names=["log_loss"], extend_inferencedata=False, progressbar=False,
    )
    return log_lik["log_loss"]


def run_log_likelihood(fit: ScalingFit, *, max_draws: int | None = None) -> xr.DataArray:
    """Joint log density of each run's rows under each draw, dims (chain, draw, run).

    The sum over a run's rows (xarray ``groupby``) of :func:`pointwise_log_likelihood`: with
    AR(1) residuals those are conditional densities, and their sum is the run's joint density.
    """
    log_lik = pointwise_log_likelihood(fit, max_draws=max_draws)
    run = xr.DataArray(fit.runs["run"].to_numpy(dtype=str), dims="obs", name="run")
    return log_lik.groupby(run).sum()


def new_run_offsets(posterior: xr.Dataset, n_runs: int, *, random_seed: int = 0) -> np.ndarray:
    """Offsets of ``n_runs`` runs the fit has not seen, shape (draws, runs): one
    ``Normal(0, sigma_run)`` draw per posterior draw and run (seeded)."""
    rng = np.random.default_rng([random_seed, 2])
    sigma_run = draws_of(posterior, "sigma_run")
    return sigma_run[:, None] * rng.standard_normal((sigma_run.size, n_runs))


def new_run_log_likelihood(
    fit: ScalingFit,
    runs: pd.DataFrame,
    *,
    max_draws: int | None = None,
    random_seed: int = 0,
) -> np.ndarray:
    """Log density of each row's log-loss when ``runs`` are new runs, shape (draws, rows).

    The leave-future-out density: rows the fit has not seen, of families it has (or of a new
    family, drawn from the population), each run with a new seed offset
    (:func:`new_run_offsets`, runs in sorted order) when the fit has run offsets. Numpy, because
    the model's graph holds the fitted rows only; ``tests/test_compare_laws.py`` pins it to the
    graph (``pm.compute_log_likelihood`` of :meth:`ScalingFit.build_model` on ``runs`` with the
    same parameter values and offsets) for both likelihoods, iid and AR(1) residuals, with and
    without run offsets. Rows are conditional on the previous checkpoint of their run under
    AR(1) residuals, as in :func:`pointwise_log_likelihood`.
    """
    posterior = thinned_posterior(fit, max_draws)
    form = fit.form
    families = fit.families
    n_draws = posterior.sizes["chain"] * posterior.sizes["draw"]
    mu = np.empty((n_draws, len(runs)))
    x = centred_inputs(form, runs, fit.scales)
    family_of = runs["family"].to_numpy(dtype=str)
    for family in np.unique(family_of):
        at = np.flatnonzero(family_of == family)
        name = family if family in families else _defaults.NEW_FAMILY
        p = family_parameter_draws(posterior, form, family=name, random_seed=random_seed)
        mu[:, at] = form.log_loss({k: v[None, at] for k, v in x.items()},
                                  {k: v[:, None] for k, v in p.items()}, np)
    if fit.run_effect:
        names, index = np.unique(runs["run"].to_numpy(dtype=str), return_inverse=True)
        mu = mu + new_run_offsets(posterior, len(names), random_seed=random_seed)[:, index]
    observed = np.log(runs["loss"].to_numpy(dtype=float))
    sigma = np.broadcast_to(draws_of(posterior, "sigma")[:, None], mu.shape)
    if fit.residuals == "ar1":
        previous, step = checkpoint_order(runs)
        first = previous == np.arange(len(runs))
        length = np.exp(draws_of(posterior, "log_corr_length"))[:, None]
        scaled = np.where(first, 1.0, step)[None, :] / length
        rho = np.where(first, 0.0, np.exp(-scaled))
        innovation = np.where(first, 1.0, np.sqrt(-np.expm1(-2.0 * scaled)))
        mu = mu + rho * (observed[previous] - mu[:, previous])
        sigma = sigma * innovation
    if fit.law.likelihood == "student_t":
        nu = draws_of(posterior, "nu")[:, None]
        return stats.t.logpdf(observed[None, :], nu, loc=mu, scale=sigma)
    return stats.norm.logpdf(observed[None, :], loc=mu, scale=sigma)


def _by_run(log_lik: np.ndarray, runs: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Sum a (draws, rows) array over the rows of each run: (run names, (draws, runs))."""
    names, index = np.unique(runs["run"].to_numpy(dtype=str), return_inverse=True)
    out = np.zeros((log_lik.shape[0], len(names)))
    np.add.at(out.T, index, log_lik.T)
    return names, out


def loo_elpd(fit: ScalingFit, *, unit: str = "run", max_draws: int | None = None):
    """PSIS-LOO of one fit (ArviZ ``loo``), leaving out a run (default) or a row.

    Returns the ArviZ ``ELPDData`` (``elpd``, ``se``, ``p``, ``pareto_k`` per unit, ``good_k``).

    Raises
    ------
    SpecError
        ``unit="row"`` with AR(1) residuals (rows of a run are not exchangeable), or an unknown
        unit.
    """
    import arviz_stats

    if unit not in UNITS:
        raise SpecError(f"unknown LOO unit {unit!r}; choose one of {', '.join(UNITS)}")
    if unit == "row" and fit.residuals == "ar1":
        raise SpecError("unit='row' needs iid residuals: with AR(1) residuals a checkpoint's "
                        "term is conditional on the previous one; use unit='run' or "
                        "residuals='iid'")
    posterior = thinned_posterior(fit, max_draws)
    if unit == "run":
        log_lik = run_log_likelihood(fit, max_draws=max_draws)
    else:
        log_lik = pointwise_log_likelihood(fit, max_draws=max_draws).rename(obs="row")
    tree = xr.DataTree.from_dict({
        "posterior": posterior,
        "log_likelihood": xr.Dataset({"log_loss": log_lik.transpose("chain", "draw", unit)}),
    })
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # Pareto k is reported in our table
        return arviz_stats.loo(tree, pointwise=True, var_name="log_loss")


def loo_table(fits: Mapping[str, ScalingFit], *, unit: str = "run",
              max_draws: int | None = None) -> pd.DataFrame:
    """Ranked PSIS-LOO comparison of laws fitted to the same data.

    Returns one row per law, best first: ``law``, ``rank`` (0 best), ``elpd``, ``se``, ``p``
    (effective number of parameters), ``elpd_diff`` (to the best law, <= 0), ``dse`` (its
    standard error), ``weight`` (stacking weight), ``max_pareto_k``, ``n_high_pareto_k`` (units
    with k above ``pareto_k_threshold``), ``n_units``, ``unit``. Warns
    (:class:`ComparisonWarning`) naming the laws with high Pareto k.
    """
    import arviz_stats

    hashes = {name: fit.idata.attrs["data_sha256"] for name, fit in fits.items()}
    if len(set(hashes.values())) > 1:
        raise SpecError("PSIS-LOO compares laws fitted to the same data; these fits were "
                        f"fitted to different run tables: {hashes}")
    elpds = {name: loo_elpd(fit, unit=unit, max_draws=max_draws) for name, fit in fits.items()}
    if len(elpds) > 1:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            ranked = arviz_stats.compare(elpds, round_to="none")
    else:
        (name, e), = elpds.items()
        ranked = pd.DataFrame({"rank": [0], "elpd_diff": [0.0], "dse": [0.0], "weight": [1.0],
                               "elpd": [e.elpd], "se": [e.se], "p": [e.p]}, index=[name])
    rows = []
    for name, r in ranked.iterrows():
        k = np.asarray(elpds[name].pareto_k).ravel()
        threshold = float(elpds[name].good_k)
        rows.append({
            "law": str(name), "rank": int(r["rank"]), "elpd": float(r["elpd"]),
            "se": float(r["se"]), "p": float(r["p"]), "elpd_diff": float(r["elpd_diff"]),
            "dse": float(r["dse"]), "weight": float(r["weight"]),
            "max_pareto_k": float(np.max(k)), "n_high_pareto_k": int(np.sum(k > threshold)),
            "pareto_k_threshold": threshold, "n_units": int(k.size), "unit": unit,
        })
    table = pd.DataFrame(rows)
    high = table[table["n_high_pareto_k"] > 0]
    if len(high):
        listed = ", ".join(f"{r.law} ({r.n_high_pareto_k} of {r.n_units} {unit}s, max k "
                           f"{r.max_pareto_k:.2f})" for r in high.itertuples())
        warnings.warn(f"PSIS-LOO is unreliable for {listed}: Pareto k above "
                      f"{high['pareto_k_threshold'].iloc[0]:.2f}; trust the leave-future-out "
                      "score, or compare with more runs", ComparisonWarning, stacklevel=2)
    return table


def future_split(runs: pd.DataFrame, holdout: str | float = "largest"
                 ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Training rows and every row of the held-out runs (see :func:`backtest.holdout_split`)."""
    from bayescale.evaluation.holdout import holdout_split

    train, targets = holdout_split(runs, holdout)
    held = runs[runs["run"].isin(set(targets["run"]))]
    return train, held.reset_index(drop=True)


def lfo_scores(
    fits: Mapping[str, ScalingFit],
    held: pd.DataFrame,
    *,
    prob: float = _defaults.CI_PROB,
    max_draws: int | None = None,
    random_seed: int = 0,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Leave-future-out scores of laws fitted to the same smaller runs.

    Parameters
    ----------
    fits : mapping
        Law name -> fit to the training rows.
    held : DataFrame
        Every row (checkpoint) of the held-out runs, canonical columns.
    prob : float
        Interval probability of the final-loss prediction.

    Returns
    -------
    table : DataFrame
        One row per law, best first: ``law``, ``rank``, ``elpd`` (sum over held-out runs of
        the log predictive density of the run), ``se``, ``elpd_diff`` (to the best, <= 0),
        ``dse``, ``median_are``, ``coverage``, ``n_runs``, ``n_rows``.
    per_target : DataFrame
        One row per (law, held-out run): ``law``, ``family``, ``run``, ``params``, ``tokens``
        (final checkpoint), ``observed``, ``median``, ``lower``, ``upper``, ``are``,
        ``covered``, ``lpd``.
    """
    finals = held.loc[held.groupby("run")["tokens"].idxmax()].sort_values("run")
    lpd, parts = {}, []
    for name, fit in fits.items():
        log_lik = new_run_log_likelihood(fit, held, max_draws=max_draws,
                                         random_seed=random_seed)
        names, per_run = _by_run(log_lik, held)
        lpd[name] = logsumexp(per_run, axis=0) - np.log(per_run.shape[0])
        for family, rows in finals.groupby("family"):
            fam = family if family in fit.families else _defaults.NEW_FAMILY
            pred = fit.predict(rows[list(fit.form.inputs)], family=fam, kind="predictive",
                               prob=prob, random_seed=random_seed)
            observed = rows["loss"].to_numpy()
            parts.append(pd.DataFrame({
                "law": name, "family": family, "run": rows["run"].to_numpy(),
                "params": rows["params"].to_numpy(), "tokens": rows["tokens"].to_numpy(),
                "observed": observed, "median": pred["median"].to_numpy(),
                "lower": pred["lower"].to_numpy(), "upper": pred["upper"].to_numpy(),
            }))
        lpd[name] = pd.Series(lpd[name], index=names)
    per_target = pd.concat(parts, ignore_index=True)
    per_target["are"] = (per_target["median"] - per_target["observed"]).abs() / per_target[
        "observed"]
    per_target["covered"] = ((per_target["lower"] <= per_target["observed"])
                             & (per_target["observed"] <= per_target["upper"]))
    per_target["lpd"] = [float(lpd[r.law][r.run]) for r in per_target.itertuples()]
    total = {name: float(v.sum()) for name, v in lpd.items()}
    best = max(total, key=total.get)
    n = len(lpd[best])
    rows = []
    for name in sorted(total, key=total.get, reverse=True):
        diff = (lpd[name] - lpd[best]).to_numpy()
        mine = per_target[per_target["law"] == name]
        rows.append({
            "law": name, "elpd": total[name],
            "se": float(np.sqrt(n) * np.std(lpd[name].to_numpy(), ddof=1)) if n > 1 else np.nan,
            "elpd_diff": float(diff.sum()),
            "dse": float(np.sqrt(n) * np.std(diff, ddof=1)) if n > 1 else np.nan,
            "median_are": float(mine["are"].median()), "coverage": float(mine["covered"].mean()),
            "n_runs": n, "n_rows": len(held),
        })
    table = pd.DataFrame(rows)
    table.insert(1, "rank", np.arange(len(table)))
    return table, per_target


@dataclass(frozen=True)
class LawComparison:
    """The outcome of :func:`compare_laws`.

    Attributes
    ----------
    loo : DataFrame or None
        :func:`loo_table` of the fits to all rows.
    lfo : DataFrame or None
        The leave-future-out table of :func:`lfo_scores`.
    lfo_targets : DataFrame or None
        Its per-target rows.
    fits, lfo_fits : dict
        Law name -> fit to all rows / to the rows not held out.
    settings : dict
        Laws, holdout, unit, residuals, interval probability, rows.
    """

    loo: pd.DataFrame | None
    lfo: pd.DataFrame | None
    lfo_targets: pd.DataFrame | None
    fits: dict[str, ScalingFit] = field(repr=False)
    lfo_fits: dict[str, ScalingFit] = field(repr=False)
    settings: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict:
        """The JSON contract of ``bayescale compare-laws --json`` (see the README)."""
        def records(table):
            return None if table is None else json.loads(table.to_json(orient="records"))

        diagnostics = {}
        for name in self.settings["laws"]:
            diagnostics[name] = {
                kind: fits[name].diagnostics.to_dict() | {"residuals": fits[name].residuals}
                for kind, fits in (("loo_fit", self.fits), ("lfo_fit", self.lfo_fits))
                if name in fits
            }
            for d in diagnostics[name].values():
                d.pop("messages", None)
        return {
            **{k: self.settings[k] for k in ("laws", "rows", "families", "prob")},
            "loo": None if self.loo is None else {"unit": self.settings["unit"],
                                                  "table": records(self.loo)},
            "lfo": None if self.lfo is None else {
                "holdout": self.settings["holdout"],
                "targets": int(self.lfo["n_runs"].iloc[0]),
                "table": records(self.lfo),
                "per_target": records(self.lfo_targets),
            },
            "diagnostics": diagnostics,
        }

    def text(self) -> str:
        """Both tables in plain text."""
        lines = [(f"laws compared on {self.settings['rows']} rows "
                 f"({len(self.settings['families'])} families)")]
        if self.loo is not None:
            lines += ["", (f"PSIS-LOO, leaving out one {self.settings['unit']} at a time "
                      "(elpd of log-loss; higher is better):"),
                      (f"  {'law':<20} {'elpd':>10} {'se':>8} {'elpd_diff':>10} {'dse':>8} "
                      f"{'p':>6}  Pareto k")]
            for r in self.loo.itertuples():
                k = (f"{r.n_high_pareto_k}/{r.n_units} above {r.pareto_k_threshold:.2f} "
                     f"(max {r.max_pareto_k:.2f})" if r.n_high_pareto_k else
                     f"ok (max {r.max_pareto_k:.2f})")
                lines.append(f"  {r.law:<20} {r.elpd:>10.1f} {r.se:>8.1f} {r.elpd_diff:>10.1f} "
                             f"{r.dse:>8.1f} {r.p:>6.1f}  {k}")
        if self.lfo is not None:
            prob = self.settings["prob"]
            lines += ["", (f"leave-future-out (holdout {self.settings['holdout']}: "
                      f"{int(self.lfo['n_runs'].iloc[0])} runs, "
                      f"{int(self.lfo['n_rows'].iloc[0])} rows; log predictive density of "
                      "each held-out run):"),
                      (f"  {'law':<20} {'elpd':>10} {'se':>8} {'elpd_diff':>10} {'dse':>8} "
                      f"{'median ARE':>10} {f'{prob:.0%} coverage':>13}")]
            for r in self.lfo.itertuples():
                lines.append(f"  {r.law:<20} {r.elpd:>10.1f} {r.se:>8.1f} {r.elpd_diff:>10.1f} "
                             f"{r.dse:>8.1f} {r.median_are:>10.2%} {r.coverage:>13.0%}")
        return "\n".join(lines)

    def save(self, out: str | os.PathLike) -> dict[str, str]:
        """Write ``comparison.json``, ``loo.csv``, ``lfo.csv``, ``lfo_targets.csv`` atomically."""
        from bayescale.io import atomic_write_text

        out = os.fspath(out)
        os.makedirs(out, exist_ok=True)
        paths = {"json": os.path.join(out, "comparison.json")}
        atomic_write_text(paths["json"], json.dumps(self.to_dict(), indent=2, default=str))
        for key, table in (("loo", self.loo), ("lfo", self.lfo),
                           ("lfo_targets", self.lfo_targets)):
            if table is not None:
                paths[key] = os.path.join(out, f"{key}.csv")
                atomic_write_text(paths[key], table.to_csv(index=False))
        return paths


def check_laws(laws: Sequence[str], runs: pd.DataFrame) -> list[str]:
    """Validate law names against ``bayescale.models`` and their inputs against the table."""
    laws = [str(law).strip() for law in laws if str(law).strip()]
    if not laws:
        raise SpecError("name at least one law to compare")
    repeated = sorted({law for law in laws if laws.count(law) > 1})
    if repeated:
        raise SpecError(f"laws named twice: {', '.join(repeated)}")
    forms = available_forms()
    unknown = [law for law in laws if law not in forms]
    if unknown:
        raise SpecError(f"unknown laws {', '.join(map(repr, unknown))}; available laws: "
                        f"{', '.join(sorted(forms))}")
    problems = [f"law {law} reads {', '.join(map(repr, missing))}"
                for law in laws
                if (missing := [c for c in forms[law].inputs if c not in runs])]
    if problems:
        raise DataError("the run table lacks columns: " + "; ".join(problems))
    return laws


def compare_laws(
    runs: pd.DataFrame | str | os.PathLike,
    laws: Sequence[str],
    *,
    columns: Mapping[str, str] | None = None,
    loo: bool = True,
    lfo: bool = True,
    holdout: str | float = "largest",
    unit: str = "run",
    selection: Any = None,
    likelihood: str = _defaults.LIKELIHOOD,
    pooling: str = _defaults.POOLING,
    residuals: str = "auto",
    prob: float = _defaults.CI_PROB,
    max_draws: int | None = None,
    random_seed: int = 0,
    **fit_kwargs: Any,
) -> LawComparison:
    """Fit every law to the same runs and rank them by PSIS-LOO and leave-future-out.

    Parameters
    ----------
    runs : DataFrame or path
        The run table (validated by :func:`bayescale.read_runs`).
    laws : sequence of str
        Law names in ``bayescale.models`` (a law added as a file there is available).
    loo, lfo : bool
        Which comparisons to run (LOO fits all rows, LFO the rows not held out).
    holdout : "largest" or float
        Held-out runs of the leave-future-out score: each family's largest model, or every run
        with at least this many parameters.
    unit : {"run", "row"}
        What PSIS-LOO leaves out (see the module docstring).
    selection : Selection or mapping, optional
        Checkpoint selection (:func:`bayescale.checkpoints.select_checkpoints`), applied to the
        whole table before anything else (so held-out runs are scored on the same rows).
    likelihood, pooling, residuals :
        Passed to every :class:`ScalingLaw`; ``residuals="auto"`` resolves the same for every
        law (it depends on the data only).
    prob : float
        Interval probability of the final-loss predictions.
    max_draws : int, optional
        Thin posteriors to at most this many draws when scoring.
    random_seed : int
        Seed of every fit and of the new-run offsets.
    **fit_kwargs
        ``draws``, ``tune``, ``chains``, ``sampler``, ``target_accept``, ``progressbar``.

    Raises
    ------
    SpecError
        Unknown law, repeated law, unknown unit, neither comparison requested.
    DataError
        The table lacks a column a law reads, or the holdout leaves nothing to fit or score.
    """
    from bayescale.checkpoints import select_checkpoints
    from bayescale.data import read_runs

    if not (loo or lfo):
        raise SpecError("nothing to do: both loo and lfo are off")
    if unit not in UNITS:
        raise SpecError(f"unknown LOO unit {unit!r}; choose one of {', '.join(UNITS)}")
    runs = read_runs(runs, columns=columns)
    laws = check_laws(laws, runs)
    specs = {law: ScalingLaw(law, likelihood=likelihood, pooling=pooling, residuals=residuals)
             for law in laws}
    if selection is not None:
        runs = select_checkpoints(runs, selection)
    if unit == "row" and use_ar1(runs, residuals):
        raise SpecError("unit='row' needs iid residuals (this data has checkpoint curves: "
                        "AR(1)); use unit='run' or residuals='iid'")
    if lfo:
        train, held = future_split(runs, holdout)
    fits, lfo_fits = {}, {}
    if loo:
        fits = {law: spec.fit(runs, random_seed=random_seed, **fit_kwargs)
                for law, spec in specs.items()}
    loo_result = loo_table(fits, unit=unit, max_draws=max_draws) if loo else None
    lfo_result = targets = None
    if lfo:
        lfo_fits = {law: spec.fit(train, random_seed=random_seed, **fit_kwargs)
                    for law, spec in specs.items()}
        lfo_result, targets = lfo_scores(lfo_fits, held, prob=prob, max_draws=max_draws,
                                         random_seed=random_seed)
    settings = {"laws": laws, "rows": len(runs), "families": sorted(runs["family"].unique()),
                "prob": prob, "unit": unit, "holdout": holdout}
    return LawComparison(loo=loo_result, lfo=lfo_result, lfo_targets=targets, fits=fits,
                         lfo_fits=lfo_fits, settings=settings)
