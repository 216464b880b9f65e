"""Backtest sweeps: grids of independent fits run as Dask futures, with no lost work.

A *sweep* asks how a fitting protocol affects extrapolation, the way Choshen et al.'s
"Hitchhiker's Guide to Scaling Law Estimation" fitted over 1,000 laws: which families are
fitted together, how many model sizes (and which), which checkpoints (a cut), which law,
which held-out target. It is described as data (a TOML file, :func:`load_spec`), expanded into
independent backtest tasks (:func:`expand`), and each task is one
:func:`bayescale.backtest.backtest` of its own subset with its own seed:

- **Spec** (TOML, read with :mod:`tomllib`)::

      [sweep]
      name = "hitchhiker"
      seed = 2024                  # every task's seed derives from it
      prob = 0.9                   # interval probability

      [fit]                        # the same for every fit (defaults shown in FIT_DEFAULTS)
      draws = 300
      tune = 300
      chains = 2
      max_per_run = 10             # thin each run to <= K log-spaced checkpoints (cost)

      [data.gpt3]                  # one run table; paths are relative to the spec file
      path = "../data/lm_loss_curves.csv"
      where = { family = "gpt3", metric = "val_loss" }   # keep rows with these values
      columns = { run = "model_name", loss = "value" }   # canonical name = source column
      loss_transform = "log"       # "none" (loss in nats/token) or "log" (perplexity)
      duplicates = "mean"          # rows of a run at one token count: "mean" or "keep"

      [cuts]                       # named checkpoint selections (bayescale.checkpoints)
      all = {}
      from_30pct = { min_fraction = 0.3 }

      [[grid]]                     # a product of these axes; several [[grid]] are a union
      data = ["gpt3"]
      families = ["all"]           # or lists of family names fitted together
      n_models = [2, 3, "all"]     # model sizes fitted per family, below the target
      pick = ["largest"]           # which of them: "largest" (nearest the target), "smallest"
      cuts = ["all", "from_30pct"]
      laws = ["chinchilla"]
      holdout = ["largest"]        # the target: each family's largest size, or N (params)
      replicates = 1               # repeats of every cell with different seeds

- **Seeds and ids.** A task's seed is ``SeedSequence(sweep seed, spawn_key=hash of the task's
  axis values)``: a spawned child keyed by content rather than by position, so adding a cell to
  the grid changes no other task's seed. Its id hashes the axis values, the resolved
  checkpoint selection, the fit settings, the sweep seed and the data's hash: a task whose fit
  would differ gets a new id, a repeated one the same.
- **Execution** (:func:`run_sweep`): a local Dask cluster by default (one process per worker,
  one thread each, so NUTS fits never share a GIL; each fit runs its chains on ``fit.cores``
  threads, default 1), or an existing cluster by address. Every task is a Dask future; as
  each completes, its record is written atomically to ``OUT/tasks/<id>.json``. A worker that
  dies has its tasks rescheduled by the Dask scheduler; a task that raises is recorded as
  ``failed`` with its error and the sweep goes on. Re-running skips every task with a record
  (``retry_failed=True`` reruns the failed ones).
- **Results**: one tidy row per task (:attr:`SweepResult.table`: axes, seed, median ARE,
  coverage, diagnostics verdict, wall time, error), one per held-out target
  (:attr:`SweepResult.targets`), a summary over the grid cells (:func:`summarise`) and a plot
  of median ARE and coverage against the number of models per cut (:func:`plot_sweep`).

ARE is the absolute relative error |median - observed| / observed of the predicted final loss
(nats/token) of a held-out run; coverage is the share of held-out runs inside their 90%
(``prob``) predictive interval.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import math
import os
import sys
import time
import tomllib
import traceback
import uuid
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bayescale import _defaults
from bayescale.exceptions import ConvergenceWarning, DataError, MissingDependencyError, SpecError

#: Settings of every fit of a sweep ([fit] table) and their defaults.
FIT_DEFAULTS: dict[str, Any] = {
    "draws": 300,
    "tune": 300,
    "chains": 2,
    "sampler": _defaults.SAMPLER,
    "target_accept": _defaults.TARGET_ACCEPT,
    "cores": 1,  # chains sampled at once inside one worker thread
    "max_per_run": None,  # thinning applied to every cut that does not set its own
    "likelihood": "student_t",
    "pooling": "partial",
    "residuals": "auto",
    "baseline": False,  # also fit the Huber/L-BFGS reference estimator (row bootstrap)
    "n_boot": 200,
}
#: Axes of a [[grid]] block and their defaults.
GRID_DEFAULTS: dict[str, Any] = {
    "families": ["all"],
    "n_models": ["all"],
    "pick": ["largest"],
    "cuts": None,  # default: every cut of [cuts], or all rows when there is none
    "laws": ["chinchilla"],
    "holdout": ["largest"],
    "replicates": 1,
}
PICKS = ("largest", "smallest")
SOURCE_KEYS = ("path", "where", "columns", "loss_transform", "duplicates")
#: Run-table columns a data source takes from its file under the same name ...
CANONICAL = ("family", "run", "seed", "params", "tokens", "flops", "loss", "recipe",
             "lr_schedule")
#: ... and those it takes only when ``columns`` maps them.
MAPPED_ONLY = ("unique_tokens",)
TASKS_DIR = "tasks"
STATUS_OK = "ok"
STATUS_FAILED = "failed"
RESULT_FILES = ("results.csv", "targets.csv", "summary.csv", "summary.md", "sweep.png")
_CUT_KEYS = ("min_tokens", "min_fraction", "q_maximal", "max_per_run", "annealed_only")


# --------------------------------------------------------------------------- spec


@dataclass(frozen=True)
class DataSource:
    """One run table of a sweep: a CSV, the rows kept, the column mapping.

    Attributes
    ----------
    name : str
        The name grid blocks use (``[data.NAME]``).
    path : Path
        CSV file (absolute, or relative to the working folder).
    where : dict
        Keep rows whose column equals the value (or is one of a list of values).
    columns : dict
        Canonical name -> source column, e.g. ``{"family": "scaled_set", "loss": "value"}``.
    loss_transform : {"none", "log"}
        ``"log"`` turns a perplexity into a loss in nats/token.
    duplicates : {"keep", "mean"}
        Rows of one run at one token count: kept as they are (``"keep"``: exact duplicates
        are refused by :func:`bayescale.read_runs`, and a fit with AR(1) residuals falls back
        to iid with a warning) or averaged into one (``"mean"``; e.g. digitised curves).
    """

    name: str
    path: Path
    where: dict[str, Any] = field(default_factory=dict)
    columns: dict[str, str] = field(default_factory=dict)
    loss_transform: str = "none"
    duplicates: str = "keep"

    def load(self) -> pd.DataFrame:
        """The canonical run table (validated by :func:`bayescale.read_runs`).

        Raises
        ------
        DataError
            The file cannot be read, a ``where`` or ``columns`` entry names a missing column,
            no row is left, or the table fails validation.
        """
        from bayescale.data import read_runs

        where_from = f"data source {self.name!r} ({self.path})"
        if not self.path.is_file():
            raise DataError(f"{where_from}: the file does not exist")
        try:
            raw = pd.read_csv(self.path)
        except (OSError, UnicodeDecodeError, pd.errors.ParserError, ValueError) as err:
            raise DataError(f"{where_from}: not a readable CSV file ({err})") from err
        for column, value in self.where.items():
            if column not in raw.columns:
                raise DataError(f"{where_from}: 'where' names column {column!r}, which is not "
                                f"in the file; columns: {', '.join(map(str, raw.columns))}")
            values = value if isinstance(value, list) else [value]
            raw = raw[raw[column].isin(values)]
        if raw.empty:
            raise DataError(f"{where_from}: no row matches where={self.where}")
        table = {}
        for canonical in (*CANONICAL, *(c for c in MAPPED_ONLY if c in self.columns)):
            source = self.columns.get(canonical, canonical)
            if source in raw.columns:
                table[canonical] = raw[source].to_numpy()
            elif canonical in self.columns:
                raise DataError(f"{where_from}: columns maps {canonical!r} to {source!r}, which "
                                f"is not in the file")
        table = pd.DataFrame(table)
        if self.loss_transform == "log" and "loss" in table:
            values = pd.to_numeric(table["loss"], errors="coerce")
            bad = values.index[~(values > 0)].tolist()
            if bad:
                raise DataError(f"{where_from}: column 'loss': log of a non-positive or "
                                f"non-numeric value in rows {bad[:5]}")
            table["loss"] = np.log(values)
        if self.duplicates == "mean" and {"run", "tokens", "loss"} <= set(table.columns):
            keys = [c for c in table.columns if c != "loss"]
            table = table.groupby(keys, as_index=False, sort=False, dropna=False)["loss"].mean()
        try:
            return read_runs(table)
        except DataError as err:
            raise DataError(f"{where_from}: {err}") from err


@dataclass(frozen=True)
class SweepSpec:
    """A parsed sweep specification (see the module docstring for the TOML layout).

    Attributes
    ----------
    name : str
    seed : int
        The sweep seed; every task's seed derives from it.
    prob : float
        Interval probability of every backtest.
    fit : dict
        Settings of every fit (:data:`FIT_DEFAULTS`).
    sources : dict of str to DataSource
    cuts : dict of str to dict
        Named checkpoint selections (:class:`bayescale.checkpoints.Selection` arguments).
    grid : list of dict
        The grid blocks, axes filled with defaults.
    """

    name: str
    seed: int
    prob: float
    fit: dict[str, Any]
    sources: dict[str, DataSource]
    cuts: dict[str, dict[str, Any]]
    grid: list[dict[str, Any]]

    def selection(self, cut: str) -> dict[str, Any]:
        """The checkpoint selection of ``cut``, with the sweep's default thinning."""
        settings = dict(self.cuts[cut])
        if self.fit["max_per_run"] is not None:
            settings.setdefault("max_per_run", self.fit["max_per_run"])
        return settings


