"""The laws of issue 7 (Kaplan, data-constrained, over-training, broken power law, LR annealing):
the law contract, the paper's equations, new input columns and prior-predictive checks on real
losses. No sampling here; parameter recovery is in ``test_laws_recovery.py``."""

from __future__ import annotations

import math
from pathlib import Path

import bayescale.models
import numpy as np
import pandas as pd
import pytensor.tensor as pt
import pytest
from bayescale.models.lr_annealing import lr_areas
from conftest import law_prior_draws

from bayescale import DataError, ScalingLaw, available_forms, get_form, read_runs
from bayescale.forms import available_metric_forms, broken_laws
from bayescale.model import centred_inputs, reference_scales
from bayescale.prediction import check_points

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
GADRE = DATA / "gadre_overtrain" / "runs.csv"
HITCHHIKER = DATA / "hitchhiker_colpret" / "lm_loss_curves.csv"

NEW_LAWS = ("kaplan", "data_constrained", "overtraining", "broken_power", "lr_annealing")
P = {
    "kaplan": {"log_L0": 0.95, "log_n_over_d": 1.5, "log_alpha_n": math.log(0.076),
               "log_alpha_d": math.log(0.103)},
    "data_constrained": {"log_L0": 1.0, "log_a_over_E": -1.0, "log_b_over_E": -1.2,
                         "log_alpha": math.log(0.34), "log_beta": math.log(0.28),
                         "log_rd_star": math.log(15.4), "log_rn_star": math.log(5.3)},
    "overtraining": {"log_L0": 1.0, "log_a_over_E": -1.0, "log_b_over_E": -1.3,
                     "log_eta": math.log(0.13)},
    "broken_power": {"log_L0": 1.0, "log_a_over_E": -0.3, "log_c0": math.log(0.08),
                     "c1": 0.12, "x_break": 1.0, "log_f": 0.2},
    "lr_annealing": {"log_L0": 1.2, "log_a_over_E": -0.5, "log_alpha": math.log(0.5),
                     "log_c_over_E": -2.5},
}
SCALES = {"params": 3e8, "tokens": 1e10, "unique_tokens": 1e10, "flops": 1e19,
          "lr_area": 50.0, "lr_anneal_area": 5.0}


def _x(form, n):
    """Centred log inputs spanning several e-folds (unique tokens below and above D)."""
    grid = np.linspace(-3.0, 3.0, n)
    x = {name: grid * (1 + 0.3 * i) for i, name in enumerate(form.inputs)}
    if "unique_tokens" in x:
        x["unique_tokens"] = x["tokens"] - np.linspace(-1.0, 4.0, n)  # 0.37 to 55 epochs
    if "lr_anneal_area" in x:  # no annealing yet, then up to e times the reference area
        x["lr_anneal_area"] = np.r_[-np.inf, np.linspace(-3.0, 1.0, n - 1)]
    return x


def test_every_file_in_models_is_a_working_law():
    """A broken law module no longer breaks the registry, so check none of ours is broken:
    every public file in models/ gives exactly one loss or metric law."""
    folder = Path(bayescale.models.__path__[0])
    stems = {path.stem for path in folder.glob("*.py") if not path.name.startswith("_")}
    assert broken_laws() == {}
    laws = {**available_forms(), **available_metric_forms()}
    assert len(laws) == len(available_forms()) + len(available_metric_forms())
    assert {form.module for form in laws.values()} == {f"bayescale.models.{s}" for s in stems}
    assert set(NEW_LAWS) <= set(available_forms())


@pytest.mark.parametrize("name", NEW_LAWS)
def test_numpy_and_pytensor_agree(name):
    form = get_form(name)
    x = _x(form, 9)
    expected = form.log_loss(x, P[name], np)
    symbolic = form.log_loss(
        {k: pt.as_tensor_variable(v) for k, v in x.items()},
        {k: pt.as_tensor_variable(np.float64(v)) for k, v in P[name].items()},
        pt,
    )
    np.testing.assert_allclose(symbolic.eval(mode="FAST_COMPILE"), expected, rtol=1e-10)
    assert np.all(np.isfinite(expected)) and np.ptp(expected) > 0.05
    assert form.reference and form.doc and form.derived is not None


@pytest.mark.parametrize("name", NEW_LAWS)
def test_loss_at_reference_point_is_exp_log_L0(name):
    form = get_form(name)
    x = {k: np.zeros(1) for k in form.inputs}
    if name == "lr_annealing":
        x["lr_anneal_area"] = np.full(1, -np.inf)  # no annealing at the reference
    assert float(np.exp(form.log_loss(x, P[name], np))[0]) == pytest.approx(
        math.exp(P[name]["log_L0"]), rel=1e-12)


