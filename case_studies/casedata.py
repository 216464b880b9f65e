"""Data access and settings shared by the case-study notebooks.

The notebooks read the real tables in ``../shared/data`` (the checkout's sibling); the
environment variable ``BAYESCALE_DATA`` (or ``BAYESCALE_SHARED_DATA``, the name the decisions
script uses) points elsewhere. Nothing is copied into the repository: ``laion_clip_mammut`` has
no licence.

``BAYESCALE_QUICK=1`` selects the reduced settings CI runs the notebooks with (2 chains x 100
draws, fewer checkpoints and bootstrap refits); the committed notebooks hold full-draw outputs.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from bayescale.datasets import tables

ROOT = Path(__file__).resolve().parents[1]
GFLOP = 1e9


def quick() -> bool:
    """True when ``BAYESCALE_QUICK`` asks for CI-sized runs."""
    return os.environ.get("BAYESCALE_QUICK", "0").strip().lower() not in ("", "0", "false", "no")


def sampling(draws: int = 1000, tune: int = 1000, chains: int = 4) -> dict:
    """Keyword arguments of ``ScalingLaw.fit``: the full settings, or 2 x 100 when quick."""
    if quick():
        return {"draws": 100, "tune": 100, "chains": 2, "progressbar": False}
    return {"draws": draws, "tune": tune, "chains": chains, "progressbar": False}


def data_dir(name: str | None = None) -> Path:
    """Folder of the shared real data (or of one data set in it); a clear error if absent."""
    env = os.environ.get("BAYESCALE_DATA") or os.environ.get("BAYESCALE_SHARED_DATA")
    base = Path(env) if env else ROOT.parent / "shared" / "data"
    path = base / name if name else base
    if not path.is_dir():
        raise FileNotFoundError(
            f"real data folder {path} not found; set BAYESCALE_DATA to the folder that holds "
            "hitchhiker_colpret, gadre_overtrain, laion_clip_mammut, pythia_evals, obsscaling")
    return path


def diagnostics_line(fit, label: str = "") -> str:
    """One line with the diagnostics verdict of a fit (what every notebook prints)."""
    d = fit.diagnostics
    verdict = "ok" if d.ok else "WARNING: " + "; ".join(d.messages)
    prefix = f"{label}: " if label else ""
    return (f"{prefix}{d.divergences} divergences, max r_hat {d.max_rhat:.3f}, min bulk ESS "
            f"{d.min_ess_bulk:.0f}, {d.mean_tree_size:.0f} leapfrog steps/draw -> {verdict}")


def show(fig) -> None:
    """Display a figure once, whatever backend a plotting helper switched to, and close it."""
    import matplotlib.pyplot as plt
    from IPython.display import display

    display(fig)
    plt.close(fig)


# --- hitchhiker_colpret ---------------------------------------------------------------------

DATABLATIONS = ("datablations-c4-1ep", "datablations-c4-2ep", "datablations-c4-4ep",
                "datablations-oscar-1ep", "datablations-oscar-2ep")
CURVE_FAMILIES = ("gpt3", "opt", *DATABLATIONS)


def hitchhiker_curves(families=CURVE_FAMILIES) -> pd.DataFrame:
    """Loss curves (nats/token) of the hitchhiker families with a size series and checkpoints
    (:func:`bayescale.datasets.tables.hitchhiker_curves`, as ``benchmarks/backtest_real.py``)."""
    return tables.hitchhiker_curves(data_dir(), families)


def chinchilla_points() -> pd.DataFrame:
    """The 245 Chinchilla final losses (Hoffmann et al. 2022, Besiroglu et al. extraction)."""
    d = pd.read_csv(data_dir("hitchhiker_colpret") / "lm_loss_curves.csv")
    rows = d[d["family"] == "chinchilla"]
    return pd.DataFrame({"run": rows["model_name"], "params": rows["params"].astype(float),
                         "tokens": rows["tokens"].astype(float), "loss": rows["value"]})


# --- laion_clip_mammut ----------------------------------------------------------------------

def laion_frontier(schedule: str = "cosine") -> pd.DataFrame:
    """Best-so-far envelope of CLIP and MaMMUT per compute
    (:func:`bayescale.datasets.tables.laion_frontier`, as ``decisions_real_data.py``)."""
    return tables.laion_frontier(data_dir(), schedule)


def laion_cells(schedule: str = "cosine") -> pd.DataFrame:
    """Every (model, samples seen) cell of CLIP and MaMMUT, ImageNet-1k (not the envelope)."""
    table = pd.read_csv(data_dir("laion_clip_mammut") / "best_by_scale.csv")
    table = table[(table["pretrain_dataset"] == "datacomp_1b")
                  & (table["lr_scheduler"] == schedule)
                  & (table["metric"] == "imagenet1k_zeroshot_top1_acc")
                  & table["model_family"].isin(["clip", "mammut"])]
    return pd.DataFrame({
        "recipe": table["model_family"].map({"clip": "CLIP", "mammut": "MaMMUT"}),
        "arch": table["model_arch"], "samples": table["samples_seen"].astype(float),
        "flops": table["compute_gflops"] * GFLOP, "accuracy": table["value"],
    }).reset_index(drop=True)


# --- pythia_evals and obsscaling ------------------------------------------------------------

def pythia_lambada() -> pd.DataFrame:
    """Zero-shot LAMBADA accuracy of the seven standard (Pile, not deduplicated) Pythia runs.

    One row per checkpoint after step 0: ``size`` (label), ``params`` (N), ``tokens`` (D),
    ``flops`` (C = 6ND), ``accuracy``, ``task`` (5,153 items: the per-task default of
    :mod:`bayescale.metric`), ``step``. Same construction as
    ``benchmarks/emergence_real.py``.
    """
    evals = pd.read_csv(data_dir("pythia_evals") / "evals.csv")
    rows = evals[(evals["task"] == "lambada_openai") & (evals["metric"] == "acc")
                 & (evals["shots"] == 0) & (evals["variant"] == "standard")
                 & ~evals["deduped"].astype(bool) & (evals["step"] > 0)]
    params, tokens = rows["params"].astype(float), rows["tokens"].astype(float)
    return pd.DataFrame({"size": rows["size_label"], "params": params, "tokens": tokens,
                         "flops": 6.0 * params * tokens, "accuracy": rows["value"],
                         "task": rows["task"], "step": rows["step"]}).reset_index(drop=True)


def observed_crossing(rows: pd.DataFrame, level: float) -> float:
    """Compute (FLOPs) where a run's accuracy first reaches ``level``, interpolated in log C
    between the checkpoints around it (NaN when never reached)."""
    rows = rows.sort_values("flops")
    acc, log_c = rows["accuracy"].to_numpy(), np.log(rows["flops"].to_numpy())
    above = np.flatnonzero(acc >= level)
    if not above.size:
        return float("nan")
    i = above[0]
    if i == 0:
        return float(np.exp(log_c[0]))
    frac = (level - acc[i - 1]) / (acc[i] - acc[i - 1])
    return float(np.exp(log_c[i - 1] + frac * (log_c[i] - log_c[i - 1])))


def obsscaling_task(benchmark: str) -> pd.DataFrame:
    """Scores of the public base models on one benchmark (Ruan et al. 2024), with known FLOPs.

    ``family`` (model family), ``model``, ``flops`` (the source's training FLOPs), ``params``,
    ``accuracy`` (the benchmark's score in [0, 1]).
    """
    evals = pd.read_csv(data_dir("obsscaling") / "evals.csv")
    rows = evals[(evals["benchmark"] == benchmark) & evals["flops"].notna()]
    return pd.DataFrame({"family": rows["family"], "model": rows["model"],
                         "flops": rows["flops"].astype(float),
                         "params": rows["params"].astype(float),
                         "accuracy": rows["value"].astype(float)}).reset_index(drop=True)
