"""Backtests: hide each family's largest model, fit the rest, predict its final loss.

For every family, the runs of its largest model (most parameters N) are held out; the law is
fitted to all other runs (after an optional checkpoint selection, :mod:`bayescale.checkpoints`)
and the final loss (nats/token) of each held-out run is predicted:

- bayescale: one hierarchical fit of all families together, the posterior median and the
  equal-tailed 90% interval of the loss of a new run (``kind="predictive"``: a held-out run is
  one realisation, with its seed and observation noise);
- the reference estimator (:mod:`bayescale.evaluation.reference`, Hoffmann et al. approach 3) fitted to
  each family alone: the full-data estimate and the row-bootstrap 90% interval.

Each target gets the absolute relative error ``|prediction - observed| / observed`` of both
and whether each interval covers the observed loss; the medians over targets and the coverage
fractions summarise them (:meth:`BacktestResult.to_dict` is the JSON contract of
``bayescale backtest --json``).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from bayescale import _defaults
from bayescale.checkpoints import Selection, select_checkpoints
from bayescale.data import read_runs
from bayescale.evaluation.reference import N_BOOT, fit_reference
from bayescale.exceptions import DataError, DataWarning, SpecError
from bayescale.law import ScalingFit, ScalingLaw
from bayescale.prediction import loss_draws, summarize_draws

LARGEST = "largest"


def holdout_split(runs: pd.DataFrame, holdout: str | float = LARGEST
                  ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split a canonical run table into training rows and the held-out targets.

    Parameters
    ----------
    runs : DataFrame
        A table from :func:`bayescale.read_runs`.
    holdout : "largest" or float
        ``"largest"``: in each family the runs of the largest model (most parameters) are held
        out. A number N: every run with at least N parameters is held out.

    Returns
    -------
    train : DataFrame
        Every row of the runs not held out.
    targets : DataFrame
        One row per held-out run: its final checkpoint (most tokens).

    Raises
    ------
    DataError
        Nothing would be left to fit, or nothing held out. A family with a single model size
        cannot be backtested with ``"largest"``; it is left out with a :class:`DataWarning`.
    """
    if holdout == LARGEST:
        sizes = runs.groupby("family")["params"].nunique()
        single = sorted(sizes[sizes < 2].index)
        if single:
            warnings.warn(
                f"families {', '.join(single)} have a single model size: nothing smaller to fit "
                "for their largest model; left out of the backtest", DataWarning, stacklevel=2)
            runs = runs[~runs["family"].isin(single)]
        largest = runs.groupby("family")["params"].transform("max")
        held = runs["params"] == largest
    else:
        try:
            threshold = float(holdout)
        except (TypeError, ValueError):
            raise SpecError(f"holdout must be 'largest' or a parameter count, got {holdout!r}"
                            ) from None
        if not (np.isfinite(threshold) and threshold > 0):
            raise SpecError(f"holdout parameter count must be finite and > 0, got {holdout!r}")
        held = runs["params"] >= threshold
    train, test = runs[~held], runs[held]
    if train.empty or test.empty:
        raise DataError(f"holdout {holdout!r} leaves {len(train)} rows to fit and "
                        f"{len(test)} to predict; need both")
    no_train = sorted(set(test["family"]) - set(train["family"]))
    if no_train:
        raise DataError(f"holdout {holdout!r} holds out every run of families "
                        f"{', '.join(no_train)}: nothing of theirs is left to fit")
    targets = test.loc[test.groupby("run")["tokens"].idxmax()]
    return train.reset_index(drop=True), targets.sort_values(["family", "params", "run"]
                                                             ).reset_index(drop=True)


