# ruff: noqa: B018  (a notebook cell shows its last expression)
# %% [markdown]
# # Does MaMMUT overtake CLIP? Two recipes in one posterior
#
# **Conclusion.** With all cells, MaMMUT overtakes CLIP with probability 0.999, at
# **6.4e10 [3.7e10, 1.3e11] GFLOPs** (median [90%]), where the measured envelopes change the
# lead, and the cheaper constant-learning-rate sweep gives the same answer (probability 0.995,
# crossover 5.3e10 [3.6e10, 9.7e10] GFLOPs), while the cells below 4e10 GFLOPs alone leave it
# undecided (probability 0.47).
#
# *Published figure compared:* Nezhurina et al. 2025 report "consistent stronger scalability of
# MaMMUT" than CLIP; the data's README places the change of lead on the measured envelopes
# between about 6e10 and 1e11 GFLOPs (DataComp-1.4B, cosine schedule, ImageNet-1k zero-shot).

# %% [markdown]
# ## Question
#
# CLIP (contrastive) and MaMMUT (contrastive plus captioning) were trained by LAION at the same
# grid of model sizes and samples seen on DataComp-1.4B. MaMMUT costs more per sample and is
# behind at small compute. Three questions:
#
# 1. Does MaMMUT overtake CLIP, at what compute, and with what probability?
# 2. Could we have said so from the cheap half of the grid alone (cells below 4e10 GFLOPs)?
# 3. LAION also ran a constant-learning-rate sweep, where one run yields every samples-seen
#    cell as a checkpoint (much cheaper than one cosine run per cell). Does that cheaper
#    protocol give the same answer?

# %% tags=["parameters"]
import math
import warnings

import casedata as cd
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from bayescale import ParamPrior, ScalingLaw
from bayescale import decisions as dc
from bayescale.plots.decisions import plot_crossover

SAMPLING = cd.sampling(draws=1000, tune=1000, chains=4)  # 2 x 100 when BAYESCALE_QUICK=1
SEED = 1
GFLOP = cd.GFLOP
MIN_GFLOPS = 1e9  # cells below: near chance, the error is not a power law in compute
CUT_GFLOPS = 4e10  # the "cheap half": cells below this compute
RANGE_GFLOPS = (1e9, 1e13)  # where a crossover is looked for
TARGETS_GFLOPS = [1e11, 1e12, 1e13]
warnings.filterwarnings("ignore", category=FutureWarning)
pd.set_option("display.precision", 3)
print("quick" if cd.quick() else "full", "settings:", SAMPLING)

# %% [markdown]
# ## Data
#
# `laion_clip_mammut/best_by_scale.csv`: for each (architecture, samples seen) cell, the best
# ImageNet-1k zero-shot top-1 accuracy over LAION's hyper-parameter sweep (3 decimals). Compute
# is the repository's convention, forward GFLOPs per sample times samples seen. As in the paper
# we model each recipe's **envelope** (the cells that beat every cheaper cell) and use the error
# 1 - accuracy as the "loss". The data have no licence: they are read from `../shared/data`,
# never copied.

# %%
frontier = {s: cd.laion_frontier(s) for s in ("cosine", "const")}
cells = cd.laion_cells("cosine")
colors = {"CLIP": "tab:blue", "MaMMUT": "tab:orange"}
fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
for ax, schedule in zip(axes, ("cosine", "const"), strict=True):
    if schedule == "cosine":
        for recipe, c in cells.groupby("recipe"):
            ax.scatter(c["flops"] / GFLOP, 1 - c["accuracy"], s=6, alpha=0.25,
                       color=colors[recipe])
    for recipe, f in frontier[schedule].groupby("recipe"):
        f = f.sort_values("flops")
        ax.plot(f["flops"] / GFLOP, f["loss"], "o-", ms=3, color=colors[recipe], label=recipe)
    ax.axvline(MIN_GFLOPS, color="0.5", ls=":")
    ax.axvline(CUT_GFLOPS, color="0.5", ls="--")
    ax.set(xscale="log", yscale="log", xlabel="compute (GFLOPs)",
           title=f"{schedule} learning rate: envelopes")
axes[0].set_ylabel("ImageNet-1k zero-shot error")
axes[0].legend()
fig.tight_layout()
cd.show(fig)
for schedule, f in frontier.items():
    print(schedule, f.groupby("recipe")["flops"].agg(["size", "min", "max"]).to_string())

