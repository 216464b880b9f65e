"""Priors of a law parameter across model families.

A law parameter ``theta`` (e.g. ``alpha``) gets one value per family. With partial pooling,

    theta_mu  ~ Normal(mu, sigma)          population mean
    theta_tau ~ Gamma(2, 1 / tau)          spread between families (mode tau)
    theta[f]  ~ Normal(theta_mu, theta_tau)   (centred), or
    theta[f]  = theta_mu + theta_tau * z[f],  z[f] ~ Normal(0, 1)   (non-centred)

With complete pooling every family shares ``theta_mu``; with no pooling each family gets its own
``theta[f] ~ Normal(mu, sigma)``. One small value object says all of this.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

from bayescale.exceptions import SpecError


@dataclass(frozen=True)
class ParamPrior:
    """Hierarchical prior of one law parameter.

    Parameters
    ----------
    mu, sigma : float
        Mean and standard deviation of the Normal prior on the population mean (in the units of
        the parameter: natural log of nats/token for ``log_*`` levels, unitless for exponents).
    tau : float
        Mode of the Gamma(2, 1/tau) prior on the between-family standard deviation. The Gamma
        prior is zero-avoiding: with few families a HalfNormal lets the spread collapse towards
        zero, which makes a funnel that NUTS cannot cross (divergences).
    centered : bool
        Centred (``theta[f] ~ Normal(mu, tau)``) or non-centred parametrisation. Levels pinned by
        many points per family sample best centred; weakly identified exponents non-centred.
    pooling : {"partial", "complete", "none"}, optional
        Pooling of this parameter alone; default: the law's pooling.
    """

    mu: float
    sigma: float
    tau: float
    centered: bool = False
    pooling: str | None = None

    def __post_init__(self) -> None:
        if self.pooling not in (None, "partial", "complete", "none"):
            raise SpecError(f"unknown pooling {self.pooling!r}; use partial, complete or none")
        if not self.sigma > 0 or not self.tau > 0:
            raise SpecError(f"prior scales must be > 0, got sigma={self.sigma}, tau={self.tau}")

    def to_dict(self) -> dict[str, Any]:
        """Return the prior as a JSON-serialisable dict."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ParamPrior:
        """Rebuild a prior from :meth:`to_dict` output; unknown keys raise SpecError."""
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise SpecError(f"unknown prior keys {sorted(unknown)}; expected {sorted(known)}")
        return cls(**data)
