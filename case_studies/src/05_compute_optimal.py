# ruff: noqa: B018  (a notebook cell shows its last expression)
# %% [markdown]
# # Compute-optimal tokens per parameter, with intervals, from the Chinchilla runs
#
# **Conclusion.** From the 245 Chinchilla runs, the compute-optimal allocation at Chinchilla's
# budget (5.76e23 FLOPs) is **17.8 [12.5, 25.2] tokens per parameter** (median, 90% interval),
# which contains Chinchilla's own 20 (posterior percentile 69%) and the Besiroglu et al.
# refit's 18.4, and excludes the 93 implied by Hoffmann et al.'s published approach-3
# constants (their beta = 0.28 lies below every posterior draw).
#
# *Published figures compared:* Hoffmann et al. 2022 (Chinchilla: 70B parameters on 1.4T
# tokens, about 20 tokens per parameter at 5.76e23 FLOPs; their approach-3 fit E = 1.69,
# A = 406.4, B = 410.7, alpha = 0.34, beta = 0.28) and Besiroglu et al. 2024's refit of the
# same points (E = 1.82, A = 482.01, B = 2085.43, alpha = 0.3478, beta = 0.3658).

# %% [markdown]
# ## Question
#
# Given the loss of the runs Hoffmann et al. trained, how many tokens per parameter should a
# compute-optimal model get, and how sure can we be? Hoffmann et al.'s own parametric fit
# (approach 3) implies a very different answer from their headline "about 20 tokens per
# parameter"; Besiroglu et al. 2024 re-extracted the points from the paper's figure and refitted
# them, finding that approach 3 had been mis-fitted. We fit the same points with bayescale and
# ask where the posterior puts both sets of published values.

# %% tags=["parameters"]
import warnings

import casedata as cd
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

import bayescale as bsc
from bayescale import decisions as dc
from bayescale.plots.decisions import plot_compute_optimal
from bayescale.prediction import family_parameter_draws

SAMPLING = cd.sampling(draws=1000, tune=1000, chains=4)  # 2 x 100 when BAYESCALE_QUICK=1
SEED = 1
BUDGETS = [1e21, 5.76e23, 1e25]  # FLOPs; 5.76e23 is Chinchilla's (and Gopher's) budget
warnings.filterwarnings("ignore", category=FutureWarning)
pd.set_option("display.precision", 4)
print("quick" if cd.quick() else "full", "settings:", SAMPLING)

# %% [markdown]
# ## Data
#
# The 245 (N, D, final loss) points of Hoffmann et al.'s runs as extracted from their figure by
# Besiroglu et al. 2024 (Epoch AI), distributed in the Hitchhiker collection
# (`hitchhiker_colpret`, family `chinchilla`). N is parameters, D training tokens, the loss in
# nats/token. Every row is a separate final loss: there are no checkpoints and no seeds.

# %%
runs = cd.chinchilla_points()
runs["flops"] = 6 * runs["params"] * runs["tokens"]
print(runs[["params", "tokens", "flops", "loss"]].describe().T[["min", "50%", "max"]])

fig, ax = plt.subplots(1, 2, figsize=(10, 3.8))
sc = ax[0].scatter(runs["params"], runs["loss"], c=np.log10(runs["tokens"]), s=10, cmap="viridis")
ax[0].set(xscale="log", xlabel="parameters N", ylabel="final loss (nats/token)")
fig.colorbar(sc, ax=ax[0], label="log10 tokens D")
sc = ax[1].scatter(runs["flops"], runs["loss"], c=np.log10(runs["params"]), s=10, cmap="magma")
ax[1].set(xscale="log", xlabel="compute C = 6ND (FLOPs)", ylabel="final loss (nats/token)")
fig.colorbar(sc, ax=ax[1], label="log10 parameters N")
fig.tight_layout()
cd.show(fig)