@dataclass(frozen=True)
class BacktestResult:
    """The outcome of :func:`backtest`.

    Attributes
    ----------
    table : DataFrame
        One row per target: ``family``, ``run``, ``params`` (N), ``tokens`` (D), ``observed``
        (loss, nats/token); bayescale's ``median``, ``lower``, ``upper``, ``are``, ``covered``;
        the reference estimator's ``baseline_estimate``, ``baseline_lower``,
        ``baseline_upper``, ``baseline_are``, ``baseline_covered`` (NaN without a baseline).
    fit : ScalingFit
        The bayescale fit to the training rows.
    settings : dict
        Law, holdout, selection, interval probability, rows fitted.
    checkpoints : DataFrame or None
        The posterior predictive check on held-out checkpoints (``checkpoints=True``): one row
        per checkpoint of every held-out run (after the same token cuts as the training rows),
        with ``family``, ``run``, ``params``, ``tokens``, ``observed``, ``median``, ``lower``,
        ``upper``, ``covered`` and ``log_score`` (log predictive density of the observed log
        loss, from a Gaussian fitted to the predictive draws).
    """

    table: pd.DataFrame
    fit: ScalingFit = field(repr=False)
    settings: dict[str, Any]
    checkpoints: pd.DataFrame | None = field(default=None, repr=False)

    def checkpoint_summary(self) -> dict | None:
        """Coverage of the held-out checkpoints' intervals and their mean log score (None
        without ``checkpoints=True``)."""
        c = self.checkpoints
        if c is None or c.empty:
            return None
        return {"rows": len(c), "coverage": float(c["covered"].mean()),
                "mean_log_score": float(c["log_score"].mean()),
                "median_are": float(((c["median"] - c["observed"]).abs() / c["observed"])
                                    .median())}

    def to_dict(self) -> dict:
        """The JSON contract: ``families`` (per target: ``family``, ``are``, ``covered``,
        ``baseline_are``, ``baseline_covered``), ``median_are``, ``coverage``,
        ``baseline_median_are``, ``baseline_coverage``."""
        t = self.table
        families = [
            {"family": str(row["family"]), "are": float(row["are"]),
             "covered": bool(row["covered"]), "baseline_are": _float(row["baseline_are"]),
             "baseline_covered": _bool(row["baseline_covered"])}
            for _, row in t.iterrows()
        ]
        has_base = t["baseline_are"].notna().all()
        return {
            "families": families,
            "median_are": float(t["are"].median()),
            "coverage": float(t["covered"].mean()),
            "baseline_median_are": float(t["baseline_are"].median()) if has_base else None,
            "baseline_coverage": (float(t["baseline_covered"].astype(float).mean())
                                  if has_base else None),
        }

    def text(self) -> str:
        """A table for people: one line per target, then the summary."""
        prob = self.settings["prob"]
        lines = [
            (f"backtest of the {self.settings['law']} law, holdout {self.settings['holdout']}, "
            f"checkpoints: {self.settings['selection']}; {self.settings['rows']} rows fitted"),
            (f"{'family':<24} {'N':>8} {'D':>8} {'observed':>8}  bayescale median "
            f"[{prob:.0%}]          ARE     reference [{prob:.0%} bootstrap]        ARE"),
        ]
        for _, r in self.table.iterrows():
            base = (f"{r['baseline_estimate']:.3f} [{r['baseline_lower']:.3f}, "
                    f"{r['baseline_upper']:.3f}] {'in ' if r['baseline_covered'] else 'OUT'} "
                    f"{r['baseline_are']:6.2%}" if pd.notna(r["baseline_are"]) else "-")
            lines.append(
                f"{r['family']:<24} {r['params']:8.3g} {r['tokens']:8.3g} {r['observed']:8.3f}  "
                f"{r['median']:.3f} [{r['lower']:.3f}, {r['upper']:.3f}] "
                f"{'in ' if r['covered'] else 'OUT'} {r['are']:6.2%}   {base}")
        d = self.to_dict()
        lines.append(f"bayescale: median ARE {d['median_are']:.2%}, {prob:.0%} coverage "
                     f"{d['coverage']:.0%} of {len(self.table)}")
        if d["baseline_median_are"] is not None:
            lines.append(f"reference: median ARE {d['baseline_median_are']:.2%}, {prob:.0%} "
                         f"coverage {d['baseline_coverage']:.0%} of {len(self.table)}")
        return "\n".join(lines)


def _float(value) -> float | None:
    return None if pd.isna(value) else float(value)


def _bool(value) -> bool | None:
    return None if pd.isna(value) else bool(value)


