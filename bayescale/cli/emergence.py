"""The ``bayescale emergence`` subcommand: when does a downstream metric reach a level.

``bayescale emergence DATA.csv --metric accuracy --level 0.5 [--chance 0.25]
[--n-items-column n_items] [--by flops|params] [--target-flops C] [--json]`` fits a
bounded-metric law (:mod:`bayescale.metric`) and prints the threshold posterior per family
and for a new family. ``--json`` prints exactly one object with ``families`` (list of
``family``, ``median``, ``lower``, ``upper``, ``p_reached_by_target``, ``p_not_emerged``, ...),
``population`` (the same for a new family), ``level`` and ``prob``, plus context. ``--out DIR``
writes the fit (``fit.nc``, which ``bayescale report DIR`` renders), ``summary.csv``,
``diagnostics.json``, ``emergence.png`` and ``thresholds.csv``.
"""

from __future__ import annotations

import argparse

from bayescale import _defaults
from bayescale.cli._args import (
    FIT_FILE,
    UsageError,
    _diagnostics_line,
    _fraction,
    _positive,
    _prepare_out_dir,
    _save_png,
)


def _level(text: str) -> float:

    value = _fraction(text)
    if value >= 1:
        raise argparse.ArgumentTypeError(f"must lie in (0, 1), got {text!r}")
    return value


def _unit(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"must lie in [0, 1), got {text!r}")
    return value


def _write_outputs(fit, result, out, *, prob: float) -> dict[str, str]:
    """Write fit.nc (``bayescale report DIR`` renders it), summary.csv, diagnostics.json,
    emergence.png and thresholds.csv into ``out``, each atomically; returns name -> path."""
    import json

    from bayescale.io import atomic_write_text
    from bayescale.plots.emergence import plot_emergence

    paths = {name: out / name for name in (FIT_FILE, "summary.csv", "diagnostics.json",
                                            "emergence.png", "thresholds.csv")}
    fit.save(paths[FIT_FILE])
    atomic_write_text(paths["summary.csv"], fit.summary(prob=prob).to_csv(index=False))
    atomic_write_text(paths["diagnostics.json"],
                      json.dumps(fit.diagnostics.to_dict(), indent=2) + "\n")
    _save_png(plot_emergence(fit, result, prob=prob), paths["emergence.png"])
    atomic_write_text(paths["thresholds.csv"], result.table.to_csv(index=False))
    return {name: str(path) for name, path in paths.items()}


def cmd_emergence(args) -> dict | str:
    """``bayescale emergence DATA.csv --metric accuracy --level 0.5``."""
    from bayescale.data import parse_column_mapping
    from bayescale.metric import MetricLaw, emergence, read_metric_runs

    columns = parse_column_mapping(args.columns)
    n_items = args.n_items_column if args.n_items_column is not None else args.n_items
    read_metric_runs(args.data, metric=args.metric, n_items=n_items, chance=args.chance,
                     columns=columns)  # validate before sampling
    if args.range is not None and not args.range[0] < args.range[1]:
        raise UsageError(f"--range LO HI needs LO < HI, got {args.range[0]:g} {args.range[1]:g}")
    out = _prepare_out_dir(args.out) if args.out else None
    law = MetricLaw(args.law, likelihood=args.likelihood, pooling=args.pooling,
                    chance=args.chance, ceiling=args.ceiling)
    fit = law.fit(args.data, metric=args.metric, n_items=n_items, columns=columns,
                  sampler=args.sampler, draws=args.draws, tune=args.tune, chains=args.chains,
                  random_seed=args.seed, target_accept=args.target_accept)
    result = emergence(fit, args.level, by=args.by, target_flops=args.target_flops,
                       flops_range=tuple(args.range) if args.range else None,
                       tokens_per_param=args.tokens_per_param, params=args.params,
                       prob=args.prob,
                       random_seed=args.seed)
    files = _write_outputs(fit, result, out, prob=args.prob) if out is not None else {}
    answer = {
        **result.to_dict(),
        "metric": args.metric,
        "chance": fit.chance,
        "law": fit.law.form,
        "likelihood": fit.likelihood,
        "diagnostics": fit.diagnostics.to_dict(),
        "files": files,
    }
    if args.json:
        return answer
    unit = "FLOPs" if args.by == "flops" else (
        f"parameters (trained at {args.tokens_per_param:g} tokens/parameter)")
    lines = [
        (f"{fit.law.form} law, {fit.likelihood} likelihood, chance {fit.chance:g}: scale at "
         f"which the expected {args.metric} reaches {args.level:g}, in {unit} "
         f"(median [{args.prob:.0%} interval]; inf: not reached inside the range "
         f"{result.flops_range[0]:.3g}-{result.flops_range[1]:.3g} FLOPs)"),
    ]
    for row in [*answer["families"], answer["population"]]:
        def fmt(v):
            return "inf" if v is None else f"{v:.3g}"

        lines.append(
            f"  {row['family']:<16} {fmt(row['median'])} [{fmt(row['lower'])}, "
            f"{fmt(row['upper'])}]  P(reached by {result.target:.3g}) "
            f"{row['p_reached_by_target']:.2f}  P(not emerged) {row['p_not_emerged']:.2f}")
    lines.append(_diagnostics_line(fit))
    if files:
        lines.append(f"wrote {', '.join(files.values())}")
    return "\n".join(lines)


