"""``bayescale report DIR``: the HTML page of a saved fit."""

from __future__ import annotations

from pathlib import Path

from bayescale import _defaults
from bayescale.html_report import write_report

FIT_FILE = "fit.nc"
REPORT_FILE = "report.html"
#: Files of the folder the report reads itself (everything else CSV/PNG is shown as found).
KNOWN_FILES = {FIT_FILE, "summary.csv", "diagnostics.json", "fit.png", "predictions.csv",
               "decision.csv"}
MAX_TABLE_ROWS = 60
DPI = 100

CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;max-width:1180px;
margin:1.5em auto;padding:0 1em;color:#1c1c1c;line-height:1.45}
h1{font-size:1.5em;margin-bottom:.2em}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;
margin-top:1.8em}h3{margin-bottom:.3em}
.meta{color:#555;font-size:.9em}
.verdict{padding:.7em 1em;border-radius:6px;font-weight:600;margin:1em 0}
.ok{background:#e6f4ea;border:1px solid #7bc48f}.bad{background:#fde8e8;border:1px solid #e08080}
table{border-collapse:collapse;font-size:.86em;margin:.5em 0}
th,td{border:1px solid #ddd;padding:.25em .55em;text-align:right}
th{background:#f3f3f3}td:first-child,th:first-child,td.t{text-align:left}
figure{margin:1.2em 0}figure img{max-width:100%;height:auto;border:1px solid #eee}
figcaption{font-size:.88em;color:#444;margin-top:.3em}
pre{background:#f7f7f7;padding:.6em;overflow-x:auto;font-size:.82em}
.note{color:#8a4b00}
"""
from bayescale.cli._args import _fraction


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
