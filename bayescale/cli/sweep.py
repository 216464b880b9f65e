"""``bayescale sweep SPEC.toml --out DIR [--scheduler ADDR] [--workers N] [--json]``.

Runs a backtest sweep (:mod:`bayescale.sweep`) on a local Dask cluster or an existing one and
prints its summary; registered in :func:`bayescale.cli.build_parser`.
"""

from __future__ import annotations

import argparse


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {text!r}")
    return value


def cmd_sweep(args) -> dict | str:
    """``bayescale sweep SPEC.toml --out DIR``: run every unfinished task, then summarise."""
    from bayescale.sweep import run_sweep

    result = run_sweep(args.spec, args.out, scheduler=args.scheduler, workers=args.workers,
                       retry_failed=args.retry_failed)
    return result.to_dict() if args.json else result.text()


def register(sub, common) -> None:
    """The ``sweep`` subcommand."""
    sweep = sub.add_parser(
        "sweep", parents=[common],
        help="run a grid of backtest fits (families, model subsets, checkpoint cuts, laws, "
             "targets) on a Dask cluster; summary table and plot")
    sweep.add_argument("spec", help="sweep specification (TOML; see bayescale.sweep)")
    sweep.add_argument("--out", required=True,
                       help="results folder: tasks/<id>.json per finished task (re-running "
                            "skips them), results.csv, targets.csv, summary.csv/.md, sweep.png")
    sweep.add_argument("--scheduler",
                       help="address of a running Dask scheduler, e.g. tcp://host:8786 "
                            "(default: start a local cluster)")
    sweep.add_argument("--workers", type=_count,
                       help="local cluster: worker processes (default: CPUs); with "
                            "--scheduler: wait for this many workers")
    sweep.add_argument("--retry-failed", action="store_true",
                       help="also rerun tasks recorded as failed")
    sweep.set_defaults(func=cmd_sweep)