def register(sub, common) -> None:
    """Register ``bayescale emergence`` on the subparsers ``sub``."""
    from bayescale.metric import BY, LIKELIHOODS, TOKENS_PER_PARAM

    em = sub.add_parser("emergence", parents=[common],
                        help="scale at which a downstream metric reaches a level (sigmoid law)")
    em.add_argument("data", help="CSV: the metric column, flops (or params and tokens) "
                                 "[, family, n_items, task, chance]")
    em.add_argument("--metric", default="accuracy", help="column of the metric, in [0, 1]")
    em.add_argument("--level", type=_level, required=True, help="metric level, e.g. 0.5")
    em.add_argument("--chance", type=_unit,
                    help="chance level (floor); default: the chance column, else 0")
    em.add_argument("--ceiling", type=_level, default=1.0, help="largest attainable metric")
    em.add_argument("--n-items-column",
                    help="column of evaluation item counts (default: n_items if present, else "
                         "per-task defaults for known tasks, else unknown: beta likelihood)")
    em.add_argument("--n-items", type=int, help="one item count for every row")
    em.add_argument("--by", default="flops", choices=BY,
                    help="threshold as compute C (FLOPs) or as parameters N at D = R N")
    em.add_argument("--tokens-per-param", type=_positive, default=TOKENS_PER_PARAM,
                    help="R for --by params (D = R N tokens)")
    em.add_argument("--params", type=_positive,
                    help="model size N followed with --by flops, for laws of size and compute "
                         "(gompertz_size)")
    em.add_argument("--target-flops", type=_positive,
                    help="target compute C (FLOPs) for P(reached by target); default: the "
                         "largest observed C")
    em.add_argument("--range", type=_positive, nargs=2, metavar=("LO", "HI"),
                    help="compute range (FLOPs) searched (default: smallest observed C to 100 x "
                         "max(largest observed C, target))")
    em.add_argument("--law", default="sigmoid", help="metric law (see bayescale.models)")
    em.add_argument("--likelihood", default="auto", choices=LIKELIHOODS,
                    help="auto: beta-binomial with item counts, else beta")
    em.add_argument("--pooling", default=_defaults.POOLING, choices=_defaults.POOLINGS)
    em.add_argument("--prob", type=_level, default=_defaults.CI_PROB,
                    help="interval probability")
    em.add_argument("--columns", help="rename columns: family=dataset,flops=C,...")
    em.add_argument("--out", help="write fit.nc, summary.csv, diagnostics.json, emergence.png "
                                  "and thresholds.csv here ('bayescale report' renders it)")
    em.add_argument("--draws", type=int, default=_defaults.DRAWS, help="kept draws per chain")
    em.add_argument("--tune", type=int, default=_defaults.TUNE, help="tuning draws per chain")
    em.add_argument("--chains", type=int, default=_defaults.CHAINS)
    em.add_argument("--seed", type=int, default=0, help="random seed (same seed, same fit)")
    em.add_argument("--sampler", default=_defaults.SAMPLER, choices=_defaults.SAMPLERS)
    em.add_argument("--target-accept", type=float, default=_defaults.TARGET_ACCEPT)
    em.set_defaults(func=cmd_emergence)
