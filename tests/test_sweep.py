"""Backtest sweeps on Dask: spec, expansion, seeds, results store, a killed worker, real fits."""

from __future__ import annotations

import functools
import json
import os
import signal
import threading
import time
import uuid
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bayescale import sweep
from bayescale.exceptions import ConvergenceWarning, DataError, SpecError
from bayescale.simulate import simulate_runs


def _spec_dict(path: str, **grid) -> dict:
    block = {"data": ["sim"], "n_models": [2, 3], "cuts": ["all", "late"], **grid}
    return {
        "sweep": {"name": "t", "seed": 7},
        "fit": {"draws": 50, "tune": 50, "chains": 2},
        "data": {"sim": {"path": path}},
        "cuts": {"all": {}, "late": {"min_fraction": 0.3}},
        "grid": [block],
    }


@pytest.fixture(scope="module")
def sim_csv(tmp_path_factory) -> Path:
    """Two simulated families (4 sizes, 6 checkpoints) plus 'tiny': two final losses only."""
    runs, _ = simulate_runs(n_families=2, sizes=(2e7, 6e7, 2e8, 6e8), seeds=1, checkpoints=6,
                            corr_length=0.5, random_seed=3)
    tiny = pd.DataFrame({"family": "tiny", "run": ["tiny-a", "tiny-b"], "seed": 0,
                         "params": [2e7, 6e7], "tokens": [4e8, 1.2e9], "loss": [3.9, 3.5]})
    path = tmp_path_factory.mktemp("sweep-data") / "runs.csv"
    pd.concat([runs[["family", "run", "seed", "params", "tokens", "loss"]], tiny]
              ).to_csv(path, index=False)
    return path


# ----------------------------------------------------------------- spec and expansion


def test_expansion_counts_seeds_and_ids_are_stable(sim_csv):
    spec = sweep.parse_spec(_spec_dict(str(sim_csv), pick=["largest", "smallest"],
                                       replicates=2))
    tasks = sweep.expand(spec)
    assert len(tasks) == 2 * 2 * 2 * 2  # n_models x cuts x pick x replicates
    assert len({t.id for t in tasks}) == len(tasks)
    assert len({t.seed for t in tasks}) == len(tasks)
    assert [t.id for t in sweep.expand(spec)] == [t.id for t in tasks]  # deterministic
    late = next(t for t in tasks if t.cut == "late")
    assert late.selection == {"min_fraction": 0.3}

    # a larger grid keeps every existing task's seed and id (seeds are keyed by content)
    bigger = sweep.parse_spec(_spec_dict(str(sim_csv), pick=["largest", "smallest"],
                                         replicates=2, n_models=[2, 3, "all"]))
    old = {t.id: t.seed for t in tasks}
    new = {t.id: t.seed for t in sweep.expand(bigger)}
    assert len(new) == 24 and all(new[i] == s for i, s in old.items())

    # another sweep seed: new seeds and ids; other draws: same seeds, new ids (refit)
    reseeded = _spec_dict(str(sim_csv))
    reseeded["sweep"]["seed"] = 8
    a, b = sweep.expand(sweep.parse_spec(_spec_dict(str(sim_csv)))), sweep.expand(
        sweep.parse_spec(reseeded))
    assert not {t.seed for t in a} & {t.seed for t in b}
    more_draws = _spec_dict(str(sim_csv))
    more_draws["fit"]["draws"] = 60
    c = sweep.expand(sweep.parse_spec(more_draws))
    assert [t.seed for t in c] == [t.seed for t in a]
    assert not {t.id for t in c} & {t.id for t in a}

    # a changed table changes the ids; identical cells of two blocks are one task
    fp = sweep.expand(spec, fingerprints={"sim": "abc"})
    assert not {t.id for t in fp} & {t.id for t in tasks}
    twice = _spec_dict(str(sim_csv))
    twice["grid"] = twice["grid"] * 2
    assert len(sweep.expand(sweep.parse_spec(twice))) == 4


