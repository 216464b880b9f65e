"""Bounded-metric laws: the contract of a ``models/`` module with ``KIND = "metric"``.

A loss law predicts a loss; a *metric* law predicts a downstream metric bounded in [0, 1]
(accuracy, or 1 - error) with a floor at chance and a ceiling at or below 1. A metric law is one
module in ``models/`` that defines

- ``KIND = "metric"`` (loss laws have no ``KIND`` or ``KIND = "loss"``; the loss-law registry
  :func:`bayescale.forms.available_forms` skips metric laws and
  :func:`bayescale.forms.available_metric_forms` lists them);
- ``NAME``, ``REFERENCE``, ``DEFAULT_PRIORS`` (``{parameter: ParamPrior}``, pooled across
  families like the loss laws' parameters);
- ``INPUTS``: a subset of ``("params", "tokens", "flops", "loss")``;
- ``mean_metric(x, p, xp, *, chance, ceiling)``: the expected metric, between ``chance`` and
  ``ceiling``. Inputs are centred at reference scales chosen from the data: for N
  (parameters), D (tokens) and C (FLOPs) ``x[input] = log(input / scale)``; for the loss
  (nats/token) ``x["loss"] = loss - scale`` (a difference in nats, since loss-to-error links
  are exponential in the loss itself). ``xp`` is ``numpy`` or ``pytensor.tensor``.

The parameters ``mean_metric`` reads must equal the keys of ``DEFAULT_PRIORS``, checked when the
registry loads.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import ModuleType

from bayescale.exceptions import SpecError
from bayescale.forms import parameters_read
from bayescale.priors import ParamPrior

METRIC_INPUTS = ("params", "tokens", "flops", "loss")
#: inputs centred on the log scale; the others (loss) are centred linearly
LOG_INPUTS = ("params", "tokens", "flops")


@dataclass(frozen=True)
class MetricForm:
    """A checked bounded-metric law: name, inputs, default priors and its mean function."""

    name: str
    inputs: tuple[str, ...]
    default_priors: Mapping[str, ParamPrior]
    mean_metric: Callable
    reference: str
    doc: str

    @property
    def parameters(self) -> tuple[str, ...]:
        """Names of the per-family law parameters, in prior order."""
        return tuple(self.default_priors)


def metric_form_from_module(module: ModuleType) -> MetricForm:
    """Check a ``models`` module against the metric-law contract; wrap it as a MetricForm."""
    missing = [a for a in ("NAME", "INPUTS", "DEFAULT_PRIORS", "mean_metric", "REFERENCE")
               if not hasattr(module, a)]
    if missing:
        raise SpecError(f"metric law module {module.__name__}: missing {', '.join(missing)}")
    unknown = set(module.INPUTS) - set(METRIC_INPUTS)
    if unknown:
        raise SpecError(f"metric law {module.NAME}: unknown inputs {sorted(unknown)}; use "
                        f"{METRIC_INPUTS}")
    read = parameters_read(module.mean_metric, module.INPUTS, chance=0.25, ceiling=1.0)
    if read != set(module.DEFAULT_PRIORS):
        raise SpecError(
            f"metric law {module.NAME}: mean_metric reads {sorted(read)} but DEFAULT_PRIORS "
            f"has {sorted(module.DEFAULT_PRIORS)}; they must match"
        )
    return MetricForm(
        name=module.NAME,
        inputs=tuple(module.INPUTS),
        default_priors=dict(module.DEFAULT_PRIORS),
        mean_metric=module.mean_metric,
        reference=module.REFERENCE,
        doc=inspect.getdoc(module) or "",
    )
