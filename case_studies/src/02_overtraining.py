# ruff: noqa: B018  (a notebook cell shows its last expression)
# %% [markdown]
# # Over-training: predicting the 1.4B x32 and 6.9B runs from small runs
#
# **Conclusion.** Gadre et al.'s over-training law, fitted to the 95 runs below 1e9
# parameters, predicts the C4 loss of the 1.4B x32 run and the three 6.9B runs with a median
# error of 1.1% and covers 3 of the 4 in its 90% intervals (the C4 6.9B run, 2.382, sits just
# above [2.209, 2.381]), against 4.0% and 2 of 4 for the Chinchilla law, while the chained
# prediction of their 17-task error covers 3 of 4 but is optimistic for all four (median
# error 8.5%).
#
# *Published figures compared:* Gadre et al. 2024 trained these very runs and published their
# losses and downstream errors (the observed values below are theirs, from the released
# evaluations); they predict both targets' C4 loss from runs using about 300x less compute, and
# their 17-task average top-1 error from runs using about 20x less compute (the loss-to-error
# law is fitted on larger runs than the loss law).

# %% [markdown]
# ## Question
#
# Models are rarely trained compute-optimally: to make inference cheap they are *over-trained*
# on many more tokens per parameter (M = D/N) than the ~20 Chinchilla suggests. Can a law
# fitted to small runs predict
#
# - the C4 validation loss of a 1.44B-parameter model trained on 921B tokens (M = 640,
#   32x over-trained, RedPajama) and of three 6.89B-parameter models on 138B tokens (M = 20,
#   C4, RedPajama, RefinedWeb), with honest intervals; and
# - their average top-1 error over Gadre et al.'s 17 downstream tasks, by chaining the loss
#   prediction into a loss-to-error law?

# %% tags=["parameters"]
import warnings

import casedata as cd
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from bayescale import ScalingLaw
from bayescale.datasets import GADRE_COLUMNS, load_gadre_overtrain
from bayescale.metric import MetricLaw, two_stage

SAMPLING = cd.sampling(draws=1000, tune=1000, chains=4)  # 2 x 100 when BAYESCALE_QUICK=1
SEED = 1
LAWS = {  # loss fits: the paper's law (main), fitted per corpus (check), chinchilla (ablation)
    "overtraining": ScalingLaw("overtraining"),
    "overtraining, separate per corpus": ScalingLaw("overtraining", pooling="none"),
    "chinchilla": ScalingLaw("chinchilla"),
}
if cd.quick():
    LAWS = {"overtraining": LAWS["overtraining"]}
MAIN = "overtraining"
LINK_TARGET_ACCEPT = 0.99  # at the default 0.9 the link fits had 4 and 16 divergences
#: mean chance accuracy of the 17 tasks (6 four-way, 4 two-way, 7 open-ended), from
#: gadre_overtrain/downstream.csv; the error cannot exceed 1 - chance
CHANCE_17 = 3.25 / 17
warnings.filterwarnings("ignore", category=FutureWarning)
pd.set_option("display.precision", 3)
print("quick" if cd.quick() else "full", "settings:", SAMPLING)

# %% [markdown]
# ## Data
#
# Gadre et al.'s 104 open_lm runs (MIT licence, bundled in `bayescale.datasets`; the same
# table is `../shared/data/gadre_overtrain/runs.csv`): three corpora (C4, RedPajama,
# RefinedWeb), sizes 11M to 6.9B parameters, token multipliers M = 5 to 640; final checkpoints
# only, one seed. Loss: C4 validation loss (nats/token). Downstream: 1 - mean top-1 accuracy
# over the paper's 17 tasks.
#
# Training set (as in the paper): the 95 runs below 1e9 parameters. Targets: the rpj 1.44B run
# at M = 640 and the three 6.89B runs at M = 20. The other 1.44B runs are left out of the loss
# fit (they are neither small nor targets).

# %%
raw = load_gadre_overtrain()
raw[["params", "tokens"]] = raw[["params", "tokens"]].astype(float)  # N * D overflows int64
raw["multiplier"] = raw["tokens"] / raw["params"]
small = raw[raw["params"] < 1e9]
is_target = (raw["params"] > 6e9) | (raw["run_name"] == "rpj-open_lm_1b-32.0")
targets = raw[is_target].copy()
print(f"{len(small)} training runs, {len(targets)} targets; training compute "
      f"{(6 * small['params'] * small['tokens']).sum():.2e} FLOPs vs targets "
      f"{(6 * targets['params'] * targets['tokens']).sum():.2e} FLOPs")
