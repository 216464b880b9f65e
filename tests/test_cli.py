"""The command line: fit, predict, demo, bad input and bad paths (real NUTS where marked).

Every test runs ``main([...])`` in-process, except the ``fitted_dir`` fixture: it runs
``python -m bayescale fit --json`` in a subprocess, the one check of the stdout contract at the
file-descriptor level (samplers write progress to descriptor 1; stdout must still carry exactly
one JSON object).
"""

import json
import os
import subprocess
import sys
import warnings

import pandas as pd
import pytest

import bayescale.cli.fit as fit_command
from bayescale.cli import main
from bayescale.exceptions import ConvergenceWarning, DataError, DataWarning
from bayescale.simulate import simulate_runs


def run_cli(*args, cwd=None):
    """Run ``python -m bayescale`` in a subprocess; return (status, stdout, stderr)."""
    proc = subprocess.run([sys.executable, "-m", "bayescale", *map(str, args)],
                          capture_output=True, text=True, cwd=cwd, timeout=900)
    return proc.returncode, proc.stdout, proc.stderr


def call(capsys, *args):
    """Run ``main`` in-process; return (status, stdout, stderr)."""
    status = main([str(a) for a in args])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


@pytest.fixture(scope="module")
def small_csv(tmp_path_factory):
    runs, _ = simulate_runs(n_families=3, sizes=(3e7, 1e8, 3e8, 1e9), seeds=1, checkpoints=5,
                            random_seed=11)
    path = tmp_path_factory.mktemp("data") / "runs.csv"
    runs.rename(columns={"params": "n_params"}).to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def fitted_dir(small_csv, tmp_path_factory):
    out = tmp_path_factory.mktemp("fit") / "out"
    status, stdout, stderr = run_cli(
        "fit", small_csv, "--law", "chinchilla", "--out", out, "--draws", 300, "--tune", 300,
        "--chains", 2, "--seed", 3, "--columns", "params=n_params", "--json")
    assert status == 0, stderr
    return out, stdout, stderr


