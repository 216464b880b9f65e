"""Sampling diagnostics (divergences, r_hat, bulk and tail ESS, E-BFMI) from ArviZ; warn when
they fail."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import arviz as az
import arviz_stats as azs
import numpy as np
import pandas as pd
import xarray as xr

from bayescale import _defaults
from bayescale.exceptions import ConvergenceWarning


@dataclass(frozen=True)
class Diagnostics:
    """Verdict on one fit.

    Attributes
    ----------
    divergences : int
        Divergent transitions after tuning, all chains.
    max_rhat, min_ess_bulk : float
        Worst rank-normalised r_hat and bulk effective sample size over checked parameters.
    mean_tree_size : float
        Mean leapfrog steps per draw (the cost of the posterior's geometry), NaN if unknown.
    table : DataFrame
        Per parameter element: ``ess_bulk``, ``ess_tail``, ``r_hat`` (ArviZ summary).
    messages : list of str
        One line per failed check; empty when ``ok``.
    min_ess_tail : float
        Worst tail effective sample size (of the 5% and 95% quantiles) over checked
        parameters: how well the ends of the intervals are pinned.
    bfmi : tuple of float
        E-BFMI of each chain (``arviz_stats.bfmi`` on the sampler's ``energy``); low values mean
        the momentum resampling barely moves the energy (heavy tails, funnels). Empty when the
        draws carry no ``energy``.
    """

    divergences: int
    max_rhat: float
    min_ess_bulk: float
    mean_tree_size: float
    table: pd.DataFrame = field(repr=False)
    messages: list[str]
    min_ess_tail: float = float("nan")
    bfmi: tuple[float, ...] = ()

    @property
    def min_bfmi(self) -> float:
        """Lowest E-BFMI over chains, NaN when unknown."""
        return min(self.bfmi) if self.bfmi else float("nan")

    @property
    def ok(self) -> bool:
        """True when no check failed."""
        return not self.messages

    def to_dict(self) -> dict:
        """The JSON contract: ``divergences``, ``max_rhat``, ``min_ess_bulk``, ``ok`` (+ extras)."""
        return {
            "divergences": self.divergences,
            "max_rhat": self.max_rhat,
            "min_ess_bulk": self.min_ess_bulk,
            "ok": self.ok,
            "mean_tree_size": self.mean_tree_size,
            "min_ess_tail": self.min_ess_tail,
            "bfmi": list(self.bfmi),
            "min_bfmi": None if np.isnan(self.min_bfmi) else self.min_bfmi,
            "rhat_max_allowed": _defaults.RHAT_MAX,
            "ess_bulk_min_allowed": _defaults.ESS_BULK_MIN,
            "ess_tail_min_allowed": _defaults.ESS_TAIL_MIN,
            "bfmi_min_allowed": _defaults.BFMI_MIN,
            "messages": list(self.messages),
        }


def _worst(series: pd.Series, bad: pd.Series, limit: int = 5) -> str:
    names = list(series[bad].index[:limit])
    more = int(bad.sum()) - len(names)
    return ", ".join(map(str, names)) + (f" and {more} more" if more > 0 else "")


def diagnose(
    idata: xr.DataTree,
    *,
    var_names: Sequence[str] | None = None,
    warn: bool = True,
) -> Diagnostics:
    """Check a fit's draws; emit a :class:`ConvergenceWarning` naming the parameters at fault.

    Parameters
    ----------
    idata : xr.DataTree
        Fit with ``posterior`` and ``sample_stats`` groups.
    var_names : sequence of str, optional
        Parameters to check (default: every posterior variable).
    warn : bool
        Emit the warning (default True).
    """
    table = az.summary(idata, var_names=list(var_names) if var_names else None,
                       kind="diagnostics")
    table = table[["ess_bulk", "ess_tail", "r_hat"]].astype(float)
    stats = idata["sample_stats"]
    divergences = int(stats["diverging"].sum()) if "diverging" in stats else 0
    tree_size = float("nan")
    for name in ("n_steps", "tree_size"):
        if name in stats:
            tree_size = float(stats[name].mean())
            break
    # A stuck variable has NaN r_hat / ESS: that must fail the checks, not vanish from them.
    max_rhat = float(table["r_hat"].max(skipna=False))
    min_ess = float(table["ess_bulk"].min(skipna=False))
    min_tail = float(table["ess_tail"].min(skipna=False))
    bfmi = ()
    if "energy" in stats:
        bfmi = tuple(float(v) for v in azs.bfmi(idata)["energy"].to_numpy().ravel())
    n_draws = idata["posterior"].sizes["chain"] * idata["posterior"].sizes["draw"]
    messages = []
    if divergences:
        messages.append(
            f"{divergences} divergent transitions in {n_draws} draws: the posterior was not "
            "explored reliably; reparametrise, tighten priors or raise target_accept"
        )
    high = ~(table["r_hat"] <= _defaults.RHAT_MAX)
    if high.any():
        messages.append(
            f"r_hat > {_defaults.RHAT_MAX} for {_worst(table['r_hat'], high)} "
            f"(max {max_rhat:.3f}): chains disagree; run longer or check for multiple modes"
        )
    low = ~(table["ess_bulk"] >= _defaults.ESS_BULK_MIN)
    if low.any():
        messages.append(
            f"bulk ESS < {_defaults.ESS_BULK_MIN} for {_worst(table['ess_bulk'], low)} "
            f"(min {min_ess:.0f}): intervals are imprecise; draw more samples"
        )
    low = ~(table["ess_tail"] >= _defaults.ESS_TAIL_MIN)
    if low.any():
        messages.append(
            f"tail ESS < {_defaults.ESS_TAIL_MIN} for {_worst(table['ess_tail'], low)} "
            f"(min {min_tail:.0f}): the ends of the intervals are imprecise; draw more samples"
        )
    bad = [i for i, v in enumerate(bfmi) if not v >= _defaults.BFMI_MIN]
    if bad:
        messages.append(
            f"E-BFMI < {_defaults.BFMI_MIN} in chain(s) {', '.join(map(str, bad))} "
            f"(min {min(bfmi):.2f}): the sampler explored the energy poorly (heavy tails or a "
            "funnel); reparametrise or tighten priors"
        )
    result = Diagnostics(divergences, max_rhat, min_ess, tree_size, table, messages,
                         min_ess_tail=min_tail, bfmi=bfmi)
    if warn and messages:
        warnings.warn("sampling problems: " + "; ".join(messages), ConvergenceWarning,
                      stacklevel=2)
    return result
