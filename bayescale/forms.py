"""Functional forms (laws): the registry built from the ``bayescale.models`` package.

A law is one module in ``models/`` (installed as ``bayescale.models``) that defines

- ``NAME``: the name users type (``--law NAME``);
- ``INPUTS``: the run-table columns the law reads, e.g. ``("params", "tokens")``;
- ``DEFAULT_PRIORS``: ``{parameter name: ParamPrior}``;
- ``log_loss(x, p, xp)``: log of the predicted loss, where ``x[input]`` is
  ``log(input / reference scale)``, ``p[name]`` the parameter values and ``xp`` an array
  namespace (``numpy`` for predictions, ``pytensor.tensor`` inside the PyMC model);
- ``REFERENCE``: the citation;
- optionally ``derived(p, scales, xp)``: the paper's constants (e.g. E, A, alpha) from the
  sampled parameters, reported in summaries.

The keyword parameters that ``log_loss`` reads must equal the keys of ``DEFAULT_PRIORS``: this is
checked when the registry loads. Dropping a new file in ``models/`` is all it takes to add a law.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import ModuleType

import numpy as np

from bayescale.exceptions import SpecError
from bayescale.priors import ParamPrior

#: Run-table columns a law may read: N (parameters), D (tokens), C (FLOPs), U (unique tokens),
#: S1 (learning-rate area, sum of the learning rate over steps) and S2 (annealing area, >= 0).
KNOWN_INPUTS = ("params", "tokens", "flops", "unique_tokens", "lr_area", "lr_anneal_area")


@dataclass(frozen=True)
class Form:
    """A checked functional form: name, inputs, parameters, default priors and its function."""

    name: str
    inputs: tuple[str, ...]
    default_priors: Mapping[str, ParamPrior]
    log_loss: Callable
    reference: str
    doc: str
    derived: Callable | None = None

    @property
    def parameters(self) -> tuple[str, ...]:
        """Names of the per-family law parameters, in prior order."""
        return tuple(self.default_priors)


class _RecordingParams(dict):
    """Parameter dict that records which names a law reads (every value 0.0)."""

    def __init__(self) -> None:
        super().__init__()
        self.read: set[str] = set()

    def __missing__(self, key: str) -> float:
        self.read.add(key)
        return 0.0


def parameters_read(function: Callable, inputs, **kwargs) -> set[str]:
    """Names a law function (``log_loss``, ``mean_metric``) reads from its parameter dict,
    found by calling it once at zero inputs (``kwargs`` go to the function)."""
    p = _RecordingParams()
    function({name: np.zeros(1) for name in inputs}, p, np, **kwargs)
    return p.read


def form_from_module(module: ModuleType) -> Form:
    """Check a ``models`` module against the law contract and wrap it as a :class:`Form`."""
    problems = []
    for attr in ("NAME", "INPUTS", "DEFAULT_PRIORS", "log_loss", "REFERENCE"):
        if not hasattr(module, attr):
            problems.append(f"missing {attr}")
    if problems:
        raise SpecError(f"law module {module.__name__}: " + "; ".join(problems))
    unknown_inputs = set(module.INPUTS) - set(KNOWN_INPUTS)
    if unknown_inputs:
        raise SpecError(
            f"law {module.NAME}: unknown inputs {sorted(unknown_inputs)}; use {KNOWN_INPUTS}"
        )
    read = parameters_read(module.log_loss, module.INPUTS)
    priors = set(module.DEFAULT_PRIORS)
    if read != priors:
        raise SpecError(
            f"law {module.NAME}: log_loss reads {sorted(read)} but DEFAULT_PRIORS has "
            f"{sorted(priors)}; they must match"
        )
    return Form(
        name=module.NAME,
        inputs=tuple(module.INPUTS),
        default_priors=dict(module.DEFAULT_PRIORS),
        log_loss=module.log_loss,
        reference=module.REFERENCE,
        doc=inspect.getdoc(module) or "",
        derived=getattr(module, "derived", None),
    )


def available_forms() -> dict[str, Form]:
    """Every law in the ``bayescale.models`` package, by name (read afresh on each call)."""
    forms = {}
    for module in _law_modules("loss"):  # bounded-metric laws: available_metric_forms()
        form = form_from_module(module)
        forms[form.name] = form
    return forms


def _law_modules(kind: str):
    """The modules of ``bayescale.models`` whose ``KIND`` (default ``"loss"``) is ``kind``."""
    import bayescale.models as package

    for info in pkgutil.iter_modules(package.__path__):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        if getattr(module, "KIND", "loss") == kind:
            yield module


def get_form(name: str) -> Form:
    """Return the law called ``name``; unknown names raise SpecError listing the known ones."""
    forms = available_forms()
    if name not in forms:
        raise SpecError(f"unknown law {name!r}; available laws: {', '.join(sorted(forms))}")
    return forms[name]


def available_metric_forms() -> dict:
    """Every bounded-metric law (``KIND = "metric"``) in ``bayescale.models``, by name.

    These describe a downstream metric (accuracy) rather than a loss; see
    :mod:`bayescale.forms` for their contract.
    """

    forms = {}
    for module in _law_modules("metric"):
        form = metric_form_from_module(module)
        forms[form.name] = form
    return forms


def get_metric_form(name: str):
    """Return the bounded-metric law called ``name``; unknown names raise SpecError."""
    forms = available_metric_forms()
    if name not in forms:
        raise SpecError(
            f"unknown metric law {name!r}; available metric laws: {', '.join(sorted(forms))}"
        )
    return forms[name]


# ------------------------------------------------------------- bounded-metric laws

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