def backtest(
    runs: pd.DataFrame | str | os.PathLike,
    *,
    law: str | ScalingLaw = "chinchilla",
    holdout: str | float = LARGEST,
    selection: Selection | Mapping | None = None,
    prob: float = _defaults.CI_PROB,
    baseline: bool = True,
    n_boot: int = N_BOOT,
    columns: Mapping[str, str] | None = None,
    random_seed: int = 0,
    checkpoints: bool = False,
    **fit_kwargs,
) -> BacktestResult:
    """Hold out each family's largest model, fit the rest, predict its final loss.

    Parameters
    ----------
    runs : DataFrame or path
        A run table (see :func:`bayescale.read_runs`).
    law : str or ScalingLaw
        The law (a name, or a full specification such as ``ScalingLaw("chinchilla",
        residuals="iid")``).
    holdout : "largest" or float
        Which runs to hold out (see :func:`holdout_split`).
    selection : Selection or mapping, optional
        Checkpoint selection applied to the training rows only (the targets are always final
        checkpoints); see :func:`bayescale.checkpoints.select_checkpoints`.
    prob : float
        Probability of the intervals (default 0.9).
    baseline : bool
        Also fit the reference estimator to each family (Huber + L-BFGS, row bootstrap).
    n_boot : int
        Bootstrap refits of the reference estimator.
    random_seed : int
        Seed of the NUTS fit, the predictive draws and the bootstrap.
    checkpoints : bool
        Also predict every checkpoint of the held-out runs (the posterior predictive check
        that decides between AR(1) and independent residuals; see
        :attr:`BacktestResult.checkpoints`).
    **fit_kwargs
        Passed to :meth:`ScalingLaw.fit` (``draws``, ``tune``, ``chains``, ``sampler``, ...).

    Returns
    -------
    BacktestResult
    """
    law = law if isinstance(law, ScalingLaw) else ScalingLaw(law)
    selection = selection if isinstance(selection, Selection) else Selection(
        **dict(selection or {}))
    table = read_runs(runs, columns=columns)
    train, targets = holdout_split(table, holdout)
    train = select_checkpoints(train, selection)
    fit = law.fit(train, random_seed=random_seed, **fit_kwargs)
    inputs = ["params", "tokens", "flops"]
    rows = []
    for family, group in targets.groupby("family", sort=False):
        pred = fit.predict(group[inputs], family=family, kind="predictive", prob=prob,
                           random_seed=random_seed)
        out = group[["family", "run", *inputs]].reset_index(drop=True)
        out["observed"] = group["loss"].to_numpy()
        out[["median", "lower", "upper"]] = pred[["median", "lower", "upper"]].to_numpy()
        if baseline:
            ref = fit_reference(train, law=law.form, family=family, n_boot=n_boot,
                                random_seed=random_seed)
            base = ref.predict(group[inputs], prob=prob)
            out["baseline_estimate"] = base["estimate"].to_numpy()
            out["baseline_lower"] = base["lower"].to_numpy()
            out["baseline_upper"] = base["upper"].to_numpy()
        rows.append(out)
    result = pd.concat(rows, ignore_index=True)
    observed = result["observed"]
    result["are"] = (result["median"] - observed).abs() / observed
    result["covered"] = (result["lower"] <= observed) & (observed <= result["upper"])
    if baseline:
        result["baseline_are"] = (result["baseline_estimate"] - observed).abs() / observed
        result["baseline_covered"] = ((result["baseline_lower"] <= observed)
                                      & (observed <= result["baseline_upper"]))
    else:
        for name in ("baseline_estimate", "baseline_lower", "baseline_upper", "baseline_are",
                     "baseline_covered"):
            result[name] = np.nan
    settings = {"law": law.form, "holdout": holdout, "selection": selection.label,
                "selection_settings": selection.to_dict(), "prob": prob, "rows": len(train),
                "residuals": fit.residuals, "run_effect": fit.run_effect}
    held = None
    if checkpoints:
        held = _held_out_checkpoints(fit, table[table["run"].isin(targets["run"])], selection,
                                     prob=prob, random_seed=random_seed)
    return BacktestResult(table=result, fit=fit, settings=settings, checkpoints=held)


def _held_out_checkpoints(fit: ScalingFit, held: pd.DataFrame, selection: Selection, *,
                          prob: float, random_seed: int) -> pd.DataFrame:
    """Predict every checkpoint of the held-out runs (each run as a new run of its family)."""
    cuts = Selection(min_tokens=selection.min_tokens, min_fraction=selection.min_fraction)
    held = select_checkpoints(held, cuts)
    inputs = ["params", "tokens", "flops"]
    parts = []
    for family, group in held.groupby("family", sort=False):
        draws = loss_draws(fit, group[inputs], family=family, kind="predictive",
                           random_seed=random_seed)
        summary = summarize_draws(draws, prob=prob)
        out = group[["family", "run", "params", "tokens"]].reset_index(drop=True)
        out["observed"] = group["loss"].to_numpy()
        out[["median", "lower", "upper"]] = summary[["median", "lower", "upper"]].to_numpy()
        log_draws = np.log(draws)
        mu, sd = log_draws.mean(axis=0), log_draws.std(axis=0)
        z = (np.log(out["observed"].to_numpy()) - mu) / sd
        out["log_score"] = -0.5 * z ** 2 - np.log(sd) - 0.5 * np.log(2 * np.pi)
        parts.append(out)
    out = pd.concat(parts, ignore_index=True)
    out["covered"] = (out["lower"] <= out["observed"]) & (out["observed"] <= out["upper"])
    return out