targets[["run_name", "dataset", "params", "tokens", "multiplier", "loss_c4_val",
         "downstream_avg_top1_error_17"]]

# %%
fig, axes = plt.subplots(1, 2, figsize=(11, 4))
for family, rows in raw.groupby("dataset"):
    train = rows[rows["params"] < 1e9]
    sc = axes[0].scatter(6 * train["params"] * train["tokens"], train["loss_c4_val"], s=12,
                         c=np.log2(train["multiplier"] / 20), cmap="viridis",
                         marker={"c4": "o", "rpj": "s", "rw": "^"}[family], label=family)
    axes[1].scatter(rows["loss_c4_val"], rows["downstream_avg_top1_error_17"], s=12,
                    marker={"c4": "o", "rpj": "s", "rw": "^"}[family], label=family)
t = targets
axes[0].scatter(6 * t["params"] * t["tokens"], t["loss_c4_val"], s=60, facecolor="none",
                edgecolor="r", label="targets")
axes[1].scatter(t["loss_c4_val"], t["downstream_avg_top1_error_17"], s=60, facecolor="none",
                edgecolor="r", label="targets")
fig.colorbar(sc, ax=axes[0], label="log2(M / 20): over-training")
axes[0].set(xscale="log", yscale="log", xlabel="compute C = 6ND (FLOPs)",
            ylabel="C4 validation loss (nats/token)")
axes[1].set(xlabel="C4 validation loss (nats/token)", ylabel="17-task average top-1 error")
axes[0].legend(fontsize=8)
axes[1].legend(fontsize=8)
fig.tight_layout()
cd.show(fig)

# %% [markdown]
# At fixed compute, more over-trained runs (lighter) have higher loss, but each multiplier
# traces a near-parallel line in log-log: the premise of Gadre et al.'s law. Downstream error
# falls with loss along one curve per corpus, steeply below about 3.5 nats.
#
# ## Model
#
# **Loss.** Gadre et al.'s law (`models/overtraining.py`):
# L(C, M) = E + (a M^eta + b M^-eta) C^-eta, the Chinchilla law with one exponent
# alpha = beta = 2 eta. The three corpora are families whose parameters are partially pooled;
# Student-t likelihood on log-loss. Two checks: the same law fitted to each corpus separately
# (`pooling="none"`, as Gadre et al. fit each dataset; only the noise model is shared), and
# the unconstrained Chinchilla law (alpha and beta free) as the ablation.
#
# **Downstream error.** Gadre et al.'s link error = epsilon - k exp(-gamma L)
# (`models/gadre_error.py`, epsilon = 1 - chance), per corpus, partially pooled, beta
# likelihood on the average accuracy, NUTS with target_accept 0.99 (at the default 0.9 the
# two link fits had 4 and 16 divergent transitions in 4 x 1000 draws). Fitted twice: on the
# same small runs as the loss law, and, as the paper does, on all runs except the targets
# (this adds the other 1.44B runs).
# The two stages are chained draw by draw (`emergence.two_stage`): the loss of a new run at
# the target (N, D), then the error at that loss, so both uncertainties propagate.

# %%
train = small.rename(columns={v: k for k, v in GADRE_COLUMNS.items()})[
    ["family", "run", "params", "tokens", "loss"]]
loss_fits = {}
for label, law in LAWS.items():
    loss_fits[label] = law.fit(train, random_seed=SEED, **SAMPLING)
    print(cd.diagnostics_line(loss_fits[label], f"loss law {label}"))
table = loss_fits[MAIN].diagnostics.table
population = table.index.str.contains(r"_mu$|_tau$|_z\[")
print(f"{MAIN}: family-level parameters max r_hat {table.loc[~population, 'r_hat'].max():.3f}, "
      f"min bulk ESS {table.loc[~population, 'ess_bulk'].min():.0f}; population-level "
      f"(means, spreads, non-centred z) max r_hat {table.loc[population, 'r_hat'].max():.3f}, "
      f"min bulk ESS {table.loc[population, 'ess_bulk'].min():.0f}")
summary = loss_fits[MAIN].summary()
summary[summary["parameter"].isin(["E", "a", "b", "eta"])][
    ["parameter", "family", "median", "lower", "upper", "r_hat", "ess_bulk"]]

