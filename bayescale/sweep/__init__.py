"""Backtest sweeps: grids of independent fits run as Dask futures, with no lost work.

A *sweep* asks how a fitting protocol affects extrapolation, the way Choshen et al.'s
"Hitchhiker's Guide to Scaling Law Estimation" fitted over 1,000 laws: which families are
fitted together, how many model sizes (and which), which checkpoints (a cut), which law,
which held-out target. It is described as data (a TOML file, :func:`load_spec`), expanded into
independent backtest tasks (:func:`expand`), and each task is one
:func:`bayescale.evaluation.holdout.backtest` of its own subset with its own seed:

- **Spec** (TOML, read with :mod:`tomllib`)::

      [sweep]
      name = "hitchhiker"
      seed = 2024                  # every task's seed derives from it
      prob = 0.9                   # interval probability

      [fit]                        # the same for every fit (defaults shown in FIT_DEFAULTS)
      draws = 300
      tune = 300
      chains = 2
      max_per_run = 10             # thin each run to <= K log-spaced checkpoints (cost)

      [data.gpt3]                  # one run table; paths are relative to the spec file
      path = "../data/lm_loss_curves.csv"
      where = { family = "gpt3", metric = "val_loss" }   # keep rows with these values
      columns = { run = "model_name", loss = "value" }   # canonical name = source column
      loss_transform = "log"       # "none" (loss in nats/token) or "log" (perplexity)
      duplicates = "mean"          # rows of a run at one token count: "mean" or "keep"

      [cuts]                       # named checkpoint selections (bayescale.checkpoints)
      all = {}
      from_30pct = { min_fraction = 0.3 }

      [[grid]]                     # a product of these axes; several [[grid]] are a union
      data = ["gpt3"]
      families = ["all"]           # or lists of family names fitted together
      n_models = [2, 3, "all"]     # model sizes fitted per family, below the target
      pick = ["largest"]           # which of them: "largest" (nearest the target), "smallest"
      cuts = ["all", "from_30pct"]
      laws = ["chinchilla"]
      holdout = ["largest"]        # the target: each family's largest size, or N (params)
      replicates = 1               # repeats of every cell with different seeds

- **Seeds and ids.** A task's seed is ``SeedSequence(sweep seed, spawn_key=hash of the task's
  axis values)``: a spawned child keyed by content rather than by position, so adding a cell to
  the grid changes no other task's seed. Its id hashes the axis values, the resolved
  checkpoint selection, the fit settings, the sweep seed and the data's hash: a task whose fit
  would differ gets a new id, a repeated one the same.
- **Execution** (:func:`run_sweep`): a local Dask cluster by default (one process per worker,
  one thread each, so NUTS fits never share a GIL; each fit runs its chains on ``fit.cores``
  threads, default 1), or an existing cluster by address. Every task is a Dask future; as
  each completes, its record is written atomically to ``OUT/tasks/<id>.json``. A worker that
  dies has its tasks rescheduled by the Dask scheduler; a task that raises is recorded as
  ``failed`` with its error and the sweep goes on. Re-running skips every task with a record
  (``retry_failed=True`` reruns the failed ones).
- **Results**: one tidy row per task (:attr:`SweepResult.table`: axes, seed, median ARE,
  coverage, diagnostics verdict, wall time, error), one per held-out target
  (:attr:`SweepResult.targets`), a summary over the grid cells (:func:`summarise`) and a plot
  of median ARE and coverage against the number of models per cut (:func:`plot_sweep`).

ARE is the absolute relative error |median - observed| / observed of the predicted final loss
(nats/token) of a held-out run; coverage is the share of held-out runs inside their 90%
(``prob``) predictive interval.
"""

from __future__ import annotations

from bayescale.sweep.execution import (
    plan,
    run_sweep,
)
from bayescale.sweep.results import (
    GROUP_AXES,
    TABLE_COLUMNS,
    TARGET_COLUMNS,
    SweepResult,
    summarise,
    summary_markdown,
    tidy,
    write_outputs,
)
from bayescale.sweep.spec import (
    CANONICAL,
    MAPPED_ONLY,
    PICKS,
    RESULT_FILES,
    SOURCE_KEYS,
    STATUS_FAILED,
    STATUS_OK,
    TASKS_DIR,
    DataSource,
    SweepSpec,
    load_spec,
    parse_spec,
)
from bayescale.sweep.store import (
    read_store,
)
from bayescale.sweep.tasks import (
    Task,
    expand,
    fit_task,
    select_models,
    task_seed,
)

__all__ = [
    "CANONICAL",
    "DataSource",
    "GROUP_AXES",
    "MAPPED_ONLY",
    "PICKS",
    "RESULT_FILES",
    "SOURCE_KEYS",
    "STATUS_FAILED",
    "STATUS_OK",
    "SweepResult",
    "SweepSpec",
    "TABLE_COLUMNS",
    "TARGET_COLUMNS",
    "TASKS_DIR",
    "Task",
    "expand",
    "fit_task",
    "load_spec",
    "parse_spec",
    "plan",
    "read_store",
    "run_sweep",
    "select_models",
    "summarise",
    "summary_markdown",
    "task_seed",
    "tidy",
    "write_outputs",
]