def test_kaplan_is_the_papers_joint_form():
    form = get_form("kaplan")
    c = form.derived(P["kaplan"], SCALES, np)
    for n, d in [(1e7, 2e8), (3e8, 1e10), (7e9, 1.4e11), (1e11, 1e9)]:
        x = {"params": np.log(n / 3e8), "tokens": np.log(d / 1e10)}
        paper = ((c["N_c"] / n) ** (c["alpha_N"] / c["alpha_D"]) + c["D_c"] / d) ** c["alpha_D"]
        assert np.exp(form.log_loss(x, P["kaplan"], np)) == pytest.approx(paper, rel=1e-10)
    # Kaplan et al.'s own constants sit near this parametrisation
    assert 1e13 < c["N_c"] < 1e15 and 1e12 < c["D_c"] < 1e15


def _chinchilla(p, n, d, scales=SCALES):
    c = get_form("data_constrained").derived(p, scales, np)
    return c["E"] + c["A"] / n ** c["alpha"] + c["B"] / d ** c["beta"], c


def test_data_constrained_without_repetition_is_chinchilla():
    form = get_form("data_constrained")
    p = P["data_constrained"]
    n, d = 3e8, 4e10
    expected, _ = _chinchilla(p, n, d)
    x = {"params": np.log(n / 3e8), "tokens": np.log(d / 1e10), "unique_tokens": np.log(d / 1e10)}
    assert np.exp(form.log_loss(x, p, np)) == pytest.approx(expected, rel=1e-10)
    chinchilla = get_form("chinchilla")
    same = {k: p[k] for k in chinchilla.parameters}
    assert np.exp(chinchilla.log_loss(x, same, np)) == pytest.approx(expected, rel=1e-10)


def test_data_constrained_matches_muennighoff_equations():
    form = get_form("data_constrained")
    p = P["data_constrained"]
    _, c = _chinchilla(p, 1.0, 1.0)
    for n, d, u in [(1e9, 1e11, 2.5e9), (1e8, 4e10, 1e10), (5e9, 2e10, 5e10), (2e7, 1e9, 1e9)]:
        u_d = min(d, u)
        r_d = d / u_d - 1
        d_eff = u_d + u_d * c["R_D_star"] * (1 - math.exp(-r_d / c["R_D_star"]))
        # N_opt(U_D): the compute-optimal N at the budget C whose optimal D is U_D, found by
        # minimising A/N^alpha + B/(C/6N)^beta over a fine grid of N
        g = (c["alpha"] * c["A"] / (c["beta"] * c["B"])) ** (1 / (c["alpha"] + c["beta"]))
        a = c["beta"] / (c["alpha"] + c["beta"])
        b = c["alpha"] / (c["alpha"] + c["beta"])
        budget = (g * u_d) ** (1 / b)  # C / 6, from D* = (C/6)^b / G = U_D
        grid = np.geomspace(1e5, 1e13, 200001)
        loss_at = c["A"] / grid ** c["alpha"] + c["B"] / (budget / grid) ** c["beta"]
        n_opt = g * budget ** a
        assert grid[np.argmin(loss_at)] == pytest.approx(n_opt, rel=1e-3)
        u_n = min(n_opt, n)
        r_n = n / u_n - 1
        n_eff = u_n + u_n * c["R_N_star"] * (1 - math.exp(-r_n / c["R_N_star"]))
        paper = c["E"] + c["A"] / n_eff ** c["alpha"] + c["B"] / d_eff ** c["beta"]
        x = {"params": np.log(n / 3e8), "tokens": np.log(d / 1e10),
             "unique_tokens": np.log(u / 1e10)}
        assert np.exp(form.log_loss(x, p, np)) == pytest.approx(paper, rel=1e-9)


def test_data_constrained_repetition_costs_loss():
    form = get_form("data_constrained")
    p = P["data_constrained"]
    d = 1e11
    epochs = np.array([1.0, 2.0, 4.0, 16.0, 64.0])
    x = {"params": np.zeros(5), "tokens": np.full(5, np.log(d / 1e10)),
         "unique_tokens": np.log(d / epochs / 1e10)}
    loss = np.exp(form.log_loss(x, p, np))
    assert np.all(np.diff(loss) > 0)
    # a few epochs cost little (Muennighoff et al.: up to ~4 epochs is nearly as good as new data)
    assert loss[2] / loss[0] - 1 < 0.01 and loss[4] / loss[0] - 1 > 0.03


