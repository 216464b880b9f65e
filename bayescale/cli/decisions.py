"""``bayescale compare`` (recipes) and ``bayescale optimal`` (compute-optimal N*, D*)."""

from __future__ import annotations

from pathlib import Path

from bayescale import _defaults
from bayescale.cli._args import (
    FIT_FILE,
    UsageError,
    _interval,
    _positive,
    _prepare_out_dir,
    _sampling_options,
    _save_png,
)
from bayescale.cli.fit import _fit, _write_outputs


def cmd_compare(args) -> dict | str:
    """``bayescale compare DATA.csv --recipe-column recipe --a A --b B --target-flops C``."""
    from bayescale.data import parse_column_mapping
    from bayescale.decisions import (
        OPTIMAL,
        decision_report,
        recipe_family,
        recipe_pooling,
        recipe_runs,
    )
    from bayescale.plots.decisions import plot_crossover

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
        _save_png(fig, path)
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

    from bayescale.decisions import compute_optimal, compute_optimal_text
    from bayescale.fits import load_fit
    from bayescale.plots.decisions import plot_compute_optimal

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
        _save_png(fig, png)
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


def register(sub, common) -> None:
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
