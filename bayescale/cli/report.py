"""``bayescale report DIR``: the HTML page of a saved fit."""

from __future__ import annotations

from pathlib import Path

from bayescale import _defaults
from bayescale.cli._args import _fraction
from bayescale.html_report import REPORT_FILE, write_report


def cmd_report(args) -> dict | str:
    """``bayescale report DIR [--out FILE] [--figures]``."""
    result = write_report(args.dir, out=args.out, prob=args.prob, random_seed=args.seed,
                          figures=args.figures)
    if args.json:
        return result
    lines = [f"wrote {result['report']}"]
    if result["figures"]:
        lines.append(f"wrote {len(result['figures'])} figures to "
                     f"{Path(next(iter(result['figures'].values()))).parent}")
    if not result["diagnostics_ok"]:
        lines.append("warning: the fit's sampling diagnostics failed (see the report)")
    lines += [f"warning: {p}" for p in result["problems"]]
    return "\n".join(lines)


def register(sub, common) -> None:
    """The ``report`` subcommand."""

    rep = sub.add_parser("report", parents=[common],
                         help="write a self-contained HTML report of a fit folder")
    rep.add_argument("dir", help="folder written by 'bayescale fit', 'demo', 'compare --out' or "
                                "'emergence --out'")
    rep.add_argument("--out", help=f"HTML file to write (default DIR/{REPORT_FILE})")
    rep.add_argument("--figures", action="store_true",
                     help="also write every figure as DIR/figures/NAME.png")
    rep.add_argument("--prob", type=_fraction, default=_defaults.CI_PROB,
                     help="interval probability")
    rep.add_argument("--seed", type=int, default=0, help="seed of predictive draws")
    rep.set_defaults(func=cmd_report)