def load_spec(path: str | os.PathLike) -> SweepSpec:
    """Read a sweep specification from a TOML file; data paths are relative to the file.

    Raises
    ------
    SpecError
        The file is not valid TOML or the specification is invalid (all problems at once).
    FileNotFoundError
        No file at ``path``.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no sweep specification at {path}")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as err:
        raise SpecError(f"{path} is not valid TOML: {err}") from None
    return parse_spec(data, base_dir=path.parent)


def parse_spec(data: Mapping[str, Any], *, base_dir: str | os.PathLike = ".") -> SweepSpec:
    """Validate a sweep specification given as nested mappings (the parsed TOML).

    Every problem is collected and raised as one :class:`SpecError`.
    """
    from bayescale.checkpoints import Selection
    from bayescale.forms import get_form

    problems: list[str] = []
    base_dir = Path(base_dir)
    unknown = set(data) - {"sweep", "fit", "data", "cuts", "grid"}
    if unknown:
        problems.append(f"unknown sections {sorted(unknown)}; expected sweep, fit, data, cuts, "
                        "grid")
    head = dict(data.get("sweep", {}))
    extra = set(head) - {"name", "seed", "prob"}
    if extra:
        problems.append(f"[sweep]: unknown keys {sorted(extra)}; expected name, seed, prob")
    name = str(head.get("name", "sweep"))
    seed = head.get("seed", 0)
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        problems.append(f"[sweep] seed must be an integer >= 0, got {seed!r}")
    prob = head.get("prob", _defaults.CI_PROB)
    if not isinstance(prob, int | float) or not 0 < prob < 1:
        problems.append(f"[sweep] prob must lie in (0, 1), got {prob!r}")

    fit = dict(FIT_DEFAULTS)
    given = dict(data.get("fit", {}))
    extra = set(given) - set(FIT_DEFAULTS)
    if extra:
        problems.append(f"[fit]: unknown keys {sorted(extra)}; expected "
                        f"{', '.join(FIT_DEFAULTS)}")
    fit.update({k: v for k, v in given.items() if k in FIT_DEFAULTS})
    for key in ("draws", "chains", "cores", "n_boot"):
        if not isinstance(fit[key], int) or isinstance(fit[key], bool) or fit[key] < 1:
            problems.append(f"[fit] {key} must be an integer >= 1, got {fit[key]!r}")
    if not isinstance(fit["tune"], int) or fit["tune"] < 0:
        problems.append(f"[fit] tune must be an integer >= 0, got {fit['tune']!r}")
    if fit["sampler"] not in _defaults.SAMPLERS:
        problems.append(f"[fit] sampler must be one of {', '.join(_defaults.SAMPLERS)}, got "
                        f"{fit['sampler']!r}")
    if fit["likelihood"] not in _defaults.LIKELIHOODS:
        problems.append(f"[fit] likelihood must be one of {', '.join(_defaults.LIKELIHOODS)}")
    if fit["pooling"] not in _defaults.POOLINGS:
        problems.append(f"[fit] pooling must be one of {', '.join(_defaults.POOLINGS)}")
    if fit["residuals"] not in ("auto", "ar1", "iid"):
        problems.append("[fit] residuals must be auto, ar1 or iid")
    if not isinstance(fit["baseline"], bool):
        problems.append(f"[fit] baseline must be true or false, got {fit['baseline']!r}")
    if fit["max_per_run"] is not None and (not isinstance(fit["max_per_run"], int)
                                           or fit["max_per_run"] < 2):
        problems.append(f"[fit] max_per_run must be an integer >= 2, got {fit['max_per_run']!r}")

    sources = {}
    raw_sources = data.get("data", {})
    if not raw_sources:
        problems.append("no [data.NAME] table: a sweep needs at least one run table")
    for source_name, entry in dict(raw_sources).items():
        entry = dict(entry) if isinstance(entry, Mapping) else {}
        where = f"[data.{source_name}]"
        extra = set(entry) - set(SOURCE_KEYS)
        if extra:
            problems.append(f"{where}: unknown keys {sorted(extra)}; expected "
                            f"{', '.join(SOURCE_KEYS)}")
        if "path" not in entry:
            problems.append(f"{where}: needs a path")
            continue
        source_path = Path(os.path.expanduser(str(entry["path"])))
        if not source_path.is_absolute():
            source_path = base_dir / source_path
        transform = entry.get("loss_transform", "none")
        duplicates = entry.get("duplicates", "keep")
        if transform not in ("none", "log"):
            problems.append(f"{where}: loss_transform must be 'none' or 'log', got {transform!r}")
        if duplicates not in ("keep", "mean"):
            problems.append(f"{where}: duplicates must be 'keep' or 'mean', got {duplicates!r}")
        columns = dict(entry.get("columns", {}))
        bad = sorted(set(columns) - {*CANONICAL, *MAPPED_ONLY})
        if bad:
            problems.append(f"{where}: columns maps unknown canonical names {bad}; known: "
                            f"{', '.join((*CANONICAL, *MAPPED_ONLY))}")
        sources[source_name] = DataSource(
            name=source_name, path=source_path, where=dict(entry.get("where", {})),
            columns={k: str(v) for k, v in columns.items()}, loss_transform=transform,
            duplicates=duplicates)

    cuts = {}
    for cut_name, settings in dict(data.get("cuts", {"all": {}})).items():
        settings = dict(settings) if isinstance(settings, Mapping) else {}
        extra = set(settings) - set(_CUT_KEYS)
        if extra:
            problems.append(f"[cuts] {cut_name}: unknown keys {sorted(extra)}; expected "
                            f"{', '.join(_CUT_KEYS)}")
            continue
        try:
            Selection(**settings)
        except SpecError as err:
            problems.append(f"[cuts] {cut_name}: {err}")
            continue
        cuts[cut_name] = settings

    grid = []
    blocks = data.get("grid", [])
    if isinstance(blocks, Mapping):
        blocks = [blocks]
    if not blocks:
        problems.append("no [[grid]] block: nothing to sweep")
    for i, raw in enumerate(blocks, start=1):
        where = f"[[grid]] block {i}"
        block = {**GRID_DEFAULTS, **dict(raw)}
        extra = set(block) - {"data", *GRID_DEFAULTS}
        if extra:
            problems.append(f"{where}: unknown axes {sorted(extra)}; expected data, "
                            f"{', '.join(GRID_DEFAULTS)}")
        if block["cuts"] is None:
            block["cuts"] = list(cuts)
        for axis in ("data", "families", "n_models", "pick", "cuts", "laws", "holdout"):
            value = block.get(axis)
            if value is None:
                problems.append(f"{where}: needs {axis} = [...]")
                continue
            if not isinstance(value, list):
                value = [value]
            if not value:
                problems.append(f"{where}: {axis} is empty")
            block[axis] = value
        if any(v is None or not isinstance(v, list) or not v for v in
               (block.get(a) for a in ("data", "families", "n_models", "pick", "cuts", "laws",
                                       "holdout"))):
            continue
        block["families"] = [_families_value(v, where, problems) for v in block["families"]]
        for source_name in block["data"]:
            if source_name not in sources and raw_sources:
                problems.append(f"{where}: data {source_name!r} has no [data.{source_name}] "
                                "table")
        for n in block["n_models"]:
            if n != "all" and (not isinstance(n, int) or isinstance(n, bool) or n < 1):
                problems.append(f"{where}: n_models entries must be integers >= 1 or 'all', "
                                f"got {n!r}")
        for pick in block["pick"]:
            if pick not in PICKS:
                problems.append(f"{where}: pick must be one of {', '.join(PICKS)}, got {pick!r}")
        for cut in block["cuts"]:
            if cut not in cuts:
                problems.append(f"{where}: cut {cut!r} is not defined in [cuts] "
                                f"({', '.join(cuts) or 'none'})")
        for law in block["laws"]:
            try:
                get_form(law)
            except SpecError as err:
                problems.append(f"{where}: {err}")
        for holdout in block["holdout"]:
            if holdout != "largest" and (not isinstance(holdout, int | float)
                                         or isinstance(holdout, bool)
                                         or not math.isfinite(holdout) or holdout <= 0):
                problems.append(f"{where}: holdout entries must be 'largest' or a parameter "
                                f"count > 0, got {holdout!r}")
        reps = block["replicates"]
        if not isinstance(reps, int) or isinstance(reps, bool) or reps < 1:
            problems.append(f"{where}: replicates must be an integer >= 1, got {reps!r}")
        grid.append(block)
    if problems:
        raise SpecError("invalid sweep specification: " + "; ".join(problems))
    return SweepSpec(name=name, seed=int(seed), prob=float(prob), fit=fit, sources=sources,
                     cuts=cuts, grid=grid)


def _families_value(value, where: str, problems: list[str]) -> tuple[str, ...] | None:
    """``"all"`` -> None (every family of the table); a name or list of names -> sorted tuple."""
    if value == "all":
        return None
    names = [value] if isinstance(value, str) else value
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        problems.append(f"{where}: families entries must be 'all', a family name or a list of "
                        f"names, got {value!r}")
        return None
    return tuple(sorted(set(names)))


# --------------------------------------------------------------------------- tasks


@dataclass(frozen=True)
class Task:
    """One fit of a sweep: a backtest of one subset with one seed.

    Attributes
    ----------
    id : str
        Stable hash of everything that determines the fit (16 hex digits).
    seed : int
        Seed of the NUTS fit, predictive draws and bootstrap (derived from the sweep seed).
    data : str
        Name of the run table.
    families : tuple of str or None
        Families fitted together (None: every family of the table).
    n_models : int or None
        Model sizes fitted per family, below its held-out size (None: all).
    pick : {"largest", "smallest"}
        Which ``n_models`` sizes: the largest below the target, or the smallest.
    cut : str
        Name of the checkpoint selection; ``selection`` holds its settings.
    law : str
    holdout : "largest" or float
        The held-out target: each family's largest size, or every run with >= N parameters.
    replicate : int
    selection : dict
    """

    id: str
    seed: int
    data: str
    families: tuple[str, ...] | None
    n_models: int | None
    pick: str
    cut: str
    law: str
    holdout: str | float
    replicate: int
    selection: dict[str, Any]

    def axes(self) -> dict[str, Any]:
        """The grid coordinates (what a summary groups by)."""
        return {"data": self.data, "families": _families_label(self.families),
                "n_models": "all" if self.n_models is None else self.n_models,
                "pick": self.pick, "cut": self.cut, "law": self.law,
                "holdout": self.holdout, "replicate": self.replicate}

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable, as stored in each result record under ``task``."""
        return {"id": self.id, "seed": self.seed, "data": self.data,
                "families": None if self.families is None else list(self.families),
                "n_models": self.n_models, "pick": self.pick, "cut": self.cut, "law": self.law,
                "holdout": self.holdout, "replicate": self.replicate,
                "selection": dict(self.selection)}

    @property
    def label(self) -> str:
        """Short description for progress lines."""
        a = self.axes()
        text = (f"{a['data']} families={a['families']} n_models={a['n_models']} ({a['pick']}) "
                f"cut={a['cut']} law={a['law']}")
        if self.holdout != "largest":
            text += f" holdout={self.holdout:g}"
        return text + (f" rep={self.replicate}" if self.replicate else "")