# %% [markdown]
# Dotted line: the lower cut (1e9 GFLOPs, about 0.9 error: below it the models are near
# chance); dashed: the cheap half's upper end (4e10 GFLOPs). The cosine envelopes swap the lead
# many times by small margins between 6e9 and 5e11 GFLOPs; MaMMUT leads from 5e11 on. The
# constant-LR envelopes are higher (no annealing) and MaMMUT's stops at 2.6e11 GFLOPs.
#
# ## Model
#
# bayescale's `compute` law, error = E + A C^-alpha, fitted to both recipes **in one model**
# (`decision.fit_recipes`: each recipe is a group; with two groups the law parameters are not
# pooled, the noise parameters are shared), Student-t on log-error. The loss-level prior is
# centred on an error of 0.5 instead of the default (a language-model loss of e nats). Every
# probability below is a share of paired posterior draws.

# %%
law = ScalingLaw("compute", pooling="none",
                 priors={"log_L0": ParamPrior(mu=math.log(0.5), sigma=1.0, tau=0.1,
                                              centered=True)})


def fit_envelope(schedule, max_gflops=None):
    rows = frontier[schedule]
    rows = rows[rows["flops"] >= MIN_GFLOPS * GFLOP]
    if max_gflops is not None:
        rows = rows[rows["flops"] < max_gflops * GFLOP]
    return dc.fit_recipes(rows, law=law, random_seed=SEED, **SAMPLING)


fits = {"cosine, cells < 4e10 GFLOPs": fit_envelope("cosine", CUT_GFLOPS),
        "cosine, all cells": fit_envelope("cosine"),
        "constant LR, all cells": fit_envelope("const")}
for label, fit in fits.items():
    print(cd.diagnostics_line(fit, f"{label} ({len(fit.runs)} cells)"))

# %% [markdown]
# ## Diagnostics
#
# All three fits are clean at 4 x 1000 draws: 0 divergences, max r_hat <= 1.006,
# min bulk ESS >= 993, 16 to 23 leapfrog steps per draw. No warning to discuss. (At CI's
# 2 x 100 draws bayescale warns about bulk ESS, as it should.)

# %% [markdown]
# ## Answer
#
# For each fit: P(MaMMUT overtakes CLIP between 1e9 and 1e13 GFLOPs), where the mean curves
# cross (median and 90% interval over the draws that cross), and P(MaMMUT has the lower error)
# at 1e11, 1e12 and 1e13 GFLOPs.

# %%
rows = []
reports = {}
lo, hi = (g * GFLOP for g in RANGE_GFLOPS)
for label, fit in fits.items():
    report = dc.decision_report(fit, "CLIP", "MaMMUT", target_flops=1e12 * GFLOP,
                                flops_range=(lo, hi))
    reports[label] = report
    cx = report.crossover
    cmp = dc.compare(fit, "CLIP", "MaMMUT", flops=[g * GFLOP for g in TARGETS_GFLOPS])
    row = {"fit": label, "cells": len(fit.runs),
           "P(MaMMUT overtakes)": f"{cx.p_b_overtakes:.3f}",
           "crossover, GFLOPs: median [90%]": f"{cx.median / GFLOP:.2g} "
           f"[{cx.lower / GFLOP:.2g}, {cx.upper / GFLOP:.2g}]"}
    for g, p in zip(TARGETS_GFLOPS, cmp.p_b_better, strict=True):
        row[f"P(MaMMUT better) at {g:.0e} GFLOPs"] = f"{p:.3f}"
    row["diagnostics ok"] = fit.diagnostics.ok
    rows.append(row)
answer = pd.DataFrame(rows).set_index("fit")
answer.T

# %%
print(reports["cosine, all cells"].text)

# %%
fig = plot_crossover(reports["cosine, all cells"].crossover, runs=fits["cosine, all cells"].runs,
                     target_flops=1e12 * GFLOP)
fig.suptitle("cosine, all cells")
cd.show(fig)
fig = plot_crossover(reports["cosine, cells < 4e10 GFLOPs"].crossover,
                     runs=fits["cosine, cells < 4e10 GFLOPs"].runs, target_flops=1e12 * GFLOP)
fig.suptitle("cosine, cells below 4e10 GFLOPs only")
cd.show(fig)

# %% [markdown]
# ### Exponents: is the constant-LR sweep a proxy for the cosine one?
#
# The decision only needs the *ranking* to transfer, but a cheaper protocol is most useful when
# it also reproduces the exponents. alpha is the slope of log error in log compute.

