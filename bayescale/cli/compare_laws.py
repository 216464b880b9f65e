"""``bayescale compare-laws``: which law the data supports (PSIS-LOO and leave-future-out)."""

from __future__ import annotations

from bayescale import _defaults
from bayescale.evaluation.law_comparison import check_laws, compare_laws

UNITS = ("run", "row")
from bayescale.cli._args import _fraction, _holdout, _positive, _prepare_out_dir, _sampling_options


def cmd_compare_laws(args) -> dict | str:
    """``bayescale compare-laws DATA.csv --laws chinchilla,kaplan,...``."""
    from bayescale.checkpoints import Selection
    from bayescale.data import parse_column_mapping, read_runs

    columns = parse_column_mapping(args.columns)
    runs = read_runs(args.data, columns=columns)  # validate before sampling
    laws = check_laws(args.laws.split(","), runs)
    out = _prepare_out_dir(args.out) if args.out else None
    selection = Selection(max_per_run=args.max_per_run) if args.max_per_run else None
    result = compare_laws(
        runs, laws, loo=not args.no_loo, lfo=not args.no_lfo, holdout=args.holdout,
        unit=args.unit, selection=selection, likelihood=args.likelihood, pooling=args.pooling,
        residuals=args.residuals, prob=args.prob, random_seed=args.seed, sampler=args.sampler,
        draws=args.draws, tune=args.tune, chains=args.chains, target_accept=args.target_accept,
    )
    paths = result.save(out) if out is not None else {}
    if args.json:
        return result.to_dict() | ({"files": paths} if paths else {})
    text = result.text()
    if paths:
        text += f"\nwrote {', '.join(paths.values())}"
    return text


def register(sub, common) -> None:
    """Register the ``compare-laws`` subcommand on the ``bayescale`` parser."""

    def _max_per_run(text: str) -> int:
        value = _positive(text)
        if value != int(value) or value < 2:
            import argparse

            raise argparse.ArgumentTypeError(f"must be an integer >= 2, got {text!r}")
        return int(value)

    cl = sub.add_parser(
        "compare-laws", parents=[common],
        help="fit several laws to the same runs; rank them by PSIS-LOO and leave-future-out")
    cl.add_argument("data", help="CSV with columns params, tokens, loss [, family, run, "
                                 "unique_tokens, ...]")
    cl.add_argument("--laws", required=True,
                    help="comma-separated law names (any law in bayescale.models), e.g. "
                         "chinchilla,kaplan,data_constrained")
    cl.add_argument("--holdout", type=_holdout, default="largest",
                    help="leave-future-out targets: 'largest' (each family's largest model) "
                         "or a parameter count N")
    cl.add_argument("--unit", default="run", choices=UNITS,
                    help="what PSIS-LOO leaves out (row needs iid residuals)")
    cl.add_argument("--residuals", default="auto", choices=("auto", "ar1", "iid"),
                    help="residuals along each run (default: AR(1) for checkpoint data)")
    cl.add_argument("--max-per-run", type=_max_per_run,
                    help="thin each run to at most K log-spaced checkpoints first")
    cl.add_argument("--no-loo", action="store_true", help="skip PSIS-LOO")
    cl.add_argument("--no-lfo", action="store_true", help="skip leave-future-out")
    cl.add_argument("--columns", help="rename columns: params=n_params,tokens=D,...")
    cl.add_argument("--prob", type=_fraction, default=_defaults.CI_PROB,
                    help="interval probability of the final-loss predictions")
    cl.add_argument("--out", help="also write comparison.json and the tables (CSV) here")
    _sampling_options(cl, draws=_defaults.DRAWS, tune=_defaults.TUNE)
    cl.set_defaults(func=cmd_compare_laws)
