"""``bayescale backtest``: hold out each family's largest model and predict it."""

from __future__ import annotations

from bayescale import _defaults
from bayescale.cli._args import _diagnostics_line, _fraction, _holdout, _positive, _sampling_options


def cmd_backtest(args) -> dict | str:
    """``bayescale backtest DATA.csv --law chinchilla --holdout largest``."""
    from bayescale.checkpoints import Selection
    from bayescale.data import parse_column_mapping, read_runs
    from bayescale.evaluation.holdout import backtest
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


def register(sub, common) -> None:
    """The ``backtest`` subcommand."""
    from bayescale.evaluation.reference import N_BOOT

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
