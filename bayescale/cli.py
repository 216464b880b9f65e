"""The ``bayescale`` command line: ``fit``, ``predict``, ``demo``, ``compare``, ``optimal`` and
``backtest``.

stdout carries only the result (with ``--json``, exactly one JSON object); progress, warnings
and errors go to stderr. Bad input or a bad path exits with status 2 and one line on stderr
(a traceback only with ``--debug``).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import sys
import warnings
from pathlib import Path

import pandas as pd

from bayescale import _defaults
from bayescale.cli_emergence import add_emergence_command
from bayescale.cli_sweep import add_sweep_command as _add_sweep_command
from bayescale.compare_laws import add_compare_laws_command as _add_compare_laws_command
from bayescale.exceptions import BayescaleError, ConvergenceWarning
from bayescale.html_report import add_report_command as _add_report_command

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


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a finite number > 0, got {text!r}")
    return value


def _sampling_options(parser: argparse.ArgumentParser, *, draws: int, tune: int,
                      pooling: str = "partial") -> None:
    parser.add_argument("--draws", type=int, default=draws, help="kept draws per chain")
    parser.add_argument("--tune", type=int, default=tune, help="tuning draws per chain")
    parser.add_argument("--chains", type=int, default=_defaults.CHAINS)
    parser.add_argument("--seed", type=int, default=0, help="random seed (same seed, same fit)")
    parser.add_argument("--sampler", default=_defaults.SAMPLER, choices=_defaults.SAMPLERS)
    parser.add_argument("--target-accept", type=float, default=_defaults.TARGET_ACCEPT)
    parser.add_argument("--likelihood", default="student_t", choices=_defaults.LIKELIHOODS)
    choices = _defaults.POOLINGS if pooling in _defaults.POOLINGS else (pooling,
                                                                       *_defaults.POOLINGS)
    parser.add_argument("--pooling", default=pooling, choices=choices,
                        help="auto: none for fewer than 3 recipe groups, else partial"
                        if pooling == "auto" else None)


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
    _add_decision_commands(sub, common)
    _add_backtest_command(sub, common)
    add_emergence_command(sub, common)
    _add_sweep_command(sub, common)
    _add_report_command(sub, common)
    _add_compare_laws_command(sub, common)
    return parser


@contextlib.contextmanager
def _stdout_to_stderr():
    """Send everything written to stdout, at the file-descriptor level, to stderr.

    Samplers draw progress on stdout (nutpie's native code writes to descriptor 1), which would
    corrupt ``--json`` output; while a command works, descriptor 1 points at stderr.
    """
    sys.stdout.flush()
    try:
        saved = os.dup(1)
    except OSError:  # no real descriptor (e.g. captured streams): Python-level redirect only
        with contextlib.redirect_stdout(sys.stderr):
            yield
        return
    try:
        os.dup2(2, 1)
        with contextlib.redirect_stdout(sys.stderr):
            yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def _no_nan(value):
    """``value`` with every non-finite float replaced by None (so the JSON stays valid)."""
    if isinstance(value, dict):
        return {k: _no_nan(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_no_nan(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _interval(row) -> dict:
    return {k: float(row[k]) for k in ("median", "lower", "upper")}


def cmd_compare(args) -> dict | str:
    """``bayescale compare DATA.csv --recipe-column recipe --a A --b B --target-flops C``."""
    from bayescale.data import parse_column_mapping
    from bayescale.decision import (
        OPTIMAL,
        decision_report,
        recipe_family,
        recipe_pooling,
        recipe_runs,
    )
    from bayescale.io import atomic_write
    from bayescale.plotting import plot_crossover

    columns = parse_column_mapping(args.columns)
    runs = recipe_runs(args.data, args.recipe_column, columns=columns)  # validate first
    if args.a == args.b:
        raise UsageError("--a and --b name the same recipe")
    a = recipe_family(runs["family"], args.a, args.family)
    b = recipe_family(runs["family"], args.b, args.family)
    if args.range is not None and not args.range[0] < args.range[1]:
        raise UsageError(f"--range LO HI needs LO < HI, got {args.range[0]:g} {args.range[1]:g}")
    allocation = OPTIMAL if args.tokens_per_param is None else args.tokens_per_param
    if allocation != OPTIMAL and args.law == "compute":
        raise UsageError("--tokens-per-param does not apply to the compute law")
    if args.pooling == "auto":
        args.pooling = recipe_pooling(runs["family"].nunique())
    out = _prepare_out_dir(args.out) if args.out else None
    fit = _fit(args, runs)
    report = decision_report(
        fit, a, b, target_flops=args.target_flops,
        flops_range=tuple(args.range) if args.range else None, kind=args.kind,
        allocation=allocation, prob=args.prob, random_seed=args.seed,
    )
    files = {}
    if out is not None:
        from bayescale.io import atomic_write_text

        files = _write_outputs(fit, out)
        fig = plot_crossover(report.crossover, runs=fit.runs, target_flops=args.target_flops)
        path = out / "compare.png"
        atomic_write(path, lambda tmp: fig.savefig(tmp, format="png", dpi=110))
        files["compare.png"] = str(path)
        path = out / "decision.csv"
        atomic_write_text(path, report.table.to_csv(index=False))
        files["decision.csv"] = str(path)
    target, at_max = report.comparison.table.iloc[0], report.comparison.table.iloc[1]
    result = {
        "p_b_better": float(target["p_b_better"]),
        "expected_difference": float(target["expected_difference"]),
        "difference": {**_interval(target), "prob": args.prob},
        "crossover": report.crossover.to_dict(),
        "p_b_better_at_max_observed": float(at_max["p_b_better"]),
        "max_observed_flops": float(at_max["flops"]),
        "target_flops": args.target_flops,
        "a": args.a,
        "b": args.b,
        "groups": {"a": a, "b": b},
        "law": fit.law.form,
        "kind": args.kind,
        "allocation": allocation,
        "prob": args.prob,
        "text": report.text,
        "diagnostics_ok": report.diagnostics_ok,
        "diagnostics": fit.diagnostics.to_dict(),
        "files": files,
    }
    if args.json:
        return result
    lines = [report.text]
    if files:
        lines.append(f"wrote {', '.join(files.values())}")
    return "\n".join(lines)


def cmd_optimal(args) -> dict | str:
    """``bayescale optimal DIR --flops C``: compute-optimal N*, D* of a saved chinchilla fit."""
    import numpy as np

    from bayescale.decision import compute_optimal, compute_optimal_text
    from bayescale.io import atomic_write, load_fit
    from bayescale.plotting import plot_compute_optimal

    folder = Path(args.dir)
    path = folder / FIT_FILE if folder.is_dir() else folder
    fit = load_fit(path)
    if "tokens" not in fit.form.inputs:
        raise UsageError(f"law {fit.law.form} has no N and D to allocate; 'optimal' needs a "
                         "chinchilla-form fit")
    result = compute_optimal(fit, [args.flops], family=args.family, prob=args.prob,
                             random_seed=args.seed)
    q = result.at(args.flops)
    exps = result.exponents.set_index("quantity")
    files = {}
    if args.out:
        out = _prepare_out_dir(args.out)
        runs = fit.runs
        grid = np.geomspace(runs["flops"].min(), max(runs["flops"].max(), args.flops), 60)
        frontier = compute_optimal(fit, grid, family=args.family, prob=args.prob,
                                   random_seed=args.seed)
        fig = plot_compute_optimal(frontier, runs=runs)
        png = out / "optimal.png"
        atomic_write(png, lambda tmp: fig.savefig(tmp, format="png", dpi=110))
        files["optimal.png"] = str(png)
    answer = {
        "params": {k: q["params"][k] for k in ("median", "lower", "upper")},
        "tokens": {k: q["tokens"][k] for k in ("median", "lower", "upper")},
        "tokens_per_param": {k: q["tokens_per_param"][k] for k in ("median", "lower", "upper")},
        "loss": {k: q["loss"][k] for k in ("median", "lower", "upper")},
        "exponents": {name: _interval(exps.loc[name]) for name in ("a", "b")},
        "flops": args.flops,
        "family": result.family,
        "prob": args.prob,
        "diagnostics_ok": fit.diagnostics.ok,
        "files": files,
    }
    if args.json:
        return answer
    lines = [compute_optimal_text(result, args.flops)]
    if not fit.diagnostics.ok:
        lines.append("warning: the fit's sampling diagnostics failed; these numbers are not "
                     "reliable")
    if files:
        lines.append(f"wrote {', '.join(files.values())}")
    return "\n".join(lines)


def _add_decision_commands(sub, common) -> None:
    """The ``compare`` and ``optimal`` subcommands."""
    comp = sub.add_parser("compare", parents=[common],
                          help="fit recipes jointly; P(B better), crossover, decision report")
    comp.add_argument("data", help="CSV with params, tokens, loss and a recipe column")
    comp.add_argument("--recipe-column", default="recipe", help="column naming the recipe")
    comp.add_argument("--a", required=True, help="recipe A (the baseline)")
    comp.add_argument("--b", required=True, help="recipe B (the candidate)")
    comp.add_argument("--target-flops", type=_positive, required=True,
                      help="target training compute C (FLOPs)")
    comp.add_argument("--range", type=_positive, nargs=2, metavar=("LO", "HI"),
                      help="compute range (FLOPs) searched for a crossover (default: smallest "
                           "observed C to max(target, largest observed C))")
    comp.add_argument("--law", default="chinchilla", help="law name (see bayescale.models)")
    comp.add_argument("--family", help="data family to compare in, when the data has several")
    comp.add_argument("--tokens-per-param", type=_positive,
                      help="train at this D/N (default: each recipe's compute-optimal N, D)")
    comp.add_argument("--kind", default="mean", choices=("mean", "predictive"),
                      help="compare mean curves, or a new run of each (adds noise)")
    comp.add_argument("--prob", type=float, default=_defaults.CI_PROB)
    comp.add_argument("--columns", help="rename columns: params=n_params,tokens=D,...")
    comp.add_argument("--out", help="also write the fit, compare.png and decision.csv here")
    _sampling_options(comp, draws=_defaults.DRAWS, tune=_defaults.TUNE, pooling="auto")
    comp.set_defaults(func=cmd_compare)

    opt = sub.add_parser("optimal", parents=[common],
                         help="compute-optimal N*, D* at a budget from a saved chinchilla fit")
    opt.add_argument("dir", help="folder written by 'bayescale fit' (or a fit.nc file)")
    opt.add_argument("--flops", type=_positive, required=True, help="budget C (FLOPs)")
    opt.add_argument("--family", help="fitted family, or omit (the only one, else a new one)")
    opt.add_argument("--prob", type=float, default=_defaults.CI_PROB)
    opt.add_argument("--seed", type=int, default=0)
    opt.add_argument("--out", help="write the N*(C) frontier plot optimal.png here")
    opt.set_defaults(func=cmd_optimal)


def _holdout(text: str) -> str | float:
    if text == "largest":
        return text
    try:
        return _positive(text)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(
            f"must be 'largest' or a parameter count > 0, got {text!r}") from None


def _fraction(text: str) -> float:
    value = _positive(text)
    if value > 1:
        raise argparse.ArgumentTypeError(f"must lie in (0, 1], got {text!r}")
    return value


def cmd_backtest(args) -> dict | str:
    """``bayescale backtest DATA.csv --law chinchilla --holdout largest``."""
    from bayescale.backtest import backtest
    from bayescale.checkpoints import Selection
    from bayescale.data import parse_column_mapping, read_runs
    from bayescale.law import ScalingLaw

    columns = parse_column_mapping(args.columns)
    runs = read_runs(args.data, columns=columns)  # validate before sampling
    selection = Selection(min_tokens=args.min_tokens, min_fraction=args.min_fraction,
                          q_maximal=args.q_maximal, max_per_run=args.max_per_run,
                          annealed_only=args.annealed_only)
    law = ScalingLaw(args.law, likelihood=args.likelihood, pooling=args.pooling,
                     residuals=args.residuals)
    result = backtest(
        runs, law=law, holdout=args.holdout, selection=selection, prob=args.prob,
        baseline=not args.no_baseline, n_boot=args.n_boot, random_seed=args.seed,
        sampler=args.sampler, draws=args.draws, tune=args.tune, chains=args.chains,
        target_accept=args.target_accept,
    )
    if args.json:
        return result.to_dict()
    return result.text() + "\n" + _diagnostics_line(result.fit)


def _add_backtest_command(sub, common) -> None:
    """The ``backtest`` subcommand."""
    from bayescale.reference import N_BOOT

    bt = sub.add_parser("backtest", parents=[common],
                        help="hold out each family's largest model, fit the rest, predict it; "
                             "bayescale vs the Huber/L-BFGS reference estimator")
    bt.add_argument("data", help="CSV with columns params, tokens, loss [, family, seed, run]")
    bt.add_argument("--law", default="chinchilla", help="law name (see bayescale.models)")
    bt.add_argument("--holdout", type=_holdout, default="largest",
                    help="'largest' (each family's largest model) or a parameter count N "
                         "(hold out every run with at least N parameters)")
    bt.add_argument("--columns", help="rename columns: params=n_params,tokens=D,...")
    bt.add_argument("--prob", type=_fraction, default=_defaults.CI_PROB,
                    help="interval probability")
    bt.add_argument("--residuals", default="auto", choices=("auto", "ar1", "iid"),
                    help="residuals along each run (default: AR(1) for checkpoint data)")
    bt.add_argument("--min-tokens", type=_positive,
                    help="drop intermediate checkpoints below D tokens")
    bt.add_argument("--min-fraction", type=_fraction,
                    help="drop intermediate checkpoints below this fraction of the run's final "
                         "tokens")
    bt.add_argument("--q-maximal", type=_fraction,
                    help="keep only runs with at least q times the family's longest run's tokens")
    bt.add_argument("--max-per-run", type=int,
                    help="thin each run to at most K log-spaced checkpoints")
    bt.add_argument("--annealed-only", action="store_true",
                    help="keep only final checkpoints, except runs with lr_schedule=constant")
    bt.add_argument("--n-boot", type=int, default=N_BOOT,
                    help="bootstrap refits of the reference estimator")
    bt.add_argument("--no-baseline", action="store_true",
                    help="skip the reference estimator")
    _sampling_options(bt, draws=_defaults.DRAWS, tune=_defaults.TUNE)
    bt.set_defaults(func=cmd_backtest)


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit status (0 ok, 2 bad input or path)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        with warnings.catch_warnings(record=True) as caught, _stdout_to_stderr():
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
        print(json.dumps(_no_nan(result), default=_json_default, allow_nan=False))
    else:
        print(result)
    return 0


def _json_default(value):
    if hasattr(value, "item"):
        return value.item()
    return str(value)


if __name__ == "__main__":
    sys.exit(main())
