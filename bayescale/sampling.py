"""Run NUTS on a chosen backend through PyMC, and nothing else."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Mapping
from typing import Any

import pymc as pm
import xarray as xr

from bayescale import _defaults
from bayescale.exceptions import MissingDependencyError, SpecError


def check_sampler(sampler: str) -> None:
    """Raise if ``sampler`` is unknown or its optional dependency is not installed."""
    if sampler not in _defaults.SAMPLERS:
        raise SpecError(
            f"unknown sampler {sampler!r}; choose one of {', '.join(_defaults.SAMPLERS)}"
        )
    for module in _defaults.SAMPLER_MODULES.get(sampler, ()):
        if importlib.util.find_spec(module) is None:
            extra = _defaults.SAMPLER_EXTRAS[sampler]
            raise MissingDependencyError(
                f"sampler {sampler!r} needs the package {module!r}; "
                f"install it with: pip install 'bayescale[{extra}]'"
            )


def sample(
    model: pm.Model,
    *,
    sampler: str = _defaults.SAMPLER,
    draws: int = _defaults.DRAWS,
    tune: int = _defaults.TUNE,
    chains: int = _defaults.CHAINS,
    random_seed: int = 0,
    target_accept: float = _defaults.TARGET_ACCEPT,
    progressbar: bool | None = None,
    sampler_kwargs: Mapping[str, Any] | None = None,
) -> xr.DataTree:
    """Draw from the posterior of ``model`` with NUTS.

    Parameters
    ----------
    model : pm.Model
        The model (see :func:`bayescale.model.build_model`).
    sampler : {"pymc", "nutpie", "numpyro", "blackjax"}
        NUTS implementation, passed to ``pm.sample(nuts_sampler=...)``.
    draws, tune, chains : int
        Kept draws per chain, tuning draws per chain, number of chains.
    random_seed : int
        Seed; the same seed on the same backend gives the same draws.
    target_accept : float
        NUTS target acceptance rate.
    progressbar : bool, optional
        Show progress; default: only when stderr is a terminal.
    sampler_kwargs : mapping, optional
        Extra keyword arguments for the backend (``nuts_sampler_kwargs`` for external ones).
        ``cores`` is taken out and passed to ``pm.sample``: how many chains run at once
        (nutpie threads, PyMC processes; e.g. 1 in a one-thread Dask worker, see
        :mod:`bayescale.sweep`); default: all CPUs for nutpie, ``min(chains, 2)`` for PyMC.

    Returns
    -------
    xr.DataTree
        Groups ``posterior``, ``sample_stats``, ``observed_data`` (and ``constant_data``).
    """
    check_sampler(sampler)
    if draws < 1 or tune < 0 or chains < 1:
        raise SpecError(f"need draws >= 1, tune >= 0, chains >= 1; got {draws}, {tune}, {chains}")
    if progressbar is None:
        progressbar = sys.stderr.isatty()
    kwargs = dict(sampler_kwargs or {})
    cores = kwargs.pop("cores", None)
    options: dict[str, Any] = {}
    if sampler == "pymc":
        options["target_accept"] = target_accept
        options.update(kwargs)
    else:
        kwargs.setdefault("target_accept", target_accept)
        options["nuts"] = kwargs
    with model:
        return pm.sample(
            draws=draws,
            tune=tune,
            chains=chains,
            cores=(min(chains, 2) if cores is None else cores) if sampler == "pymc" else cores,
            random_seed=random_seed,
            nuts_sampler=sampler,
            progressbar=progressbar,
            compute_convergence_checks=False,
            **options,
        )
