"""Reading and validating run tables.

A run table has one row per (run, checkpoint): a model with ``params`` parameters
(N) trained on ``tokens`` tokens (D) reached a ``loss`` in nats/token. Optional
columns are ``family`` (a data set or recipe sharing a scaling law), ``seed``,
``run`` (an identifier grouping the checkpoints of one training run), ``flops``
(training compute C in FLOPs; defaults to 6 N D), ``recipe``, and the inputs of some laws:
``unique_tokens`` (U, unique tokens in the training set, > 0; data-constrained law),
``lr_area`` (S1, the sum of the learning rate over steps, > 0) and ``lr_anneal_area``
(S2, the annealing area, >= 0; learning-rate annealing law).

Every problem with the table raises :class:`~bayescale.exceptions.DataError`
whose message names the column and the first offending rows, given as 0-based
row positions of the input table.
"""

from __future__ import annotations

import hashlib
import os
import warnings
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from bayescale import _defaults
from bayescale.exceptions import DataError, DataWarning

REQUIRED = ("params", "tokens", "loss")
OPTIONAL = ("family", "seed", "run", "flops", "recipe", "unique_tokens", "lr_area",
            "lr_anneal_area")

_CANONICAL = REQUIRED + OPTIONAL
_NUMERIC = ("params", "tokens", "loss", "flops", "seed", "unique_tokens", "lr_area",
            "lr_anneal_area")
_POSITIVE = ("params", "tokens", "loss", "flops", "unique_tokens", "lr_area")
_NON_NEGATIVE = ("lr_anneal_area",)  # zero for a run whose learning rate never decayed
_LABELS = ("family", "run", "recipe")
_HASH_COLUMNS = ("family", "run", "seed", "params", "tokens", "flops", "loss")
_HASHED_IF_PRESENT = ("unique_tokens", "lr_area", "lr_anneal_area")
_POOLINGS = _defaults.POOLINGS
_MAX_LISTED = _defaults.MAX_LISTED


def run_label(family: str, params: float, seed: int) -> str:
    """The default ``run`` label of a table without one: ``"{family}|N={params:.6g}|seed={seed}"``,
    e.g. ``"fam0|N=1e+08|seed=0"`` (one training run per family, model size and seed)."""
    return f"{family}|N={float(params):.6g}|seed={int(seed)}"


def _format_rows(positions: Sequence[int]) -> str:
    """Format row positions as ``"rows 3, 17"``, listing at most five then ``"and K more"``."""
    positions = [int(p) for p in positions]
    text = "rows " + ", ".join(str(p) for p in positions[:_MAX_LISTED])
    if len(positions) > _MAX_LISTED:
        text += f" and {len(positions) - _MAX_LISTED} more"
    return text


def _bad_rows(mask: pd.Series) -> list[int]:
    """0-based positions where ``mask`` is true."""
    return np.flatnonzero(mask.to_numpy(dtype=bool)).tolist()


def _check_mapping(columns: Mapping[str, str], known: Sequence[str] = _CANONICAL
                   ) -> dict[str, str]:
    """Validate a canonical -> user column mapping and return it as a dict."""
    mapping = dict(columns)
    unknown = [name for name in mapping if name not in known]
    if unknown:
        raise DataError(
            f"unknown canonical column(s) {', '.join(repr(u) for u in unknown)} in the column "
            f"mapping; known names are {', '.join(known)}"
        )
    targets = list(mapping.values())
    repeated = sorted({t for t in targets if targets.count(t) > 1})
    if repeated:
        raise DataError(
            f"column mapping maps several canonical names to the same column(s) "
            f"{', '.join(repr(r) for r in repeated)}"
        )
    return mapping


def parse_column_mapping(text: str | None) -> dict[str, str]:
    """Parse a command-line column mapping.

    Parameters
    ----------
    text : str or None
        Comma-separated ``canonical=user`` items, e.g. ``"params=n_params,tokens=D"``.
        ``None`` or a blank string means no mapping.

    Returns
    -------
    dict of str to str
        Canonical name -> the user's column name, e.g. ``{"params": "n_params", "tokens": "D"}``.

    Raises
    ------
    DataError
        If an item is not of the form ``canonical=user``, a canonical name is unknown
        or given twice.
    """
    if text is None or not text.strip():
        return {}
    mapping: dict[str, str] = {}
    for item in text.split(","):
        if not item.strip():
            continue
        canonical, sep, user = (part.strip() for part in item.partition("="))
        if not sep or not canonical or not user or "=" in user:
            raise DataError(
                f"malformed column mapping item {item.strip()!r}; expected canonical=user, "
                f"e.g. 'params=n_params'"
            )
        if canonical in mapping:
            raise DataError(f"column mapping gives canonical column {canonical!r} twice")
        mapping[canonical] = user
    return _check_mapping(mapping)