def _families_label(families: tuple[str, ...] | None) -> str:
    return "all" if families is None else "+".join(families)


def _digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()


def task_seed(sweep_seed: int, axes: Mapping[str, Any]) -> int:
    """The seed of the task at ``axes``: a :class:`numpy.random.SeedSequence` child of the sweep
    seed, keyed by the axis values (order-free: adding grid cells changes no other seed)."""
    digest = _digest(dict(axes))
    key = (int(digest[:8], 16), int(digest[8:16], 16))
    child = np.random.SeedSequence(sweep_seed, spawn_key=key)
    return int(child.generate_state(1, dtype=np.uint32)[0])


def expand(spec: SweepSpec, *, fingerprints: Mapping[str, str] | None = None) -> list[Task]:
    """All tasks of a sweep, in grid order, each once (identical cells of two blocks merge).

    ``fingerprints`` maps a data name to its table's hash (:func:`bayescale.data.data_hash`);
    it enters the task ids, so a changed table is refitted rather than skipped.
    """
    fingerprints = dict(fingerprints or {})
    tasks: dict[str, Task] = {}
    for block in spec.grid:
        for data in block["data"]:
            for families in block["families"]:
                for n_models in block["n_models"]:
                    for pick in block["pick"]:
                        for cut in block["cuts"]:
                            for law in block["laws"]:
                                for holdout in block["holdout"]:
                                    for rep in range(block["replicates"]):
                                        task = _make_task(spec, fingerprints, data, families,
                                                          n_models, pick, cut, law, holdout, rep)
                                        tasks.setdefault(task.id, task)
    return list(tasks.values())


