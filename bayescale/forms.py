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

The registry is built once, on first use, from ``models/``, then from the folders or ``.py`` files
listed in ``$BAYESCALE_LAWS`` (``os.pathsep``-separated), then from any
:func:`temporary_laws` blocks; a later source may redefine a law of an earlier one.
:func:`reload_laws` rebuilds it (re-importing the modules, re-reading ``$BAYESCALE_LAWS``). A
module that fails to import or breaks the contract is recorded as broken: asking for that law
raises :class:`SpecError` naming the module and its error, and every other law keeps working.
Each :class:`Form` records the SHA-256 of its module's source file (``source_sha256``), which is
stored in every saved fit.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import importlib.util
import inspect
import os
import pkgutil
import sys
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
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
    #: where the law came from: ``bayescale.models.NAME`` or the path of a file
    module: str = ""
    #: SHA-256 of the module's source file (None for a module object without a file)
    source_sha256: str | None = field(default=None, compare=False)

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
        module=module.__name__,
        source_sha256=source_sha256(module),
    )


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
    #: where the law came from: ``bayescale.models.NAME`` or the path of a file
    module: str = ""
    #: SHA-256 of the module's source file (None for a module object without a file)
    source_sha256: str | None = field(default=None, compare=False)

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
        module=module.__name__,
        source_sha256=source_sha256(module),
    )


# ------------------------------------------------------------------------------- registry

#: Environment variable naming extra law folders or ``.py`` files (``os.pathsep``-separated).
LAWS_ENV = "BAYESCALE_LAWS"
KINDS = ("loss", "metric")


def source_sha256(module: ModuleType) -> str | None:
    """SHA-256 (hex) of a law module's source file; None when it has no ``.py`` file."""
    path = getattr(module, "__file__", None)
    if not path or not str(path).endswith(".py") or not os.path.isfile(path):
        return None
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


@dataclass
class _Laws:
    """The registry: working laws by kind and name, and the errors of broken modules."""

    forms: dict[str, dict[str, Form | MetricForm]] = field(
        default_factory=lambda: {kind: {} for kind in KINDS})
    #: module label (``bayescale.models.X`` or a file path) -> error message
    broken: dict[str, str] = field(default_factory=dict)
    #: law NAME (or the file's stem when the module did not import) -> error message
    broken_names: dict[str, str] = field(default_factory=dict)

    def copy(self) -> _Laws:
        return _Laws({k: dict(v) for k, v in self.forms.items()}, dict(self.broken),
                     dict(self.broken_names))

    def add(self, label: str, module: ModuleType | None, error: Exception | None, *,
            override: bool) -> None:
        """Check one module and record it as a working law or as broken (never raises).

        ``override``: the module may redefine a law of an earlier source (a broken one then
        hides the earlier law too); without it a repeated NAME is an error of the later module.
        """
        if error is None:
            kind = getattr(module, "KIND", "loss")
            try:
                if kind == "loss":
                    form = form_from_module(module)
                elif kind == "metric":
                    form = metric_form_from_module(module)
                else:
                    raise SpecError(f"unknown KIND {kind!r}; use one of {KINDS}")
            except Exception as err:  # noqa: BLE001 - any failure of the law's code is its own
                error = err
            else:
                known = self.forms[kind]
                if form.name in known and not override:
                    error = SpecError(f"NAME {form.name!r} is already defined by "
                                      f"{known[form.name].module}")
                else:
                    known[form.name] = replace(form, module=label)
                    self.broken_names.pop(form.name, None)
                    return
        message = f"law module {label} is broken: {type(error).__name__}: {error}"
        self.broken[label] = message
        name = getattr(module, "NAME", None)
        if not isinstance(name, str):
            name = Path(label).stem if os.sep in label else label.rpartition(".")[2]
        if override or all(name not in forms for forms in self.forms.values()):
            for forms in self.forms.values():
                forms.pop(name, None)
            self.broken_names[name] = message


_LOCK = threading.RLock()
_BASE: _Laws | None = None  # models/ and $BAYESCALE_LAWS, built once
_CURRENT: _Laws | None = None  # _BASE plus the temporary laws, rebuilt when those change
_TEMPORARY: list[tuple] = []  # sources registered by open temporary_laws() blocks


def _package_modules() -> Iterator[tuple[str, ModuleType | None, Exception | None]]:
    """(label, module, import error) for each public module of ``bayescale.models``."""
    import bayescale.models as package

    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda i: i.name):
        if info.name.startswith("_"):
            continue
        label = f"{package.__name__}.{info.name}"
        try:
            yield label, importlib.import_module(label), None
        except Exception as err:  # noqa: BLE001 - a broken file breaks only its own law
            yield label, None, err


