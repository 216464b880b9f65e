"""Synthetic run tables from a known hierarchical truth (tests, docs, benchmarks)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from bayescale.data import run_label
from bayescale.forms import get_form
from bayescale.model import centred_inputs

#: Population (mean, between-family sd) of the chinchilla parameters used by default: at
#: N0=3e8, D0=1e10, E=1.65, A/N0^alpha=0.55, B/D0^beta=0.41 nats, alpha=0.34, beta=0.30,
#: close to published fits (Hoffmann et al. 2022; Besiroglu et al. 2024).
CHINCHILLA_TRUTH = {
    "log_L0": (0.96, 0.1),
    "log_a_over_E": (-1.1, 0.15),
    "log_b_over_E": (-1.4, 0.15),
    "log_alpha": (-1.08, 0.12),
    "log_beta": (-1.20, 0.12),
}
CHINCHILLA_SCALES = {"params": 3e8, "tokens": 1e10}


def simulate_runs(
    *,
    form: str = "chinchilla",
    truth: Mapping[str, tuple[float, float]] | None = None,
    scales: Mapping[str, float] | None = None,
    n_families: int = 6,
    sizes: Sequence[float] = (2e7, 6e7, 2e8, 6e8, 2e9),
    seeds: int = 2,
    checkpoints: int = 12,
    tokens_per_param: float = 20.0,
    first_checkpoint: float = 0.1,
    sigma: float = 0.01,
    nu: float = 5.0,
    sigma_run: float = 0.01,
    corr_length: float = 0.0,
    random_seed: int = 0,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Simulate checkpoints of training runs from a hierarchical law.

    Each family draws its law parameters from ``Normal(mean, sd)`` of ``truth``; each
    (family, size N in parameters, seed) is one run trained to ``tokens_per_param * N`` tokens
    with ``checkpoints`` log-spaced checkpoints from ``first_checkpoint`` of the final tokens;
    each run gets an offset ``Normal(0, sigma_run)`` on log-loss and each row Student-t noise
    (``nu``, ``sigma``) on log-loss. With ``corr_length`` > 0 (in e-folds of tokens) the noise
    of a run's rows is instead a Gaussian AR(1) (Ornstein-Uhlenbeck) process along log-tokens
    with marginal sd ``sigma``: checkpoints ``k`` e-folds apart correlate by
    ``exp(-k / corr_length)``, the residual model of ``ScalingLaw(residuals="ar1")``.

    Returns
    -------
    runs : DataFrame
        Columns ``family, run, seed, params, tokens, loss`` (loss in nats/token).
    truth_table : DataFrame
        One row per family with the true value of every law parameter.
    """
    law = get_form(form)
    truth = dict(CHINCHILLA_TRUTH if truth is None else truth)
    scales = dict(CHINCHILLA_SCALES if scales is None else scales)
    rng = np.random.default_rng(random_seed)
    families = [f"fam{i}" for i in range(n_families)]
    values = {
        name: rng.normal(truth[name][0], truth[name][1], size=n_families)
        for name in law.parameters
    }
    rows = []
    for i, family in enumerate(families):
        for n in sizes:
            final = tokens_per_param * n
            tokens = np.geomspace(first_checkpoint * final, final, checkpoints)
            for seed in range(seeds):
                table = pd.DataFrame({"params": float(n), "tokens": tokens})
                table["flops"] = 6.0 * table["params"] * table["tokens"]
                x = centred_inputs(law, table, scales)
                log_loss = law.log_loss(x, {k: v[i] for k, v in values.items()}, np)
                log_loss = log_loss + rng.normal(0.0, sigma_run)
                if corr_length > 0:
                    log_loss = log_loss + sigma * _ou_path(np.log(tokens), corr_length, rng)
                else:
                    log_loss = log_loss + sigma * rng.standard_t(nu, size=checkpoints)
                table["loss"] = np.exp(log_loss)
                table["family"] = family
                table["seed"] = seed
                table["run"] = run_label(family, n, seed)
                rows.append(table)
    runs = pd.concat(rows, ignore_index=True)
    runs = runs[["family", "run", "seed", "params", "tokens", "loss"]]
    truth_table = pd.DataFrame({"family": families, **values})
    return runs, truth_table


def _ou_path(log_tokens: np.ndarray, corr_length: float, rng: np.random.Generator) -> np.ndarray:
    """A unit-variance Ornstein-Uhlenbeck path at increasing ``log_tokens``."""
    path = np.empty(len(log_tokens))
    path[0] = rng.standard_normal()
    for i in range(1, len(path)):
        rho = np.exp(-(log_tokens[i] - log_tokens[i - 1]) / corr_length)
        path[i] = rho * path[i - 1] + np.sqrt(1 - rho * rho) * rng.standard_normal()
    return path


def simulate_losses(
    inputs: pd.DataFrame,
    *,
    form: str,
    values: Mapping[str, Mapping[str, float]],
    scales: Mapping[str, float],
    sigma: float = 0.01,
    nu: float | None = None,
    random_seed: int = 0,
) -> pd.DataFrame:
    """Losses of any law at given inputs: the law plus iid noise on log-loss.

    Parameters
    ----------
    inputs : DataFrame
        One row per observation with ``family`` and the law's input columns (N in parameters,
        D in tokens, C in FLOPs, U in unique tokens, learning-rate areas), plus whatever the
        run table needs (``params``, ``tokens``, ``run``, ...).
    form : str
        Name of the law in ``bayescale.models``.
    values : mapping
        ``{family: {parameter: value}}``, the true law parameters (sampled coordinates).
    scales : mapping
        Reference scale of each input, as ``bayescale.model.reference_scales`` returns.
    sigma, nu : float
        Noise on log-loss: Normal(0, sigma), or Student-t with ``nu`` degrees of freedom.
    random_seed : int
        Seed of the noise.

    Returns
    -------
    DataFrame
        ``inputs`` with a ``loss`` column (nats/token).
    """
    law = get_form(form)
    rng = np.random.default_rng(random_seed)
    out = inputs.copy()
    log_loss = np.empty(len(out))
    for family, rows in out.groupby("family", sort=False):
        at = out.index.get_indexer(rows.index)
        x = centred_inputs(law, rows, scales)
        log_loss[at] = law.log_loss(x, {k: float(v) for k, v in values[family].items()}, np)
    noise = rng.standard_normal(len(out)) if nu is None else rng.standard_t(nu, len(out))
    out["loss"] = np.exp(log_loss + sigma * noise)
    return out