def _make_task(spec, fingerprints, data, families, n_models, pick, cut, law, holdout, rep
               ) -> Task:
    n_models = None if n_models == "all" else int(n_models)
    holdout = holdout if holdout == "largest" else float(holdout)
    axes = {"data": data, "families": None if families is None else list(families),
            "n_models": n_models, "pick": pick, "cut": cut, "law": law, "holdout": holdout,
            "replicate": rep}
    seed = task_seed(spec.seed, axes)
    selection = spec.selection(cut)
    fit = {k: v for k, v in spec.fit.items() if k != "cores"}  # cores: execution only
    identity = {"axes": axes, "selection": selection, "fit": fit, "prob": spec.prob,
                "sweep_seed": spec.seed, "data_sha256": fingerprints.get(data)}
    return Task(id=_digest(identity)[:16], seed=seed, data=data, families=families,
                n_models=n_models, pick=pick, cut=cut, law=law, holdout=holdout, replicate=rep,
                selection=selection)


def select_models(runs: pd.DataFrame, *, families: Iterable[str] | None = None,
                  holdout: str | float = "largest", n_models: int | None = None,
                  pick: str = "largest") -> pd.DataFrame:
    """The rows of one task: its families, its held-out sizes and ``n_models`` sizes below.

    Parameters
    ----------
    runs : DataFrame
        A canonical run table.
    families : iterable of str, optional
        Keep these families (default: all).
    holdout : "largest" or float
        Held-out sizes, as in :func:`bayescale.backtest.holdout_split` (always kept).
    n_models : int, optional
        Model sizes (distinct N, parameters) to fit per family, among those below its
        held-out sizes (default: all of them).
    pick : {"largest", "smallest"}
        Take the ``n_models`` largest sizes below the target (nearest to it) or the smallest.

    Raises
    ------
    DataError
        An unknown family, or a family with fewer sizes below its target than ``n_models``.
    """
    if families is not None:
        families = list(families)
        missing = sorted(set(families) - set(runs["family"]))
        if missing:
            raise DataError(f"families {', '.join(missing)} are not in the table (it has "
                            f"{', '.join(sorted(runs['family'].unique()))})")
        runs = runs[runs["family"].isin(families)]
    if n_models is None:
        return runs.reset_index(drop=True)
    if pick not in PICKS:
        raise SpecError(f"pick must be one of {', '.join(PICKS)}, got {pick!r}")
    parts = []
    for family, group in runs.groupby("family", sort=True):
        sizes = np.sort(group["params"].unique())
        held = sizes == sizes.max() if holdout == "largest" else sizes >= float(holdout)
        below = sizes[~held]
        if len(below) < n_models:
            raise DataError(
                f"family {family!r} has {len(below)} model sizes below its held-out size "
                f"({', '.join(f'{s:.3g}' for s in sizes[held]) or 'none'} parameters); "
                f"n_models={n_models} needs {n_models}")
        chosen = below[-n_models:] if pick == "largest" else below[:n_models]
        parts.append(group[group["params"].isin(np.concatenate([chosen, sizes[held]]))])
    return pd.concat(parts).reset_index(drop=True)


