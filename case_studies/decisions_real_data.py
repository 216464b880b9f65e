"""Decisions on real data: does MaMMUT overtake CLIP, and what is compute-optimal for Chinchilla.

Reproduces the numbers of the README section "Decisions":

    python case_studies/decisions_real_data.py [--out decisions-real-data] [--quick]

Data are read from ``../shared/data`` (next to the checkout; ``$BAYESCALE_SHARED_DATA``
overrides), never copied into the package: ``laion_clip_mammut`` has no licence.

1. LAION CLIP vs MaMMUT (Nezhurina et al. 2025), DataComp-1.4B, cosine schedule, ImageNet-1k
   zero-shot top-1. Each family's best-so-far envelope along compute (the cells that beat every
   cheaper cell, the frontier the paper fits) is turned into an error rate 1 - accuracy and
   fitted with the compute law E + A C^-alpha, both recipes in one model. Fitted once on the
   cells below 4e10 GFLOPs and once on all cells; cells below a lower cut (1e8, 1e9 or 3e9
   GFLOPs: near chance the error is not a power law) are left out of both. Compute is the
   repository's GFLOPs x 1e9 FLOPs.
2. Chinchilla (Hoffmann et al. 2022, as extracted by Besiroglu et al. 2024; the
   ``hitchhiker_colpret`` rows): the chinchilla law on the 245 final losses, then the
   compute-optimal N*, D* and tokens per parameter with 90% intervals.

About 1.5 minutes on 2 CPU cores (``--quick``: fewer draws, for a smoke test).
"""

from __future__ import annotations

import argparse
import math
import os
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from bayescale import ParamPrior, ScalingLaw
from bayescale import decisions as dc
from bayescale.datasets import tables
from bayescale.io import atomic_write
from bayescale.plots.decisions import plot_compute_optimal, plot_crossover

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("BAYESCALE_SHARED_DATA", ROOT.parent / "shared" / "data"))
GFLOP = 1e9
CUT_GFLOPS = 4e10  # the partial fit sees only cells below this compute
#: Cells below this compute are left out of both fits: near chance the error is not a power law.
#: The answer from the cells below 4e10 GFLOPs depends on this choice, so three are reported.
MIN_GFLOPS = (1e8, 1e9, 3e9)
RANGE_GFLOPS = (1e9, 1e13)  # where a crossover is looked for
TARGETS_GFLOPS = (1e11, 1e12, 1e13)
CHINCHILLA_BUDGETS = (1e21, 5.76e23, 1e25)  # FLOPs; 5.76e23 is Chinchilla's / Gopher's

#: The compute law's default log_L0 prior centres the loss at the reference on e (nats/token);
#: an error rate near 0.4 needs a prior centred lower. The rest are the law's defaults.
ERROR_RATE_PRIORS = {"log_L0": ParamPrior(mu=math.log(0.5), sigma=1.0, tau=0.1, centered=True)}


def save_png(fig, path: Path) -> None:
    """Write ``fig`` as a PNG atomically (a killed run leaves no half file), then close it."""
    import matplotlib.pyplot as plt

    atomic_write(path, lambda tmp: fig.savefig(tmp, format="png", dpi=110))
    plt.close(fig)


def laion_frontier() -> pd.DataFrame:
    """Best-so-far envelope of CLIP and MaMMUT (DataComp, cosine, ImageNet zero-shot)."""
    return tables.laion_frontier(SHARED, "cosine")


def crossing_of_envelopes(frontier: pd.DataFrame) -> str:
    """Where the observed running-best accuracies change the lead (no model), >= MIN_GFLOPS."""
    grid = np.sort(frontier["flops"].unique())
    grid = grid[grid >= min(MIN_GFLOPS) * GFLOP]
    best = {}
    for recipe, rows in frontier.groupby("recipe"):
        rows = rows.sort_values("flops")
        idx = np.searchsorted(rows["flops"].to_numpy(), grid, side="right") - 1
        best[recipe] = rows["accuracy"].to_numpy()[np.maximum(idx, 0)]
    lead = np.sign(best["MaMMUT"] - best["CLIP"])
    changes, previous = [], 0.0
    for c, sign in zip(grid, lead, strict=True):
        if sign != 0 and sign != previous:
            changes.append(f"{'MaMMUT' if sign > 0 else 'CLIP'} from {c / GFLOP:.3g}")
            previous = sign
    return (f"observed best-so-far envelopes change the lead {len(changes) - 1} times "
            "(GFLOPs): " + ", ".join(changes))