def test_spec_problems_are_collected_into_one_readable_error(sim_csv, tmp_path):
    bad = _spec_dict(str(sim_csv), n_models=[0], cuts=["nope"], laws=["nolaw"], pick=["mid"])
    bad["fit"]["draws"] = 0
    bad["cuts"]["worse"] = {"min_fraction": 2.0}
    with pytest.raises(SpecError) as err:
        sweep.parse_spec(bad)
    text = str(err.value)
    for needle in ("draws", "n_models", "'nope'", "nolaw", "'mid'", "worse"):
        assert needle in text, needle
    path = tmp_path / "broken.toml"
    path.write_text("[sweep\nseed = 1\n")
    with pytest.raises(SpecError, match="not valid TOML"):
        sweep.load_spec(path)
    unknown = _spec_dict(str(sim_csv), families=[["fam0", "famX"]])
    with pytest.raises(SpecError, match="famX"):
        sweep.run_sweep(sweep.parse_spec(unknown), tmp_path / "out", progress=False)


def test_data_source_filters_maps_transforms_and_averages(tmp_path):
    raw = pd.DataFrame({
        "model_name": ["a", "a", "a", "b", "b", "c"],
        "size": [1e8, 1e8, 1e8, 2e8, 2e8, 1e8],
        "tokens": [1e9, 2e9, 2e9, 1e9, 2e9, 1e9],
        "ppl": [20.0, 12.0, 14.0, 15.0, 10.0, 99.0],
        "metric": ["val", "val", "val", "val", "val", "train"],
        "unique_tokens": np.nan,
    })
    raw.to_csv(tmp_path / "raw.csv", index=False)
    source = sweep.DataSource(name="x", path=tmp_path / "raw.csv", where={"metric": "val"},
                              columns={"run": "model_name", "params": "size", "loss": "ppl"},
                              loss_transform="log", duplicates="mean")
    runs = source.load()
    assert len(runs) == 4  # train row dropped, two rows of run a at 2e9 tokens averaged
    a2 = runs[(runs["run"] == "a") & (runs["tokens"] == 2e9)]["loss"].item()
    assert a2 == pytest.approx((np.log(12.0) + np.log(14.0)) / 2)
    kept = sweep.DataSource(name="x", path=tmp_path / "raw.csv", where={"metric": "val"},
                            columns={"run": "model_name", "params": "size", "loss": "ppl"}).load()
    assert len(kept) == 5 and kept["loss"].max() == 20.0  # no transform, no averaging
    with pytest.raises(DataError, match="'where' names column 'split'"):
        sweep.DataSource(name="x", path=tmp_path / "raw.csv", where={"split": "val"}).load()


def test_data_source_reads_through_the_one_csv_reader(tmp_path):
    """The same DataError as a loss or metric table, naming the data source and the path."""
    with pytest.raises(DataError, match=r"cannot read data source 'x' .*nope\.csv.*does not "
                                        r"exist"):
        sweep.DataSource(name="x", path=tmp_path / "nope.csv").load()
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(DataError, match=r"data source 'y' .*empty\.csv.*the file is empty"):
        sweep.DataSource(name="y", path=tmp_path / "empty.csv").load()
    (tmp_path / "binary.csv").write_bytes(b"\xff\xfe\x00\x81" * 50)
    with pytest.raises(DataError, match=r"data source 'z' .*not a readable CSV file"):
        sweep.DataSource(name="z", path=tmp_path / "binary.csv").load()


def test_a_task_leaves_the_callers_loggers_alone(sim_csv):
    """A task run in the caller's process (a threaded or in-process Dask worker) does not
    change a global logger: PyMC's logger keeps the level the caller gave it."""
    import logging

    from bayescale.sweep.tasks import _execute

    spec = sweep.parse_spec(_spec_dict(str(sim_csv), families=[["fam0", "fam1"]],
                                       n_models=[2]))
    tasks, tables = sweep.plan(spec)
    logger = logging.getLogger("pymc")
    before = logger.level
    try:
        logger.setLevel(logging.DEBUG)
        record = _execute(lambda task, runs, settings: {"targets": []}, tasks[0].to_dict(),
                          tables[tasks[0].data], spec.fit)
        assert record["status"] == "ok"
        assert logger.level == logging.DEBUG
    finally:
        logger.setLevel(before)