def fit_task(task: Mapping[str, Any], runs: pd.DataFrame, settings: Mapping[str, Any]
             ) -> dict[str, Any]:
    """The default task: one :func:`bayescale.backtest.backtest` of the task's subset.

    Returns ``targets`` (one dict per held-out run: family, run, params, tokens, observed,
    median, lower, upper, are, covered and the baseline's), ``diagnostics``
    (:meth:`bayescale.Diagnostics.to_dict`), ``rows_fitted``, ``sizes_fitted`` (per family, N
    in parameters) and ``residuals``.
    """
    from bayescale.backtest import backtest, holdout_split
    from bayescale.law import ScalingLaw

    sub = select_models(runs, families=task["families"], holdout=task["holdout"],
                        n_models=task["n_models"], pick=task["pick"])
    law = ScalingLaw(task["law"], likelihood=settings["likelihood"],
                     pooling=settings["pooling"], residuals=settings["residuals"])
    result = backtest(
        sub, law=law, holdout=task["holdout"], selection=task["selection"],
        prob=settings["prob"], baseline=settings["baseline"], n_boot=settings["n_boot"],
        random_seed=task["seed"], sampler=settings["sampler"], draws=settings["draws"],
        tune=settings["tune"], chains=settings["chains"],
        target_accept=settings["target_accept"], progressbar=False,
        sampler_kwargs={"cores": settings["cores"]},
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        train, _ = holdout_split(sub, task["holdout"])
    sizes = {str(f): sorted(float(n) for n in g["params"].unique())
             for f, g in train.groupby("family")}
    return {"targets": result.table.to_dict(orient="records"),
            "diagnostics": result.fit.diagnostics.to_dict(),
            "rows_fitted": int(result.settings["rows"]), "sizes_fitted": sizes,
            "residuals": result.fit.residuals}


def _execute(task_fn: Callable, task: dict[str, Any], runs: pd.DataFrame,
             settings: dict[str, Any]) -> dict[str, Any]:
    """Run one task on a worker; return its result record (never raises for a task error)."""
    start, cpu = time.perf_counter(), time.process_time()
    record: dict[str, Any] = {"task_id": task["id"], "task": task,
                              "started": datetime.now(UTC).isoformat(timespec="seconds"),
                              "worker": _worker_name()}
    logging.getLogger("pymc").setLevel(logging.WARNING)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            out = dict(task_fn(task, runs, settings))
            metrics = _metrics(out.get("targets", []))
        except Exception as err:  # noqa: BLE001 - a failing task is recorded, not fatal
            record.update(status=STATUS_FAILED, error=_error(err))
        else:
            record.update({**out, **metrics, "status": STATUS_OK, "error": None})
    messages = []
    for w in caught:
        text = f"{w.category.__name__}: {str(w.message).splitlines()[0][:300]}"
        if text not in messages:
            messages.append(text)
    record["warnings"] = messages[:20]
    record["wall_seconds"] = time.perf_counter() - start
    # CPU time of the worker process meanwhile: below wall_seconds when cores are contended
    record["cpu_seconds"] = time.process_time() - cpu
    return _jsonable(record)


def _worker_name() -> str:
    try:
        from distributed import get_worker

        return get_worker().address
    except (ImportError, ValueError):
        return f"pid {os.getpid()}"


def _error(err: BaseException) -> dict[str, str]:
    lines = traceback.format_exception(type(err), err, err.__traceback__)
    return {"type": type(err).__name__, "message": str(err) or type(err).__name__,
            "traceback": "".join(lines)[-4000:]}


def _metrics(targets: list[Mapping[str, Any]]) -> dict[str, Any]:
    """Median ARE and coverage over one task's held-out targets (and the baseline's)."""
    frame = pd.DataFrame(list(targets))
    out: dict[str, Any] = {"n_targets": len(frame), "median_are": None, "coverage": None,
                           "baseline_median_are": None, "baseline_coverage": None}
    if frame.empty:
        return out
    out["median_are"] = float(frame["are"].median())
    out["coverage"] = float(frame["covered"].astype(float).mean())
    if "baseline_are" in frame and frame["baseline_are"].notna().all():
        out["baseline_median_are"] = float(frame["baseline_are"].median())
        out["baseline_coverage"] = float(frame["baseline_covered"].astype(float).mean())
    return out


def _jsonable(value):
    """Plain JSON types: numpy scalars unwrapped, non-finite floats -> None."""
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if value is pd.NA or value is pd.NaT:
        return None
    return str(value)


# --------------------------------------------------------------------------- store


def read_store(out: str | os.PathLike) -> dict[str, dict[str, Any]]:
    """Every task record in ``OUT/tasks/`` by task id (unreadable files are warned and ignored,
    so their tasks run again)."""
    folder = Path(out) / TASKS_DIR
    records = {}
    if not folder.is_dir():
        return records
    for path in sorted(folder.glob("*.json")):
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
            task_id = record["task_id"]
        except (OSError, ValueError, KeyError, TypeError) as err:
            warnings.warn(f"ignoring unreadable sweep record {path} ({err}); its task runs "
                          "again", stacklevel=2)
            continue
        if task_id != path.stem:
            warnings.warn(f"ignoring {path}: it holds task {task_id}", stacklevel=2)
            continue
        records[task_id] = record
    return records


def _write_record(folder: Path, record: Mapping[str, Any]) -> Path:
    from bayescale.io import atomic_write_text

    text = json.dumps(_jsonable(record), indent=1, allow_nan=False) + "\n"
    return atomic_write_text(folder / f"{record['task_id']}.json", text)


# --------------------------------------------------------------------------- execution


@dataclass(frozen=True)
class SweepResult:
    """What :func:`run_sweep` returns.

    Attributes
    ----------
    table : DataFrame
        One row per task of the spec: ``task_id``, ``status`` (ok / failed), the axes
        (``data``, ``families``, ``n_models``, ``pick``, ``cut``, ``law``, ``holdout``,
        ``replicate``), ``seed``, ``n_targets``, ``median_are``, ``coverage`` (share of
        targets in their ``prob`` predictive interval), ``baseline_median_are``,
        ``baseline_coverage``, ``divergences``, ``max_rhat``, ``min_ess_bulk``,
        ``diagnostics_ok``, ``rows_fitted``, ``n_sizes`` (most sizes fitted in one family),
        ``wall_seconds``, ``cpu_seconds`` (CPU time of the worker process during the task),
        ``worker``, ``error`` (type: message).
    targets : DataFrame
        One row per (ok task, held-out run): the task's axes, ``family``, ``params`` (N),
        ``tokens`` (D), ``observed``, ``median``, ``lower``, ``upper`` (loss, nats/token),
        ``are``, ``covered``.
    out : Path
    ran, skipped : int
        Tasks run now, tasks skipped because a record existed.
    wall_seconds : float
    cluster : str
        Where the tasks ran ("" when nothing ran).
    files : dict
        Paths written (results.csv, targets.csv, summary.csv, summary.md, sweep.png).
    """

    table: pd.DataFrame
    targets: pd.DataFrame
    out: Path
    ran: int
    skipped: int
    wall_seconds: float
    cluster: str = ""
    name: str = "sweep"
    prob: float = _defaults.CI_PROB
    files: dict[str, str] = field(default_factory=dict)

    def summary(self) -> pd.DataFrame:
        """See :func:`summarise`."""
        return summarise(self.table, self.targets)

    def to_dict(self) -> dict[str, Any]:
        """The JSON of ``bayescale sweep --json``: ``out``, ``name``, ``tasks``, ``ran``,
        ``skipped``, ``ok``, ``failed``, ``diagnostics_ok``, ``wall_seconds``, ``cluster``,
        ``files``, ``summary`` (one object per grid cell) and ``failures`` (``task_id``,
        ``label``, ``error``)."""
        t = self.table
        ok = t["status"] == STATUS_OK
        failures = [{"task_id": r["task_id"], "label": r["label"], "error": r["error"]}
                    for _, r in t[~ok].iterrows()]
        return _jsonable({
            "out": str(self.out), "name": self.name, "tasks": len(t), "ran": self.ran,
            "skipped": self.skipped, "ok": int(ok.sum()), "failed": int((~ok).sum()),
            "diagnostics_ok": int(t.loc[ok, "diagnostics_ok"].fillna(False).astype(bool).sum()),
            "wall_seconds": round(self.wall_seconds, 1), "cluster": self.cluster,
            "files": self.files, "summary": self.summary().to_dict(orient="records"),
            "failures": failures,
        })

    def text(self) -> str:
        """Counts, the summary table and the failures, for people."""
        d = self.to_dict()
        head = (f"sweep {self.name}: {d['tasks']} tasks ({d['ran']} run now, {d['skipped']} "
                f"finished before), {d['ok']} ok ({d['diagnostics_ok']} with clean "
                f"diagnostics), {d['failed']} failed; {d['wall_seconds']:.0f} s")
        lines = [head, summary_markdown(self.summary(), prob=self.prob)]
        if d["failures"]:
            lines.append("failed tasks (rerun with --retry-failed after fixing):")
            lines += [f"  {f['task_id']} {f['label']}: {f['error']}" for f in d["failures"]]
        if self.files:
            lines.append("wrote " + ", ".join(self.files.values()))
        return "\n".join(lines)


def run_sweep(
    spec: SweepSpec | str | os.PathLike,
    out: str | os.PathLike,
    *,
    scheduler: str | None = None,
    workers: int | None = None,
    client=None,
    task_fn: Callable | None = None,
    retry_failed: bool = False,
    write: bool = True,
    progress: bool = True,
) -> SweepResult:
    """Run every unfinished task of a sweep on Dask; return the tidy results.

    Parameters
    ----------
    spec : SweepSpec or path
        The specification (a TOML path is read with :func:`load_spec`).
    out : path
        Results folder: ``tasks/<id>.json`` (one record per task, written atomically as the
        task completes) and, at the end, results.csv, targets.csv, summary.csv, summary.md
        and sweep.png.
    scheduler : str, optional
        Address of a running Dask scheduler (``tcp://host:8786``). Default: start a local
        cluster of ``workers`` processes with one thread each, closed at the end.
    workers : int, optional
        Local cluster size (default: the number of CPUs, at most the number of tasks); with
        ``scheduler``, wait until that many workers have joined.
    client : distributed.Client, optional
        Use this client instead (not closed).
    task_fn : callable, optional
        ``task_fn(task: dict, runs: DataFrame, settings: dict) -> dict`` run on the workers;
        default :func:`fit_task` (a real backtest). Must be importable there.
    retry_failed : bool
        Also rerun tasks recorded as failed (default: skip every recorded task).
    write : bool
        Write the summary files at the end.
    progress : bool
        One line on stderr per finished task.

    Raises
    ------
    SpecError, DataError
        Invalid spec or data (before anything runs).
    MissingDependencyError
        dask.distributed is not installed.
    """
    start = time.perf_counter()
    spec = spec if isinstance(spec, SweepSpec) else load_spec(spec)
    task_fn = fit_task if task_fn is None else task_fn
    out = Path(out)
    tasks_dir = out / TASKS_DIR
    try:
        tasks_dir.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise OSError(f"cannot create sweep folder {tasks_dir}: {err.strerror or err}") from err
    if not os.access(tasks_dir, os.W_OK | os.X_OK):
        raise PermissionError(f"sweep folder {tasks_dir} is not writable")

    tasks, tables = plan(spec)
    done = read_store(out)
    todo = [t for t in tasks if t.id not in done
            or (retry_failed and done[t.id].get("status") != STATUS_OK)]
    say = _printer(progress)
    say(f"sweep {spec.name}: {len(tasks)} tasks, {len(tasks) - len(todo)} finished before "
        f"(skipped), {len(todo)} to run")
    cluster = ""
    if todo:
        settings = {**spec.fit, "prob": spec.prob}
        with _connect(scheduler, workers, client, len(todo)) as (dask_client, cluster):
            say(f"running on {cluster}")
            for finished, record in enumerate(
                    _submit(dask_client, task_fn, todo, tables, settings), start=1):
                _write_record(tasks_dir, record)
                done[record["task_id"]] = record
                say(_progress_line(finished, len(todo), record))
    records = [done[t.id] for t in tasks]
    table, targets = tidy(records)
    result = SweepResult(table=table, targets=targets, out=out, ran=len(todo),
                         skipped=len(tasks) - len(todo), wall_seconds=time.perf_counter() - start,
                         cluster=cluster, name=spec.name, prob=spec.prob)
    if write:
        result = write_outputs(result)
    ok = table["status"] == STATUS_OK
    bad = table[ok & ~table["diagnostics_ok"].fillna(False).astype(bool)]
    if len(bad):
        warnings.warn(f"{len(bad)} of {int(ok.sum())} fits of sweep {spec.name} failed their "
                      "diagnostics (r_hat, bulk ESS or divergences; column diagnostics_ok of "
                      "results.csv)", ConvergenceWarning, stacklevel=2)
    return result


def plan(spec: SweepSpec) -> tuple[list[Task], dict[str, pd.DataFrame]]:
    """Load every table the grid uses, check its families, expand the tasks (with the
    tables' hashes in their ids): what :func:`run_sweep` runs.

    Raises
    ------
    DataError
        A table cannot be read or fails validation.
    SpecError
        A grid block names families a table does not have.
    """
    from bayescale.data import data_hash

    used = {name for block in spec.grid for name in block["data"]}
    tables = {name: spec.sources[name].load() for name in sorted(used)}
    problems = []
    for block in spec.grid:
        for name in block["data"]:
            present = set(tables[name]["family"])
            for families in block["families"]:
                missing = sorted(set(families or ()) - present)
                if missing:
                    problems.append(f"data {name!r} has no families {', '.join(missing)} "
                                    f"(it has {', '.join(sorted(present))})")
    if problems:
        raise SpecError("invalid sweep specification: " + "; ".join(dict.fromkeys(problems)))
    fingerprints = {name: data_hash(table) for name, table in tables.items()}
    return expand(spec, fingerprints=fingerprints), tables


def _printer(enabled: bool) -> Callable[[str], None]:
    def say(text: str) -> None:
        if enabled:
            print(f"bayescale sweep: {text}", file=sys.stderr, flush=True)

    return say


def _progress_line(finished: int, total: int, record: Mapping[str, Any]) -> str:
    task = record["task"]
    label = _task_from_dict(task).label
    wall = record.get("wall_seconds")
    wall = f"{wall:.0f} s" if isinstance(wall, int | float) else "-"
    if record["status"] == STATUS_OK:
        verdict = "ok" if (record.get("diagnostics") or {}).get("ok") else "NOT ok"
        are = record.get("median_are")
        cov = record.get("coverage")
        what = (f"median ARE {are:.2%}, coverage {cov:.0%}" if are is not None
                else "no targets")
        return f"[{finished}/{total}] {label}: {what}, diagnostics {verdict}, {wall}"
    error = record.get("error") or {}
    message = str(error.get("message", "")).splitlines()[0][:200]
    return f"[{finished}/{total}] FAILED {label}: {error.get('type')}: {message} ({wall})"


def _task_from_dict(task: Mapping[str, Any]) -> Task:
    families = task.get("families")
    return Task(id=task["id"], seed=task["seed"], data=task["data"],
                families=None if families is None else tuple(families),
                n_models=task["n_models"], pick=task["pick"], cut=task["cut"], law=task["law"],
                holdout=task["holdout"], replicate=task["replicate"],
                selection=dict(task.get("selection") or {}))


@contextlib.contextmanager
def _connect(scheduler: str | None, workers: int | None, client, n_tasks: int):
    """Yield (client, description): the given client, one to ``scheduler``, or a local
    cluster of one-thread worker processes (closed on exit)."""
    if client is not None:
        yield client, f"Dask cluster at {client.scheduler.address}"
        return
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise MissingDependencyError("sweeps run on Dask; install it with: "
                                     "pip install 'bayescale[dask]'") from None
    if workers is not None and workers < 1:
        raise SpecError(f"workers must be >= 1, got {workers}")
    if scheduler:
        try:
            dask_client = Client(scheduler, timeout="30s")
        except OSError as err:
            raise OSError(f"cannot reach the Dask scheduler at {scheduler}: {err}") from err
        try:
            if workers:
                dask_client.wait_for_workers(workers, timeout=300)
            n = len(dask_client.scheduler_info().get("workers", {}))
            yield dask_client, f"Dask cluster at {scheduler} ({n} workers)"
        finally:
            dask_client.close()
        return
    n = workers or max(1, min(os.cpu_count() or 1, n_tasks))
    with (LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                       dashboard_address=None, silence_logs=logging.ERROR) as local,
          Client(local) as dask_client):
        yield dask_client, f"local Dask cluster ({n} worker processes x 1 thread)"


