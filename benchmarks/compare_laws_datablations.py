"""Data-constrained law vs chinchilla law on Muennighoff et al.'s repeated-data training curves.

Reproduces the table of the README section "Comparing laws":

    python benchmarks/compare_laws_datablations.py [--data ../shared/data]
        [--out benchmarks/results] [--laws chinchilla,data_constrained] [--draws 500]
        [--tune 500] [--chains 4] [--max-per-run 20] [--no-loo]

Data: ``hitchhiker_colpret/lm_loss_curves.csv``, source ``datablations_curves`` (Muennighoff et
al. 2023): 48 GPT-2-style runs, 2.8B, 4.2B and 8.7B parameters, each trained on C4 or OSCAR for
a fixed token budget (55B, 84B, 178B tokens) made of 1, 2, 3, 4, 5, 7, 14 or 44 epochs over
``unique_tokens`` unique tokens; validation loss (nats/token) along training. Family = corpus
(c4, oscar), so the 16 runs of one size and corpus differ only in how often their data repeats:
the chinchilla law (which ignores ``unique_tokens``) must give them one curve, the
data-constrained law need not. Rows of a run at the same token count are averaged; runs are
thinned to ``--max-per-run`` log-spaced checkpoints (cost).

Leave-future-out: the 8.7B runs (16 runs) are held out; both laws are fitted to the 2.8B and
4.2B runs and score the held-out curves (log predictive density of each run's checkpoints) and
final losses (ARE, 90% coverage). PSIS-LOO (leave one run out) on all 48 runs as well.
"""

from __future__ import annotations

import argparse
import json
import os
import time
import warnings
from pathlib import Path

import pandas as pd

from bayescale.checkpoints import select_checkpoints
from bayescale.data import read_runs
from bayescale.evaluation.law_comparison import compare_laws
from bayescale.io import atomic_write_text

ROOT = Path(__file__).resolve().parents[1]


def datablations(data: Path) -> pd.DataFrame:
    """The 48 datablations training curves, family = corpus, with unique tokens."""
    table = pd.read_csv(data / "hitchhiker_colpret" / "lm_loss_curves.csv")
    table = table[table["source"] == "datablations_curves"]
    table = pd.DataFrame({
        "family": table["scaled_set"].str.split("-").str[1], "run": table["model_name"],
        "params": table["params"].astype(float), "tokens": table["tokens"].astype(float),
        "unique_tokens": table["unique_tokens"].astype(float), "loss": table["value"]})
    keys = ["family", "run", "params", "tokens", "unique_tokens"]
    return table.groupby(keys, as_index=False)["loss"].mean()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default_data = os.environ.get("BAYESCALE_SHARED_DATA", str(ROOT.parent / "shared" / "data"))
    parser.add_argument("--data", default=default_data)
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results"))
    parser.add_argument("--laws", default="chinchilla,data_constrained")
    parser.add_argument("--draws", type=int, default=500)
    parser.add_argument("--tune", type=int, default=500)
    parser.add_argument("--chains", type=int, default=4)
    parser.add_argument("--max-per-run", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-loo", action="store_true")
    args = parser.parse_args()

    runs = read_runs(datablations(Path(args.data)))
    runs = select_checkpoints(runs, max_per_run=args.max_per_run)
    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = compare_laws(runs, args.laws.split(","), loo=not args.no_loo, holdout="largest",
                              random_seed=args.seed, draws=args.draws, tune=args.tune,
                              chains=args.chains, progressbar=False)
    seconds = time.perf_counter() - start
    messages = sorted({f"{w.category.__name__}: {w.message}" for w in caught
                       if "bayescale" in w.category.__module__})
    text = result.text()
    print(text)
    for m in messages:
        print(m)
    per_target = result.lfo_targets.copy()
    per_target["epochs"] = per_target["run"].str.extract(r"-(\d+)ep-")[0].astype(int)
    pivot = per_target.pivot_table(index=["family", "epochs"], columns="law",
                                   values=["median", "are", "covered", "lpd"])
    observed = per_target.groupby(["family", "epochs"])["observed"].first()
    print(pivot.round(4).to_string())
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    record = {
        "settings": {"draws": args.draws, "tune": args.tune, "chains": args.chains,
                     "max_per_run": args.max_per_run, "seed": args.seed, "rows": len(runs),
                     "seconds": round(seconds)},
        "result": result.to_dict(), "warnings": messages,
    }
    atomic_write_text(out / "compare_laws_datablations.json",
                      json.dumps(record, indent=1, default=str) + "\n")
    lines = ["# data-constrained vs chinchilla law, datablations curves", "", "```", text,
             "```", "", "Per held-out 8.7B run (final loss):", "", "```",
             pd.concat([observed, pivot], axis=1).round(4).to_string(), "```", ""]
    lines += [f"- {m}" for m in messages]
    atomic_write_text(out / "compare_laws_datablations.md", "\n".join(lines) + "\n")
    print(f"{seconds:.0f} s; wrote {out}/compare_laws_datablations.{{json,md}}")


if __name__ == "__main__":
    main()
