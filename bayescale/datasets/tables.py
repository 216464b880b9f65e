"""Loaders for the public scaling-law tables in the shared data folder (``../shared/data``).

These tables are not bundled (see each folder's README for source and licence); the functions
take the folder that holds them and return canonical run tables, so that benchmarks and case
studies build them the same way.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

GFLOP = 1e9


def hitchhiker_curves(data: str | os.PathLike, families) -> pd.DataFrame:
    """Loss curves (nats/token) of hitchhiker_colpret families, one row per (run, checkpoint).

    ``families``: ``"gpt3"`` (validation loss, digitised), ``"opt"`` (log of validation
    perplexity) or a datablations scaled set such as ``"datablations-c4-1ep"``. Rows of one run
    at one token count (digitiser duplicates) are averaged. Columns: family, run, params (N),
    tokens (D), loss.
    """
    d = pd.read_csv(Path(data) / "hitchhiker_colpret" / "lm_loss_curves.csv")
    parts = []
    for name in families:
        if name == "gpt3":
            s = d[(d["family"] == "gpt3") & (d["metric"] == "val_loss")]
            loss = s["value"]
        elif name == "opt":
            s = d[(d["family"] == "opt") & (d["metric"] == "val_perplexity")]
            loss = np.log(s["value"])
        else:
            s = d[(d["scaled_set"] == name) & (d["metric"] == "val_loss")]
            loss = s["value"]
        s = pd.DataFrame({"family": name, "run": s["model_name"],
                          "params": s["params"].astype(float),
                          "tokens": s["tokens"].astype(float), "loss": loss})
        parts.append(s.groupby(["family", "run", "params", "tokens"], as_index=False)["loss"]
                     .mean())
    return pd.concat(parts, ignore_index=True)


def laion_frontier(data: str | os.PathLike, schedule: str = "cosine") -> pd.DataFrame:
    """Best-so-far envelope of CLIP and MaMMUT (DataComp, ImageNet zero-shot top-1) per compute.

    Columns: recipe (CLIP / MaMMUT), run, params (N), tokens (samples seen; unused by the
    compute law), flops (C, FLOPs: the repository's GFLOPs x 1e9), loss (zero-shot top-1 error,
    1 - accuracy) and accuracy.
    """
    table = pd.read_csv(Path(data) / "laion_clip_mammut" / "best_by_scale.csv")
    table = table[(table["pretrain_dataset"] == "datacomp_1b")
                  & (table["lr_scheduler"] == schedule)
                  & (table["metric"] == "imagenet1k_zeroshot_top1_acc")
                  & table["model_family"].isin(["clip", "mammut"])]
    rows = []
    for _, cells in table.groupby("model_family"):
        cells = cells.sort_values(["compute_gflops", "value"], ascending=[True, False])
        best = cells["value"].cummax()
        rows.append(cells[cells["value"] >= best.shift(fill_value=-1.0) + 1e-12])
    frontier = pd.concat(rows, ignore_index=True)
    return pd.DataFrame({
        "recipe": frontier["model_family"].map({"clip": "CLIP", "mammut": "MaMMUT"}),
        "run": frontier["model_arch"] + "|" + frontier["samples_seen_label"].astype(str),
        "params": frontier["params_millions"] * 1e6,
        "tokens": frontier["samples_seen"].astype(float),
        "flops": frontier["compute_gflops"] * GFLOP,
        "loss": 1.0 - frontier["value"],
        "accuracy": frontier["value"],
    })