def read_csv_table(path: str | os.PathLike, *, what: str = "run table") -> pd.DataFrame:
    """Read a CSV file as it is; the one CSV reader of loss, metric and sweep tables.

    Every failure (no file, an empty file, not CSV, not text) raises a
    :class:`~bayescale.exceptions.DataError` naming ``what`` (e.g. ``"metric table"``) and the
    path.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        reason = "it is a folder" if os.path.isdir(path) else "the file does not exist"
        raise DataError(f"cannot read {what} {path!r}: {reason}")
    try:
        return pd.read_csv(path)
    except pd.errors.EmptyDataError:
        raise DataError(f"cannot read {what} {path!r}: the file is empty") from None
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, ValueError) as exc:
        raise DataError(f"cannot read {what} {path!r}: not a readable CSV file ({exc})") from exc



def rename_columns(table: pd.DataFrame, columns: Mapping[str, str] | None, *,
                   known: Sequence[str] = _CANONICAL) -> pd.DataFrame:
    """Rename user columns to canonical names according to ``columns`` (canonical -> user).

    The one column-mapping helper of loss and metric tables; ``known`` lists the canonical
    names the table type has. Raises :class:`~bayescale.exceptions.DataError` for an unknown
    canonical name, a user column that is not in the table, two names mapped to one column, or
    a rename onto a column the table already has.
    """
    if not columns:
        return table
    mapping = _check_mapping(columns, known)
    available = ", ".join(map(str, table.columns))
    for canonical, user in mapping.items():
        if user not in table.columns:
            raise DataError(
                f"column mapping names column {user!r} (for {canonical!r}) which is not in the "
                f"table; available columns: {available}"
            )
        if canonical != user and canonical in table.columns and canonical not in mapping.values():
            raise DataError(
                f"column mapping renames {user!r} to {canonical!r} but the table already has a "
                f"column {canonical!r}; drop or rename one of them"
            )
    return table.rename(columns={user: canonical for canonical, user in mapping.items()})


def _validate(table: pd.DataFrame) -> dict[str, pd.Series]:
    """Apply the validation rules in order; return the numeric columns as float64 Series."""
    if len(table) == 0:
        raise DataError("the run table is empty (no rows)")

    missing = [name for name in REQUIRED if name not in table.columns]
    if missing:
        example = ",".join(f"{m}=<your column>" for m in missing)
        raise DataError(
            f"missing required column(s) {', '.join(repr(m) for m in missing)}; available "
            f"columns: {', '.join(map(str, table.columns))}. Map your names with "
            f"columns={{...}} (CLI: --columns {example})"
        )

    present = [name for name in _NUMERIC if name in table.columns]
    numeric: dict[str, pd.Series] = {}
    for name in present:
        raw = table[name]
        values = pd.to_numeric(raw, errors="coerce")
        rows = _bad_rows(values.isna() & raw.notna())
        if rows:
            raise DataError(f"column {name!r} has non-numeric values at {_format_rows(rows)}")
        numeric[name] = values.astype("float64")

    for name in (n for n in _POSITIVE + _NON_NEGATIVE if n in numeric):
        rows = _bad_rows(~np.isfinite(numeric[name]))
        if rows:
            raise DataError(
                f"column {name!r} has non-finite (NaN or inf) values at {_format_rows(rows)}"
            )

    for name in (n for n in _POSITIVE if n in numeric):
        rows = _bad_rows(numeric[name] <= 0)
        if rows:
            raise DataError(
                f"column {name!r} has non-positive values at {_format_rows(rows)}; "
                f"{name} must be > 0"
            )

    for name in (n for n in _NON_NEGATIVE if n in numeric):
        rows = _bad_rows(numeric[name] < 0)
        if rows:
            raise DataError(
                f"column {name!r} has negative values at {_format_rows(rows)}; "
                f"{name} must be >= 0"
            )

    if "seed" in numeric:
        seed = numeric["seed"]
        rows = _bad_rows(~np.isfinite(seed) | (seed != np.round(seed)))
        if rows:
            raise DataError(f"column 'seed' has non-integer values at {_format_rows(rows)}")

    for name in (n for n in _LABELS if n in table.columns):
        rows = _bad_rows(table[name].isna())
        if rows:
            raise DataError(f"column {name!r} has missing values at {_format_rows(rows)}")

    canonical = [name for name in _HASH_COLUMNS + ("recipe",) if name in table.columns]
    comparable = pd.DataFrame(
        {name: numeric[name] if name in numeric else table[name] for name in canonical}
    )
    if comparable.duplicated().any():
        groups = comparable.groupby(canonical, sort=False).indices.values()
        groups = sorted((sorted(g) for g in groups if len(g) > 1), key=lambda g: g[0])
        listed = "; ".join(_format_rows(g) for g in groups[:_MAX_LISTED])
        if len(groups) > _MAX_LISTED:
            listed += f"; and {len(groups) - _MAX_LISTED} more groups"
        raise DataError(
            f"duplicate rows (identical in columns {', '.join(canonical)}): {listed}"
        )
    return numeric


def read_runs(
    source: str | os.PathLike | pd.DataFrame,
    *,
    columns: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Read and validate a run table.

    Parameters
    ----------
    source : str, os.PathLike or pandas.DataFrame
        Path to a CSV file, or a DataFrame (which is never modified).
    columns : mapping of str to str, optional
        Canonical name -> the user's column name, e.g. ``{"params": "n_params"}``.

    Returns
    -------
    pandas.DataFrame
        A new table with columns, in order:

        - ``family`` (str): ``"all"`` when the input has no family column;
        - ``run`` (str): defaults to ``"{family}|N={params:.6g}|seed={seed}"``;
        - ``seed`` (int64): defaults to 0;
        - ``params`` (float64): parameter count N, in parameters;
        - ``tokens`` (float64): training tokens D, in tokens;
        - ``flops`` (float64): training compute C, in FLOPs; defaults to 6 N D;
        - ``loss`` (float64): loss, in nats/token;
        - ``recipe`` (str), if present;
        - ``unique_tokens`` (U, tokens), ``lr_area`` (S1), ``lr_anneal_area`` (S2), float64,
          if present;
        - any other input columns, unchanged;
        - ``row`` (int64): the 0-based row position in the input table (replaces any
          input column of that name).

        Rows are sorted by family, run and tokens, with a fresh index.

    Raises
    ------
    DataError
        If the source cannot be read, or a column is missing, non-numeric, non-finite,
        non-positive, has non-integer seeds or missing labels, or rows are duplicated.
        The message names the column and the first offending input rows.
    """
    if isinstance(source, pd.DataFrame):
        table = source.copy()
    elif isinstance(source, (str, os.PathLike)):
        table = read_csv_table(source)
    else:
        raise TypeError(f"source must be a CSV path or a DataFrame, not {type(source).__name__}")

    table = rename_columns(table, columns).reset_index(drop=True)
    numeric = _validate(table)

    family = table["family"] if "family" in table else pd.Series("all", index=table.index)
    seed = numeric["seed"] if "seed" in numeric else pd.Series(0.0, index=table.index)
    params, tokens = numeric["params"], numeric["tokens"]
    if "run" in table:
        run = table["run"]
    else:
        labels = zip(family.astype(str), params, seed.astype("int64"), strict=True)
        run = pd.Series([run_label(f, p, s) for f, p, s in labels], index=table.index)

    out = pd.DataFrame(index=table.index)
    out["family"] = family.astype(str)
    out["run"] = run.astype(str)
    out["seed"] = seed.astype("int64")
    out["params"] = params
    out["tokens"] = tokens
    out["flops"] = numeric["flops"] if "flops" in numeric else 6.0 * params * tokens
    out["loss"] = numeric["loss"]
    if "recipe" in table:
        out["recipe"] = table["recipe"].astype(str)
    for name in ("unique_tokens", "lr_area", "lr_anneal_area"):
        if name in numeric:
            out[name] = numeric[name]
    for name in table.columns:
        if name not in _CANONICAL and name != "row":
            out[name] = table[name]
    out["row"] = np.arange(len(table), dtype="int64")

    out = out.sort_values(["family", "run", "tokens", "row"], kind="stable")
    return out.reset_index(drop=True)