# %%
link_sets = {"small runs (< 1e9)": small, "all but the targets": raw[~is_target]}
if cd.quick():
    link_sets = {"small runs (< 1e9)": small}
link_fits = {}
for label, rows in link_sets.items():
    data = pd.DataFrame({"family": rows["dataset"], "loss": rows["loss_c4_val"],
                         "accuracy": 1.0 - rows["downstream_avg_top1_error_17"]})
    link_fits[label] = MetricLaw("gadre_error", chance=CHANCE_17).fit(
        data, random_seed=SEED, target_accept=LINK_TARGET_ACCEPT, **SAMPLING)
    print(cd.diagnostics_line(link_fits[label], f"loss-to-error link, {label}"))

# %% [markdown]
# ## Diagnostics
#
# - *Over-training law, partially pooled (the main fit): WARNING.* 0 divergences, but
#   max r_hat 1.039 and min bulk ESS 82 in 4 x 1000 draws. The poorly mixed quantities are
#   population-level: the mean and spread of log eta and of the data-term ratio, and the
#   non-centred offsets z that trade off against them. With three corpora the population is
#   estimated from three values while each corpus's own parameters are pinned by ~32 runs:
#   the geometry the modelling notes call a funnel. The family-level parameters that the
#   predictions use are better (max r_hat 1.030, min bulk ESS 114) but still short of
#   bayescale's thresholds (1.01, 400), so the ends of their intervals are imprecise by a few
#   thousandths of a nat. Two checks show the warning does not change the answer: the same law
#   fitted to each corpus separately (no population, `pooling="none"`) is clean (r_hat 1.003,
#   ESS 1190) and gives the same verdict on every target; centring log eta instead (tried while
#   writing this notebook) traded the warning for 20 divergences.
# - *Over-training law per corpus* and *Chinchilla law*: clean (0 divergences, r_hat <= 1.003,
#   ESS >= 1187).
# - *Loss-to-error links*: clean at target_accept 0.99 (0 divergences, r_hat 1.005, ESS >= 648).
#
# ## Answer: loss
#
# 90% intervals for the loss of a new run at each target (N, D) (`kind="predictive"`: seed and
# observation noise included), against the loss Gadre et al. measured.

# %%
rows = []
for law, fit in loss_fits.items():
    for _, t in targets.iterrows():
        p = fit.predict({"params": [t["params"]], "tokens": [t["tokens"]]},
                        family=t["dataset"], kind="predictive").iloc[0]
        observed = t["loss_c4_val"]
        name = f"{t['dataset']} {t['params']:.3g} M={t['multiplier']:.0f}"
        rows.append({"law": law, "target": name,
                     "observed": observed, "median": p["median"], "lower": p["lower"],
                     "upper": p["upper"], "ARE": abs(p["median"] - observed) / observed,
                     "covered": p["lower"] <= observed <= p["upper"]})
loss_table = pd.DataFrame(rows)
loss_table

# %%
print(loss_table.groupby("law").agg(median_ARE=("ARE", "median"), covered=("covered", "sum"),
                                    targets=("ARE", "size")))
s = loss_fits[MAIN].summary()
print(s[s["parameter"] == "eta"][["family", "median", "lower", "upper"]].to_string(index=False))

# %%
fig, axes = plt.subplots(1, 3, figsize=(13, 3.8), sharey=True)
fit = loss_fits[MAIN]
for ax, family in zip(axes, ("c4", "rpj", "rw"), strict=True):
    rows = raw[raw["dataset"] == family]
    for mult, colour in ((1.0, "tab:blue"), (32.0, "tab:red")):
        n = np.geomspace(1e7, 1e10, 40)
        p = fit.predict({"params": n, "tokens": 20 * mult * n}, family=family, kind="mean")
        c = 6 * n * 20 * mult * n
        ax.plot(c, p["median"], color=colour, label=f"M = {20 * mult:.0f}")
        ax.fill_between(c, p["lower"], p["upper"], color=colour, alpha=0.2)
        obs = rows[rows["chinchilla_multiplier"] == mult]
        ax.scatter(6 * obs["params"] * obs["tokens"], obs["loss_c4_val"], color=colour, s=12)
    t = targets[targets["dataset"] == family]
    ax.scatter(6 * t["params"] * t["tokens"], t["loss_c4_val"], s=70, facecolor="none",
               edgecolor="k", label="targets (held out)")
    ax.set(xscale="log", yscale="log", xlabel="C (FLOPs)", title=f"{family}: {MAIN} law")