def test_overtraining_is_chinchilla_with_one_exponent_in_c_and_m():
    form = get_form("overtraining")
    p = P["overtraining"]
    c = form.derived(p, SCALES, np)
    for n, d in [(1e7, 2e8), (3e8, 1e10), (1.4e9, 9.2e11), (7e9, 1.4e11)]:
        compute, m = 6 * n * d, d / n
        paper = c["E"] + (c["a"] * m ** c["eta"] + c["b"] * m ** -c["eta"]) * compute ** -c["eta"]
        x = {"params": np.log(n / 3e8), "tokens": np.log(d / 1e10)}
        assert np.exp(form.log_loss(x, p, np)) == pytest.approx(paper, rel=1e-10)
    # at a fixed multiplier the loss is E + const * C^-eta: the same slope for every M
    for m in (20.0, 320.0):
        n = np.geomspace(1e7, 1e10, 5)
        x = {"params": np.log(n / 3e8), "tokens": np.log(m * n / 1e10)}
        reducible = np.exp(form.log_loss(x, p, np)) - c["E"]
        slope = np.diff(np.log(reducible)) / np.diff(np.log(6 * m * n * n))
        np.testing.assert_allclose(slope, -c["eta"], rtol=1e-9)


def test_broken_power_law_is_caballeros_form_and_bends():
    form = get_form("broken_power")
    p = P["broken_power"]
    c = form.derived(p, SCALES, np)
    flops = np.geomspace(1e14, 1e24, 41)
    x = {"flops": np.log(flops / 1e19)}
    paper = c["E"] + c["b"] * flops ** -c["c0"] * (1 + (flops / c["d"]) ** (1 / c["f"])) ** (
        -c["c1"] * c["f"])
    np.testing.assert_allclose(np.exp(form.log_loss(x, p, np)), paper, rtol=1e-10)
    slope = np.diff(np.log(paper - c["E"])) / np.diff(np.log(flops))
    assert slope[0] == pytest.approx(-c["c0"], abs=0.01)
    assert slope[-1] == pytest.approx(-(c["c0"] + c["c1"]), abs=0.01)


def test_lr_areas_and_annealing_law():
    constant = np.full(100, 2.0)
    s1, s2 = lr_areas(constant)
    np.testing.assert_allclose(s1, 2.0 * np.arange(1, 101))
    assert np.all(s2 == 0)
    step = np.r_[np.full(50, 1.0), np.full(50, 0.5)]  # one drop of 0.5 after step 50
    s1, s2 = lr_areas(step, decay=0.9)
    assert s2[49] == 0 and s2[50] == pytest.approx(0.5)
    assert s2[51] == pytest.approx(0.5 + 0.45) and np.all(np.diff(s2[50:]) > 0)
    form = get_form("lr_annealing")
    p = P["lr_annealing"]
    c = form.derived(p, SCALES, np)
    for a1, a2 in [(10.0, 0.0), (50.0, 5.0), (200.0, 20.0)]:
        x = {"lr_area": np.log(a1 / 50.0), "lr_anneal_area": np.log(a2 / 5.0) if a2 else -np.inf}
        paper = c["E"] + c["A"] * a1 ** -c["alpha"] - c["C"] * a2
        assert np.exp(form.log_loss(x, p, np)) == pytest.approx(paper, rel=1e-10)


def test_new_columns_are_validated_and_kept():
    base = pd.DataFrame({"params": [1e8, 1e8], "tokens": [1e9, 2e9], "loss": [3.0, 2.9]})
    runs = read_runs(base.assign(unique_tokens=[5e8, 5e8], lr_area=[10.0, 20.0],
                                 lr_anneal_area=[0.0, 1.5]))
    assert runs["unique_tokens"].tolist() == [5e8, 5e8]
    assert runs["lr_anneal_area"].tolist() == [0.0, 1.5]
    with pytest.raises(DataError, match=r"'unique_tokens' has non-positive values at rows 1"):
        read_runs(base.assign(unique_tokens=[5e8, 0.0]))
    with pytest.raises(DataError, match=r"'lr_area' has non-finite .* rows 0"):
        read_runs(base.assign(lr_area=[np.nan, 1.0]))
    with pytest.raises(DataError, match=r"'lr_anneal_area' has negative values at rows 1"):
        read_runs(base.assign(lr_anneal_area=[0.0, -1.0]))
    with pytest.raises(DataError, match=r"'unique_tokens' has non-numeric values at rows 0"):
        read_runs(base.assign(unique_tokens=["many", 1e9]))


def test_law_without_its_column_is_refused_before_sampling():
    runs = pd.DataFrame({"params": [1e8, 2e8, 4e8] * 3, "tokens": np.repeat([1e9, 2e9, 4e9], 3),
                         "loss": np.linspace(3.5, 2.5, 9)})
    with pytest.raises(DataError, match=r"law data_constrained reads column\(s\) "
                                        r"'unique_tokens'"):
        ScalingLaw("data_constrained").fit(runs, draws=10, tune=10, chains=1)
    with pytest.raises(DataError, match="needs column 'unique_tokens'"):
        check_points(get_form("data_constrained"), pd.DataFrame({"params": [1e9],
                                                                 "tokens": [1e10]}))