def check_family_points(runs: pd.DataFrame, *, n_family_params: int, pooling: str) -> None:
    """Check that each family has enough distinct (N, D) points for its parameters.

    Parameters
    ----------
    runs : pandas.DataFrame
        A table from :func:`read_runs` (needs ``family``, ``params``, ``tokens``;
        ``row`` is used to name input rows).
    n_family_params : int
        Number of law parameters fitted per family.
    pooling : {"partial", "none", "complete"}
        ``"none"``: each family is fitted alone, so a family with fewer distinct
        (params, tokens) points than ``n_family_params`` raises.
        ``"partial"``: such families only trigger a :class:`DataWarning`; they
        borrow strength from the other families.
        ``"complete"``: one law for all families, so only the whole table must have
        at least ``n_family_params`` distinct points.

    Raises
    ------
    DataError
        If ``pooling`` is unknown or the data cannot identify the parameters.

    Warns
    -----
    DataWarning
        With ``pooling="partial"``, naming the families with too few points.
    """
    if pooling not in _POOLINGS:
        raise DataError(f"pooling must be one of {', '.join(_POOLINGS)}, not {pooling!r}")

    points = runs[["family", "params", "tokens"]]
    if pooling == "complete":
        count = len(points[["params", "tokens"]].drop_duplicates())
        if count < n_family_params:
            raise DataError(
                f"columns 'params', 'tokens': the table has {count} distinct (params, tokens) "
                f"points but complete pooling needs at least {n_family_params}"
            )
        return

    rows = runs["row"] if "row" in runs else pd.Series(runs.index, index=runs.index)
    counts = points.drop_duplicates().groupby("family", sort=True).size()
    weak = counts[counts < n_family_params]
    if weak.empty:
        return

    details = "; ".join(
        f"family {family!r} has {count} distinct (params, tokens) points at "
        f"{_format_rows(sorted(rows[runs['family'] == family]))}"
        for family, count in weak.items()
    )
    if pooling == "none":
        raise DataError(
            f"column 'family': {details}, but each family needs at least {n_family_params} "
            f"with pooling='none'; use pooling='partial' to borrow strength across families"
        )
    warnings.warn(
        f"column 'family': {details}, fewer than the {n_family_params} per-family "
        f"parameters; they borrow strength from the other families (partial pooling)",
        DataWarning,
        stacklevel=2,
    )


