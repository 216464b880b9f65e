"""The ``bayescale`` command line: ``fit``, ``predict``, ``demo``, ``compare``, ``optimal`` and
``backtest``.

stdout carries only the result (with ``--json``, exactly one JSON object); progress, warnings
and errors go to stderr. Bad input or a bad path exits with status 2 and one line on stderr
(a traceback only with ``--debug``).

Every subcommand lives in its own module of this package and is registered the same way:
``register(sub, common)`` adds its parser and sets ``func``; a command returns a dict (printed
as one JSON object with ``--json``) or text.
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings

from bayescale.cli import backtest, compare_laws, decisions, emergence, fit, report, sweep
from bayescale.cli._args import _json_default, _no_nan, _stdout_to_stderr
from bayescale.exceptions import BayescaleError, ConvergenceWarning


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``bayescale`` command."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", help="print one JSON object")
    common.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    parser = argparse.ArgumentParser(
        prog="bayescale", description="Bayesian estimation of neural scaling laws."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for command in (fit, decisions, backtest, emergence, sweep, report, compare_laws):
        command.register(sub, common)
    return parser


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


if __name__ == "__main__":
    sys.exit(main())
