"""Running a sweep: Dask futures on a local or existing cluster, records written as tasks finish,
reruns skip recorded tasks."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import time
import uuid
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from bayescale.exceptions import ConvergenceWarning, MissingDependencyError, SpecError
from bayescale.io import writable_folder
from bayescale.sweep.results import SweepResult, _task_from_dict, tidy, write_outputs
from bayescale.sweep.spec import STATUS_FAILED, STATUS_OK, TASKS_DIR, SweepSpec, load_spec
from bayescale.sweep.store import _write_record, read_store
from bayescale.sweep.tasks import Task, _error, _execute, _jsonable, expand, fit_task

# --------------------------------------------------------------------------- execution



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
    tasks_dir = writable_folder(out / TASKS_DIR, what="sweep folder")

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
        dask_client.run(_quiet_worker_logs)
        yield dask_client, f"local Dask cluster ({n} worker processes x 1 thread)"


def _quiet_worker_logs() -> None:
    """Run in each worker process of a local cluster the sweep started itself (never in the
    caller's process, nor on a user's cluster): PyMC's per-fit INFO lines ("Sampling 2
    chains...") would flood the terminal; its warnings still show, and every task records its
    Python warnings."""
    import pymc  # noqa: F401 - pymc sets its logger's level when first imported

    logging.getLogger("pymc").setLevel(logging.WARNING)


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