def laion(out: Path, draws: int, tune: int, chains: int, min_gflops: float) -> list[str]:
    frontier = laion_frontier()
    frontier = frontier[frontier["flops"] >= min_gflops * GFLOP]
    lines = [f"LAION DataComp/cosine/ImageNet envelope: {len(frontier)} cells >= "
             f"{min_gflops:.0e} GFLOPs ({frontier.groupby('recipe').size().to_dict()})"]
    law = ScalingLaw("compute", pooling="none", priors=ERROR_RATE_PRIORS)
    for label, rows in (("below 4e10 GFLOPs", frontier[frontier["flops"] < CUT_GFLOPS * GFLOP]),
                        ("all data", frontier)):
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            fit = dc.fit_recipes(rows, law=law, draws=draws, tune=tune, chains=chains,
                                 random_seed=1, progressbar=False)
        seconds = time.perf_counter() - start
        lo, hi = (g * GFLOP for g in RANGE_GFLOPS)
        report = dc.decision_report(fit, "CLIP", "MaMMUT", target_flops=TARGETS_GFLOPS[1] * GFLOP,
                                    flops_range=(lo, hi))
        cx = report.crossover
        cmp = dc.compare(fit, "CLIP", "MaMMUT", flops=[g * GFLOP for g in TARGETS_GFLOPS])
        lines += [
            "",
            f"fit on {label}: {len(rows)} cells, max {rows['flops'].max() / GFLOP:.3g} GFLOPs, "
            f"{seconds:.0f} s",
            f"  P(MaMMUT overtakes CLIP in [{RANGE_GFLOPS[0]:.0e}, {RANGE_GFLOPS[1]:.0e}] GFLOPs)"
            f" = {cx.p_b_overtakes:.2f}; crossover given a crossing: median "
            f"{cx.median / GFLOP:.3g} GFLOPs, 90% [{cx.lower / GFLOP:.3g}, "
            f"{cx.upper / GFLOP:.3g}]",
        ]
        for g, (_, r) in zip(TARGETS_GFLOPS, cmp.table.iterrows(), strict=True):
            lines.append(
                f"  at {g:.0e} GFLOPs: P(MaMMUT lower error) = {r['p_b_better']:.2f}, "
                f"error difference MaMMUT - CLIP {r['expected_difference']:+.4f} "
                f"[{r['lower']:+.4f}, {r['upper']:+.4f}]")
        d = fit.diagnostics
        lines.append(f"  diagnostics: {d.divergences} divergences, max r_hat {d.max_rhat:.3f}, "
                     f"min ESS {d.min_ess_bulk:.0f} -> {'ok' if d.ok else 'PROBLEMS'}")
        summary = fit.summary().query("parameter in ['E', 'alpha'] and family in "
                                      "['CLIP', 'MaMMUT']")  # E: irreducible error
        for _, s in summary.iterrows():
            lines.append(f"  {s['parameter']:<5} {s['family']:<6} {s['median']:.3f} "
                         f"[{s['lower']:.3f}, {s['upper']:.3f}]")
        fig = plot_crossover(cx, runs=fit.runs, target_flops=TARGETS_GFLOPS[1] * GFLOP)
        part = "partial" if "below" in label else "full"
        save_png(fig, out / f"laion_{part}_min{min_gflops:.0e}.png")
    return lines


def chinchilla(out: Path, draws: int, tune: int, chains: int) -> list[str]:
    table = pd.read_csv(SHARED / "hitchhiker_colpret" / "lm_loss_curves.csv")
    rows = table[table["family"] == "chinchilla"]
    runs = pd.DataFrame({"run": rows["model_name"], "params": rows["params"].astype(float),
                         "tokens": rows["tokens"].astype(float), "loss": rows["value"]})
    start = time.perf_counter()
    fit = ScalingLaw("chinchilla").fit(runs, draws=draws, tune=tune, chains=chains,
                                       random_seed=1, progressbar=False)
    seconds = time.perf_counter() - start
    result = dc.compute_optimal(fit, list(CHINCHILLA_BUDGETS))
    summary = fit.summary().query("parameter in ['E', 'A', 'B', 'alpha', 'beta'] and "
                                  "family == 'all'")
    lines = [f"Chinchilla (Besiroglu et al. extraction): {len(runs)} final losses, "
             f"{seconds:.0f} s; {fit!r}"]
    for _, s in summary.iterrows():
        lines.append(f"  {s['parameter']:<5} {s['median']:.4g} [{s['lower']:.4g}, "
                     f"{s['upper']:.4g}]")
    for c in CHINCHILLA_BUDGETS:
        lines.append("  " + dc.compute_optimal_text(result, c))
    for _, e in result.exponents.iterrows():
        lines.append(f"  exponent {e['quantity']} {e['median']:.3f} [{e['lower']:.3f}, "
                     f"{e['upper']:.3f}]")
    for name, constants in (("Hoffmann et al. (rounded)", (406.4, 410.7, 0.34, 0.28)),
                            ("Besiroglu et al.", (482.01, 2085.43, 0.3478, 0.3658))):
        n, d = dc.chinchilla_optimum(*constants, 5.76e23)
        lines.append(f"  {name} point estimate at 5.76e23 FLOPs: N* {n:.3g}, D* {d:.3g}, "
                     f"{d / n:.3g} tokens per parameter, a = "
                     f"{constants[3] / (constants[2] + constants[3]):.3f}")
    frontier = dc.compute_optimal(fit, np.geomspace(1e18, 1e25, 60))
    save_png(plot_compute_optimal(frontier, runs=fit.runs), out / "chinchilla_optimal.png")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="decisions-real-data", help="folder for the figures")
    parser.add_argument("--quick", action="store_true", help="few draws (smoke test)")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    draws, tune, chains = (200, 200, 2) if args.quick else (1000, 1000, 4)
    lines = [crossing_of_envelopes(laion_frontier()), ""]
    for min_gflops in MIN_GFLOPS:
        lines += laion(out, draws, tune, chains, min_gflops) + [""]
    lines += chinchilla(out, draws, tune, chains)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
