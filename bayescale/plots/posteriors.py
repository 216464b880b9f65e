"""Parameter posteriors per family and for the population: partial pooling made visible."""

from __future__ import annotations

import numpy as np

from bayescale import _defaults
from bayescale.exceptions import SpecError
from bayescale.plots._common import panels
from bayescale.prediction import draws_of, family_parameter_draws

POPULATION = "population mean"


def parameter_draws(fit, *, constants: bool = True, random_seed: int = 0) -> dict:
    """Posterior draws of each law parameter, per family and for the population.

    Returns ``{parameter: {label: draws}}`` with one label per fitted family, ``"population
    mean"`` (the law at the population means, when every parameter is pooled) and
    ``"(new family)"`` (a family drawn from the population: the spread between families).
    ``constants=True`` reports the paper's constants (e.g. E, A, B, alpha, beta) when the law
    defines them, else the sampled parameters.
    """
    posterior = fit.idata["posterior"].to_dataset()
    form = fit.form
    labelled = {f: family_parameter_draws(posterior, form, family=f) for f in fit.families}
    if all(f"{n}_mu" in posterior for n in form.parameters):
        labelled[POPULATION] = {n: draws_of(posterior, f"{n}_mu") for n in form.parameters}
        labelled[_defaults.NEW_FAMILY] = family_parameter_draws(
            posterior, form, family=_defaults.NEW_FAMILY, random_seed=random_seed)
    if constants and form.derived is not None:
        labelled = {k: form.derived(v, fit.scales, np) for k, v in labelled.items()}
    names = list(next(iter(labelled.values())))
    return {name: {label: np.asarray(v[name]) for label, v in labelled.items()}
            for name in names}


def plot_parameters(
    fit,
    *,
    parameters=None,
    constants: bool = True,
    prob: float = _defaults.CI_PROB,
    random_seed: int = 0,
):
    """Posterior median and ``prob`` interval of each law parameter, per family and population.

    One panel per parameter (the paper's constants by default, see :func:`parameter_draws`);
    rows: every family (blue), the population mean (black) and a new family drawn from the
    population (grey band across the panel, its interval): how far partial pooling lets the
    families spread, and how much each family is pulled towards the population. Positive
    parameters spanning more than a factor of 30 get a log axis.

    Returns
    -------
    matplotlib.figure.Figure
    """
    draws = parameter_draws(fit, constants=constants, random_seed=random_seed)
    names = list(draws) if parameters is None else list(parameters)
    unknown = [n for n in names if n not in draws]
    if unknown:
        raise SpecError(f"unknown parameters {unknown}; available: {', '.join(draws)}")
    tail = (1 - prob) / 2
    fig, axes = panels(len(names), ncols=3, width=4.2,
                       height=1.2 + 0.32 * (len(fit.families) + 2))
    for ax, name in zip(axes.flat, names, strict=False):
        labels = list(draws[name])
        for y, label in enumerate(labels):
            values = draws[name][label]
            lo, med, hi = np.quantile(values, [tail, 0.5, 1 - tail])
            if label == _defaults.NEW_FAMILY:
                ax.axvspan(lo, hi, color="0.85", zorder=0, lw=0)
                colour = "0.45"
            else:
                colour = "black" if label == POPULATION else "C0"
            ax.plot([lo, hi], [y, y], color=colour, lw=2.2, solid_capstyle="butt")
            ax.plot([med], [y], "o", color=colour, ms=4.5)
        every = np.concatenate([v.ravel() for v in draws[name].values()])
        lo, hi = np.quantile(every, [0.005, 0.995])
        if lo > 0 and hi / lo > 30:
            ax.set_xscale("log")
        ax.set_yticks(range(len(labels)), labels, fontsize=8)
        ax.set_ylim(len(labels) - 0.4, -0.6)
        ax.set_title(name, fontsize=10)
        ax.grid(axis="x", alpha=0.3)
    fig.suptitle(f"{fit.law.form} law: posterior median and {prob:.0%} intervals per family; "
                 "grey band: a new family from the population", fontsize=10)
    fig.tight_layout()
    return fig