# %% [markdown]
# Loss falls with N at every token budget, and at a fixed compute the points trace the
# U-shaped iso-FLOP profiles whose minima define the compute-optimal size.
#
# ## Model
#
# The Chinchilla law L(N, D) = E + A/N^alpha + B/D^beta, bayescale's defaults: a Student-t
# likelihood on log-loss, the law sampled in coordinates the data pin down (log loss at a
# reference point, log term ratios, log exponents), weakly informative priors (exponents 0.16
# to 0.77 at 95%). One family, so nothing is pooled.

# %%
fit = bsc.ScalingLaw("chinchilla").fit(runs, random_seed=SEED, **SAMPLING)
print(cd.diagnostics_line(fit, "Chinchilla fit"))
summary = fit.summary()
constants = summary[summary["parameter"].isin(["E", "A", "B", "alpha", "beta"])
                    & (summary["family"] == "all")]
constants[["parameter", "median", "lower", "upper", "prob"]]

# %% [markdown]
# ## Diagnostics
#
# The fit is clean: 0 divergences, max r_hat 1.004, min bulk ESS 907 over 4 x 1000
# draws, 24 leapfrog steps per draw; there is no warning to discuss. (CI runs this notebook
# at 2 x 100 draws, where bayescale does warn about r_hat and bulk ESS: expected at so few
# draws, and the reason the committed outputs are from full draws.)
#
# A posterior predictive check: the 90% interval of a new run's loss at each observed (N, D)
# should contain about 90% of the observed losses.

# %%
pred = fit.predict(runs[["params", "tokens"]], kind="predictive")
inside = (pred["lower"] <= runs["loss"].to_numpy()) & (runs["loss"].to_numpy() <= pred["upper"])
print(f"observed losses inside their 90% predictive interval: {inside.mean():.1%} "
      f"({inside.sum()}/{len(runs)})")
residual = np.log(runs["loss"].to_numpy() / pred["median"].to_numpy())
fig, ax = plt.subplots(figsize=(6, 3))
ax.scatter(runs["params"], residual, s=8)
ax.axhline(0, color="k", lw=0.8)
ax.set(xscale="log", xlabel="parameters N", ylabel="log(observed / predicted median)")
fig.tight_layout()
cd.show(fig)

# %% [markdown]
# ## Answer: compute-optimal allocation
#
# Under C = 6ND the law has a closed-form optimum per posterior draw,
# N* = G (C/6)^a with a = beta/(alpha+beta) and G = (alpha A / (beta B))^(1/(alpha+beta)),
# D* = C/(6N*). The intervals below are 90% equal-tailed over posterior draws.

# %%
optimum = dc.compute_optimal(fit, BUDGETS)
for c in BUDGETS:
    print(dc.compute_optimal_text(optimum, c))
optimum.exponents

# %%
frontier = dc.compute_optimal(fit, np.geomspace(1e18, 1e25, 60))
cd.show(plot_compute_optimal(frontier, runs=fit.runs))

# %% [markdown]
# ## Where the posterior puts Hoffmann's and the refit's values
#
# For each published quantity: its posterior percentile (where it falls in the posterior
# distribution; values below 5% or above 95% lie outside the 90% interval). The published
# tokens per parameter and N* are computed from each paper's constants with the same closed
# form; Chinchilla itself (70B on 1.4T tokens, 20 tokens per parameter) is Hoffmann et al.'s
# headline allocation at 5.76e23 FLOPs.

# %%
posterior = fit.idata["posterior"].to_dataset()
draws = fit.form.derived(
    family_parameter_draws(posterior, fit.form, family="all"), fit.scales, np)
total = draws["alpha"] + draws["beta"]
i_chin = BUDGETS.index(5.76e23)
samples = {
    "E": draws["E"], "alpha": draws["alpha"], "beta": draws["beta"],
    "a (N* ~ C^a)": draws["beta"] / total,
    "tokens per parameter at 5.76e23": optimum.tokens[:, i_chin] / optimum.params[:, i_chin],
    "N* at 5.76e23": optimum.params[:, i_chin],
}
published = {"Hoffmann et al. 2022 (approach 3)": (1.69, 406.4, 410.7, 0.34, 0.28),
             "Besiroglu et al. 2024 (refit)": (1.82, 482.01, 2085.43, 0.3478, 0.3658)}