def _file_modules(source) -> Iterator[tuple[str, ModuleType | None, Exception | None]]:
    """(label, module, error) for a module object, a ``.py`` file or a folder of them."""
    if isinstance(source, ModuleType):
        yield source.__name__, source, None
        return
    path = Path(source)
    if path.is_dir():
        for file in sorted(path.glob("*.py")):
            if not file.name.startswith("_"):
                yield from _file_modules(file)
        return
    label = str(path)
    if path.suffix != ".py" or not path.is_file():
        yield label, None, SpecError("not a .py file or a folder of them")
        return
    digest = hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:12]
    name = f"_bayescale_law_{digest}_{path.stem}"
    try:
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    except Exception as err:  # noqa: BLE001 - a broken file breaks only its own law
        yield label, None, err
    else:
        yield label, module, None


def _env_sources() -> list[str]:
    return [entry for entry in os.environ.get(LAWS_ENV, "").split(os.pathsep) if entry]


def _laws() -> _Laws:
    """The registry, built on first use and cached (see :func:`reload_laws`)."""
    global _BASE, _CURRENT
    current = _CURRENT
    if current is not None:
        return current
    with _LOCK:
        if _CURRENT is None:
            if _BASE is None:
                base = _Laws()
                for label, module, error in _package_modules():
                    base.add(label, module, error, override=False)
                for source in _env_sources():
                    for label, module, error in _file_modules(source):
                        base.add(label, module, error, override=True)
                _BASE = base
            laws = _BASE.copy()
            for sources in _TEMPORARY:
                for source in sources:
                    for label, module, error in _file_modules(source):
                        laws.add(label, module, error, override=True)
            _CURRENT = laws
        return _CURRENT


def reload_laws() -> None:
    """Rebuild the registry: rescan and re-import ``models/``, re-read ``$BAYESCALE_LAWS``
    and the files of open :func:`temporary_laws` blocks (picks up edited, added and removed
    law files)."""
    global _BASE, _CURRENT
    with _LOCK:
        for name in [n for n in sys.modules if n.startswith("bayescale.models.")]:
            del sys.modules[name]
        importlib.invalidate_caches()
        _BASE = _CURRENT = None
    _laws()


@contextlib.contextmanager
def temporary_laws(*sources: ModuleType | str | os.PathLike) -> Iterator[None]:
    """Register extra laws inside a ``with`` block, without writing into ``models/``.

    Each source is a module object, a ``.py`` law file or a folder of them; a law here may
    redefine one of ``models/``. A broken source is recorded like a broken file in ``models/``.
    Files are read when the block opens (and on :func:`reload_laws`). The registry is
    process-wide: the laws are visible to every thread, not to other processes.
    """
    global _CURRENT
    entry = tuple(sources)
    with _LOCK:
        _TEMPORARY.append(entry)
        _CURRENT = None
        _laws()
    try:
        yield
    finally:
        with _LOCK:
            for i in range(len(_TEMPORARY) - 1, -1, -1):
                if _TEMPORARY[i] is entry:
                    del _TEMPORARY[i]
                    break
            _CURRENT = None


def broken_laws() -> dict[str, str]:
    """Modules that failed to import or broke the law contract: ``{module label: error}``."""
    return dict(_laws().broken)


def _get(kind: str, name: str, what: str):
    laws = _laws()
    forms = laws.forms[kind]
    if name in forms:
        return forms[name]
    if name in laws.broken_names:
        raise SpecError(f"{what} {name!r} cannot be used: {laws.broken_names[name]}")
    message = f"unknown {what} {name!r}; available {what}s: {', '.join(sorted(forms))}"
    if laws.broken:
        message += f" (broken law modules: {', '.join(sorted(laws.broken))})"
    raise SpecError(message)


def available_forms() -> dict[str, Form]:
    """Every working loss law, by name (bounded-metric laws: :func:`available_metric_forms`)."""
    return dict(_laws().forms["loss"])


def get_form(name: str) -> Form:
    """Return the law called ``name``; an unknown name raises SpecError listing the known ones,
    a broken law's name raises SpecError naming its module and the error."""
    return _get("loss", name, "law")


def available_metric_forms() -> dict[str, MetricForm]:
    """Every working bounded-metric law (``KIND = "metric"``), by name."""
    return dict(_laws().forms["metric"])


def get_metric_form(name: str) -> MetricForm:
    """Return the bounded-metric law called ``name``; unknown or broken names raise SpecError."""
    return _get("metric", name, "metric law")