def data_hash(runs: pd.DataFrame) -> str:
    """Return a SHA-256 hex digest identifying the data in a run table.

    The hash covers columns family, run, seed, params (parameters), tokens (tokens),
    flops (FLOPs) and loss (nats/token), and the law inputs unique_tokens, lr_area and
    lr_anneal_area when the table has them, sorted canonically and written as CSV with
    round-tripping float repr, so it is stable across calls and independent of row
    order and of any other column.

    Parameters
    ----------
    runs : pandas.DataFrame
        A table from :func:`read_runs`.

    Returns
    -------
    str
        64 hexadecimal characters.

    Raises
    ------
    DataError
        If one of the hashed columns is missing.
    """
    missing = [name for name in _HASH_COLUMNS if name not in runs.columns]
    if missing:
        raise DataError(
            f"cannot hash the run table: missing column(s) {', '.join(repr(m) for m in missing)}"
        )
    table = pd.DataFrame(
        {
            "family": runs["family"].astype(str),
            "run": runs["run"].astype(str),
            "seed": runs["seed"].astype("int64"),
            **{name: runs[name].astype("float64") for name in _HASH_COLUMNS[3:]},
        }
    )
    # law inputs beyond N, D and C (e.g. unique_tokens) count when the table has them; a table
    # without them hashes as before
    for name in _HASHED_IF_PRESENT:
        if name in runs.columns:
            table[name] = runs[name].astype("float64").to_numpy()
    table = table.sort_values(list(_HASH_COLUMNS), kind="stable")
    text = table.to_csv(index=False, lineterminator="\n")
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
