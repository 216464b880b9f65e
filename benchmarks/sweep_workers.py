"""Cost model of a sweep: the same sweep on 1 and 2 local Dask workers, and the speed-up.

    python benchmarks/sweep_workers.py [--workers 1 2] [--replicates 2] [--draws 200]
        [--out benchmarks/results/sweep_workers.md]

The sweep: simulated checkpoint curves (2 families x 4 sizes, 6 checkpoints per run;
bayescale.simulate), each family's 6e8-parameter run held out, 2 or 3 smaller sizes fitted,
``--replicates`` seeds per cell: 8 backtest fits by default (chinchilla law, 2 chains x
``--draws`` draws after as many tuning draws, each fit on one core). Every worker count runs
the whole sweep into a fresh folder (nothing skipped), on a fresh local cluster of one-thread
worker processes; the wall time includes starting the cluster and each worker's first-fit
warm-up (imports, compilation), which is what a user waits for.

Speed-up = wall time on 1 worker / wall time on N workers. With W workers on C free cores it
cannot exceed min(W, C, number of tasks); on a machine shared with other jobs it is lower.
"""

from __future__ import annotations

import argparse
import tempfile
import time
import warnings
from pathlib import Path

from bayescale import sweep
from bayescale.io import atomic_write_text
from bayescale.simulate import simulate_runs

ROOT = Path(__file__).resolve().parents[1]


def make_spec(data: Path, *, replicates: int, draws: int) -> sweep.SweepSpec:
    return sweep.parse_spec({
        "sweep": {"name": "workers-benchmark", "seed": 5},
        "fit": {"draws": draws, "tune": draws, "chains": 2, "cores": 1},
        "data": {"sim": {"path": str(data)}},
        "cuts": {"all": {}},
        "grid": [{"data": ["sim"], "families": ["fam0", "fam1"], "n_models": [2, 3],
                  "replicates": replicates}],
    })


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--replicates", type=int, default=2)
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
            start = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                result = sweep.run_sweep(spec, tmp / f"out-{n}", workers=n, write=False,
                                         progress=False)
            wall = time.perf_counter() - start
            t = result.table
            rows.append({"workers": n, "tasks": len(t), "ok": int((t["status"] == "ok").sum()),
                         "wall": wall, "task_sum": float(t["wall_seconds"].sum()),
                         "task_median": float(t["wall_seconds"].median())})
            print(f"{n} worker(s): {len(t)} fits in {wall:.0f} s wall (sum of fit times "
                  f"{rows[-1]['task_sum']:.0f} s, median fit {rows[-1]['task_median']:.0f} s)",
                  flush=True)
    base = rows[0]["wall"]
    lines = ["| workers | fits | ok | wall s | sum of fit s | median s/fit | speed-up |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['workers']} | {r['tasks']} | {r['ok']} | {r['wall']:.0f} | "
                     f"{r['task_sum']:.0f} | {r['task_median']:.0f} | "
                     f"{base / r['wall']:.2f}x |")
    table = "\n".join(lines)
    print(table)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(args.out, "# Sweep cost: the same sweep on 1 and 2 local Dask workers\n\n"
                      f"`python benchmarks/sweep_workers.py --replicates {args.replicates} "
                      f"--draws {args.draws}`\n\n{table}\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
