"""Sweep tasks: the grid expanded into independent backtests with content-derived seeds and ids,
and one task's fit (what a Dask worker runs)."""

from __future__ import annotations

import hashlib
import json
import math
import os
import time
import traceback
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from bayescale.exceptions import DataError, SpecError
from bayescale.sweep.spec import PICKS, STATUS_FAILED, STATUS_OK, SweepSpec

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
        Held-out sizes, as in :func:`bayescale.evaluation.holdout.holdout_split` (always kept).
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
    """The default task: one :func:`bayescale.evaluation.holdout.backtest` of the task's subset.

    Returns ``targets`` (one dict per held-out run: family, run, params, tokens, observed,
    median, lower, upper, are, covered and the baseline's), ``diagnostics``
    (:meth:`bayescale.Diagnostics.to_dict`), ``rows_fitted``, ``sizes_fitted`` (per family, N
    in parameters) and ``residuals``.
    """
    from bayescale.evaluation.holdout import backtest, holdout_split
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
