"""The ``bayescale`` command line: ``fit``, ``predict``, ``demo``, ``compare``, ``optimal`` and
``backtest``.

stdout carries only the result (with ``--json``, exactly one JSON object); progress, warnings
and errors go to stderr. Bad input or a bad path exits with status 2 and one line on stderr
(a traceback only with ``--debug``); an internal error (a bug) exits with status 1 and one line
asking for a report. Warnings recorded before an error are printed too.

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


#: What counts as bad input (exit 2, one line): bayescale's own errors (every one subclasses the
#: builtin it refines), a bad command-line value and an unusable path. Anything else (a plain
#: KeyError, TypeError, ValueError...) is a bug in bayescale and exits 1.
BAD_INPUT = (BayescaleError, argparse.ArgumentError, argparse.ArgumentTypeError, OSError)


def _print_warnings(caught) -> None:
    """Print the warnings a command recorded (ConvergenceWarning as one bayescale line)."""
    for w in caught:
        if issubclass(w.category, ConvergenceWarning):
            print(f"bayescale: warning: {w.message}", file=sys.stderr)
        else:  # written here, not through warnings.showwarning (which a host may redirect)
            sys.stderr.write(warnings.formatwarning(w.message, w.category, w.filename, w.lineno))


def _first_line(err: BaseException) -> str:
    return str(err).splitlines()[0] if str(err).strip() else type(err).__name__


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit status.

    0: ok. 2: bad input or a bad path (one line on stderr). 1: an internal error (a bug; one
    line asking for a report, the traceback with ``--debug``). Warnings recorded while the
    command ran are printed in every case, also before an error.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    caught: list = []
    try:
        try:
            with warnings.catch_warnings(record=True) as caught, _stdout_to_stderr():
                warnings.simplefilter("always", ConvergenceWarning)
                result = args.func(args)
        finally:  # after the context: inside it, showwarning would only record again
            _print_warnings(caught)
    except BAD_INPUT as err:
        if args.debug:
            raise
        print(f"bayescale: error: {_first_line(err)}", file=sys.stderr)
        return 2
    except Exception as err:
        if args.debug:
            raise
        print(f"bayescale: internal error ({type(err).__name__}: {_first_line(err)}); this is a "
              "bug, please report it (rerun with --debug for the traceback)", file=sys.stderr)
        return 1
    if isinstance(result, dict):
        print(json.dumps(_no_nan(result), default=_json_default, allow_nan=False))
    else:
        print(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