def _pymc_log_level() -> int:
    import logging

    return logging.getLogger("pymc").getEffectiveLevel()


def test_only_the_sweeps_own_worker_processes_quiet_pymc():
    """PyMC's INFO lines are turned off in the worker processes of the local cluster the sweep
    starts, and nowhere else."""
    import logging

    from bayescale.sweep.execution import _connect

    caller = logging.getLogger("pymc").level
    with _connect(None, 1, None, 1) as (client, _):
        levels = client.run(_pymc_log_level)
    assert list(levels.values()) == [logging.WARNING]
    assert logging.getLogger("pymc").level == caller


def test_select_models_takes_the_sizes_asked_for(sim_csv):
    from bayescale.data import read_runs

    runs = read_runs(sim_csv)
    two = sweep.select_models(runs, families=["fam0", "fam1"], n_models=2, pick="largest")
    assert sorted(two["params"].unique()) == [6e7, 2e8, 6e8]  # two below 6e8, and 6e8
    low = sweep.select_models(runs, families=["fam0"], n_models=1, pick="smallest")
    assert sorted(low["params"].unique()) == [2e7, 6e8]
    assert set(sweep.select_models(runs, families=["fam1"])["family"]) == {"fam1"}
    with pytest.raises(DataError, match="family 'tiny' has 1 model sizes below"):
        sweep.select_models(runs, n_models=2)


# ----------------------------------------------------------------- Dask: a killed worker


def _cheap_task(task, runs, settings, *, log_dir):
    """Stands in for a fit: logs each execution (task id, pid), sleeps, returns fake targets;
    raises for the n_models=1 cells."""
    Path(log_dir, f"{task['id']}.{os.getpid()}.{uuid.uuid4().hex}").touch()
    if task["n_models"] == 1:
        raise DataError("family 'fam0' has too few points (test)")
    time.sleep(1.0)
    observed = 3.0
    return {"targets": [{"family": "fam0", "run": "r", "params": 6e8, "tokens": 1.2e10,
                         "observed": observed, "median": observed * 1.01, "lower": 2.9,
                         "upper": 3.1, "are": 0.01, "covered": True}],
            "diagnostics": {"divergences": 0, "max_rhat": 1.0, "min_ess_bulk": 500.0,
                            "ok": True},
            "rows_fitted": len(runs), "sizes_fitted": {"fam0": [2e8]}}


def test_killed_worker_mid_sweep_loses_nothing_and_rerun_fits_nothing(sim_csv, tmp_path):
    """The default local cluster (2 worker processes); one is killed (SIGKILL) while it runs a
    task."""
    spec = sweep.parse_spec(_spec_dict(str(sim_csv), families=[["fam0", "fam1"]],
                                       n_models=[1, 2, 3], replicates=2))
    tasks, _ = sweep.plan(spec)  # the ids run_sweep uses (they include the data's hash)
    assert len(tasks) == 12
    log_dir = tmp_path / "executions"
    log_dir.mkdir()
    task_fn = functools.partial(_cheap_task, log_dir=str(log_dir))
    out = tmp_path / "out"
    box = {}
    runner = threading.Thread(target=lambda: box.update(result=sweep.run_sweep(
        spec, out, workers=2, task_fn=task_fn, progress=False)))
    runner.start()
    victim = None
    deadline = time.monotonic() + 90
    while victim is None and time.monotonic() < deadline and runner.is_alive():
        finished = {p.stem for p in (out / "tasks").glob("*.json")}
        for log in log_dir.iterdir():
            task_id, pid, _ = log.name.split(".")
            # a worker's task that has started, is not finished and does not raise at once
            if (len(finished) >= 2 and task_id not in finished and int(pid) != os.getpid()
                    and next(t for t in tasks if t.id == task_id).n_models != 1):
                victim = (task_id, int(pid))
                os.kill(int(pid), signal.SIGKILL)
                break
        time.sleep(0.05)
    runner.join(timeout=120)
    assert victim is not None, "no running task to kill"
    assert not runner.is_alive()
    result = box["result"]
    files = sorted(p.stem for p in (out / "tasks").glob("*.json"))
    assert files == sorted(t.id for t in tasks)  # every task's record, exactly once
    assert list((out / "tasks").glob(".*.tmp")) == []
    table = result.table.set_index("task_id")
    assert result.ran == 12 and result.skipped == 0
    assert (table["status"] == "ok").sum() == 8
    failed = table[table["status"] == "failed"]
    assert len(failed) == 4 and (failed["n_models"] == 1).all()
    assert failed["error"].str.contains("DataError: family 'fam0' has too few points").all()
    executions = [p.name.split(".")[0] for p in log_dir.iterdir()]
    assert executions.count(victim[0]) == 2  # killed mid-task, rerun elsewhere by Dask
    assert table.loc[victim[0], "status"] == "ok"
    assert all(json.loads((out / "tasks" / f"{i}.json").read_text())["task_id"] == i
               for i in files)
    for name in sweep.RESULT_FILES:
        assert (out / name).is_file()

    # the same sweep again: every task is skipped, nothing is executed (no cluster needed)
    again = sweep.run_sweep(spec, out, task_fn=task_fn, progress=False)
    assert again.ran == 0 and again.skipped == 12
    assert len(list(log_dir.iterdir())) == len(executions)
    pd.testing.assert_frame_equal(again.table, result.table)