rows = []
for source, (e, a, b, alpha, beta) in published.items():
    n, d = dc.chinchilla_optimum(a, b, alpha, beta, 5.76e23)
    values = {"E": e, "alpha": alpha, "beta": beta, "a (N* ~ C^a)": beta / (alpha + beta),
              "tokens per parameter at 5.76e23": float(d / n), "N* at 5.76e23": float(n)}
    for name, value in values.items():
        rows.append({"source": source, "quantity": name, "published": value,
                     "posterior median": float(np.median(samples[name])),
                     "posterior percentile": float(np.mean(samples[name] < value))})
for name, value in (("tokens per parameter at 5.76e23", 1.4e12 / 7e10),
                    ("N* at 5.76e23", 7e10)):
    rows.append({"source": "Chinchilla model (70B, 1.4T tokens)", "quantity": name,
                 "published": value, "posterior median": float(np.median(samples[name])),
                 "posterior percentile": float(np.mean(samples[name] < value))})
placement = pd.DataFrame(rows)
placement["inside 90%"] = placement["posterior percentile"].between(0.05, 0.95)
placement

# %%
ratio = samples["tokens per parameter at 5.76e23"]
refit_ratio = placement[placement["source"].str.startswith("Besiroglu")
                        & (placement["quantity"] == "tokens per parameter at 5.76e23")]
refit_ratio = float(refit_ratio["published"].iloc[0])
fig, ax = plt.subplots(figsize=(6, 3))
ax.hist(ratio, bins=60, density=True, color="0.7")
for label, value, style in (("Chinchilla (20)", 20.0, "-"),
                            ("Besiroglu et al. refit", refit_ratio, "--")):
    ax.axvline(value, color="k", ls=style, label=label)
ax.set(xlabel="compute-optimal tokens per parameter at 5.76e23 FLOPs", ylabel="density")
ax.legend()
fig.tight_layout()
cd.show(fig)
print(f"P(tokens per parameter at 5.76e23 FLOPs > 20) = {np.mean(ratio > 20):.2f}")

# %% [markdown]
# **Answer.** The posterior agrees with the Besiroglu et al. refit on every quantity
# (posterior percentiles 0.44 to 0.78) and places Hoffmann et al.'s approach-3 constants
# outside its 90% interval for E (1.69 against 1.81 [1.78, 1.83] nats/token), beta (0.28
# against 0.363 [0.347, 0.380]) and the allocation they imply (a = 0.45 against
# 0.514 [0.497, 0.531]; 93 tokens per parameter against 17.8 [12.5, 25.2]); only their alpha
# (0.34, percentile 0.34) agrees. Chinchilla's actual allocation, 70B parameters on 1.4T
# tokens, sits at the 69% (tokens per parameter) and 34% (N*) percentiles: these runs support
# "about 20 tokens per parameter", P(ratio > 20) = 0.31, with an interval (12.5 to 25.2)
# wide enough that 15 and 25 are both defensible at that budget. 90.2% of the observed losses
# fall inside their 90% posterior predictive intervals.
#
# ## Caveats
#
# - The points are read off a figure (Besiroglu et al.'s extraction), not the original run
#   logs; extraction error is part of the residual scatter the Student-t likelihood absorbs.
# - The interval on tokens per parameter widens with the budget because it extrapolates:
#   the runs stop near 1e22 FLOPs (the largest is below Chinchilla's own budget).
# - C = 6ND is the approximation Hoffmann et al. used; the ratio moves if compute is counted
#   differently (embeddings, attention FLOPs).
# - The law is fitted to final losses of runs trained to a cosine schedule matched to their
#   length; it says nothing about checkpoints inside a run.
