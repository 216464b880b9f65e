"""Every law of issue 7 recovers its own parameters from data simulated from it (real NUTS, slow).

For each law: three families with their own true parameters (population value plus a seeded
deviation), a small design that exercises every term of the law, iid normal noise of sd 1% on
log-loss (``bayescale.simulate.simulate_losses``), and one fit with ``pooling="none"`` (each
family's posterior is its own, so the check is about the law, not the hierarchy), 2 chains x
1000 draws. Pass, over the (family, parameter) pairs:

- the truth lies inside the equal-tailed 90% interval for >= 80% of them;
- every interval is less than half as wide as the prior's 90% interval of the same parameter
  (prior draws of the fit's own model, ``pm.sample_prior_predictive``), except where the
  design cannot do better (``WEAK``, each with its reason), and no posterior median is further
  than a quarter of that prior width from the truth;
- clean draws: no divergences, r_hat <= 1.01, bulk ESS >= 400, no warning of any kind. (With
  300 draws, as before, bulk ESS was below 400 and every warning was ignored.)
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest
from bayescale.models.lr_annealing import lr_areas
from conftest import interval, prior_draws

from bayescale import ScalingLaw, get_form
from bayescale.model import reference_scales
from bayescale.simulate import simulate_losses

pytestmark = pytest.mark.slow

FAMILIES = ("f0", "f1", "f2")
SEED = 1
DRAWS, TUNE, TARGET_ACCEPT = 1000, 1000, 0.9
SHARP = 0.5  # an interval at most this fraction of the prior's is "clearly narrower"
#: (law, parameter): the largest width / prior width the design allows, and why.
WEAK = {
    # the slope change and the bend's sharpness are learned only from the few budgets near
    # the break (seen at SEED: c1 0.41-0.50, log_f 0.73-0.82 of the prior's width)
    ("broken_power", "c1"): 0.7,
    ("broken_power", "log_f"): 0.9,
}


def _grid(params, tokens) -> pd.DataFrame:
    """One single-checkpoint run per (family, N, D)."""
    table = pd.DataFrame([{"family": f, "params": n, "tokens": d}
                          for f in FAMILIES for n in params for d in tokens])
    table["run"] = [f"{r.family}|{r.params:.3g}|{r.tokens:.3g}" for r in table.itertuples()]
    return table


def _kaplan():
    return (_grid(np.geomspace(1e7, 3e9, 6), np.geomspace(1e8, 1e11, 6)),
            {"log_L0": (1.0, 0.1), "log_n_over_d": (0.5, 0.2),
             "log_alpha_n": (math.log(0.08), 0.1), "log_alpha_d": (math.log(0.1), 0.1)})


def _overtraining():
    return (_grid(np.geomspace(1e7, 3e9, 6), np.geomspace(1e8, 1e11, 6)),
            {"log_L0": (1.0, 0.1), "log_a_over_E": (-1.0, 0.15), "log_b_over_E": (-1.2, 0.15),
             "log_eta": (math.log(0.14), 0.1)})


def _data_constrained():
    """4 sizes x 4 token budgets x 1, 4, 16, 60 epochs (most sizes exceed N_opt(U))."""
    grid = _grid(np.geomspace(1e7, 2e9, 4), np.geomspace(2e8, 1e11, 4))
    table = pd.concat([grid.assign(epochs=e) for e in (1.0, 4.0, 16.0, 60.0)],
                      ignore_index=True)
    table["unique_tokens"] = table["tokens"] / table["epochs"]
    table["run"] = table["run"] + "|ep=" + table["epochs"].astype(str)
    return (table.drop(columns="epochs"),
            {"log_L0": (1.0, 0.1), "log_a_over_E": (-1.0, 0.1), "log_b_over_E": (-1.2, 0.1),
             "log_alpha": (math.log(0.34), 0.1), "log_beta": (math.log(0.3), 0.1),
             "log_rd_star": (math.log(15.0), 0.1), "log_rn_star": (math.log(5.0), 0.1)})


def _broken_power():
    """30 compute budgets over 6 decades; the break 1 e-fold above C0 = 1e19 FLOPs."""
    flops = np.geomspace(1e16, 1e22, 30)
    table = pd.DataFrame([{"family": f, "flops": c} for f in FAMILIES for c in flops])
    table["params"] = np.sqrt(table["flops"] / 120.0)  # 20 tokens per parameter
    table["tokens"] = table["flops"] / (6.0 * table["params"])
    table["run"] = [f"{r.family}|{r.flops:.3g}" for r in table.itertuples()]
    return (table, {"log_L0": (1.0, 0.1), "log_a_over_E": (-0.3, 0.15),
                    "log_c0": (math.log(0.08), 0.1), "c1": (0.12, 0.02),
                    "x_break": (1.0, 0.3), "log_f": (0.0, 0.1)})


def _lr_annealing():
    """Constant, cosine (to 10%) and warmup-stable-decay schedules of 4k and 10k steps,
    15 checkpoints each; S1 and S2 from :func:`lr_areas`."""
    parts = []
    for family in FAMILIES:
        for total in (4000, 10000):
            steps = np.arange(1, total + 1)
            schedules = {
                "constant": np.ones(total),
                "cosine": 0.1 + 0.45 * (1 + np.cos(np.pi * steps / total)),
                "wsd": np.where(steps < 0.8 * total, 1.0,
                                1.0 - 0.9 * (steps - 0.8 * total) / (0.2 * total)),
            }
            for name, lr in schedules.items():
                s1, s2 = lr_areas(lr)
                at = np.unique(np.linspace(total // 20, total - 1, 15).astype(int))
                parts.append(pd.DataFrame({
                    "family": family, "run": f"{family}|{name}|{total}", "params": 1e8,
                    "tokens": (at + 1) * 5e5, "lr_area": s1[at], "lr_anneal_area": s2[at]}))
    return (pd.concat(parts, ignore_index=True),
            {"log_L0": (1.2, 0.1), "log_a_over_E": (-0.5, 0.15),
             "log_alpha": (math.log(0.5), 0.1), "log_c_over_E": (-2.5, 0.15)})


DESIGNS = {"kaplan": _kaplan, "overtraining": _overtraining,
           "data_constrained": _data_constrained, "broken_power": _broken_power,
           "lr_annealing": _lr_annealing}


@pytest.fixture(scope="module", params=sorted(DESIGNS))
def recovery(request):
    """(law, fit, true values) for one law: simulate, then fit with NUTS once."""
    law = request.param
    table, population = DESIGNS[law]()
    rng = np.random.default_rng(SEED)
    truth = {f: {k: mu + sd * rng.standard_normal() for k, (mu, sd) in population.items()}
             for f in FAMILIES}
    scales = reference_scales(get_form(law), table)
    runs = simulate_losses(table, form=law, values=truth, scales=scales, sigma=0.01,
                           random_seed=SEED + 100)
    spec = ScalingLaw(law, likelihood="normal", pooling="none", run_effect=False,
                      residuals="iid")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a ConvergenceWarning (or any other) fails the test
        fit = spec.fit(runs, draws=DRAWS, tune=TUNE, chains=2, random_seed=SEED,
                       target_accept=TARGET_ACCEPT, progressbar=False)
    assert fit.scales == scales
    return law, fit, truth


def test_law_recovers_its_parameters(recovery):
    law, fit, truth = recovery
    d = fit.diagnostics
    assert d.divergences == 0 and d.max_rhat <= 1.01 and d.min_ess_bulk >= 400, d.messages
    posterior = fit.idata["posterior"]
    prior = prior_draws(fit, get_form(law).parameters)
    inside, missed, wide, errors = [], [], [], []
    for family, values in truth.items():
        for name, value in values.items():
            draws = posterior[name].sel(family=family).to_numpy()
            lower, upper = interval(draws)
            prior_lower, prior_upper = interval(prior[name].sel(family=family))
            inside.append(lower <= value <= upper)
            if not inside[-1]:
                missed.append(f"{family} {name}={value:.3f} not in [{lower:.3f}, {upper:.3f}]")
            ratio = (upper - lower) / (prior_upper - prior_lower)
            if ratio >= WEAK.get((law, name), SHARP):
                wide.append(f"{family} {name}: {ratio:.2f} of the prior's width")
            errors.append(abs(float(np.median(draws)) - value) / (prior_upper - prior_lower))
    assert len(inside) == len(FAMILIES) * len(get_form(law).parameters)
    assert np.mean(inside) >= 0.8, f"{law}: {np.mean(inside):.0%} inside; {missed}"
    assert not wide, f"{law}: intervals not narrower than the prior's: {wide}"
    assert max(errors) < 0.25, f"{law}: |median - truth| / prior width {np.round(errors, 3)}"