axes[0].set_ylabel("C4 loss (nats/token)")
axes[0].legend(fontsize=8)
fig.tight_layout()
cd.show(fig)

# %% [markdown]
# ## Answer: downstream error
#
# Two-stage predictions of the 17-task average top-1 error of a new run at each target, and the
# link alone evaluated at the *observed* loss (to separate the two stages' errors).

# %%
rows = []
loss_fit = loss_fits[MAIN]
for label, link in link_fits.items():
    for _, t in targets.iterrows():
        point = pd.DataFrame({"params": [t["params"]], "tokens": [t["tokens"]]})
        chained, _ = two_stage(loss_fit, link, point, loss_family=t["dataset"],
                               metric_family=t["dataset"], loss_kind="predictive",
                               random_seed=SEED)
        c = chained.iloc[0]
        alone = link.predict({"loss": [t["loss_c4_val"]]}, family=t["dataset"],
                             kind="predictive").iloc[0]
        observed = t["downstream_avg_top1_error_17"]
        # error = 1 - accuracy: an accuracy interval's ends swap
        lo, hi = 1 - c["pred_upper"], 1 - c["pred_lower"]
        rows.append({"link fitted on": label,
                     "target": f"{t['dataset']} {t['params']:.3g} M={t['multiplier']:.0f}",
                     "observed error": observed, "two-stage median": 1 - c["pred_median"],
                     "lower": lo, "upper": hi, "ARE": abs(1 - c["pred_median"] - observed)
                     / observed, "covered": lo <= observed <= hi,
                     "link alone at observed loss": 1 - alone["median"],
                     "link alone covered": 1 - alone["upper"] <= observed <= 1 - alone["lower"]})
error_table = pd.DataFrame(rows)
error_table

# %%
print(error_table.groupby("link fitted on", sort=False).agg(
    median_ARE=("ARE", "median"), covered=("covered", "sum"),
    link_alone_covered=("link alone covered", "sum"), targets=("ARE", "size")))

# %% [markdown]
# **Answer.**
#
# - *Loss.* The over-training law's medians are within 0.7% (rpj 6.9B), 0.8% (rpj 1.4B x32,
#   M = 640: 2.483 [2.399, 2.570] against 2.502) and 1.5% (rw 6.9B) of the measured losses;
#   the C4 6.9B run is 3.7% worse than predicted and just outside its interval. Fitted per
#   corpus the law does the same (median error 0.6%, the same C4 miss, 5.4%). The Chinchilla
#   law, alpha and beta free, is too optimistic at 6.9B (median error 4.0%, misses C4 and
#   RefinedWeb): the over-training law's single exponent (alpha = beta = 2 eta, eta = 0.126
#   [0.117, 0.134] for each corpus; Gadre et al. report 0.12 to 0.14) is what carries the
#   small runs 17x up in N. The C4 6.9B run is missed by every law: at that size C4 does worse
#   than its small runs extrapolate to.
# - *Downstream error.* Chaining the loss posterior into the loss-to-error link covers 3 of 4
#   targets with either link, with wide intervals (about +-0.05) and medians 0.01 to 0.06
#   below every observed error (median error 8.5%; 8.0% with the link fitted on all runs but
#   the targets, the paper's cheaper-than-target split). Both stages are optimistic: the loss
#   stage for C4 6.9B (two-stage 0.434 against the link alone's 0.469 at the observed loss),
#   the link itself for RedPajama 6.9B (0.417 at the observed loss, observed 0.472, missed
#   even given the true loss): at equal C4 loss the RedPajama 7B model does worse downstream
#   than the small RedPajama runs imply.
#
# ## Caveats
#
# - Four targets, one seed each: a miss or a hit is one run, and seed noise at 6.9B is not
#   measured (the law's run-to-run scatter is learned from small runs).
# - The loss law is fitted to runs <= 0.41B parameters: the 6.9B targets are 17x beyond the
#   largest fitted model, so the interval is an extrapolation under the law's form.
# - The 17-task average mixes four-way, two-way and open-ended tasks; one mean chance level
#   (3.25/17) stands in for their floors.
# - Gadre et al. fit the link on larger runs than the loss law; the "all but the targets" link
#   does the same with the runs released here, which may differ from the paper's exact split.