def _identity(value):
    return value


def _submit(client, task_fn, todo: list[Task], tables: Mapping[str, pd.DataFrame],
            settings: dict[str, Any]):
    """Submit every task as a future; yield each record as its future completes.

    The run tables enter the graph as tasks of their own (not scattered data), so when a
    worker holding one dies the scheduler recomputes it; a task whose worker dies is
    rescheduled by the scheduler (up to ``distributed.scheduler.allowed-failures`` times, then
    it is recorded as failed with ``KilledWorker``).
    """
    from distributed import as_completed

    nonce = uuid.uuid4().hex[:8]
    data = {name: client.submit(_identity, tables[name], key=f"bayescale-data-{name}-{nonce}",
                                pure=False)
            for name in sorted({t.data for t in todo})}
    futures = {}
    for task in todo:
        future = client.submit(_execute, task_fn, task.to_dict(), data[task.data], settings,
                               key=f"bayescale-fit-{task.id}-{nonce}", pure=False)
        futures[future] = task
    try:
        for future in as_completed(futures):
            task = futures[future]
            try:
                record = future.result()
            except Exception as err:  # noqa: BLE001 - e.g. KilledWorker: record, go on
                record = _jsonable({"task_id": task.id, "task": task.to_dict(),
                                    "status": STATUS_FAILED, "error": _error(err),
                                    "worker": None, "warnings": [], "wall_seconds": None})
            future.release()
            yield record
    finally:
        client.cancel(list(futures) + list(data.values()))


