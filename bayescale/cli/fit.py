"""``bayescale fit``, ``predict`` and ``demo``."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from bayescale import _defaults
from bayescale.cli._args import (
    FIT_FILE,
    UsageError,
    _diagnostics_line,
    _positive,
    _prepare_out_dir,
    _sampling_options,
    _save_png,
)


def _write_outputs(fit, out: Path, *, held_out: pd.DataFrame | None = None) -> dict[str, str]:
    """Write fit.nc, summary.csv, diagnostics.json and fit.png into ``out`` (each atomically)."""
    from bayescale.io import atomic_write_text
    from bayescale.plots import plot_fit

    paths = {name: out / name for name in (FIT_FILE, "summary.csv", "diagnostics.json",
                                            "fit.png")}
    fit.save(paths[FIT_FILE])
    atomic_write_text(paths["summary.csv"], fit.summary().to_csv(index=False))
    atomic_write_text(paths["diagnostics.json"],
                      json.dumps(fit.diagnostics.to_dict(), indent=2) + "\n")
    _save_png(plot_fit(fit, held_out=held_out), paths["fit.png"])
    return {name: str(path) for name, path in paths.items()}


def _fit(args, runs, *, columns=None):
    from bayescale.law import ScalingLaw

    law = ScalingLaw(args.law, likelihood=args.likelihood, pooling=args.pooling)
    return law.fit(
        runs, columns=columns, sampler=args.sampler, draws=args.draws, tune=args.tune,
        chains=args.chains, random_seed=args.seed, target_accept=args.target_accept,
    )


def _exponent_lines(fit) -> list[str]:
    summary = fit.summary()
    lines = []
    for name in ("alpha", "beta"):
        rows = summary[summary["parameter"] == name]
        for _, row in rows.iterrows():
            lines.append(
                f"  {name:<5} {row['family']:<16} {row['median']:.3f}  "
                f"[{row['lower']:.3f}, {row['upper']:.3f}]"
            )
    return lines


def cmd_fit(args) -> dict | str:
    """``bayescale fit DATA.csv --law chinchilla --out DIR``."""
    from bayescale.data import parse_column_mapping, read_runs

    columns = parse_column_mapping(args.columns)
    runs = read_runs(args.data, columns=columns)  # validate before creating anything
    out = _prepare_out_dir(args.out)
    fit = _fit(args, runs)
    paths = _write_outputs(fit, out)
    if args.json:
        return {"out": str(out), "files": paths, "diagnostics": fit.diagnostics.to_dict(),
                "law": fit.law.form, "families": fit.families}
    lines = [f"{fit!r}", f"exponents (median [{_defaults.CI_PROB:.0%} interval]):",
             *_exponent_lines(fit), _diagnostics_line(fit), f"wrote {', '.join(paths.values())}"]
    return "\n".join(lines)


def cmd_predict(args) -> dict | str:
    """``bayescale predict DIR --params N --tokens D``."""
    from bayescale.fits import load_fit

    folder = Path(args.dir)
    path = folder / FIT_FILE if folder.is_dir() else folder
    fit = load_fit(path)
    point = {}
    for name in ("params", "tokens", "flops"):
        value = getattr(args, name)
        if value is not None:
            point[name] = [value]
    missing = [n for n in fit.form.inputs if n not in point
               and not (n == "flops" and {"params", "tokens"} <= set(point))]
    if missing:
        raise UsageError(f"law {fit.law.form} needs --{' --'.join(missing)} to predict")
    table = fit.predict(pd.DataFrame(point), family=args.family, prob=args.prob,
                        kind=args.kind, random_seed=args.seed)
    row = table.iloc[0]
    result = {
        "mean": float(row["mean"]),
        "median": float(row["median"]),
        "lower": float(row["lower"]),
        "upper": float(row["upper"]),
        "prob": float(row["prob"]),
        "family": str(row["family"]),
        "kind": args.kind,
        "inputs": {k: float(row[k]) for k in ("params", "tokens", "flops") if k in row},
        "diagnostics_ok": fit.diagnostics.ok,
    }
    if args.json:
        return result
    inputs = ", ".join(f"{k}={v:.4g}" for k, v in result["inputs"].items())
    return (f"{fit.law.form} law, family {result['family']}, {inputs}: loss median "
            f"{result['median']:.4f} nats/token, {result['prob']:.0%} interval "
            f"[{result['lower']:.4f}, {result['upper']:.4f}] ({args.kind})")


def cmd_demo(args) -> dict | str:
    """Fit the bundled Gadre et al. runs below 1e9 parameters; predict the held-out large runs."""
    from bayescale.data import read_runs
    from bayescale.datasets import GADRE_COLUMNS, load_gadre_overtrain

    runs = read_runs(load_gadre_overtrain(), columns=GADRE_COLUMNS)
    small, large = runs[runs["params"] < 1e9], runs[runs["params"] >= 1e9]
    out = _prepare_out_dir(args.out)
    args.law = "chinchilla"
    fit = _fit(args, small)
    paths = _write_outputs(fit, out, held_out=large)
    predictions = []
    for family, rows in large.groupby("family"):
        table = fit.predict(rows[["params", "tokens"]], family=family, kind="predictive",
                            random_seed=args.seed)
        table["observed"] = rows["loss"].to_numpy()
        predictions.append(table)
    pred = pd.concat(predictions, ignore_index=True)
    pred["covered"] = (pred["lower"] <= pred["observed"]) & (pred["observed"] <= pred["upper"])
    pred["abs_rel_error"] = (pred["median"] - pred["observed"]).abs() / pred["observed"]
    from bayescale.io import atomic_write_text  # held-out predictions, for 'bayescale report'

    paths["predictions.csv"] = str(atomic_write_text(out / "predictions.csv",
                                                     pred.to_csv(index=False)))
    if args.json:
        return {
            "out": str(out), "files": paths, "diagnostics": fit.diagnostics.to_dict(),
            "exponents": fit.summary().query("parameter in ['alpha', 'beta']")
            .drop(columns=["r_hat", "ess_bulk"]).to_dict(orient="records"),
            "predictions": pred.to_dict(orient="records"),
        }
    lines = [
        "bayescale demo: Gadre et al. 2024 over-trained open_lm runs (C4 validation loss),",
        f"fitted on the {len(small)} runs below 1e9 parameters; the {len(large)} larger runs "
        "are held out.",
        "",
        f"exponents of L = E + A/N^alpha + B/D^beta (median [{_defaults.CI_PROB:.0%} interval]):",
        *_exponent_lines(fit),
        "",
        f"held-out runs: predicted loss of a new run (median [{_defaults.CI_PROB:.0%} "
        "interval]) vs observed:",
    ]
    for _, row in pred.iterrows():
        lines.append(
            f"  {row['family']:<4} N={row['params']:.3g} D={row['tokens']:.3g}: "
            f"{row['median']:.3f} [{row['lower']:.3f}, {row['upper']:.3f}]  observed "
            f"{row['observed']:.3f}  {'covered' if row['covered'] else 'MISSED'}  "
            f"(error {row['abs_rel_error']:.1%})"
        )
    lines += [
        f"  {int(pred['covered'].sum())}/{len(pred)} inside their intervals; median abs. "
        f"relative error {pred['abs_rel_error'].median():.2%}",
        "",
        _diagnostics_line(fit),
        f"wrote {', '.join(paths.values())}",
    ]
    return "\n".join(lines)


def register(sub, common) -> None:
    """The ``fit``, ``predict`` and ``demo`` subcommands."""
    fit = sub.add_parser("fit", parents=[common], help="fit a law to a run table (CSV)")
    fit.add_argument("data", help="CSV with columns params, tokens, loss [, family, seed, run]")
    fit.add_argument("--law", default="chinchilla", help="law name (see bayescale.models)")
    fit.add_argument("--out", required=True, help="output folder")
    fit.add_argument("--columns", help="rename columns: params=n_params,tokens=D,...")
    _sampling_options(fit, draws=_defaults.DRAWS, tune=_defaults.TUNE)
    fit.set_defaults(func=cmd_fit)

    pred = sub.add_parser("predict", parents=[common], help="predict loss from a saved fit")
    pred.add_argument("dir", help="folder written by 'bayescale fit' (or a fit.nc file)")
    pred.add_argument("--params", type=_positive, help="N, parameters")
    pred.add_argument("--tokens", type=_positive, help="D, training tokens")
    pred.add_argument("--flops", type=_positive, help="C, training FLOPs (compute laws)")
    pred.add_argument("--family", help="fitted family, or omit for a new family")
    pred.add_argument("--prob", type=float, default=_defaults.CI_PROB)
    pred.add_argument("--kind", default="mean", choices=("mean", "predictive"),
                      help="mean curve, or a new run (adds seed and observation noise)")
    pred.add_argument("--seed", type=int, default=0)
    pred.set_defaults(func=cmd_predict)

    demo = sub.add_parser("demo", parents=[common], help="fit the bundled real dataset")
    demo.add_argument("--out", default="bayescale-demo", help="output folder")
    _sampling_options(demo, draws=_defaults.DRAWS, tune=_defaults.TUNE)
    demo.set_defaults(func=cmd_demo)
