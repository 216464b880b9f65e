"""Backtests on real training curves: bayescale vs the Hoffmann et al. reference estimator.

Reproduces the tables of the README section "Backtests on real data":

    python benchmarks/backtest_real.py [--data ../shared/data] [--out benchmarks/results]
        [--draws 500] [--tune 500] [--chains 4] [--n-boot 200] [--quick]

Targets (each family's largest model, final loss, held out; everything smaller is fitted):

- hitchhiker_colpret (Choshen et al. 2024 collection), seven families with checkpoints:
  GPT-3 (val loss, 8 sizes: predict 175B from <= 13B), OPT (log val perplexity, 6 sizes:
  predict 175B from <= 30B) and five datablations sets (C4 and OSCAR with 1, 2 and 4 epochs of
  repetition: predict 8.7B from 2.8B and 4.2B). Families are pooled by source (one bayescale fit
  for the five datablations sets, one for GPT-3, one for OPT); the reference estimator is
  fitted to each family alone. Rows of a run at the same token count (digitiser duplicates in
  GPT-3) are averaged; log-perplexity is loss in nats/token.
- gadre_overtrain (bundled): the paper's two held-out targets, the 1.4B-parameter run at 921B
  tokens (RedPajama) and the three 6.9B runs at 138B tokens, from the runs below 1e9
  parameters (the other 1.4B runs are dropped, as in the paper); final checkpoints only. Fitted
  with the paper's own law (``overtraining``: chinchilla with alpha = beta), by bayescale and by
  the reference estimator alike; the chinchilla law is shown as an ablation.

Checkpoint conditions on the hitchhiker families (the selection applies to fitted runs only):
final checkpoints only; all checkpoints; checkpoints from 10B tokens on (Choshen et al.'s
early-checkpoint cut). Runs are thinned to at most ``--max-per-run`` log-spaced checkpoints
(cost; see bayescale.checkpoints). Each condition is fitted with the default residual model
(AR(1) along a run for checkpoint data) and, to show what it buys, with iid residuals.

Posterior predictive check on held-out checkpoints: every checkpoint of each held-out run (after
the same token cut) is predicted as a checkpoint of a new run; the coverage of the 90%
intervals and the mean log score tell AR(1) from iid residuals.
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path

import pandas as pd

import bayescale.model
from bayescale import ScalingLaw
from bayescale.datasets import GADRE_COLUMNS, load_gadre_overtrain
from bayescale.datasets.tables import hitchhiker_curves
from bayescale.evaluation.holdout import backtest
from bayescale.io import atomic_write_text

ROOT = Path(__file__).resolve().parents[1]
DATABLATIONS = ("datablations-c4-1ep", "datablations-oscar-1ep", "datablations-c4-2ep",
                "datablations-oscar-2ep", "datablations-c4-4ep")
SOURCES = {"gpt3": ("gpt3",), "opt": ("opt",), "datablations": DATABLATIONS}
BASELINE_COLUMNS = ("baseline_estimate", "baseline_lower", "baseline_upper", "baseline_are",
                    "baseline_covered")
#: the correlation-length prior bayescale used before the backtests (ablation row)
WIDE_CORR_LENGTH_PRIOR = (-0.7, 1.4)
CONDITIONS = {
    "final checkpoints only": {"annealed_only": True},
    "all checkpoints": {},
    "checkpoints >= 10B tokens": {"min_tokens": 1e10},
}


def gadre_table() -> pd.DataFrame:
    """Gadre et al.'s runs below 1e9 parameters plus the paper's held-out targets."""
    d = load_gadre_overtrain()
    targets = (d["params"] > 6e9) | (d["run_name"] == "rpj-open_lm_1b-32.0")
    d = d[(d["params"] < 1e9) | targets]
    return d.rename(columns={v: k for k, v in GADRE_COLUMNS.items()})[
        ["family", "run", "params", "tokens", "loss"]]


def run_one(table, *, law, selection, holdout, args, baseline=True) -> dict:
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = backtest(table, law=law, holdout=holdout, selection={**selection, **args.thin},
                          prob=0.9, baseline=baseline, n_boot=args.n_boot,
                          random_seed=args.seed, draws=args.draws, tune=args.tune,
                          chains=args.chains, progressbar=False, checkpoints=True)
    d = result.fit.diagnostics
    summary = result.fit.summary()
    noise = summary[summary["family"] == ""].set_index("parameter")["median"].to_dict()
    return {"table": result.table, "seconds": time.perf_counter() - start,
            "checkpoints": result.checkpoints,
            "residuals": result.fit.residuals, "rows": result.settings["rows"],
            "diagnostics": {"divergences": d.divergences, "max_rhat": round(d.max_rhat, 3),
                            "min_ess_bulk": round(d.min_ess_bulk)},
            "noise": {k: round(v, 4) for k, v in noise.items()}}


def hitchhiker_row(args, condition, selection, label, law, baselines) -> dict:
    """One condition on the three hitchhiker sources; reference fits are shared by label."""
    parts = []
    for source, families in SOURCES.items():
        key = (condition, source)
        out = run_one(hitchhiker_curves(args.data, families), law=law, selection=selection,
                      holdout="largest", args=args, baseline=key not in baselines)
        if key in baselines:
            for name in BASELINE_COLUMNS:
                out["table"][name] = baselines[key][name].to_numpy()
        else:
            baselines[key] = out["table"][list(BASELINE_COLUMNS)]
        out["source"] = source
        parts.append(out)
        print(f"{condition} / {label} / {source}: {out['seconds']:.0f} s, {out['rows']} rows, "
              f"{out['residuals']}, {out['diagnostics']}, {out['noise']}", flush=True)
    table = pd.concat([p["table"] for p in parts], ignore_index=True)
    held = pd.concat([p["checkpoints"] for p in parts], ignore_index=True)
    return {"data": "hitchhiker (7 families)", "condition": condition, "residuals": label,
            "table": table, "summary": summarise(table), "checkpoints": held,
            "fits": [{k: p[k] for k in ("source", "seconds", "rows", "residuals", "diagnostics",
                                        "noise")} for p in parts]}


def summarise(table: pd.DataFrame) -> dict:
    return {"targets": len(table), "median_are": float(table["are"].median()),
            "coverage": float(table["covered"].mean()),
            "baseline_median_are": float(table["baseline_are"].median()),
            "baseline_coverage": float(table["baseline_covered"].astype(float).mean())}


def markdown(rows: list[dict]) -> str:
    lines = [("| data | checkpoints | residuals | targets | bayescale median ARE | bayescale "
             "90% coverage | reference median ARE | reference 90% coverage |"),
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        s = r["summary"]
        lines.append(
            f"| {r['data']} | {r['condition']} | {r['residuals']} | {s['targets']} | "
            f"{s['median_are']:.2%} | {round(s['coverage'] * s['targets'])}/{s['targets']} | "
            f"{s['baseline_median_are']:.2%} | "
            f"{round(s['baseline_coverage'] * s['targets'])}/{s['targets']} |")
    return "\n".join(lines)


def checkpoint_check(rows: list[dict]) -> str:
    """The held-out checkpoint check: coverage and log score per condition and residual model."""
    lines = [("| checkpoints | residuals | held-out checkpoints | 90% coverage | mean log score | "
             "median ARE |"), "|---|---|---|---|---|---|"]
    for r in rows:
        c = r.get("checkpoints")
        if c is None or r["condition"] == "final checkpoints only":
            continue
        are = ((c["median"] - c["observed"]).abs() / c["observed"]).median()
        lines.append(f"| {r['condition']} | {r['residuals']} | {len(c)} | "
                     f"{c['covered'].mean():.0%} | {c['log_score'].mean():.2f} | {are:.2%} |")
    return "\n".join(lines)


def per_target(rows: list[dict]) -> str:
    lines = [("| data | checkpoints | residuals | family | N | observed | bayescale median "
             "[90%] | ARE | reference estimate [90% bootstrap] | ARE |"),
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        for _, t in r["table"].iterrows():
            lines.append(
                f"| {r['data']} | {r['condition']} | {r['residuals']} | {t['family']} | "
                f"{t['params']:.3g} | {t['observed']:.3f} | {t['median']:.3f} "
                f"[{t['lower']:.3f}, {t['upper']:.3f}]{'' if t['covered'] else ' miss'} | "
                f"{t['are']:.2%} | {t['baseline_estimate']:.3f} [{t['baseline_lower']:.3f}, "
                f"{t['baseline_upper']:.3f}]{'' if t['baseline_covered'] else ' miss'} | "
                f"{t['baseline_are']:.2%} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    parser.add_argument("--draws", type=int, default=500)
    parser.add_argument("--tune", type=int, default=500)
    parser.add_argument("--chains", type=int, default=4)
    parser.add_argument("--n-boot", type=int, default=200)
    parser.add_argument("--max-per-run", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true",
                        help="default residuals only; final-only and all-checkpoint conditions")
    args = parser.parse_args()
    args.thin = {"max_per_run": args.max_per_run}
    args.out.mkdir(parents=True, exist_ok=True)
    rows, baselines = [], {}
    conditions = dict(CONDITIONS)
    if args.quick:
        conditions.pop("checkpoints >= 10B tokens")
    for condition, selection in conditions.items():
        rows.append(hitchhiker_row(args, condition, selection, "default (auto)",
                                   ScalingLaw("chinchilla"), baselines))
        if condition == "final checkpoints only" or args.quick:
            continue  # one row per run: the default already means iid residuals
        rows.append(hitchhiker_row(args, condition, selection, "iid",
                                   ScalingLaw("chinchilla", residuals="iid"), baselines))
        if condition == "all checkpoints":
            default_prior = bayescale.model.CORR_LENGTH_PRIOR
            bayescale.model.CORR_LENGTH_PRIOR = WIDE_CORR_LENGTH_PRIOR
            try:
                rows.append(hitchhiker_row(args, condition, selection,
                                           "ar1, wide corr_length prior",
                                           ScalingLaw("chinchilla", residuals="ar1"),
                                           baselines))
            finally:
                bayescale.model.CORR_LENGTH_PRIOR = default_prior
    gadre = {}
    for law in ("overtraining", "chinchilla"):
        out = run_one(gadre_table(), law=ScalingLaw(law), selection={}, holdout=1e9, args=args)
        print(f"gadre {law}: {out['seconds']:.0f} s, {out['diagnostics']}, {out['noise']}",
              flush=True)
        gadre[law] = out
        rows.append({"data": f"gadre (paper's 4 targets), {law} law",
                     "condition": "final checkpoints only", "residuals": "default (auto)",
                     "table": out["table"], "summary": summarise(out["table"]),
                     "fits": [{k: out[k] for k in ("seconds", "rows", "residuals",
                                                   "diagnostics", "noise")}]})
    # the defaults on every target: hitchhiker with all checkpoints, gadre with its own law
    combined = pd.concat([rows[1]["table"], gadre["overtraining"]["table"]],
                         ignore_index=True)
    rows.append({"data": "all 11 targets (hitchhiker all checkpoints + gadre overtraining)",
                 "condition": "default selection", "residuals": "default (auto)",
                 "table": combined, "summary": summarise(combined), "fits": []})
    text = ["## Summary", "", markdown(rows), "",
            "## Held-out checkpoints (posterior predictive check, hitchhiker)", "",
            checkpoint_check(rows), "", "## Per target", "", per_target(rows), "",
            (f"NUTS: {args.chains} chains x {args.draws} draws ({args.tune} tuning), nutpie; "
            f"reference: {args.n_boot} row-bootstrap refits; runs thinned to <= "
            f"{args.max_per_run} log-spaced checkpoints.")]
    atomic_write_text(args.out / "backtest_real.md", "\n".join(text) + "\n")
    dump = [{k: (v.to_dict(orient="records") if isinstance(v, pd.DataFrame) else v)
             for k, v in r.items() if k != "checkpoints"} for r in rows]
    atomic_write_text(args.out / "backtest_real.json",
                      json.dumps(dump, indent=1, default=str) + "\n")
    print("\n".join(text))


if __name__ == "__main__":
    main()
