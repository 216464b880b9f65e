"""The record store: one atomic JSON record per finished task under OUT/tasks/."""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from bayescale.sweep.spec import TASKS_DIR
from bayescale.sweep.tasks import _jsonable

# --------------------------------------------------------------------------- store


def read_store(out: str | os.PathLike) -> dict[str, dict[str, Any]]:
    """Every task record in ``OUT/tasks/`` by task id (unreadable files are warned and ignored,
    so their tasks run again)."""
    folder = Path(out) / TASKS_DIR
    records = {}
    if not folder.is_dir():
        return records
    for path in sorted(folder.glob("*.json")):
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
            task_id = record["task_id"]
        except (OSError, ValueError, KeyError, TypeError) as err:
            warnings.warn(f"ignoring unreadable sweep record {path} ({err}); its task runs "
                          "again", stacklevel=2)
            continue
        if task_id != path.stem:
            warnings.warn(f"ignoring {path}: it holds task {task_id}", stacklevel=2)
            continue
        records[task_id] = record
    return records


def _write_record(folder: Path, record: Mapping[str, Any]) -> Path:
    from bayescale.io import atomic_write_text

    text = json.dumps(_jsonable(record), indent=1, allow_nan=False) + "\n"
    return atomic_write_text(folder / f"{record['task_id']}.json", text)
