"""Sweep results: tidy tables of tasks and held-out targets, the summary over grid cells, and the
files written into OUT."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bayescale import _defaults
from bayescale.plots.sweep import plot_sweep
from bayescale.sweep.spec import RESULT_FILES, STATUS_OK
from bayescale.sweep.tasks import Task, _jsonable

# --------------------------------------------------------------------------- results


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


def _task_from_dict(task: Mapping[str, Any]) -> Task:
    families = task.get("families")
    return Task(id=task["id"], seed=task["seed"], data=task["data"],
                families=None if families is None else tuple(families),
                n_models=task["n_models"], pick=task["pick"], cut=task["cut"], law=task["law"],
                holdout=task["holdout"], replicate=task["replicate"],
                selection=dict(task.get("selection") or {}))



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
        atomic_write(paths["sweep.png"],
                     lambda tmp: fig.savefig(tmp, format="png", dpi=_defaults.FIGURE_DPI))
    finally:
        import matplotlib.pyplot as plt

        plt.close(fig)
    return replace(result, files={k: str(v) for k, v in paths.items()})
