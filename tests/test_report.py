"""``bayescale report``: the self-contained HTML page, checked in a real headless Chromium.

The report is built once (module fixture) from a synthetic fit folder laid out as ``bayescale
demo`` and ``compare --out`` leave it (fit files, held-out predictions, a decision table and an
extra figure). The browser test drives Debian's Chromium through Playwright; it is skipped,
with a loud reason, only when no Chromium can be found (scripts/test.sh installs it when it
can).
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
from conftest import make_fit

from bayescale.cli import main
from bayescale.cli.fit import _write_outputs

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
FIGURES = ("loss_compute", "loss_tokens", "loss_params", "parameters", "ppc", "residuals",
           "prior_predictive", "trace", "rank")


def find_chromium() -> str | None:
    """``$BAYESCALE_CHROMIUM`` or the first Chromium/Chrome on PATH."""
    if os.environ.get("BAYESCALE_CHROMIUM"):
        return os.environ["BAYESCALE_CHROMIUM"]
    for name in CHROMIUM_NAMES:
        path = shutil.which(name)
        if path:
            return path
    return None


@pytest.fixture(scope="module")
def report_dir(tmp_path_factory):
    """A fit folder with held-out predictions, a decision table and a foreign figure, and the
    ``bayescale report --json --figures`` result for it."""
    fit = make_fit("chinchilla", jitter=0.01)
    folder = tmp_path_factory.mktemp("report") / "fit"
    folder.mkdir()
    _write_outputs(fit, folder)
    runs = fit.runs
    held = runs[runs["params"] == runs["params"].max()].groupby("family").tail(1)
    pred = pd.concat([fit.predict(rows[["params", "tokens"]], family=family,
                                  kind="predictive") for family, rows in held.groupby("family")],
                     ignore_index=True)
    pred["observed"] = held["loss"].to_numpy() * 1.01
    pred["covered"] = (pred["lower"] <= pred["observed"]) & (pred["observed"] <= pred["upper"])
    pred["abs_rel_error"] = (pred["median"] - pred["observed"]).abs() / pred["observed"]
    pred.to_csv(folder / "predictions.csv", index=False)
    pd.DataFrame({"quantity": ["p_b_better"], "value": [0.73]}).to_csv(
        folder / "decision.csv", index=False)
    shutil.copy(folder / "fit.png", folder / "compare.png")
    return folder, pred


@pytest.fixture(scope="module")
def written(report_dir):
    folder, _ = report_dir
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        status = main(["report", str(folder), "--json", "--figures"])
    assert status == 0
    return json.loads(out.getvalue())


def test_report_is_written_atomically_with_every_section(report_dir, written):
    folder, pred = report_dir
    path = Path(written["report"])
    assert path == folder / "report.html"
    assert not [p for p in os.listdir(folder) if p.endswith(".tmp")]
    page = path.read_text(encoding="utf-8")
    for heading in ("Data", "Law and priors", "Priors of the law parameters",
                    "Sampling diagnostics", "Parameters", "Fit", "Model checks", "Predictions",
                    "Held-out runs", "Extrapolation", "decision.csv"):
        assert f">{heading}</h" in page, heading
    # the synthetic draws fail r_hat / ESS: the verdict says so, first thing on the page
    assert page.index("Diagnostics: PROBLEMS") < page.index("<h2>Data</h2>")
    assert written["diagnostics_ok"] is False and written["problems"] == []
    assert "Hoffmann et al. 2022" in page and "HalfNormal(0.1)" in page
    covered = int(pred["covered"].sum())
    assert f"{covered}/{len(pred)} observed losses" in page
    assert "p_b_better" in page and "0.73" in page
    assert "could not be drawn" not in page


def test_report_is_self_contained(written):
    page = Path(written["report"]).read_text(encoding="utf-8")
    sources = re.findall(r"<img[^>]*src='([^']*)'", page)
    assert len(sources) == len(FIGURES) + 1  # every figure, plus compare.png from the folder
    assert all(s.startswith("data:image/png;base64,") for s in sources)
    assert "<script" not in page and "http://" not in page and "https://" not in page
    assert set(written["figures"]) == set(FIGURES)
    for name, path in written["figures"].items():
        assert Path(path).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name


def test_report_renders_in_headless_chromium(written):
    executable = find_chromium()
    if executable is None:
        pytest.skip("NO CHROMIUM FOUND: the HTML report was NOT checked in a browser. Install "
                    "it (Debian: apt-get install chromium; scripts/test.sh does this as root) "
                    "or set BAYESCALE_CHROMIUM to a Chromium/Chrome binary.")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("NO PLAYWRIGHT: the HTML report was NOT checked in a browser; install the "
                    "'test' extra (pip install -e '.[test]')")
    messages, errors = [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.on("console", lambda m: messages.append((m.type, m.text)))
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("requestfailed", lambda r: errors.append(f"request failed: {r.url}"))
            response = page.goto(Path(written["report"]).resolve().as_uri(), wait_until="load")
            assert response is None or response.ok
            images = page.evaluate("Array.from(document.images).map(i => "
                                   "({ok: i.complete, w: i.naturalWidth, h: i.naturalHeight}))")
            title = page.title()
            headings = page.evaluate("Array.from(document.querySelectorAll('h2'))"
                                     ".map(h => h.textContent)")
        finally:
            browser.close()
    assert len(images) == len(FIGURES) + 1
    assert all(i["ok"] and i["w"] > 100 and i["h"] > 100 for i in images), images
    assert [m for m in messages if m[0] in ("error", "warning")] == []
    assert errors == []
    assert title.startswith("bayescale report: chinchilla law")
    assert "Sampling diagnostics" in headings


def test_report_of_a_folder_without_a_fit(tmp_path, capsys):
    assert main(["report", str(tmp_path)]) == 2
    assert "no fit.nc" in capsys.readouterr().err
    assert main(["report", str(tmp_path / "missing")]) == 2
    assert "no folder" in capsys.readouterr().err
    assert not (tmp_path / "report.html").exists()


def test_emergence_out_folder_is_a_fit_that_report_renders(tmp_path):
    """bayescale emergence --out DIR leaves fit.nc, summary.csv and diagnostics.json (beside
    its figure and thresholds), and bayescale report DIR renders that metric fit."""
    import contextlib
    import io

    import numpy as np

    from bayescale.fits import load_fit
    from bayescale.metric import MetricFit, simulate_emergence

    truth = {"a": {"c50": 3e19, "slope": 1.5, "top": 0.85}}
    csv = tmp_path / "metric.csv"
    simulate_emergence(truth, np.geomspace(1e18, 1e21, 8), random_seed=0).to_csv(csv,
                                                                                 index=False)
    folder = tmp_path / "em"

    def run(*argv):
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            assert main([*argv, "--json"]) == 0
        return json.loads(out.getvalue())

    answer = run("emergence", str(csv), "--level", "0.5", "--draws", "150", "--tune", "150",
                 "--chains", "2", "--seed", "1", "--out", str(folder))
    assert set(answer["files"]) == {"fit.nc", "summary.csv", "diagnostics.json",
                                    "emergence.png", "thresholds.csv"}
    assert not [p for p in os.listdir(folder) if p.endswith(".tmp")]
    fit = load_fit(folder / "fit.nc", warn=False)
    assert isinstance(fit, MetricFit) and fit.families == ["a"]
    assert fit.idata.attrs["bayescale_kind"] == "metric"
    assert fit.settings["draws"] == 150 and fit.settings["random_seed"] == 1
    summary = pd.read_csv(folder / "summary.csv")
    assert {"midpoint", "log_slope", "logit_height", "concentration"} <= set(
        summary["parameter"])
    assert (summary["lower"] <= summary["median"]).all()
    assert (summary["median"] <= summary["upper"]).all()
    diagnostics = json.loads((folder / "diagnostics.json").read_text())
    assert diagnostics == answer["diagnostics"]

    written = run("report", str(folder))
    page = Path(written["report"]).read_text(encoding="utf-8")
    assert "<title>bayescale report: sigmoid metric law on 8 rows, 1 family</title>" in page
    for heading in ("Data", "Law and priors", "Parameters", "Sampling diagnostics",
                    "Other results in the folder"):
        assert f">{heading}</h" in page, heading
    for figure in ("metric_curves", "trace", "rank", "emergence"):
        assert f"id='fig-{figure}'" in page, figure
    assert "thresholds.csv" in page and "logit_height" in page and "beta_binomial" in page
    assert written["problems"] == [] and "could not be drawn" not in page
    assert written["diagnostics_ok"] == diagnostics["ok"]
