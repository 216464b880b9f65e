"""Emergence and downstream metrics on real data: the numbers of the README section "Emergence".

    python benchmarks/emergence_real.py [--data ../shared/data] [--out benchmarks/results]
        [--draws 1000] [--tune 1000] [--chains 4] [--only pythia|gadre]

1. **Pythia LAMBADA** (``pythia_evals``; zero-shot ``lambada_openai`` accuracy of the seven
   standard Pile runs 70M-12B, every checkpoint from step 1; 5,153 items per evaluation, the
   per-task default): the sigmoid-in-log-compute law with a beta-binomial likelihood, one
   family per model size, fitted only to the checkpoints below 1e20 FLOPs (C = 6 N D). The
   posterior of the compute at which the expected accuracy reaches 0.5 is compared with the
   observed crossing (first checkpoint >= 0.5, and the crossing interpolated in log C between
   the checkpoints around it). The same law fitted to every checkpoint is shown for reference.
2. **Gadre et al. two-stage** (bundled runs; 17-task average top-1 error): the over-training loss
   law fitted to the runs below 1e9 parameters (C4 validation loss), chained draw by draw into
   the loss-to-error law error = epsilon - k exp(-gamma L) (epsilon = 1 - chance, chance =
   3.25/17, the mean chance accuracy of the 17 tasks) fitted to the same runs' (loss, error)
   pairs; predicted for the held-out rpj 1.4B x32 run and the three 6.9B runs. The link alone
   at the observed loss is shown to separate the two stages' errors.

Writes ``emergence_real.json`` and ``emergence_real.md`` to ``--out`` and the Pythia figure to
``docs/emergence_pythia.png``.
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from bayescale import ScalingLaw
from bayescale.datasets import GADRE_COLUMNS, load_gadre_overtrain
from bayescale.io import atomic_write, atomic_write_text
from bayescale.metric import MetricLaw, emergence, two_stage

ROOT = Path(__file__).resolve().parents[1]
PYTHIA_CUT = 1e20  # FLOPs: fit only checkpoints below this
LEVEL = 0.5
#: mean chance accuracy of Gadre et al.'s 17 tasks (6 x 0.25, 4 x 0.5, 7 x 0), from
#: gadre_overtrain/downstream.csv (chance_accuracy of the tasks with in_17_task_subset)
GADRE_17_CHANCE = 3.25 / 17
GADRE_TARGETS = (("rpj", 1.44e9, 32.0), ("c4", 6.89e9, 1.0), ("rpj", 6.89e9, 1.0),
                 ("rw", 6.89e9, 1.0))


def pythia_lambada(data: Path) -> pd.DataFrame:
    """Zero-shot LAMBADA accuracy of the standard (non-deduplicated) Pythia runs."""
    evals = pd.read_csv(data / "pythia_evals" / "evals.csv")
    rows = evals[(evals["task"] == "lambada_openai") & (evals["metric"] == "acc")
                 & (evals["shots"] == 0) & (evals["variant"] == "standard")
                 & ~evals["deduped"].astype(bool) & (evals["step"] > 0)].copy()
    rows["flops"] = 6.0 * rows["params"].astype(float) * rows["tokens"].astype(float)
    return pd.DataFrame({"family": rows["size_label"], "params": rows["params"].astype(float),
                         "tokens": rows["tokens"].astype(float), "flops": rows["flops"],
                         "accuracy": rows["value"], "task": rows["task"],
                         "chance": rows["chance"], "step": rows["step"]})


def observed_crossing(rows: pd.DataFrame, level: float) -> tuple[float, float]:
    """First checkpoint compute with accuracy >= level, and the crossing interpolated in log C
    between it and the checkpoint before (nan when never reached)."""
    rows = rows.sort_values("flops")
    above = np.flatnonzero(rows["accuracy"].to_numpy() >= level)
    if not above.size:
        return float("nan"), float("nan")
    i = above[0]
    c, a = np.log(rows["flops"].to_numpy()), rows["accuracy"].to_numpy()
    if i == 0:
        return float(np.exp(c[0])), float(np.exp(c[0]))
    frac = (level - a[i - 1]) / (a[i] - a[i - 1])
    return float(np.exp(c[i])), float(np.exp(c[i - 1] + frac * (c[i] - c[i - 1])))


#: (label, metric law, family column, rows): the Pythia fits, all on the same data table
PYTHIA_FITS = (
    ("gompertz_size, below 1e20", "gompertz_size", "suite", "below"),
    ("sigmoid per size, below 1e20", "sigmoid", "size", "below"),
    ("gompertz_size, all checkpoints", "gompertz_size", "suite", "all"),
)


def run_pythia(data: Path, sampling: dict) -> dict:
    table = pythia_lambada(data)
    sizes = sorted(table["family"].unique(), key=lambda s: table.loc[
        table["family"] == s, "params"].iloc[0])
    size_params = {s: float(table.loc[table["family"] == s, "params"].iloc[0]) for s in sizes}
    observed = {s: observed_crossing(table[table["family"] == s], LEVEL) for s in sizes}
    out = {"data": "pythia_evals lambada_openai acc, zero-shot, standard Pile runs",
           "level": LEVEL, "cut_flops": PYTHIA_CUT, "fits": {}}
    for label, law, family, which in PYTHIA_FITS:
        subset = table[table["flops"] < PYTHIA_CUT] if which == "below" else table
        frame = subset.assign(size=subset["family"])
        frame["family"] = "pythia" if family == "suite" else frame["size"]
        start = time.perf_counter()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            fit = MetricLaw(law).fit(frame.drop(columns="size"), **sampling)
        seconds = time.perf_counter() - start
        rows, figure_result = [], None
        for size in sizes:
            if family == "suite":
                result = emergence(fit, LEVEL, target_flops=4e20, flops_range=(1e17, 1e24),
                                   params=size_params[size])
                r = result.row("pythia")
                if size == "1.4b":
                    figure_result = result
            else:
                result = emergence(fit, LEVEL, target_flops=4e20, flops_range=(1e17, 1e24))
                r = result.row(size)
                figure_result = result
            first, interp = observed[size]
            lower = r["lower"] if r["lower"] is not None else float("inf")
            upper = r["upper"] if r["upper"] is not None else float("inf")
            rows.append({**r, "family": size, "params": size_params[size],
                         "rows_fitted": int((subset["family"] == size).sum()),
                         "observed_first_checkpoint": first, "observed_interpolated": interp,
                         "covered": bool(np.isfinite(interp) and lower <= interp <= upper)})
        out["fits"][label] = {
            "law": law, "rows": len(subset), "families": rows,
            "likelihood": fit.likelihood, "seconds": seconds,
            "diagnostics": fit.diagnostics.to_dict(),
            "warnings": sorted({str(w.message)[:200] for w in caught}),
        }
        if label == PYTHIA_FITS[0][0]:
            from bayescale.plots.emergence import plot_emergence

            fig = plot_emergence(fit, figure_result)
            fig.axes[0].set_title("Pythia LAMBADA (zero-shot), gompertz_size fitted below "
                                  "1e20 FLOPs; dotted: 4e20", fontsize=9)
            fig.axes[1].set_title("threshold posterior of the 1.4B model", fontsize=9)
            path = ROOT / "docs" / "emergence_pythia.png"
            atomic_write(path, lambda tmp, fig=fig: fig.savefig(tmp, format="png", dpi=100))
            import matplotlib.pyplot as plt

            plt.close(fig)
    return out


def gadre_tables() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    raw = load_gadre_overtrain()
    small = raw[raw["params"] < 1e9]
    metric = pd.DataFrame({"family": small["dataset"], "loss": small["loss_c4_val"],
                           "accuracy": 1.0 - small["downstream_avg_top1_error_17"]})
    targets = []
    for family, n, mult in GADRE_TARGETS:
        row = raw[(raw["dataset"] == family) & np.isclose(raw["params"], n, rtol=0.01)
                  & (raw["chinchilla_multiplier"] == mult)].iloc[0]
        targets.append({"family": family, "params": float(row["params"]),
                        "tokens": float(row["tokens"]), "multiplier": mult,
                        "observed_loss": float(row["loss_c4_val"]),
                        "observed_error": float(row["downstream_avg_top1_error_17"])})
    return small, metric, pd.DataFrame(targets)


def run_gadre(sampling: dict) -> dict:
    small, metric, targets = gadre_tables()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        loss_fit = ScalingLaw("overtraining").fit(small, columns=GADRE_COLUMNS, **sampling)
        metric_fit = MetricLaw("gadre_error", chance=GADRE_17_CHANCE).fit(metric, **sampling)
    rows = []
    for _, t in targets.iterrows():
        point = pd.DataFrame({"params": [t["params"]], "tokens": [t["tokens"]]})
        chained, _ = two_stage(loss_fit, metric_fit, point, loss_family=t["family"],
                               metric_family=t["family"], loss_kind="predictive")
        c = chained.iloc[0]
        link = metric_fit.predict({"loss": [t["observed_loss"]]}, family=t["family"],
                                  kind="predictive").iloc[0]
        err = t["observed_error"]
        rows.append({
            **t.to_dict(),
            "loss_median": c["loss_median"], "loss_lower": c["loss_lower"],
            "loss_upper": c["loss_upper"],
            # error = 1 - accuracy: the interval's ends swap
            "error_median": 1 - c["pred_median"], "error_lower": 1 - c["pred_upper"],
            "error_upper": 1 - c["pred_lower"],
            "error_mean_curve_median": 1 - c["median"],
            "covered": bool(1 - c["pred_upper"] <= err <= 1 - c["pred_lower"]),
            "link_only_error_median": 1 - link["median"],
            "link_only_error_lower": 1 - link["upper"],
            "link_only_error_upper": 1 - link["lower"],
            "link_only_covered": bool(1 - link["upper"] <= err <= 1 - link["lower"]),
        })
    summary = metric_fit.idata["posterior"]
    gamma = np.exp(summary["log_gamma"]).quantile([0.05, 0.5, 0.95], dim=("chain", "draw"))
    return {
        "data": "gadre_overtrain (bundled), fitted on the 95 runs below 1e9 parameters",
        "chance_17": GADRE_17_CHANCE,
        "targets": rows,
        "gamma_per_family": {str(f): [float(v) for v in gamma.sel(family=f).to_numpy()]
                             for f in gamma["family"].to_numpy()},
        "loss_diagnostics": loss_fit.diagnostics.to_dict(),
        "metric_diagnostics": metric_fit.diagnostics.to_dict(),
        "metric_likelihood": metric_fit.likelihood,
        "warnings": sorted({str(w.message)[:200] for w in caught}),
    }


def markdown(results: dict) -> str:
    def fmt(v):
        return "inf" if v is None else f"{v:.2e}"

    lines = []
    if "pythia" in results:
        p = results["pythia"]
        lines += [(f"Pythia LAMBADA: compute (FLOPs) at which the expected accuracy reaches "
                   f"{p['level']} (median [90%])"), "",
                  ("| size | fit | rows | predicted | P(reached by 4e20) | P(not emerged) | "
                   "observed (first ckpt >= 0.5 / interpolated) |"),
                  "|---|---|---|---|---|---|---|"]
        for name, fit in p["fits"].items():
            for r in fit["families"]:
                lines.append(
                    f"| {r['family']} | {name} | {r['rows_fitted']} | {fmt(r['median'])} "
                    f"[{fmt(r['lower'])}, {fmt(r['upper'])}] | {r['p_reached_by_target']:.2f} | "
                    f"{r['p_not_emerged']:.2f} | {r['observed_first_checkpoint']:.2e} / "
                    f"{r['observed_interpolated']:.2e} |")
            d = fit["diagnostics"]
            lines.append(f"| | {name} | | diagnostics: {d['divergences']} div, r_hat "
                         f"{d['max_rhat']:.3f}, ESS {d['min_ess_bulk']:.0f} | | | |")
        lines.append("")
    if "gadre" in results:
        g = results["gadre"]
        lines += ["Gadre et al. 17-task average top-1 error, two-stage (median [90%])", "",
                  ("| target | loss pred. | observed loss | error pred. (two-stage) | "
                   "link only at observed loss | observed error |"), "|---|---|---|---|---|---|"]
        for r in g["targets"]:
            lines.append(
                f"| {r['family']} N={r['params']:.3g} x{r['multiplier']:g} | "
                f"{r['loss_median']:.3f} [{r['loss_lower']:.3f}, {r['loss_upper']:.3f}] | "
                f"{r['observed_loss']:.3f} | {r['error_median']:.3f} [{r['error_lower']:.3f}, "
                f"{r['error_upper']:.3f}] {'' if r['covered'] else 'miss'} | "
                f"{r['link_only_error_median']:.3f} [{r['link_only_error_lower']:.3f}, "
                f"{r['link_only_error_upper']:.3f}] | {r['observed_error']:.3f} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--tune", type=int, default=1000)
    parser.add_argument("--chains", type=int, default=4)
    parser.add_argument("--only", choices=("pythia", "gadre"))
    args = parser.parse_args()
    sampling = {"draws": args.draws, "tune": args.tune, "chains": args.chains,
                "random_seed": 0, "progressbar": False}
    results = {"sampling": {k: v for k, v in sampling.items() if k != "progressbar"}}
    if args.only in (None, "pythia"):
        results["pythia"] = run_pythia(args.data, sampling)
    if args.only in (None, "gadre"):
        results["gadre"] = run_gadre(sampling)
    suffix = f"_{args.only}" if args.only else ""
    args.out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(args.out / f"emergence_real{suffix}.json",
                      json.dumps(results, indent=1, default=float) + "\n")
    text = markdown(results)
    atomic_write_text(args.out / f"emergence_real{suffix}.md", text)
    print(text)


if __name__ == "__main__":
    main()
