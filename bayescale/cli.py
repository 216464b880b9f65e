"""The ``bayescale`` command line: ``fit``, ``predict`` and ``demo``.

stdout carries only the result (with ``--json``, exactly one JSON object); progress, warnings
and errors go to stderr. Bad input or a bad path exits with status 2 and one line on stderr
(a traceback only with ``--debug``).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import warnings
from pathlib import Path

import pandas as pd

from bayescale import _defaults
from bayescale.exceptions import BayescaleError, ConvergenceWarning

FIT_FILE = "fit.nc"


class UsageError(BayescaleError, ValueError):
    """A command-line argument is unusable."""


def _prepare_out_dir(path: str) -> Path:
    """Create ``path`` if needed and check it is writable, before any sampling starts."""
    out = Path(path)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise OSError(f"cannot create output folder {out}: {err.strerror or err}") from err
    if not os.access(out, os.W_OK | os.X_OK):
        raise PermissionError(f"output folder {out} is not writable")
    return out


def _write_outputs(fit, out: Path, *, held_out: pd.DataFrame | None = None) -> dict[str, str]:
    """Write fit.nc, summary.csv, diagnostics.json and fit.png into ``out`` (each atomically)."""
    from bayescale.io import atomic_write, atomic_write_text
    from bayescale.plotting import plot_fit

    paths = {name: out / name for name in (FIT_FILE, "summary.csv", "diagnostics.json",
                                            "fit.png")}
    fit.save(paths[FIT_FILE])
    atomic_write_text(paths["summary.csv"], fit.summary().to_csv(index=False))
    atomic_write_text(paths["diagnostics.json"],
                      json.dumps(fit.diagnostics.to_dict(), indent=2) + "\n")
    fig = plot_fit(fit, held_out=held_out)
    atomic_write(paths["fit.png"], lambda tmp: fig.savefig(tmp, format="png", dpi=110))
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


def _diagnostics_line(fit) -> str:
    d = fit.diagnostics
    verdict = "ok" if d.ok else "PROBLEMS: " + "; ".join(d.messages)
    return (f"diagnostics: {d.divergences} divergences, max r_hat {d.max_rhat:.3f}, "
            f"min bulk ESS {d.min_ess_bulk:.0f}, {d.mean_tree_size:.0f} leapfrog steps/draw "
            f"-> {verdict}")


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
    from bayescale.io import load_fit

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


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a finite number > 0, got {text!r}")
    return value


def _sampling_options(parser: argparse.ArgumentParser, *, draws: int, tune: int) -> None:
    parser.add_argument("--draws", type=int, default=draws, help="kept draws per chain")
    parser.add_argument("--tune", type=int, default=tune, help="tuning draws per chain")
    parser.add_argument("--chains", type=int, default=_defaults.CHAINS)
    parser.add_argument("--seed", type=int, default=0, help="random seed (same seed, same fit)")
    parser.add_argument("--sampler", default=_defaults.SAMPLER, choices=_defaults.SAMPLERS)
    parser.add_argument("--target-accept", type=float, default=_defaults.TARGET_ACCEPT)
    parser.add_argument("--likelihood", default="student_t", choices=_defaults.LIKELIHOODS)
    parser.add_argument("--pooling", default="partial", choices=_defaults.POOLINGS)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``bayescale`` command."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", help="print one JSON object")
    common.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    parser = argparse.ArgumentParser(
        prog="bayescale", description="Bayesian estimation of neural scaling laws."
    )
    sub = parser.add_subparsers(dest="command", required=True)

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
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit status (0 ok, 2 bad input or path)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            result = args.func(args)
        for w in caught:
            if issubclass(w.category, ConvergenceWarning):
                print(f"bayescale: warning: {w.message}", file=sys.stderr)
            else:
                warnings.showwarning(w.message, w.category, w.filename, w.lineno)
    except (BayescaleError, OSError, ValueError) as err:
        if args.debug:
            raise
        message = str(err).splitlines()[0] if str(err) else type(err).__name__
        print(f"bayescale: error: {message}", file=sys.stderr)
        return 2
    if isinstance(result, dict):
        print(json.dumps(result, default=_json_default))
    else:
        print(result)
    return 0


def _json_default(value):
    if hasattr(value, "item"):
        return value.item()
    return str(value)


if __name__ == "__main__":
    sys.exit(main())
