"""Sweep specs: the TOML file parsed and checked into a SweepSpec (data sources, cuts, grid axes,
fit settings)."""

from __future__ import annotations

import math
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bayescale import _defaults
from bayescale.exceptions import DataError, SpecError

#: Settings of every fit of a sweep ([fit] table) and their defaults.
FIT_DEFAULTS: dict[str, Any] = _defaults.SWEEP_FIT
#: Axes of a [[grid]] block and their defaults.
GRID_DEFAULTS: dict[str, Any] = _defaults.SWEEP_GRID
PICKS = ("largest", "smallest")
SOURCE_KEYS = ("path", "where", "columns", "loss_transform", "duplicates")
#: Run-table columns a data source takes from its file under the same name ...
CANONICAL = ("family", "run", "seed", "params", "tokens", "flops", "loss", "recipe",
             "lr_schedule")
#: ... and those it takes only when ``columns`` maps them.
MAPPED_ONLY = ("unique_tokens",)
TASKS_DIR = "tasks"
STATUS_OK = _defaults.SWEEP_STATUS_OK
STATUS_FAILED = _defaults.SWEEP_STATUS_FAILED
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
        from bayescale.data import read_csv_table, read_runs

        where_from = f"data source {self.name!r} ({self.path})"
        raw = read_csv_table(self.path, what=f"data source {self.name!r}")
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
