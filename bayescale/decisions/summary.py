"""The decision report: comparison, crossover and compute-optimal allocation in one result."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from bayescale import _defaults
from bayescale.decisions.comparison import (
    Comparison,
    Crossover,
    compare,
    crossover,
    max_observed_flops,
)
from bayescale.decisions.recipes import OPTIMAL


@dataclass(frozen=True)
class DecisionReport:
    """A decision in one object: a table, plain-language text, and the diagnostics verdict.

    Attributes
    ----------
    table : DataFrame
        ``quantity``, ``flops``, ``value``, ``lower``, ``upper``, ``prob``: P(B better) and the
        expected difference L_B - L_A at the target and at the largest observed compute, the
        crossover probabilities and the crossover C.
    text : str
        The same in sentences, ending with the diagnostics verdict.
    diagnostics_ok : bool
        False when the fit's sampling diagnostics failed: then the numbers are not reliable.
    comparison, crossover : Comparison, Crossover
        The results the report was built from.
    """

    table: pd.DataFrame
    text: str
    diagnostics_ok: bool
    comparison: Comparison | None = field(default=None, repr=False)
    crossover: Crossover | None = field(default=None, repr=False)

    def __str__(self) -> str:
        return self.text



def decision_report(
    fit,
    a: str,
    b: str,
    *,
    target_flops: float,
    flops_range: tuple[float, float] | None = None,
    kind: str = "mean",
    allocation: str | float = OPTIMAL,
    prob: float = _defaults.CI_PROB,
    random_seed: int = 0,
) -> DecisionReport:
    """Will B beat A at ``target_flops``, where do they cross, and can the fit be trusted?

    ``flops_range`` (FLOPs) defaults to [smallest observed C of A and B, max(target, largest
    observed C)]. ``kind`` applies to P(B better) and the expected difference; the crossover
    is always between mean curves. The text carries the diagnostics verdict of ``fit``.
    """
    observed = fit.runs[fit.runs["family"].isin([a, b])]["flops"]
    c_max = max_observed_flops(fit, [a, b])
    if flops_range is None:
        flops_range = (float(observed.min()), max(float(target_flops), c_max))
    comparison = compare(fit, a, b, flops=[target_flops, c_max], kind=kind,
                         allocation=allocation, prob=prob, random_seed=random_seed)
    cross = crossover(fit, a, b, flops_range=flops_range, allocation=allocation, prob=prob,
                      random_seed=random_seed)
    rows = []
    for label, (_, r) in zip(("target", "max observed"), comparison.table.iterrows(),
                             strict=True):
        rows.append({"quantity": f"p_b_better at {label}", "flops": r["flops"],
                     "value": r["p_b_better"], "lower": np.nan, "upper": np.nan})
        rows.append({"quantity": f"expected_difference at {label}", "flops": r["flops"],
                     "value": r["expected_difference"], "lower": r["lower"],
                     "upper": r["upper"]})
    rows += [
        {"quantity": "p_cross_in_range", "flops": np.nan, "value": cross.p_cross_in_range,
         "lower": np.nan, "upper": np.nan},
        {"quantity": "p_b_overtakes", "flops": np.nan, "value": cross.p_b_overtakes,
         "lower": np.nan, "upper": np.nan},
        {"quantity": "crossover_flops", "flops": np.nan, "value": cross.median,
         "lower": cross.lower, "upper": cross.upper},
    ]
    table = pd.DataFrame(rows)
    table["prob"] = prob
    text = _report_text(fit, comparison, cross, kind=kind)
    return DecisionReport(table, text, fit.diagnostics.ok, comparison, cross)


def _report_text(fit, comparison: Comparison, cross: Crossover, *, kind: str) -> str:
    a, b, prob = comparison.a, comparison.b, comparison.prob
    target, at_max = comparison.table.iloc[0], comparison.table.iloc[1]
    lo, hi = cross.flops_range
    what = "mean loss" if kind == "mean" else "loss of a new run"
    lines = []
    if cross.p_cross_in_range > 0:
        first, second, p = b, a, cross.p_b_overtakes
        if cross.p_a_overtakes > cross.p_b_overtakes:
            first, second, p = a, b, cross.p_a_overtakes
        lines.append(
            f"{first} overtakes {second} between {lo:.3g} and {hi:.3g} FLOPs with probability "
            f"{p:.2f} (the curves cross there with probability "
            f"{cross.p_cross_in_range:.2f}); given a crossing, it lies between "
            f"{cross.lower:.3g} and {cross.upper:.3g} FLOPs ({prob:.0%}, median "
            f"{cross.median:.3g})."
        )
    else:
        leader = b if cross.p_b_ahead_at_lo > 0.5 else a
        lines.append(f"The curves do not cross between {lo:.3g} and {hi:.3g} FLOPs in any "
                     f"posterior draw; {leader} is ahead throughout.")
    lines.append(
        f"At the target {target['flops']:.3g} FLOPs, P({b} has the lower {what}) = "
        f"{target['p_b_better']:.2f}; expected difference L_{b} - L_{a} = "
        f"{target['expected_difference']:+.4g} [{target['lower']:+.4g}, {target['upper']:+.4g}] "
        f"({prob:.0%})."
    )
    lines.append(
        f"At the largest observed compute, {at_max['flops']:.3g} FLOPs, P({b} better) = "
        f"{at_max['p_b_better']:.2f}."
    )
    if "tokens" in fit.form.inputs:
        alloc = cross.allocation
        lines.append("Each recipe is placed at its own compute-optimal N and D in every draw."
                     if alloc == OPTIMAL else
                     f"Models are trained with {alloc:g} tokens per parameter.")
    d = fit.diagnostics
    if d.ok:
        lines.append(f"Sampling diagnostics: ok ({d.divergences} divergences, max r_hat "
                     f"{d.max_rhat:.3f}, min bulk ESS {d.min_ess_bulk:.0f}).")
    else:
        lines.append("Sampling diagnostics FAILED, so these numbers are not reliable: "
                     + "; ".join(d.messages))
    return "\n".join(lines)
