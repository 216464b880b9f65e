"""bayescale's own thresholds and defaults, in one place."""

CI_PROB = 0.9  # probability of every credible / predictive interval (equal-tailed)
RHAT_MAX = 1.01  # r_hat above this warns
ESS_BULK_MIN = 400  # bulk effective sample size below this warns
ESS_TAIL_MIN = 400  # tail effective sample size (5% / 95% quantiles) below this warns
BFMI_MIN = 0.3  # E-BFMI of a chain below this warns
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
LIKELIHOODS = ("student_t", "normal")
POOLINGS = ("partial", "complete", "none")
NEW_FAMILY = "(new family)"
FIT_FORMAT = "bayescale-fit"
FIT_FORMAT_VERSION = 1

#: Status of a sweep task record.
SWEEP_STATUS_OK = "ok"
SWEEP_STATUS_FAILED = "failed"
