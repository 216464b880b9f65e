"""Real scaling-law data bundled with bayescale, each file with its source and licence beside it.

``gadre_overtrain_runs.csv``: 104 over-trained open_lm runs of Gadre et al. 2024, "Language models
scale reliably with over-training and on downstream tasks" (arXiv:2403.08540), from
github.com/mlfoundations/scaling (MIT licence, ``LICENSE-gadre_overtrain.txt``; columns and
derivation in ``README-gadre_overtrain.md``).
"""

from __future__ import annotations

from importlib import resources

import pandas as pd

GADRE_COLUMNS = {"family": "dataset", "run": "run_name", "loss": "loss_c4_val"}


def gadre_overtrain_path():
    """Path of the bundled Gadre et al. runs table (one row per run, final C4 validation loss)."""
    return resources.files(__name__) / "gadre_overtrain_runs.csv"


def load_gadre_overtrain() -> pd.DataFrame:
    """The Gadre et al. runs as a raw table (see ``README-gadre_overtrain.md`` for columns)."""
    with resources.as_file(gadre_overtrain_path()) as path:
        return pd.read_csv(path)