def test_unique_tokens_are_centred_at_the_tokens_scale():
    runs = read_runs(pd.DataFrame({"params": [1e8] * 3, "tokens": [1e9, 1e10, 1e11],
                                   "unique_tokens": [1e7, 1e7, 1e7], "loss": [4.0, 3.0, 2.8]}))
    form = get_form("data_constrained")
    scales = reference_scales(form, runs)
    assert scales["unique_tokens"] == scales["tokens"] == 1e10
    x = centred_inputs(form, runs, scales)
    np.testing.assert_allclose(np.exp(x["tokens"] - x["unique_tokens"]), [100, 1000, 10000])
    anneal = read_runs(pd.DataFrame({"params": [1e8] * 3, "tokens": [1e9, 2e9, 3e9],
                                     "lr_area": [1.0, 2.0, 3.0], "lr_anneal_area": [0, 2.0, 8.0],
                                     "loss": [4.0, 3.0, 2.8]}))
    form = get_form("lr_annealing")
    scales = reference_scales(form, anneal)
    assert scales["lr_anneal_area"] == 4.0  # geometric median of the positive values, 1 digit
    x = centred_inputs(form, anneal, scales)
    assert x["lr_anneal_area"][0] == -np.inf
    assert np.all(np.isfinite(np.exp(form.log_loss(x, P["lr_annealing"], np))))
    assert check_points(form, pd.DataFrame({"lr_area": [5.0], "lr_anneal_area": [0.0]})
                        )["lr_anneal_area"].iloc[0] == 0.0


# ---------------------------------------------------------------- prior predictive on real data


def datablations_runs() -> pd.DataFrame:
    """Muennighoff et al.'s C4/OSCAR training curves (1 to 44 epochs), family = corpus."""
    table = pd.read_csv(HITCHHIKER)
    table = table[table["source"] == "datablations_curves"]
    return read_runs(pd.DataFrame({
        "family": table["scaled_set"].str.split("-").str[1], "run": table["model_name"],
        "params": table["params"], "tokens": table["tokens"],
        "unique_tokens": table["unique_tokens"], "loss": table["value"]}))


def _loaders():
    def gadre():
        return read_runs(pd.read_csv(GADRE), columns={"loss": "loss_c4_val", "family": "dataset",
                                                      "run": "run_name"})

    def hitchhiker():
        table = pd.read_csv(HITCHHIKER)
        table = table[table["metric_kind"] == "loss"]
        table = table.assign(run=table["model_name"] + "|" + table["metric"])
        table = table[["family", "run", "params", "tokens", "value"]].drop_duplicates()
        return read_runs(table, columns={"loss": "value"})

    return {"gadre": (GADRE, gadre), "hitchhiker": (HITCHHIKER, hitchhiker),
            "datablations": (HITCHHIKER, datablations_runs)}


@pytest.mark.parametrize("law, dataset", [
    ("kaplan", "gadre"), ("kaplan", "hitchhiker"), ("overtraining", "gadre"),
    ("overtraining", "hitchhiker"), ("broken_power", "gadre"), ("broken_power", "hitchhiker"),
    ("data_constrained", "datablations"),
])
def test_prior_predictive_covers_real_losses(law, dataset):
    path, load = _loaders()[dataset]
    if not path.is_file():
        pytest.skip(f"{path} not available")
    runs = load()
    form = get_form(law)
    scales = reference_scales(form, runs)
    rng = np.random.default_rng(20241)
    runs = runs.iloc[np.sort(rng.permutation(len(runs))[:2000])]  # 2000 rows keep it quick
    unique, at_row = np.unique(runs[list(form.inputs)].to_numpy(dtype=float), axis=0,
                               return_inverse=True)
    x = centred_inputs(form, pd.DataFrame(unique, columns=list(form.inputs)), scales)
    p = law_prior_draws(law, 2000, 20242)
    log_loss = form.log_loss({k: v[None, :] for k, v in x.items()},
                             {k: v[:, None] for k, v in p.items()}, np)
    low, median, high = np.quantile(log_loss, [0.005, 0.5, 0.995], axis=0)
    observed = np.log(runs["loss"].to_numpy())
    inside = np.mean((observed >= low[at_row]) & (observed <= high[at_row]))
    median_loss = np.exp(median[at_row])
    plausible = np.mean((median_loss >= 1.0) & (median_loss <= 10.0))
    assert len(runs) > 100
    assert inside >= 0.95, f"{law} on {dataset}: only {inside:.1%} inside the 99% range"
    assert plausible >= 0.90, f"{law} on {dataset}: median in 1-10 nats at {plausible:.1%}"