# %%
exps = []
for label, fit in fits.items():
    s = fit.summary()
    s = s[s["parameter"].isin(["alpha", "E"]) & s["family"].isin(["CLIP", "MaMMUT"])]
    for _, r in s.iterrows():
        exps.append({"fit": label, "recipe": r["family"], "parameter": r["parameter"],
                     "median": r["median"], "lower": r["lower"], "upper": r["upper"]})
exps = pd.DataFrame(exps)
exps.pivot_table(index=["parameter", "recipe"], columns="fit", values="median")

# %%
const = fits["constant LR, all cells"]
cosine = fits["cosine, all cells"]
post = {label: fit.idata["posterior"].to_dataset() for label, fit in
        (("const", const), ("cosine", cosine))}


def alpha_draws(posterior, recipe):
    # alpha of one recipe, one value per posterior draw (the law samples log_alpha)
    alpha = np.exp(posterior["log_alpha"].sel(family=recipe))
    return alpha.to_numpy().ravel()


for recipe in ("CLIP", "MaMMUT"):
    a_const, a_cos = alpha_draws(post["const"], recipe), alpha_draws(post["cosine"], recipe)
    n = min(a_const.size, a_cos.size)
    diff = a_const[:n] - a_cos[:n]  # independent fits: draws paired at random
    print(f"{recipe}: alpha constant LR - alpha cosine = {np.median(diff):+.3f} "
          f"[{np.quantile(diff, 0.05):+.3f}, {np.quantile(diff, 0.95):+.3f}] (90%)")
mammut_gain = {label: float(np.mean(alpha_draws(p, "MaMMUT") > alpha_draws(p, "CLIP")))
               for label, p in post.items()}
print("P(MaMMUT's alpha > CLIP's alpha):", {k: round(v, 3) for k, v in mammut_gain.items()})

# %% [markdown]
# **Answer.**
#
# 1. *All cells (cosine):* MaMMUT overtakes CLIP with probability 0.999, crossover
#    6.4e10 [3.7e10, 1.3e11] GFLOPs, inside the 6e10 to 1e11 GFLOPs where the envelopes
#    themselves change the lead. P(MaMMUT has the lower error) is 0.88 at 1e11, 0.997 at 1e12
#    and 0.96 at 1e13 GFLOPs; at 1e12 the expected error difference is -0.011
#    [-0.018, -0.005], about one point of ImageNet accuracy. The small dip at 1e13 is
#    extrapolation: both curves approach similar floors (E about 0.057) and the draws disagree
#    on how fast.
# 2. *Cheap half only (cells < 4e10 GFLOPs):* P(overtake) = 0.47 and P(MaMMUT better at
#    1e12) = 0.45. The honest answer from these cells is "undecided": the exponents (CLIP
#    0.23, MaMMUT 0.26) favour MaMMUT, but the floors E are barely constrained below 4e10, so
#    half the draws let CLIP's curve stay ahead. Where the draws do cross, they put the
#    crossing at 8.2e10 [3.3e10, 6.9e11] GFLOPs, around the right place. This is the
#    README's decision-table result (0.36 to 0.82 depending on the lower cut).
# 3. *Constant learning rate as a cheaper protocol:* the same decision (P(overtake) = 0.995,
#    crossover 5.3e10 [3.6e10, 9.7e10] GFLOPs, P(MaMMUT better at 1e12) = 0.993) and the same
#    exponents within their uncertainty (constant minus cosine alpha: CLIP +0.009
#    [-0.030, +0.053], MaMMUT +0.020 [-0.011, +0.060]); in both protocols MaMMUT's exponent is
#    the larger with probability above 0.9. What does not transfer is the level: without
#    annealing CLIP's error floor is 0.13 instead of 0.06. A constant-LR sweep is a good proxy
#    for *which recipe scales better and where they cross*, not for the error reached.
#
# ## Caveats
#
# - The envelope is a best-of-sweep statistic, rounded to 3 decimals; its noise is not that of
#   one run, and neighbouring cells share architectures.
# - The answer from the cheap half depends on the lower cut: the README's decision table
#   (1e8, 1e9, 3e9 GFLOPs) shows P(overtake) from 0.36 to 0.82 at the cheap half.
# - A power law E + A C^-alpha in error ignores the saturating approach to chance at small
#   compute that the paper models; the lower cut keeps the fit away from it.
# - Constant-LR cells are the best over checkpoints of constant-LR runs, never annealed: their
#   level is worse, and MaMMUT's constant-LR grid stops at 2.6e11 GFLOPs.
# - Compute counts forward GFLOPs per sample x samples, not training FLOPs; only ratios and
#   crossovers along this axis are meaningful.
