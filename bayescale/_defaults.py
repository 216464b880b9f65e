"""bayescale's own thresholds and defaults, in one place.

Modules that used to define one of these keep the old name as an alias
(e.g. ``bayescale.model.SIGMA_PRIOR is _defaults.SIGMA_PRIOR``); change a value here only.
"""

import math

# ----------------------------------------------------------------------------- intervals, checks
CI_PROB = 0.9  # probability of every credible / predictive interval (equal-tailed)
RHAT_MAX = 1.01  # r_hat above this warns
ESS_BULK_MIN = 400  # bulk effective sample size below this warns
ESS_TAIL_MIN = 400  # tail effective sample size (5% / 95% quantiles) below this warns
BFMI_MIN = 0.3  # E-BFMI of a chain below this warns

# ----------------------------------------------------------------------------- sampling
DRAWS = 1000
TUNE = 1000
CHAINS = 4
TARGET_ACCEPT = 0.9
SAMPLER = "nutpie"  # fastest correct CPU backend here (see benchmarks/)
SAMPLERS = ("pymc", "nutpie", "numpyro", "blackjax")
SAMPLER_EXTRAS = {"numpyro": "jax", "blackjax": "jax"}
SAMPLER_MODULES = {
    "nutpie": ("nutpie",),
    "numpyro": ("jax", "numpyro"),
    "blackjax": ("jax", "blackjax"),
}

# ----------------------------------------------------------------------------- loss model
LIKELIHOODS = ("student_t", "normal")
LIKELIHOOD = "student_t"  # the default of LIKELIHOODS
POOLINGS = ("partial", "complete", "none")
POOLING = "partial"  # the default of POOLINGS
NEW_FAMILY = "(new family)"  # the family label of a prediction for a family not fitted
RESIDUALS = ("iid", "ar1")
SIGMA_PRIOR = 0.1  # HalfNormal scale of the residual sd on log-loss
SIGMA_RUN_PRIOR = 0.05  # HalfNormal scale of the run-to-run sd on log-loss
NU_GAMMA = (2.0, 0.1)  # nu - 2 ~ Gamma(alpha, beta): mean 20, keeps nu > 2
#: log corr_length ~ Normal(mu, sigma): the AR(1) correlation length in e-folds of tokens, 95%
#: between 0.19 and 1.3 (median 0.5). Deviations that persist over a whole run (corr_length of
#: many e-folds) act as run offsets: with one run per model size they are confounded with the
#: law's N-term, the fit discards the across-size levels and extrapolates from within-run
#: shapes, which learning-rate schedules distort. Measured in benchmarks/backtest_real.py: with
#: a wide prior (-0.7, 1.4), 95% 0.03-7.7, corr_length went to 17 e-folds on the datablations
#: curves, GPT-3 175B was off by 6.8% (4.4% with this prior) and the OPT fit did not converge
#: (r_hat 1.56). Runs with several seeds get true run offsets from ``run_effect``.
CORR_LENGTH_PRIOR = (-0.7, 0.5)

# ----------------------------------------------------------------------------- metric model
#: Test-set sizes of common lm-evaluation-harness tasks, used as the per-task default of
#: n_items when a table has a ``task`` column and no item counts. Checked against the Pythia
#: evaluations' reported stderr, sqrt(p (1 - p) / (n - 1)), which gives these n exactly.
METRIC_N_ITEMS = {
    "lambada_openai": 5153,
    "arc_easy": 2376,
    "arc_challenge": 1172,
    "piqa": 1838,
    "sciq": 1000,
    "winogrande": 1267,
    "logiqa": 651,
    "wsc": 104,
}
METRIC_LIKELIHOODS = ("auto", "beta_binomial", "binomial", "beta")
PHI_PRIOR = (math.log(300.0), 2.0)  # log concentration ~ Normal(mu, sigma)
MU_EPS = 1e-9  # expected metric kept in [MU_EPS, 1 - MU_EPS] inside the likelihood
GRID_POINTS = 1024  # log-spaced compute values on which thresholds are searched
THRESHOLD_BY = ("flops", "params")  # what an emergence threshold is stated in
TOKENS_PER_PARAM = 20.0  # D / N of the models whose threshold is searched (Chinchilla)

# ----------------------------------------------------------------------------- files, figures
FIT_FILE = "fit.nc"
REPORT_FILE = "report.html"
FIT_FORMAT = "bayescale-fit"
FIT_FORMAT_VERSION = 1
FIGURE_DPI = 110  # PNG figures written by the command line
REPORT_DPI = 100  # figures embedded in the HTML report
MAX_TABLE_ROWS = 60  # rows of a CSV table shown in the HTML report
MAX_PLOT_DRAWS = 400  # posterior draws used for bands (thinned evenly); enough for 90% bands
MAX_LISTED = 5  # offending rows (or groups) an error message lists before "and K more"

# ----------------------------------------------------------------------------- sweeps
#: Status of a sweep task record.
SWEEP_STATUS_OK = "ok"
SWEEP_STATUS_FAILED = "failed"
#: Settings of every fit of a sweep ([fit] table) and their defaults.
SWEEP_FIT = {
    "draws": 300,
    "tune": 300,
    "chains": 2,
    "sampler": SAMPLER,
    "target_accept": TARGET_ACCEPT,
    "cores": 1,  # chains sampled at once inside one worker thread
    "max_per_run": None,  # thinning applied to every cut that does not set its own
    "likelihood": LIKELIHOOD,
    "pooling": POOLING,
    "residuals": "auto",
    "baseline": False,  # also fit the Huber/L-BFGS reference estimator (row bootstrap)
    "n_boot": 200,
}
#: Axes of a [[grid]] block and their defaults.
SWEEP_GRID = {
    "families": ["all"],
    "n_models": ["all"],
    "pick": ["largest"],
    "cuts": None,  # default: every cut of [cuts], or all rows when there is none
    "laws": ["chinchilla"],
    "holdout": ["largest"],
    "replicates": 1,
}
