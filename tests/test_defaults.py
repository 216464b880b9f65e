"""Every default lives in bayescale._defaults; the old module-level names are aliases of it."""

from __future__ import annotations

import importlib

import pytest

from bayescale import _defaults
from bayescale.prediction import default_family

#: (module, old name, name in _defaults): each must be the very same object.
ALIASES = [
    ("bayescale.model", "SIGMA_PRIOR", "SIGMA_PRIOR"),
    ("bayescale.model", "SIGMA_RUN_PRIOR", "SIGMA_RUN_PRIOR"),
    ("bayescale.model", "NU_GAMMA", "NU_GAMMA"),
    ("bayescale.model", "CORR_LENGTH_PRIOR", "CORR_LENGTH_PRIOR"),
    ("bayescale.model", "RESIDUALS", "RESIDUALS"),
    ("bayescale.metric", "DEFAULT_N_ITEMS", "METRIC_N_ITEMS"),
    ("bayescale.metric", "LIKELIHOODS", "METRIC_LIKELIHOODS"),
    ("bayescale.metric", "PHI_PRIOR", "PHI_PRIOR"),
    ("bayescale.metric", "MU_EPS", "MU_EPS"),
    ("bayescale.metric", "GRID_POINTS", "GRID_POINTS"),
    ("bayescale.metric", "BY", "THRESHOLD_BY"),
    ("bayescale.metric", "TOKENS_PER_PARAM", "TOKENS_PER_PARAM"),
    ("bayescale.sweep.spec", "FIT_DEFAULTS", "SWEEP_FIT"),
    ("bayescale.sweep.spec", "GRID_DEFAULTS", "SWEEP_GRID"),
    ("bayescale.cli._args", "FIT_FILE", "FIT_FILE"),
    ("bayescale.html_report", "FIT_FILE", "FIT_FILE"),
    ("bayescale.html_report", "REPORT_FILE", "REPORT_FILE"),
    ("bayescale.html_report", "MAX_TABLE_ROWS", "MAX_TABLE_ROWS"),
    ("bayescale.html_report", "DPI", "REPORT_DPI"),
    ("bayescale.plots._common", "MAX_PLOT_DRAWS", "MAX_PLOT_DRAWS"),
    ("bayescale.plots.emergence", "MAX_PLOT_DRAWS", "MAX_PLOT_DRAWS"),
    ("bayescale.data", "_POOLINGS", "POOLINGS"),
    ("bayescale.data", "_MAX_LISTED", "MAX_LISTED"),
]


@pytest.mark.parametrize(("module", "name", "default"), ALIASES,
                         ids=[f"{m}.{n}" for m, n, _ in ALIASES])
def test_old_names_are_aliases_of_the_defaults(module, name, default):
    assert getattr(importlib.import_module(module), name) is getattr(_defaults, default)


def test_the_defaults_of_a_choice_are_among_its_choices():
    assert _defaults.LIKELIHOOD in _defaults.LIKELIHOODS
    assert _defaults.POOLING in _defaults.POOLINGS
    assert _defaults.SAMPLER in _defaults.SAMPLERS
    assert _defaults.SWEEP_FIT["sampler"] == _defaults.SAMPLER
    assert _defaults.SWEEP_FIT["likelihood"] in _defaults.LIKELIHOODS
    assert _defaults.SWEEP_FIT["pooling"] in _defaults.POOLINGS


@pytest.mark.parametrize(("families", "family", "expected"), [
    (["fam0"], None, "fam0"),
    (["fam0", "fam1"], None, _defaults.NEW_FAMILY),
    (["fam0", "fam1"], "fam1", "fam1"),
    (["fam0"], _defaults.NEW_FAMILY, _defaults.NEW_FAMILY),
])
def test_one_default_family(families, family, expected):
    assert default_family(families, family) == expected