# ----------------------------------------------------------------- real fits, end to end


@pytest.mark.slow
def test_real_fits_through_the_sweep_and_the_cli(sim_csv, tmp_path, capsys):
    """One real NUTS backtest and one task that fails (a family with two final losses), run
    through Dask futures on a cluster given by address (its worker in this process reuses the
    compiled code; the kill test covers worker processes); then the CLI on the same folder fits
    nothing."""
    from distributed import LocalCluster

    from bayescale.cli import main

    spec_path = tmp_path / "spec.toml"
    spec_path.write_text(f"""
[sweep]
name = "sim"
seed = 11
[fit]
draws = 200
tune = 200
chains = 2
[data.sim]
path = "{sim_csv.name}"
[cuts]
all = {{}}
[[grid]]
data = ["sim"]
families = ["fam0", "tiny"]
n_models = ["all"]
""")
    (tmp_path / sim_csv.name).write_bytes(sim_csv.read_bytes())
    out = tmp_path / "out"
    with (LocalCluster(processes=False, n_workers=1, threads_per_worker=1,
                       dashboard_address=None) as cluster,
          warnings.catch_warnings(record=True) as caught):
        warnings.simplefilter("always")
        result = sweep.run_sweep(spec_path, out, scheduler=cluster.scheduler_address,
                                 workers=1, progress=False)
    table = result.table.set_index("families")
    assert result.ran == 2 and len(table) == 2
    fit = table.loc["fam0"]
    assert fit["status"] == "ok" and fit["n_targets"] == 1 and fit["n_sizes"] == 3
    # the held-out 6e8-parameter run, extrapolated from 2e7-2e8: within a few percent
    assert fit["median_are"] < 0.03
    assert fit["divergences"] is not None and np.isfinite(fit["max_rhat"])
    # a fit that fails its diagnostics is warned about (these are short chains)
    warned = [w for w in caught if issubclass(w.category, ConvergenceWarning)]
    assert bool(warned) == (not fit["diagnostics_ok"])
    assert fit["wall_seconds"] > 0 and fit["cpu_seconds"] > 0
    tiny = table.loc["tiny"]
    assert tiny["status"] == "failed"
    assert tiny["error"].startswith("DataError") and "points" in tiny["error"]
    targets = result.targets
    assert list(targets["family"]) == ["fam0"] and (targets["params"] == 6e8).all()

    capsys.readouterr()
    assert main(["sweep", str(spec_path), "--out", str(out), "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["ran"] == 0 and payload["skipped"] == 2
    assert payload["ok"] == 1 and payload["failed"] == 1
    assert payload["failures"][0]["error"].startswith("DataError")
    assert payload["summary"][0]["median_are"] == pytest.approx(fit["median_are"])
    assert Path(payload["files"]["sweep.png"]).stat().st_size > 1000
