"""bayescale's default fit vs a straightforward PyMC model of the same law, side by side.

The naive model is what one writes first: a Python loop over families, the raw Chinchilla form
L = E + A N^-alpha + B D^-beta in (log E, log A, log B, alpha, beta) with uncentred inputs,
every per-family parameter centred around its population mean with HalfNormal spreads,
Student-t on log-loss, PyMC's own NUTS. Same data, same chains and draws, one run.

Usage: python benchmarks/bench_vs_naive_pymc.py [--draws 1000] [--tune 1000] [--chains 4]
Prints one table (wall time, divergences, max r_hat, min bulk ESS, min ESS/s, leapfrog
steps per draw) and the ratio of min ESS per second.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import pandas as pd
import pymc as pm

import bayescale as bsc
from bayescale.datasets import GADRE_COLUMNS, load_gadre_overtrain
from bayescale.simulate import simulate_runs


def naive_model(runs: pd.DataFrame) -> pm.Model:
    """Per-family loop, centred hierarchy, raw parametrisation (the baseline)."""
    with pm.Model() as model:
        hyper = {}
        for name, (mu, sd, tau) in {
            "log_E": (0.5, 0.5, 0.5), "log_A": (6.0, 3.0, 0.5), "log_B": (6.0, 3.0, 0.5),
            "alpha": (0.35, 0.15, 0.1), "beta": (0.35, 0.15, 0.1),
        }.items():
            hyper[name] = (pm.Normal(f"{name}_mu", mu, sd), pm.HalfNormal(f"{name}_tau", tau))
        sigma = pm.HalfNormal("sigma", 0.1)
        nu = pm.Gamma("nu_minus_two", 2.0, 0.1) + 2.0
        for family, rows in runs.groupby("family"):
            p = {name: pm.Normal(f"{name}[{family}]", mu, tau)
                 for name, (mu, tau) in hyper.items()}
            n = rows["params"].to_numpy(float)
            d = rows["tokens"].to_numpy(float)
            loss = (pm.math.exp(p["log_E"]) + pm.math.exp(p["log_A"]) * n ** -p["alpha"]
                    + pm.math.exp(p["log_B"]) * d ** -p["beta"])
            pm.StudentT(f"log_loss[{family}]", nu=nu, mu=pm.math.log(loss), sigma=sigma,
                        observed=np.log(rows["loss"].to_numpy(float)))
    return model


def measure(label, fn):
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        idata = fn()
    seconds = time.perf_counter() - start
    d = bsc.diagnose(idata, warn=False)
    return {"model": label, "wall_s": seconds, "divergences": d.divergences,
            "max_rhat": d.max_rhat, "min_ess_bulk": d.min_ess_bulk,
            "min_ess_per_s": d.min_ess_bulk / seconds, "steps_per_draw": d.mean_tree_size}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--tune", type=int, default=1000)
    parser.add_argument("--chains", type=int, default=4)
    args = parser.parse_args()
    gadre = bsc.read_runs(load_gadre_overtrain(), columns=GADRE_COLUMNS)
    simulated, _ = simulate_runs(random_seed=1)
    datasets = {"gadre (95 runs < 1e9 params)": gadre[gadre["params"] < 1e9],
                "simulated (6 families, 720 rows)": bsc.read_runs(simulated)}
    rows = []
    for name, runs in datasets.items():
        kw = dict(draws=args.draws, tune=args.tune, chains=args.chains, random_seed=1)
        rows.append({"data": name, **measure(
            "bayescale default",
            lambda runs=runs: bsc.ScalingLaw().fit(runs, progressbar=False, **kw).idata)})
        rows.append({"data": name, **measure(
            "naive PyMC",
            lambda runs=runs: pm.sample(model=naive_model(runs), nuts_sampler="pymc",
                                        progressbar=False, cores=2, **kw))})
    table = pd.DataFrame(rows)
    pd.set_option("display.width", 200)
    print(table.to_string(index=False, float_format=lambda v: f"{v:.3g}"))
    for name in datasets:
        sub = table[table["data"] == name].set_index("model")
        ratio = sub.loc["bayescale default", "min_ess_per_s"] / sub.loc["naive PyMC",
                                                                       "min_ess_per_s"]
        print(f"{name}: bayescale min-ESS/s is {ratio:.1f}x the naive PyMC model's")


if __name__ == "__main__":
    main()