@pytest.mark.slow
def test_fit_writes_every_output(fitted_dir):
    out, stdout, _ = fitted_dir
    result = json.loads(stdout)  # exactly one JSON object on stdout
    for name in ("fit.nc", "summary.csv", "diagnostics.json", "fit.png"):
        assert (out / name).stat().st_size > 0
    diag = json.loads((out / "diagnostics.json").read_text())
    assert {"divergences", "max_rhat", "min_ess_bulk", "ok"} <= set(diag)
    assert result["diagnostics"]["divergences"] == diag["divergences"]
    summary = pd.read_csv(out / "summary.csv")
    assert {"population mean", "fam0", "fam1", "fam2"} <= set(summary["family"].dropna())
    assert (out / "fit.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not [p for p in os.listdir(out) if p.endswith(".tmp")]


@pytest.mark.slow
def test_predict_json_contract(fitted_dir, capsys):
    out, _, _ = fitted_dir
    status, stdout, stderr = call(capsys, "predict", out, "--params", 3e9, "--tokens", 6e10,
                                  "--family", "fam1", "--json")
    assert status == 0, stderr
    result = json.loads(stdout)
    assert {"mean", "median", "lower", "upper", "prob"} <= set(result)
    assert result["prob"] == 0.9
    assert 0 < result["lower"] < result["median"] < result["upper"]
    status, stdout, _ = call(capsys, "predict", out, "--params", 3e9, "--tokens", 6e10, "--json",
                             "--prob", 0.5)
    new_family = json.loads(stdout)
    assert status == 0 and new_family["family"] == "(new family)" and new_family["prob"] == 0.5


@pytest.mark.slow
def test_predict_text_and_errors(fitted_dir, capsys):
    out, _, _ = fitted_dir
    status, stdout, _ = call(capsys, "predict", out, "--params", 3e9, "--tokens", 6e10)
    assert status == 0 and "interval" in stdout
    status, stdout, stderr = call(capsys, "predict", out, "--params", 3e9, "--tokens", 6e10,
                                  "--family", "nope")
    assert status == 2 and stdout == ""
    assert "unknown family 'nope'" in stderr and "Traceback" not in stderr
    status, _, stderr = call(capsys, "predict", out, "--params", 3e9)
    assert status == 2 and "--tokens" in stderr


@pytest.mark.slow
def test_demo_fits_bundled_data_cleanly(tmp_path, capsys):
    """The main job at default settings: no divergences, r_hat <= 1.01, plot written."""
    status, stdout, stderr = call(capsys, "demo", "--out", tmp_path / "demo", "--json")
    assert status == 0, stderr
    result = json.loads(stdout)
    assert result["diagnostics"]["divergences"] == 0
    assert result["diagnostics"]["max_rhat"] <= 1.01
    assert result["diagnostics"]["ok"] is True
    assert (tmp_path / "demo" / "fit.png").stat().st_size > 0
    predictions = pd.DataFrame(result["predictions"])
    assert len(predictions) == 9
    # The held-out runs are 3.5x to 17x larger than any fitted model: the bar is Gadre et
    # al.'s own extrapolation error (a few percent), and most intervals must cover.
    assert predictions["abs_rel_error"].median() < 0.03
    assert predictions["covered"].mean() >= 0.6


def test_bad_csv_exits_2_naming_the_column(tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    pd.DataFrame({"params": [1e8, 2e8], "tokens": [1e9, -5], "loss": [3.0, 2.9]}).to_csv(
        bad, index=False)
    status, stdout, stderr = call(capsys, "fit", bad, "--out", tmp_path / "out")
    assert status == 2 and stdout == ""
    assert "tokens" in stderr and "Traceback" not in stderr
    assert len(stderr.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()  # nothing created before the data passed


def test_missing_csv_and_missing_column(tmp_path, capsys):
    assert main(["fit", str(tmp_path / "nope.csv"), "--out", str(tmp_path / "o")]) == 2
    assert "does not exist" in capsys.readouterr().err
    csv = tmp_path / "nocol.csv"
    pd.DataFrame({"params": [1e8], "loss": [3.0]}).to_csv(csv, index=False)
    assert main(["fit", str(csv), "--out", str(tmp_path / "o")]) == 2
    assert "tokens" in capsys.readouterr().err


def test_unknown_law_exits_2(tmp_path, small_csv, capsys):
    assert main(["fit", str(small_csv), "--columns", "params=n_params", "--law", "nope",
                 "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "unknown law 'nope'" in err and "chinchilla" in err


def test_unwritable_output_dir_exits_2(tmp_path, small_csv, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    status = main(["fit", str(small_csv), "--columns", "params=n_params",
                   "--out", str(blocker / "out")])
    assert status == 2
    err = capsys.readouterr().err
    assert "output folder" in err and str(blocker) in err


def test_unwritable_output_dir_permissions(tmp_path, small_csv, capsys, monkeypatch):
    out = tmp_path / "ro"
    out.mkdir()
    real_access = os.access
    monkeypatch.setattr(os, "access",
                        lambda p, mode: False if str(p) == str(out) else real_access(p, mode))
    assert main(["fit", str(small_csv), "--columns", "params=n_params", "--out", str(out)]) == 2
    assert "not writable" in capsys.readouterr().err


def test_predict_on_missing_fit_exits_2(tmp_path, capsys):
    assert main(["predict", str(tmp_path), "--params", "1e9", "--tokens", "2e10"]) == 2
    assert "no saved fit" in capsys.readouterr().err


def test_non_positive_cli_number_is_a_usage_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["predict", str(tmp_path), "--params", "-1", "--tokens", "2e10"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "--params" in err and "must be a finite number > 0" in err


def test_debug_shows_traceback(tmp_path, capsys):
    args = ["predict", str(tmp_path), "--params", "1e9", "--tokens", "1e10"]
    assert main(args) == 2  # without --debug: one line, no traceback
    assert "Traceback" not in capsys.readouterr().err
    with pytest.raises(FileNotFoundError, match="no saved fit"):
        main([*args, "--debug"])  # with --debug the error propagates (traceback)


def _failing_predict(error):
    """A ``predict`` command that records two warnings, then raises ``error``."""
    def command(args):
        warnings.warn("3 divergent transitions", ConvergenceWarning, stacklevel=1)
        warnings.warn("family 'fam0' has 2 points", DataWarning, stacklevel=1)
        raise error
    return command


PREDICT = ["predict", "somewhere", "--params", "1e9", "--tokens", "1e10"]


def test_warnings_recorded_before_an_error_are_printed(capsys, monkeypatch):
    monkeypatch.setattr(fit_command, "cmd_predict",
                        _failing_predict(DataError("column 'loss' has non-positive values")))
    with warnings.catch_warnings():
        warnings.simplefilter("default")  # as a user's interpreter: warnings shown, not raised
        status, stdout, stderr = call(capsys, *PREDICT)
    assert status == 2 and stdout == ""
    lines = stderr.strip().splitlines()
    assert "bayescale: warning: 3 divergent transitions" in lines
    assert sum("DataWarning: family 'fam0' has 2 points" in line for line in lines) == 1
    assert lines[-1] == "bayescale: error: column 'loss' has non-positive values"


@pytest.mark.parametrize("error", [KeyError("family"), TypeError("bad operand"),
                                   AttributeError("no attribute 'x'"),
                                   ValueError("operands could not be broadcast")])
def test_an_internal_error_exits_1_with_one_line(capsys, monkeypatch, error):
    """A bug (not bad input) is not reported as bad input: status 1, one line, no traceback."""
    monkeypatch.setattr(fit_command, "cmd_predict", _failing_predict(error))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        status, stdout, stderr = call(capsys, *PREDICT)
    assert status == 1 and stdout == ""
    lines = stderr.strip().splitlines()
    assert lines[0] == "bayescale: warning: 3 divergent transitions"
    assert len(lines) == 2 and "Traceback" not in stderr
    assert lines[1].startswith(f"bayescale: internal error ({type(error).__name__}: ")
    assert "please report it" in lines[1] and "--debug" in lines[1]


def test_an_internal_error_with_debug_raises(capsys, monkeypatch):
    monkeypatch.setattr(fit_command, "cmd_predict", _failing_predict(KeyError("family")))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        with pytest.raises(KeyError, match="family"):
            main([*PREDICT, "--debug"])
    assert "3 divergent transitions" in capsys.readouterr().err  # warnings still printed


def test_saved_figures_are_closed(tmp_path):
    """_save_png writes the PNG atomically and closes the figure, also when writing fails."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from bayescale.cli._args import _save_png

    fig = plt.figure()
    path = _save_png(fig, tmp_path / "f.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not plt.fignum_exists(fig.number)
    fig = plt.figure()
    with pytest.raises(OSError):
        _save_png(fig, tmp_path / "missing" / "f.png")
    assert not plt.fignum_exists(fig.number)
    assert not list(tmp_path.glob("*.tmp"))


@pytest.mark.parametrize("module", [
    "fit", "decisions", "backtest", "compare_laws", "report", "sweep", "emergence",
])
def test_every_cli_figure_goes_through_save_png(module):
    """No subcommand saves a figure itself (it would stay open): they all call _save_png."""
    import inspect

    import bayescale.cli

    source = inspect.getsource(getattr(bayescale.cli, module))
    assert ".savefig(" not in source
