"""Shared pieces of the subcommands: argument types, sampling options, the output folder, the
JSON encoding and stdout redirection. Private to :mod:`bayescale.cli`."""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import sys
from pathlib import Path

from bayescale import _defaults
from bayescale.exceptions import BayescaleError
from bayescale.io import writable_folder

FIT_FILE = _defaults.FIT_FILE


class UsageError(BayescaleError, ValueError):
    """A command-line argument is unusable."""


def _prepare_out_dir(path: str) -> Path:
    """Create ``path`` if needed and check it is writable, before any sampling starts."""
    return writable_folder(path, what="output folder")


def _save_png(fig, path: Path, *, dpi: int = _defaults.FIGURE_DPI) -> Path:
    """Write ``fig`` as a PNG at ``path`` (atomically), then close it (pyplot keeps every open
    figure alive, so a command that saves several figures would otherwise hold them all)."""
    import matplotlib.pyplot as plt

    from bayescale.io import atomic_write

    try:
        atomic_write(path, lambda tmp: fig.savefig(tmp, format="png", dpi=dpi))
    finally:
        plt.close(fig)
    return path


def _diagnostics_line(fit) -> str:
    d = fit.diagnostics
    verdict = "ok" if d.ok else "PROBLEMS: " + "; ".join(d.messages)
    return (f"diagnostics: {d.divergences} divergences, max r_hat {d.max_rhat:.3f}, "
            f"min bulk ESS {d.min_ess_bulk:.0f}, {d.mean_tree_size:.0f} leapfrog steps/draw "
            f"-> {verdict}")


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a finite number > 0, got {text!r}")
    return value


def _sampling_options(parser: argparse.ArgumentParser, *, draws: int, tune: int,
                      pooling: str = _defaults.POOLING) -> None:
    parser.add_argument("--draws", type=int, default=draws, help="kept draws per chain")
    parser.add_argument("--tune", type=int, default=tune, help="tuning draws per chain")
    parser.add_argument("--chains", type=int, default=_defaults.CHAINS)
    parser.add_argument("--seed", type=int, default=0, help="random seed (same seed, same fit)")
    parser.add_argument("--sampler", default=_defaults.SAMPLER, choices=_defaults.SAMPLERS)
    parser.add_argument("--target-accept", type=float, default=_defaults.TARGET_ACCEPT)
    parser.add_argument("--likelihood", default=_defaults.LIKELIHOOD,
                        choices=_defaults.LIKELIHOODS)
    choices = _defaults.POOLINGS if pooling in _defaults.POOLINGS else (pooling,
                                                                       *_defaults.POOLINGS)
    parser.add_argument("--pooling", default=pooling, choices=choices,
                        help="auto: none for fewer than 3 recipe groups, else partial"
                        if pooling == "auto" else None)


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


def _json_default(value):
    if hasattr(value, "item"):
        return value.item()
    return str(value)
