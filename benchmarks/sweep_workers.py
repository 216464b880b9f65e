"""Cost model of a sweep: the same sweep on 1 and 2 local Dask workers, and the speed-up.

    python benchmarks/sweep_workers.py [--workers 1 2] [--replicates 3] [--draws 200]
        [--out benchmarks/results/sweep_workers.md]

The sweep: simulated checkpoint curves (2 families x 4 sizes, 6 checkpoints per run;
bayescale.simulate), each family's 6e8-parameter run held out, 2 or 3 smaller sizes fitted,
``--replicates`` seeds per cell: 12 backtest fits by default (chinchilla law, 2 chains x
``--draws`` draws after as many tuning draws, each fit on one core). For each worker count, on
a fresh local cluster of one-thread worker processes:

1. *start*: starting the cluster;
2. *warm-up*: one fit per worker of another seed (imports and the first compilation of the
   sampler's code, paid once per worker process);
3. *sweep*: the whole sweep into a fresh folder (nothing skipped).

A user waits for all three (the "cold" total); the sweep column is the throughput of warm
workers. Speed-up = time on 1 worker / time on N workers. With W workers on C free cores it
cannot exceed min(W, C, number of tasks); on a machine shared with other jobs it is lower (the
load average before and after each step is printed).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import warnings
from pathlib import Path

from bayescale import sweep
from bayescale.io import atomic_write_text
from bayescale.simulate import simulate_runs

ROOT = Path(__file__).resolve().parents[1]


def make_spec(data: Path, *, replicates: int, draws: int, seed: int = 5,
              families=("fam0", "fam1"), n_models=(2, 3)) -> sweep.SweepSpec:
    return sweep.parse_spec({
        "sweep": {"name": "workers-benchmark", "seed": seed},
        "fit": {"draws": draws, "tune": draws, "chains": 2, "cores": 1},
        "data": {"sim": {"path": str(data)}},
        "cuts": {"all": {}},
        "grid": [{"data": ["sim"], "families": list(families), "n_models": list(n_models),
                  "replicates": replicates}],
    })


def _load() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def measure(n: int, spec, warm_spec, tmp: Path) -> dict:
    from distributed import Client, LocalCluster

    t0 = time.perf_counter()
    load0 = _load()
    with (LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                       dashboard_address=None) as cluster, Client(cluster) as client):
        t1 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sweep.run_sweep(warm_spec, tmp / f"warm-{n}", client=client, write=False,
                            progress=False)
            t2 = time.perf_counter()
            load2 = _load()
            result = sweep.run_sweep(spec, tmp / f"out-{n}", client=client, write=False,
                                     progress=False)
        t3 = time.perf_counter()
    t = result.table
    row = {"workers": n, "tasks": len(t), "ok": int((t["status"] == "ok").sum()),
           "start": t1 - t0, "warm": t2 - t1, "sweep": t3 - t2, "cold": t3 - t0,
           "task_sum": float(t["wall_seconds"].sum()), "cpu_sum": float(t["cpu_seconds"].sum()),
           "task_median": float(t["wall_seconds"].median()),
           "load": f"{load0} -> {load2} -> {_load()}"}
    print(f"{n} worker(s): start {row['start']:.0f} s, warm-up {row['warm']:.0f} s, "
          f"{len(t)} fits in {row['sweep']:.0f} s (sum of fit times {row['task_sum']:.0f} s, "
          f"their CPU time {row['cpu_sum']:.0f} s, "
          f"median fit {row['task_median']:.1f} s); load average {row['load']}", flush=True)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--replicates", type=int, default=3)
    parser.add_argument("--draws", type=int, default=200)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results"
                        / "sweep_workers.md")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        runs, _ = simulate_runs(n_families=2, sizes=(2e7, 6e7, 2e8, 6e8), seeds=1,
                                checkpoints=6, corr_length=0.5, random_seed=3)
        runs.to_csv(tmp / "runs.csv", index=False)
        spec = make_spec(tmp / "runs.csv", replicates=args.replicates, draws=args.draws)
        rows = []
        for n in args.workers:
            warm = make_spec(tmp / "runs.csv", replicates=n, draws=args.draws, seed=99,
                             families=("fam0",), n_models=(2,))
            rows.append(measure(n, spec, warm, tmp))
    base = rows[0]
    lines = [("| workers | fits | ok | start s | warm-up s | sweep s (warm workers) | "
             "sum of fit s | their CPU s | median s/fit | speed-up (sweep) | cold total s | speed-up (cold) "
             "| load average (before -> after warm-up -> end) |"),
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['workers']} | {r['tasks']} | {r['ok']} | {r['start']:.0f} | "
                     f"{r['warm']:.0f} | {r['sweep']:.0f} | {r['task_sum']:.0f} | {r['cpu_sum']:.0f} | "
                     f"{r['task_median']:.1f} | {base['sweep'] / r['sweep']:.2f}x | "
                     f"{r['cold']:.0f} | {base['cold'] / r['cold']:.2f}x | {r['load']} |")
    table = "\n".join(lines)
    print(table)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(args.out, "# Sweep cost: the same sweep on 1 and 2 local Dask workers\n\n"
                      f"`python benchmarks/sweep_workers.py --replicates {args.replicates} "
                      f"--draws {args.draws}` ({os.cpu_count()} CPUs)\n\n{table}\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