# --------------------------------------------------------------------------- results


TABLE_COLUMNS = ("task_id", "status", "label", "data", "families", "n_models", "pick", "cut",
                 "law", "holdout", "replicate", "seed", "n_targets", "median_are", "coverage",
                 "baseline_median_are", "baseline_coverage", "divergences", "max_rhat",
                 "min_ess_bulk", "diagnostics_ok", "rows_fitted", "n_sizes", "wall_seconds",
                 "cpu_seconds", "worker", "error")
TARGET_COLUMNS = ("family", "run", "params", "tokens", "observed", "median", "lower", "upper",
                  "are", "covered", "baseline_estimate", "baseline_lower", "baseline_upper",
                  "baseline_are", "baseline_covered")


def tidy(records: list[Mapping[str, Any]]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Result records -> (one row per task, one row per ok task x held-out target)."""
    rows, target_rows = [], []
    for record in records:
        task = _task_from_dict(record["task"])
        diag = record.get("diagnostics") or {}
        error = record.get("error")
        sizes = record.get("sizes_fitted") or {}
        row = {"task_id": record["task_id"], "status": record["status"], "label": task.label,
               **task.axes(), "seed": task.seed,
               **{k: record.get(k) for k in ("n_targets", "median_are", "coverage",
                                             "baseline_median_are", "baseline_coverage")},
               "divergences": diag.get("divergences"), "max_rhat": diag.get("max_rhat"),
               "min_ess_bulk": diag.get("min_ess_bulk"), "diagnostics_ok": diag.get("ok"),
               "rows_fitted": record.get("rows_fitted"),
               "n_sizes": max((len(v) for v in sizes.values()), default=None),
               "wall_seconds": record.get("wall_seconds"),
               "cpu_seconds": record.get("cpu_seconds"), "worker": record.get("worker"),
               "error": (f"{error['type']}: {str(error['message']).splitlines()[0]}"
                         if error else None)}
        rows.append(row)
        if record["status"] == STATUS_OK:
            for target in record.get("targets") or []:
                target_rows.append({"task_id": record["task_id"], **task.axes(),
                                    "n_sizes": row["n_sizes"],
                                    **{k: target.get(k) for k in TARGET_COLUMNS}})
    table = pd.DataFrame(rows, columns=list(TABLE_COLUMNS))
    targets = pd.DataFrame(target_rows, columns=["task_id", "data", "families", "n_models",
                                                 "pick", "cut", "law", "holdout", "replicate",
                                                 "n_sizes", *TARGET_COLUMNS])
    for name in ("median_are", "coverage", "baseline_median_are", "baseline_coverage",
                 "max_rhat", "min_ess_bulk", "wall_seconds", "cpu_seconds"):
        table[name] = pd.to_numeric(table[name], errors="coerce").astype(float)
    for name in ("params", "tokens", "observed", "median", "lower", "upper", "are",
                 "baseline_are"):
        targets[name] = pd.to_numeric(targets[name], errors="coerce").astype(float)
    return table, targets


GROUP_AXES = ["data", "families", "pick", "cut", "law", "holdout", "n_models"]


def summarise(table: pd.DataFrame, targets: pd.DataFrame) -> pd.DataFrame:
    """One row per grid cell (replicates pooled): ``fits`` (tasks), ``ok``, ``failed``,
    ``diagnostics_ok`` (ok fits with clean diagnostics), ``targets`` (held-out runs over the
    ok fits), ``median_are`` (median over those targets), ``coverage`` (share inside their
    interval), the baseline's two if fitted, and the median ``wall_seconds`` of a fit."""
    if table.empty:
        return pd.DataFrame(columns=[*GROUP_AXES, "fits", "ok", "failed", "diagnostics_ok",
                                     "targets", "median_are", "coverage", "wall_seconds"])
    t = table.assign(n_models=table["n_models"].astype(str), holdout=table["holdout"].astype(str))
    g = targets.assign(n_models=targets["n_models"].astype(str),
                       holdout=targets["holdout"].astype(str))
    ok = t["status"] == STATUS_OK
    counts = t.assign(ok=ok, failed=~ok,
                      clean=ok & t["diagnostics_ok"].fillna(False).astype(bool)).groupby(
        GROUP_AXES, sort=False).agg(fits=("task_id", "size"), ok=("ok", "sum"),
                                     failed=("failed", "sum"), diagnostics_ok=("clean", "sum"),
                                     wall_seconds=("wall_seconds", "median"))
    stats = g.assign(covered=g["covered"].astype(float)).groupby(GROUP_AXES, sort=False).agg(
        targets=("are", "size"), median_are=("are", "median"), coverage=("covered", "mean"))
    if g["baseline_are"].notna().any():
        base = g.assign(baseline_covered=g["baseline_covered"].astype(float)).groupby(
            GROUP_AXES, sort=False).agg(baseline_median_are=("baseline_are", "median"),
                                        baseline_coverage=("baseline_covered", "mean"))
        stats = stats.join(base)
    summary = _grid_order(counts.join(stats).reset_index())
    summary["targets"] = summary["targets"].fillna(0).astype(int)
    summary["n_models"] = summary["n_models"].map(lambda v: v if v == "all" else int(v))
    summary["holdout"] = summary["holdout"].map(lambda v: v if v == "largest" else float(v))
    order = [*GROUP_AXES, "fits", "ok", "failed", "diagnostics_ok", "targets", "median_are",
             "coverage", *[c for c in ("baseline_median_are", "baseline_coverage")
                           if c in summary], "wall_seconds"]
    return summary[order]


def _grid_order(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows sorted by the axes: categories in order of first appearance, n_models by number
    ("all" last)."""
    keys = []
    for axis in reversed(GROUP_AXES):
        if axis == "n_models":
            keys.append(frame[axis].map(lambda v: math.inf if v == "all" else float(v)))
        else:
            order = {v: i for i, v in enumerate(dict.fromkeys(frame[axis]))}
            keys.append(frame[axis].map(order))
    return frame.iloc[np.lexsort([k.to_numpy(dtype=float) for k in keys])].reset_index(
        drop=True)


def summary_markdown(summary: pd.DataFrame, *, prob: float = _defaults.CI_PROB) -> str:
    """The summary as a Markdown table (constant axes are stated once above it)."""
    if summary.empty:
        return "(no tasks)"
    constant = [a for a in GROUP_AXES if summary[a].nunique() == 1 and a != "n_models"]
    varying = [a for a in GROUP_AXES if a not in constant]
    head = ", ".join(f"{a} = {summary[a].iloc[0]}" for a in constant)
    has_base = "baseline_median_are" in summary
    cols = [*varying, "fits ok/all", "clean diagnostics", "targets", "median ARE",
            f"{prob:.0%} coverage", *(["reference median ARE", "reference coverage"]
                                      if has_base else []), "median s/fit"]
    lines = [f"({head})" if head else "", "| " + " | ".join(cols) + " |",
             "|" + "---|" * len(cols)]
    for _, r in summary.iterrows():
        cells = [str(r[a]) for a in varying]
        cells += [f"{r['ok']}/{r['fits']}", f"{r['diagnostics_ok']}/{r['ok']}", str(r["targets"]),
                  _pct(r["median_are"], 2), _pct(r["coverage"], 0)]
        if has_base:
            cells += [_pct(r["baseline_median_are"], 2), _pct(r["baseline_coverage"], 0)]
        cells.append("-" if pd.isna(r["wall_seconds"]) else f"{r['wall_seconds']:.0f}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(line for line in lines if line)


def _pct(value, digits: int) -> str:
    return "-" if value is None or pd.isna(value) else f"{value:.{digits}%}"


def plot_sweep(table: pd.DataFrame, targets: pd.DataFrame, *, prob: float = _defaults.CI_PROB):
    """Median ARE (top) and coverage (bottom) against the number of model sizes fitted per
    family, one panel per data table, one colour per checkpoint cut.

    Over the ok fits' held-out targets; for ``n_models = "all"`` the x value is the number of
    sizes actually fitted. Of the other axes (families, pick, law, holdout) that vary within a
    table, the first with at most 3 values sets the line style; the targets of all other
    values are pooled (the panel title says which; :func:`summarise` has every cell). Returns
    the matplotlib figure.
    """
    from bayescale.plotting import _pyplot

    plt = _pyplot()
    names = list(dict.fromkeys(table["data"])) or ["(none)"]
    fig, axes = plt.subplots(2, len(names), figsize=(4.4 * len(names), 6.6), squeeze=False,
                             sharex="col")
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    styles = ["-", "--", ":"]
    for j, name in enumerate(names):
        top, bottom = axes[0, j], axes[1, j]
        sub = targets[targets["data"] == name].copy()
        for axis in ("cut", "families", "pick", "law", "holdout"):
            sub[axis] = sub[axis].astype(str)
        cuts = list(dict.fromkeys(sub["cut"]))
        others = [a for a in ("families", "pick", "law", "holdout") if sub[a].nunique() > 1]
        style_axis = next((a for a in others if sub[a].nunique() <= len(styles)), None)
        pooled = [a for a in others if a != style_axis]
        style_values = list(dict.fromkeys(sub[style_axis])) if style_axis else [None]
        for c, cut in enumerate(cuts):
            for k, value in enumerate(style_values):
                group = sub[(sub["cut"] == cut)
                            & ((sub[style_axis] == value) if style_axis else True)]
                if group.empty:
                    continue
                stats = group.groupby("n_sizes").agg(
                    are=("are", "median"), cov=("covered", lambda v: v.astype(float).mean()))
                label = f"cut={cut}" + (f", {style_axis}={value}" if style_axis else "")
                kw = {"color": colours[c % len(colours)], "ls": styles[k], "marker": "o",
                      "label": label}
                top.plot(stats.index, 100 * stats["are"], **kw)
                bottom.plot(stats.index, 100 * stats["cov"], **kw)
        failed = table[(table["data"] == name) & (table["status"] != STATUS_OK)]
        notes = [f"{len(failed)} failed task(s) not shown"] if len(failed) else []
        notes += [f"pooled over {sub[a].nunique()} {a}" for a in pooled]
        top.set_title(name + (f"\n({'; '.join(notes)})" if notes else ""), fontsize=10)
        bottom.xaxis.get_major_locator().set_params(integer=True)
        top.set_ylabel("median ARE of held-out final loss (%)")
        bottom.set_ylabel(f"{prob:.0%} interval coverage (%)")
        bottom.set_xlabel("model sizes fitted per family")
        bottom.axhline(100 * prob, color="grey", lw=0.8, ls="--")
        bottom.set_ylim(-5, 105)
        if len(sub):
            top.legend(fontsize=7)
    fig.suptitle("backtest sweep: held-out largest model's final loss")
    fig.tight_layout()
    return fig


def write_outputs(result: SweepResult) -> SweepResult:
    """Write results.csv, targets.csv, summary.csv, summary.md and sweep.png (atomically) into
    the result's folder; return the result with ``files`` filled in."""
    from dataclasses import replace

    from bayescale.io import atomic_write, atomic_write_text

    out = result.out
    paths = {name: out / name for name in RESULT_FILES}
    summary = result.summary()
    atomic_write_text(paths["results.csv"], result.table.to_csv(index=False))
    atomic_write_text(paths["targets.csv"], result.targets.to_csv(index=False))
    atomic_write_text(paths["summary.csv"], summary.to_csv(index=False))
    atomic_write_text(paths["summary.md"], f"# sweep {result.name}\n\n"
                      + summary_markdown(summary, prob=result.prob) + "\n")
    fig = plot_sweep(result.table, result.targets, prob=result.prob)
    try:
        atomic_write(paths["sweep.png"], lambda tmp: fig.savefig(tmp, format="png", dpi=110))
    finally:
        import matplotlib.pyplot as plt

        plt.close(fig)
    return replace(result, files={k: str(v) for k, v in paths.items()})
