"""Tests for bayescale.data: reading, validating and hashing run tables."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bayescale.data import (
    OPTIONAL,
    REQUIRED,
    check_family_points,
    data_hash,
    parse_column_mapping,
    read_csv_table,
    read_runs,
    rename_columns,
    run_label,
)
from bayescale.exceptions import DataError, DataWarning

GADRE = Path(__file__).resolve().parents[1].parent / "shared/data/gadre_overtrain/runs.csv"


def make_table(**overrides) -> pd.DataFrame:
    """A small valid table: two families, two sizes each, two token counts."""
    table = pd.DataFrame(
        {
            "family": ["b", "b", "a", "a", "a", "a"],
            "params": [2e6, 2e6, 1e6, 1e6, 3e6, 3e6],
            "tokens": [4e7, 2e7, 2e7, 1e7, 6e7, 3e7],
            "loss": [3.0, 3.2, 3.5, 3.9, 2.9, 3.1],
        }
    )
    for name, values in overrides.items():
        table[name] = values
    return table


def test_data_error_is_value_error():
    assert issubclass(DataError, ValueError)
    with pytest.raises(ValueError):
        read_runs(make_table().iloc[:0])


def test_canonical_names():
    assert REQUIRED == ("params", "tokens", "loss")
    assert OPTIONAL == ("family", "seed", "run", "flops", "recipe", "unique_tokens", "lr_area",
                        "lr_anneal_area")


# ---------------------------------------------------------------- happy path


def test_read_dataframe_defaults_and_order():
    table = make_table()
    before = table.copy()
    runs = read_runs(table)

    pd.testing.assert_frame_equal(table, before)  # caller's frame untouched
    assert list(runs.columns) == [
        "family", "run", "seed", "params", "tokens", "flops", "loss", "row",
    ]
    assert runs["seed"].dtype == np.int64
    for name in ("params", "tokens", "flops", "loss"):
        assert runs[name].dtype == np.float64
    assert (runs["seed"] == 0).all()
    np.testing.assert_allclose(runs["flops"], 6 * runs["params"] * runs["tokens"])
    assert runs["run"].iloc[0] == "a|N=1e+06|seed=0"
    # sorted by family, run, tokens; `row` keeps the input positions
    assert list(runs["family"]) == ["a", "a", "a", "a", "b", "b"]
    assert list(runs["tokens"]) == [1e7, 2e7, 3e7, 6e7, 2e7, 4e7]
    assert list(runs["row"]) == [3, 2, 5, 4, 1, 0]
    assert list(runs.index) == list(range(6))


def test_read_without_family_uses_all():
    runs = read_runs(make_table().drop(columns="family"))
    assert set(runs["family"]) == {"all"}
    assert runs["run"].nunique() == 3  # one run per (family, params, seed)


def test_read_keeps_given_columns_and_extras():
    table = make_table(
        run=[7, 7, 8, 8, 9, 9],
        seed=[1.0, 1.0, 2.0, 2.0, 3.0, 3.0],
        flops=[1e15] * 6,
        recipe=["r1"] * 6,
        lr=[0.1] * 6,
    )
    runs = read_runs(table)
    assert list(runs.columns) == [
        "family", "run", "seed", "params", "tokens", "flops", "loss", "recipe", "lr", "row",
    ]
    assert set(runs["run"]) == {"7", "8", "9"}
    assert runs["seed"].dtype == np.int64
    assert (runs["flops"] == 1e15).all()
    assert (runs["lr"] == 0.1).all()


def test_big_integers_do_not_overflow():
    table = pd.DataFrame(
        {"params": np.array([12_000_000_000], dtype=np.int64),
         "tokens": np.array([300_000_000_000], dtype=np.int64),
         "loss": [2.0]}
    )
    runs = read_runs(table)
    assert runs["flops"].iloc[0] == pytest.approx(6 * 1.2e10 * 3e11)
    assert runs["flops"].iloc[0] > 0


def test_read_csv(tmp_path):
    path = tmp_path / "runs.csv"
    path.write_text(
        "params,tokens,loss\n"
        "12000000000,300000000000,2.1\n"
        "1000000,20000000,3.5\n"
    )
    runs = read_runs(path)
    assert len(runs) == 2
    assert list(runs["family"]) == ["all", "all"]
    assert runs["flops"].max() == pytest.approx(6 * 1.2e10 * 3e11)
    assert sorted(runs["row"]) == [0, 1]
    assert read_runs(str(path)).equals(runs)


def test_read_real_gadre_file():
    if not GADRE.exists():
        pytest.skip(f"{GADRE} not available")
    runs = read_runs(GADRE, columns={"family": "dataset", "loss": "loss_c4_val", "run": "run_name"})
    assert len(runs) == 104
    assert runs["family"].nunique() == 3
    assert (runs["flops"] > 0).all()
    check_family_points(runs, n_family_params=5, pooling="none")


# ---------------------------------------------------------------- reading errors


def test_missing_file(tmp_path):
    path = tmp_path / "nope.csv"
    with pytest.raises(DataError, match=r"nope\.csv.*does not exist"):
        read_runs(path)


def test_empty_file(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_text("")
    with pytest.raises(DataError, match=r"empty\.csv.*empty"):
        read_runs(path)


def test_not_a_csv(tmp_path):
    path = tmp_path / "binary.csv"
    path.write_bytes(b"\xff\xfe\x00\x81\x82" * 50)
    with pytest.raises(DataError, match=r"binary\.csv"):
        read_runs(path)


def test_directory_is_not_readable(tmp_path):
    with pytest.raises(DataError, match="cannot read"):
        read_runs(tmp_path)


# ---------------------------------------------------------------- validation rules


def test_rule1_no_rows():
    with pytest.raises(DataError, match="no rows"):
        read_runs(make_table().iloc[:0])


def test_rule1_header_only_csv(tmp_path):
    path = tmp_path / "header.csv"
    path.write_text("params,tokens,loss\n")
    with pytest.raises(DataError, match="no rows"):
        read_runs(path)


def test_rule2_missing_required_columns():
    table = make_table().drop(columns=["tokens", "loss"])
    match = r"'tokens', 'loss'.*available columns: family, params.*--columns"
    with pytest.raises(DataError, match=match):
        read_runs(table)


def test_rule3_non_numeric():
    table = make_table(tokens=["1e7", "2e7", "x", 3e7, "n/a", 5e7])
    with pytest.raises(DataError, match=r"column 'tokens' has non-numeric values at rows 2, 4$"):
        read_runs(table)


def test_rule3_non_numeric_seed():
    with pytest.raises(DataError, match=r"column 'seed' has non-numeric values at rows 0"):
        read_runs(make_table(seed=["abc", 1, 1, 1, 1, 1]))


def test_rule3_lists_at_most_five_rows():
    table = make_table(loss=["bad"] * 6)
    with pytest.raises(DataError, match=r"column 'loss'.*rows 0, 1, 2, 3, 4 and 1 more"):
        read_runs(table)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf, None])
def test_rule4_non_finite(bad):
    table = make_table(loss=[3.0, 3.2, bad, 3.9, 2.9, 3.1])
    match = r"column 'loss' has non-finite \(NaN or inf\) values at rows 2"
    with pytest.raises(DataError, match=match):
        read_runs(table)


def test_rule4_non_finite_flops():
    with pytest.raises(DataError, match=r"column 'flops' has non-finite .* rows 5"):
        read_runs(make_table(flops=[1e15] * 5 + [np.nan]))


def test_rule5_non_positive():
    table = make_table(params=[2e6, 0, 1e6, -1e6, 3e6, 3e6])
    match = r"column 'params' has non-positive values at rows 1, 3; params must be > 0"
    with pytest.raises(DataError, match=match):
        read_runs(table)


def test_rule6_seed_integer_valued():
    with pytest.raises(DataError, match=r"column 'seed' has non-integer values at rows 1, 2"):
        read_runs(make_table(seed=[0, 0.5, np.nan, 1, 1, 1]))


def test_rule7_family_missing_values():
    with pytest.raises(DataError, match=r"column 'family' has missing values at rows 4"):
        read_runs(make_table(family=["b", "b", "a", "a", None, "a"]))


def test_rule8_duplicate_rows():
    table = make_table()
    table.loc[4] = table.loc[1]
    match = r"duplicate rows .*family, params, tokens, loss.* rows 1, 4"
    with pytest.raises(DataError, match=match):
        read_runs(table)


def test_rule8_duplicates_name_each_pair():
    table = make_table()
    table.loc[5] = table.loc[0]
    table.loc[3] = table.loc[2]
    with pytest.raises(DataError, match=r"rows 0, 5; rows 2, 3$"):
        read_runs(table)


def test_rule8_duplicates_compare_numeric_values():
    table = make_table(tokens=["4e7", "2e7", "2e7", "1e7", "6e7", "3e7"]).astype(object)
    table.loc[5] = ["a", 1e6, 10_000_000, 3.9]  # same as row 3 once parsed
    with pytest.raises(DataError, match=r"duplicate rows .* rows 3, 5"):
        read_runs(table)


def test_rules_apply_in_order():
    # non-numeric (rule 3) is reported before non-positive (rule 5)
    table = make_table(params=[-1, "x", 1e6, 1e6, 3e6, 3e6])
    with pytest.raises(DataError, match="non-numeric"):
        read_runs(table)


def test_same_tokens_different_runs_are_not_duplicates():
    runs = read_runs(make_table(loss=[3.0] * 6))
    assert len(runs) == 6


# ---------------------------------------------------------------- column mapping


def test_column_mapping():
    table = make_table().rename(columns={"params": "n_params", "tokens": "D", "family": "dataset"})
    mapping = parse_column_mapping("params=n_params, tokens=D,family=dataset")
    assert mapping == {"params": "n_params", "tokens": "D", "family": "dataset"}
    runs = read_runs(table, columns=mapping)
    expected = read_runs(make_table())
    pd.testing.assert_frame_equal(runs, expected)


def test_parse_column_mapping_round_trip():
    mapping = {"params": "n_params", "tokens": "D", "loss": "val loss"}
    text = ",".join(f"{k}={v}" for k, v in mapping.items())
    assert parse_column_mapping(text) == mapping
    assert parse_column_mapping(None) == {}
    assert parse_column_mapping("  ") == {}


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("params", r"malformed.*'params'"),
        ("params=", r"malformed.*'params='"),
        ("=n_params", r"malformed"),
        ("params=a=b", r"malformed"),
        ("size=n_params", r"unknown canonical column.*'size'"),
        ("params=a,params=b", r"'params' twice"),
        ("params=a,tokens=a", r"same column.*'a'"),
    ],
)
def test_parse_column_mapping_errors(text, match):
    with pytest.raises(DataError, match=match):
        parse_column_mapping(text)


def test_mapping_names_absent_column():
    with pytest.raises(DataError, match=r"'n_params'.*not in the table"):
        read_runs(make_table(), columns={"params": "n_params"})


def test_mapping_unknown_canonical_name():
    with pytest.raises(DataError, match=r"unknown canonical column.*'size'"):
        read_runs(make_table(), columns={"size": "params"})


def test_mapping_clashes_with_existing_column():
    table = make_table(loss_val=[1.0] * 6)
    with pytest.raises(DataError, match=r"'loss_val' to 'loss'.*already has a column 'loss'"):
        read_runs(table, columns={"loss": "loss_val"})


# ---------------------------------------------------------------- family points


def test_check_family_points_none():
    runs = read_runs(make_table())  # family a: 4 points, family b: 2 points
    check_family_points(runs, n_family_params=2, pooling="none")
    match = r"column 'family'.*'b' has 2 .*rows 0, 1.*at least 3.*partial"
    with pytest.raises(DataError, match=match):
        check_family_points(runs, n_family_params=3, pooling="none")


def test_check_family_points_partial_warns():
    runs = read_runs(make_table())
    with pytest.warns(DataWarning, match=r"'b' has 2 .*borrow strength"):
        check_family_points(runs, n_family_params=3, pooling="partial")


def test_check_family_points_partial_single_family_ok(recwarn):
    runs = read_runs(make_table().drop(columns="family"))
    check_family_points(runs, n_family_params=5, pooling="partial")
    assert not [w for w in recwarn if issubclass(w.category, DataWarning)]


def test_check_family_points_complete():
    runs = read_runs(make_table())  # 6 distinct points overall
    check_family_points(runs, n_family_params=6, pooling="complete")
    with pytest.raises(DataError, match=r"'params', 'tokens'.*6 distinct.*at least 7"):
        check_family_points(runs, n_family_params=7, pooling="complete")


def test_check_family_points_bad_pooling():
    with pytest.raises(DataError, match=r"pooling.*'full'"):
        check_family_points(read_runs(make_table()), n_family_params=1, pooling="full")


# ---------------------------------------------------------------- hashing


def test_data_hash_stable_and_order_independent():
    table = make_table()
    digest = data_hash(read_runs(table))
    assert len(digest) == 64
    assert data_hash(read_runs(table)) == digest
    shuffled = table.sample(frac=1.0, random_state=0)
    assert data_hash(read_runs(shuffled)) == digest


def test_data_hash_changes_with_loss():
    table = make_table()
    digest = data_hash(read_runs(table))
    table.loc[2, "loss"] = 3.5000000000000004
    assert data_hash(read_runs(table)) != digest


def test_data_hash_covers_extra_law_inputs():
    """Two tables that differ only in unique_tokens are different data for data_constrained."""
    table = make_table()
    plain = data_hash(read_runs(table))
    table["unique_tokens"] = table["tokens"]
    with_u = data_hash(read_runs(table))
    assert with_u != plain
    table.loc[0, "unique_tokens"] = table.loc[0, "tokens"] / 2
    assert data_hash(read_runs(table)) != with_u
    assert data_hash(read_runs(make_table())) == plain  # tables without it hash as before


def test_shared_table_loaders():
    """bayescale.datasets.tables builds the benchmark / case-study tables from ../shared/data."""
    from bayescale.datasets import tables

    data = GADRE.parents[1]
    curves = tables.hitchhiker_curves(data, ("gpt3", "opt", "datablations-c4-1ep"))
    assert set(curves["family"]) == {"gpt3", "opt", "datablations-c4-1ep"}
    assert not curves.duplicated(["family", "run", "tokens"]).any()  # duplicates averaged
    assert curves["loss"].between(1.0, 10.0).all()  # nats/token (OPT: log perplexity)
    read_runs(curves)  # a valid run table
    frontier = tables.laion_frontier(data, "cosine")
    assert set(frontier["recipe"]) == {"CLIP", "MaMMUT"}
    for _, env in frontier.groupby("recipe"):  # an envelope: accuracy rises with compute
        assert env.sort_values("flops")["accuracy"].is_monotonic_increasing


# ---------------------------------------------------------------- one reader, one mapping, labels


@pytest.mark.parametrize("what", ["run table", "metric table"])
def test_one_csv_reader_for_loss_and_metric_tables(tmp_path, what):
    """read_runs and read_metric_runs fail alike, through read_csv_table, naming the table."""
    from bayescale.metric import read_metric_runs

    reader = read_runs if what == "run table" else read_metric_runs
    with pytest.raises(DataError, match=rf"cannot read {what} .*nope\.csv.*does not exist"):
        reader(tmp_path / "nope.csv")
    with pytest.raises(DataError, match=rf"cannot read {what} .*it is a folder"):
        reader(tmp_path)
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(DataError, match=rf"cannot read {what} .*empty\.csv.*the file is empty"):
        reader(tmp_path / "empty.csv")
    (tmp_path / "binary.csv").write_bytes(b"\xff\xfe\x00\x81" * 50)
    with pytest.raises(DataError, match=rf"cannot read {what} .*not a readable CSV file"):
        reader(tmp_path / "binary.csv")


def test_read_csv_table_returns_the_file_as_it_is(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("a,b\n1,x\n2,y\n")
    table = read_csv_table(path, what="anything")
    assert list(table.columns) == ["a", "b"] and table["a"].tolist() == [1, 2]


def test_rename_columns_checks_against_the_table_types_names():
    table = pd.DataFrame({"acc": [0.5], "n": [1e8], "loss": [3.0]})
    out = rename_columns(table, {"params": "n"}, known=("params", "loss"))
    assert list(out.columns) == ["acc", "params", "loss"]
    with pytest.raises(DataError, match=r"unknown canonical column.*'tokens'.*known names are "
                                        r"params, loss"):
        rename_columns(table, {"tokens": "n"}, known=("params", "loss"))
    with pytest.raises(DataError, match=r"'missing'.*not in the table"):
        rename_columns(table, {"params": "missing"}, known=("params", "loss"))


def test_metric_tables_map_columns_with_the_same_rules():
    """The metric reader refuses what the loss reader refuses (a rename onto a column the table
    already has) with the same message."""
    from bayescale.metric import read_metric_runs

    table = pd.DataFrame({"accuracy": [0.3, 0.6], "flops": [1e20, 1e21],
                          "compute": [2e20, 2e21]})
    runs, _ = read_metric_runs(table.drop(columns="flops"), columns={"flops": "compute"})
    assert runs["flops"].tolist() == [2e20, 2e21]
    with pytest.raises(DataError, match=r"'compute' to 'flops'.*already has a column 'flops'"):
        read_metric_runs(table, columns={"flops": "compute"})


def test_one_run_label_for_default_runs_recipes_and_simulations():
    from bayescale.decisions import recipe_runs
    from bayescale.simulate import simulate_runs

    assert run_label("fam0", 1.234567e8, 2.0) == "fam0|N=1.23457e+08|seed=2"
    runs = read_runs(make_table())
    assert (runs["run"] == [run_label(f, p, s) for f, p, s in
                            zip(runs["family"], runs["params"], runs["seed"], strict=True)]).all()
    simulated, _ = simulate_runs(n_families=1, sizes=(1.5e8,), seeds=2, checkpoints=2,
                                 random_seed=0)
    assert set(simulated["run"]) == {run_label("fam0", 1.5e8, 0), run_label("fam0", 1.5e8, 1)}
    recipes = recipe_runs(make_table(recipe=["A", "A", "A", "B", "B", "B"]))
    assert set(recipes["run"]) <= {run_label(f, p, s) for f, p, s in
                                   zip(recipes["family"], recipes["params"], recipes["seed"],
                                       strict=True)}
