"""``bayescale report DIR``: one self-contained HTML page that summarises a fit for people.

The page holds the data summary, the law and its priors, the sampling diagnostics verdict, the
parameter table, predictions, any decisions found in the folder and every figure of
:mod:`bayescale.plots`, embedded as base64 PNG: no scripts, no external files, so it can be
mailed or pasted into a design review as it is. It is written atomically to
``DIR/report.html`` (or ``--out``).

``DIR`` is a folder written by ``bayescale fit``, ``demo``, ``compare --out`` or ``emergence
--out``: it must hold ``fit.nc``; a metric fit (``emergence``) gets a simpler page
(:func:`metric_report`); ``summary.csv``, ``predictions.csv`` (held-out runs, from ``demo``),
``decision.csv`` (``compare``) and other CSV tables and PNG figures (``compare.png``,
``optimal.png``, ...) are included when present.
"""

from __future__ import annotations

import base64
import datetime as _dt
import html
import io
import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from bayescale import _defaults
from bayescale._version import __version__
from bayescale.exceptions import BayescaleWarning
from bayescale.metric.law import MetricFit

FIT_FILE = _defaults.FIT_FILE
REPORT_FILE = _defaults.REPORT_FILE
#: Files of the folder the report reads itself (everything else CSV/PNG is shown as found).
KNOWN_FILES = {FIT_FILE, "summary.csv", "diagnostics.json", "fit.png", "predictions.csv",
               "decision.csv"}
MAX_TABLE_ROWS = _defaults.MAX_TABLE_ROWS
DPI = _defaults.REPORT_DPI

CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;max-width:1180px;
margin:1.5em auto;padding:0 1em;color:#1c1c1c;line-height:1.45}
h1{font-size:1.5em;margin-bottom:.2em}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;
margin-top:1.8em}h3{margin-bottom:.3em}
.meta{color:#555;font-size:.9em}
.verdict{padding:.7em 1em;border-radius:6px;font-weight:600;margin:1em 0}
.ok{background:#e6f4ea;border:1px solid #7bc48f}.bad{background:#fde8e8;border:1px solid #e08080}
table{border-collapse:collapse;font-size:.86em;margin:.5em 0}
th,td{border:1px solid #ddd;padding:.25em .55em;text-align:right}
th{background:#f3f3f3}td:first-child,th:first-child,td.t{text-align:left}
figure{margin:1.2em 0}figure img{max-width:100%;height:auto;border:1px solid #eee}
figcaption{font-size:.88em;color:#444;margin-top:.3em}
pre{background:#f7f7f7;padding:.6em;overflow-x:auto;font-size:.82em}
.note{color:#8a4b00}
"""


@dataclass
class Report:
    """A rendered report: the HTML text, the figures (name -> PNG bytes) and any problems."""

    html: str
    figures: dict[str, bytes] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    diagnostics_ok: bool = False


# ------------------------------------------------------------------------------ formatting


def _e(value) -> str:
    return html.escape(str(value))


def _num(value) -> str:
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating):
        value = float(value)
        if not math.isfinite(value):
            return "n/a"
        return f"{value:.4g}"
    return str(value)


def _cell(value) -> str:
    text = _e(_num(value))
    numeric = isinstance(value, int | float | np.integer | np.floating) and not isinstance(
        value, bool | np.bool_)
    return f"<td>{text}</td>" if numeric else f"<td class='t'>{text}</td>"


def _table(frame: pd.DataFrame, *, max_rows: int = MAX_TABLE_ROWS) -> str:
    """An escaped HTML table of ``frame`` (numbers to 4 significant digits)."""
    note = ""
    if len(frame) > max_rows:
        note = f"<p class='meta'>first {max_rows} of {len(frame)} rows</p>"
        frame = frame.head(max_rows)
    head = "".join(f"<th>{_e(c)}</th>" for c in frame.columns)
    body = "".join(
        "<tr>" + "".join(_cell(v) for v in row) + "</tr>"
        for row in frame.itertuples(index=False)
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{note}"


def _png(fig) -> bytes:
    from matplotlib import pyplot as plt

    buffer = io.BytesIO()
    try:
        fig.savefig(buffer, format="png", dpi=DPI)
    finally:
        plt.close(fig)
    return buffer.getvalue()


def _img(name: str, png: bytes, caption: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return (f"<figure id='fig-{_e(name)}'><img alt='{_e(caption)}' "
            f"src='data:image/png;base64,{data}'><figcaption>{_e(caption)}</figcaption>"
            "</figure>")


# ------------------------------------------------------------------------------ sections


def data_summary(runs: pd.DataFrame) -> pd.DataFrame:
    """Per family: rows, runs, ranges of N (parameters), D (tokens), C (FLOPs) and loss."""
    rows = []
    for family, part in runs.groupby("family"):
        rows.append({
            "family": family, "rows": len(part), "runs": part["run"].nunique(),
            "N min": part["params"].min(), "N max": part["params"].max(),
            "D min": part["tokens"].min(), "D max": part["tokens"].max(),
            "C min (FLOPs)": part["flops"].min(), "C max (FLOPs)": part["flops"].max(),
            "loss min": part["loss"].min(), "loss max": part["loss"].max(),
        })
    return pd.DataFrame(rows)


def prior_table(fit) -> pd.DataFrame:
    """The law parameters' priors as fitted (population mean Normal(mu, sigma), spread mode)."""
    rows = []
    for name, prior in fit.law.full_priors().items():
        rows.append({"parameter": name, "population mean ~ Normal(mu, .)": prior.mu,
                     "sigma": prior.sigma, "spread ~ Gamma(2, 1/tau), tau": prior.tau,
                     "centred": prior.centered, "pooling": prior.pooling or fit.law.pooling})
    return pd.DataFrame(rows)


def _noise_priors(fit) -> list[str]:
    from bayescale.model import CORR_LENGTH_PRIOR, NU_GAMMA, SIGMA_PRIOR, SIGMA_RUN_PRIOR

    lines = [f"sigma (residual sd of log loss) ~ HalfNormal({SIGMA_PRIOR})"]
    if fit.law.likelihood == "student_t":
        lines.append(f"nu = 2 + Gamma({NU_GAMMA[0]:g}, rate {NU_GAMMA[1]:g}) (Student-t)")
    if fit.run_effect:
        lines.append(f"sigma_run (run-to-run sd) ~ HalfNormal({SIGMA_RUN_PRIOR})")
    if fit.residuals == "ar1":
        lines.append(f"log corr_length (e-folds of tokens) ~ Normal{CORR_LENGTH_PRIOR}")
    return lines


def extrapolations(fit, *, prob: float, random_seed: int = 0) -> pd.DataFrame | None:
    """Predicted loss of a new run at 10x and 100x each family's largest observed compute.

    Along the tokens-per-parameter ratio D/N of that family's largest run (N = sqrt(C / 6r),
    D = r N), or along C for a law of compute alone; ``kind="predictive"`` (a new run: seed
    and observation noise included). None when the law reads other inputs.
    """
    form = fit.form
    if not set(form.inputs) <= {"params", "tokens", "flops"}:
        return None
    runs = fit.runs
    tables = []
    for family in fit.families:
        rows = runs[runs["family"] == family]
        top = rows.loc[rows["flops"].idxmax()]
        ratio = float(top["tokens"] / top["params"])
        for factor in (10.0, 100.0):
            c = float(top["flops"]) * factor
            n = math.sqrt(c / (6.0 * ratio))
            point = pd.DataFrame({"params": [n], "tokens": [ratio * n], "flops": [c]})
            table = fit.predict(point[list(form.inputs)], family=family, prob=prob,
                                kind="predictive", random_seed=random_seed)
            tables.append({"family": family, "compute vs largest run": f"{factor:.0f}x",
                           "N": n, "D": ratio * n, "C (FLOPs)": c,
                           "median": table["median"].iloc[0],
                           f"lower ({prob:.0%})": table["lower"].iloc[0],
                           f"upper ({prob:.0%})": table["upper"].iloc[0]})
    return pd.DataFrame(tables)


def _held_out(predictions: pd.DataFrame | None) -> pd.DataFrame | None:
    if predictions is None or not {"family", "observed"} <= set(predictions):
        return None
    held = predictions.drop(columns=["loss"], errors="ignore").rename(
        columns={"observed": "loss"})
    keep = [c for c in ("family", "params", "tokens", "flops", "unique_tokens", "lr_area",
                        "lr_anneal_area", "loss") if c in held]
    return held[keep]


CAPTIONS = {
    "loss_tokens": "Loss against training tokens D (one curve per model size N).",
    "loss_params": ("Loss against parameters N at each run's final checkpoint (one curve per "
                    "tokens-per-parameter group)."),
    "parameters": ("Parameter posteriors per family and for the population (partial pooling: "
                   "families are pulled towards the population mean; the grey band is where a "
                   "new family would lie)."),
    "ppc": ("Posterior predictive check: replicated data sets against the observed losses, and "
            "the PIT-ECDF minus uniform with its simultaneous test (arviz_plots; flat when "
            "calibrated)."),
    "residuals": ("Residuals of log loss around the fitted law against tokens, one line per "
                  "run: smooth lines are correlated checkpoints."),
    "prior_predictive": "Prior predictive check: what the priors allowed before the data.",
    "trace": "Trace and per-chain densities of the population parameters and noise.",
    "rank": "Rank ECDF plots per chain: inside the envelope means the chains agree.",
}


def _figure_specs(fit, held_out, prob, random_seed) -> list[tuple[str, str, Callable]]:
    from bayescale import plots

    def loss(x):
        return lambda: plots.plot_loss(fit, x=x, held_out=held_out, prob=prob,
                                       random_seed=random_seed)

    compute = (f"Loss against training compute C, one panel per family: data, posterior "
               f"median and {prob:.0%} band of each model size's mean curve")
    compute += ("; held-out runs (red crosses) with the predictive interval of a new run."
                if held_out is not None else ".")
    draw = {
        "loss_compute": loss("flops"),
        "loss_tokens": loss("tokens"),
        "loss_params": loss("params"),
        "parameters": lambda: plots.plot_parameters(fit, prob=prob, random_seed=random_seed),
        "ppc": lambda: plots.plot_ppc(fit, prob=prob, random_seed=random_seed),
        "residuals": lambda: plots.plot_residuals(fit),
        "prior_predictive": lambda: plots.plot_prior_predictive(fit, prob=prob,
                                                                random_seed=random_seed),
        "trace": lambda: plots.plot_trace(fit),
        "rank": lambda: plots.plot_rank(fit),
    }
    captions = {"loss_compute": compute, **CAPTIONS}
    return [(name, captions[name], fn) for name, fn in draw.items()]


def _read_csv(path: Path) -> pd.DataFrame | None:
    try:
        return pd.read_csv(path)
    except (OSError, ValueError, pd.errors.ParserError):
        return None


def build_report(
    folder: str | Path,
    *,
    prob: float = _defaults.CI_PROB,
    random_seed: int = 0,
) -> Report:
    """Render the report of the fit in ``folder`` (see the module docstring) to HTML.

    Raises
    ------
    FileNotFoundError
        ``folder`` holds no ``fit.nc``.
    SpecMismatchError
        ``fit.nc`` is not a fit bayescale can trust (see :func:`bayescale.load_fit`).
    """
    from bayescale.fits import load_fit

    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"no folder {folder}")
    fit_path = folder / FIT_FILE
    if not fit_path.is_file():
        raise FileNotFoundError(f"no {FIT_FILE} in {folder}: run 'bayescale fit' or 'demo' "
                                "with --out there first")
    fit = load_fit(fit_path)
    if isinstance(fit, MetricFit):
        return metric_report(folder, fit, prob=prob)
    runs = fit.runs
    form = fit.form
    d = fit.diagnostics
    report = Report(html="", diagnostics_ok=d.ok)
    summary = _read_csv(folder / "summary.csv")
    if summary is None:
        summary = fit.summary(prob=prob)
    predictions = _read_csv(folder / "predictions.csv")
    held_out = _held_out(predictions)
    parts: list[str] = []
    add = parts.append

    # header and verdict
    title = (f"bayescale report: {form.name} law on {len(runs)} rows, "
             f"{len(fit.families)} famil{'y' if len(fit.families) == 1 else 'ies'}")
    parts += _header(title, folder, fit)
    add("<p>Intervals are equal-tailed; their probability is stated with each table and "
        "figure. Units: N in parameters, D in tokens, C in FLOPs, loss in nats/token.</p>")

    figures = _draw_figures(report, _figure_specs(fit, held_out, prob, random_seed))

    # data
    add("<h2>Data</h2>")
    add(f"<p>{len(runs)} rows (checkpoints) of {runs['run'].nunique()} runs in "
        f"{len(fit.families)} famil{'y' if len(fit.families) == 1 else 'ies'}.</p>")
    add(_table(data_summary(runs)))
    if held_out is not None:
        add(f"<p>{len(held_out)} held-out rows were not fitted (see Predictions).</p>")

    # law and priors
    add("<h2>Law and priors</h2>")
    first = form.doc.strip().splitlines()[0] if form.doc.strip() else form.name
    add(f"<p><b>{_e(first)}</b><br>Reference: {_e(form.reference)}</p>")
    settings = fit.settings
    model_rows = pd.DataFrame([
        {"setting": "likelihood (of log loss)", "value": fit.law.likelihood},
        {"setting": "pooling across families", "value": fit.law.pooling},
        {"setting": "residuals along a run", "value": fit.residuals},
        {"setting": "run offsets (seeds)", "value": "yes" if fit.run_effect else "no"},
        {"setting": "reference scales", "value": ", ".join(
            f"{k}={v:.3g}" for k, v in fit.scales.items())},
        {"setting": "sampler", "value": (
            f"{settings.get('sampler')}: {settings.get('chains')} chains x "
            f"{settings.get('draws')} draws ({settings.get('tune')} tuning), seed "
            f"{settings.get('random_seed')}, target_accept {settings.get('target_accept')}, "
            f"{_num(float(settings.get('wall_seconds', float('nan'))))} s")},
    ])
    add(_table(model_rows))
    add("<h3>Priors of the law parameters</h3>")
    add(_table(prior_table(fit)))
    add("<p>Noise: " + "; ".join(_e(x) for x in _noise_priors(fit)) + ".</p>")
    add(f"<details><summary>The law's documentation</summary><pre>{_e(form.doc)}</pre>"
        "</details>")
    add(figures["prior_predictive"])

    # diagnostics
    parts += _diagnostics_section(d, figures)

    # parameters
    add("<h2>Parameters</h2>")
    derived = list(form.derived({n: np.zeros(1) for n in form.parameters}, fit.scales, np)) \
        if form.derived is not None else []
    main = summary[summary["parameter"].isin(derived + ["sigma", "sigma_run", "nu",
                                                        "corr_length"])]
    add(f"<p>Posterior median and {prob:.0%} equal-tailed interval "
        "(the paper's constants, and the noise parameters).</p>")
    add(_table(main if len(main) else summary))
    add(f"<details><summary>Every parameter ({len(summary)} rows)</summary>"
        f"{_table(summary, max_rows=1000)}</details>")
    add(figures["parameters"])

    # fit and checks
    add("<h2>Fit</h2>")
    for name in ("loss_compute", "loss_tokens", "loss_params"):
        add(figures[name])
    add("<h2>Model checks</h2>")
    add(figures["ppc"])
    add(figures["residuals"])

    # predictions
    add("<h2>Predictions</h2>")
    if predictions is not None:
        add("<h3>Held-out runs</h3>")
        if {"covered", "abs_rel_error"} <= set(predictions):
            add(f"<p>{int(predictions['covered'].sum())}/{len(predictions)} observed losses "
                f"inside their predictive intervals; median absolute relative error "
                f"{predictions['abs_rel_error'].median():.2%}.</p>")
        add(_table(predictions))
    table = extrapolations(fit, prob=prob, random_seed=random_seed)
    add("<h3>Extrapolation</h3>")
    if table is None:
        add(f"<p>The {_e(form.name)} law reads {_e(', '.join(form.inputs))}; use "
            "<code>bayescale predict</code> for its predictions.</p>")
    else:
        add(f"<p>Loss of a new run (median and {prob:.0%} predictive interval) at 10x and "
            "100x the compute of each family's largest run, at that run's tokens per "
            "parameter.</p>")
        add(_table(table))

    # decisions and other outputs
    decision = _read_csv(folder / "decision.csv")
    others = _other_outputs(folder)
    if decision is not None or others:
        add("<h2>Decisions and other results in the folder</h2>")
    if decision is not None:
        add("<h3>decision.csv</h3>")
        add(_table(decision))
    parts += others
    report.html = _page(title, parts, report.problems)
    return report


def metric_report(folder: Path, fit: MetricFit, *, prob: float = _defaults.CI_PROB) -> Report:
    """The page of a bounded-metric fit (``bayescale emergence --out``): data, law and
    settings, the curves figure, the parameter table, diagnostics and the folder's other
    outputs (``thresholds.csv``, ``emergence.png``)."""
    from bayescale import plots
    from bayescale.plots.mcmc import default_variables

    data, d = fit.data, fit.diagnostics
    report = Report(html="", diagnostics_ok=d.ok)
    n = len(fit.families)
    title = (f"bayescale report: {fit.form.name} metric law on {len(data)} rows, {n} "
             f"famil{'y' if n == 1 else 'ies'}")
    parts = _header(title, folder, fit)
    names = [*default_variables(fit), "log_concentration"]
    names = [v for v in names if v in fit.idata["posterior"]]
    figures = _draw_figures(report, [
        ("metric_curves", f"{fit.metric} against training compute C: data, posterior median "
         f"and {prob:.0%} band of each family's expected {fit.metric}, a new family (dashed) "
         "and chance (dotted).", lambda: plots.plot_metric_fit(fit, prob=prob)),
        ("trace", CAPTIONS["trace"], lambda: plots.plot_trace(fit, var_names=names)),
        ("rank", CAPTIONS["rank"], lambda: plots.plot_rank(fit, var_names=names))])
    rows = [{"family": family, "rows": len(part), "C min (FLOPs)": part["flops"].min(),
             "C max (FLOPs)": part["flops"].max(), f"{fit.metric} min": part["metric"].min(),
             f"{fit.metric} max": part["metric"].max(),
             "items (median)": part["n_items"].median()}
            for family, part in data.groupby("family")]
    parts += ["<h2>Data</h2>", f"<p>{len(data)} rows in {n} famil{'y' if n == 1 else 'ies'}; "
              f"metric {_e(fit.metric)} in [0, 1], chance {fit.chance:g}, ceiling "
              f"{fit.ceiling:g}.</p>", _table(pd.DataFrame(rows)), figures["metric_curves"]]
    settings = fit.settings
    first = fit.form.doc.strip().splitlines()[0] if fit.form.doc.strip() else fit.form.name
    parts += ["<h2>Law and priors</h2>",
              f"<p><b>{_e(first)}</b><br>Reference: {_e(fit.form.reference)}</p>",
              _table(pd.DataFrame([
                  {"setting": "likelihood", "value": fit.likelihood},
                  {"setting": "pooling across families", "value": fit.law.pooling},
                  {"setting": "reference scales", "value": ", ".join(
                      f"{k}={v:.3g}" for k, v in fit.scales.items())},
                  {"setting": "sampler", "value": (
                      f"{settings.get('sampler')}: {settings.get('chains')} chains x "
                      f"{settings.get('draws')} draws ({settings.get('tune')} tuning), seed "
                      f"{settings.get('random_seed')}")}])),
              _table(prior_table(fit))]
    summary = _read_csv(folder / "summary.csv")
    summary = fit.summary(prob=prob) if summary is None else summary
    parts += ["<h2>Parameters</h2>", f"<p>Posterior median and {prob:.0%} equal-tailed "
              "interval of every parameter (law parameters per family and for the "
              "population; concentration of the beta / beta-binomial noise).</p>",
              _table(summary, max_rows=1000)]
    parts += _diagnostics_section(d, figures)
    others = _other_outputs(folder)
    if others:
        parts += ["<h2>Other results in the folder</h2>", *others]
    report.html = _page(title, parts, report.problems)
    return report


def _header(title: str, folder: Path, fit) -> list[str]:
    """Title, provenance line and the diagnostics verdict of a fit's page."""
    d = fit.diagnostics
    written = _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    parts = [f"<h1>{_e(title)}</h1>",
             f"<p class='meta'>folder {_e(folder.resolve())} &middot; written {_e(written)} "
             f"&middot; bayescale {_e(__version__)} (fit by "
             f"{_e(fit.idata.attrs.get('bayescale_version', '?'))}) &middot; data SHA-256 "
             f"{_e(str(fit.idata.attrs.get('data_sha256', ''))[:16])}&hellip;</p>"]
    numbers = (f"{d.divergences} divergences, max r_hat {d.max_rhat:.3f} (limit "
               f"{_defaults.RHAT_MAX}), min bulk ESS {d.min_ess_bulk:.0f} (limit "
               f"{_defaults.ESS_BULK_MIN}), {d.mean_tree_size:.0f} leapfrog steps per draw")
    if d.ok:
        parts.append(f"<div class='verdict ok'>Diagnostics: ok &mdash; {_e(numbers)}</div>")
    else:
        items = "".join(f"<li>{_e(m)}</li>" for m in d.messages)
        parts.append(f"<div class='verdict bad'>Diagnostics: PROBLEMS &mdash; {_e(numbers)}"
                     f"<ul>{items}</ul>The numbers below are not reliable until these are "
                     "fixed.</div>")
    return parts


def _draw_figures(report: Report, specs) -> dict[str, str]:
    """Draw each ``(name, caption, draw)``: name -> HTML (the PNGs go to ``report.figures``);
    a figure that fails becomes a note and a problem, and the page goes on."""
    figures: dict[str, str] = {}
    for name, caption, draw in specs:
        try:
            png = _png(draw())
        except Exception as err:  # noqa: BLE001 - one failed figure must not lose the page
            message = f"figure {name!r} could not be drawn: {type(err).__name__}: {err}"
            report.problems.append(message)
            warnings.warn(message, BayescaleWarning, stacklevel=3)
            figures[name] = f"<p class='note'>{_e(message)}</p>"
            continue
        report.figures[name] = png
        figures[name] = _img(name, png, caption)
    return figures


def _diagnostics_section(d, figures: dict[str, str]) -> list[str]:
    worst = d.table.sort_values("r_hat", ascending=False).head(8).reset_index(
        names="variable")
    return ["<h2>Sampling diagnostics</h2>",
            _table(pd.DataFrame([{"divergences": d.divergences, "max r_hat": d.max_rhat,
                                  "min bulk ESS": d.min_ess_bulk,
                                  "leapfrog steps per draw": d.mean_tree_size,
                                  "verdict": "ok" if d.ok else "PROBLEMS"}])),
            "<details><summary>Variables with the highest r_hat</summary>"
            f"{_table(worst)}</details>", figures["trace"], figures["rank"]]


def _other_outputs(folder: Path, known=KNOWN_FILES) -> list[str]:
    """Every other CSV table and PNG figure in ``folder``, as HTML."""
    parts = []
    for path in sorted(p for p in folder.iterdir() if p.is_file() and p.name not in known
                       and p.suffix in (".csv", ".png")):
        if path.suffix == ".csv":
            frame = _read_csv(path)
            if frame is not None:
                parts.append(f"<h3>{_e(path.name)}</h3>{_table(frame)}")
        else:
            png = path.read_bytes()
            if png[:8] == b"\x89PNG\r\n\x1a\n":
                parts.append(_img(path.stem, png, path.name))
    return parts


def _page(title: str, parts: list[str], problems: list[str]) -> str:
    if problems:
        parts = [*parts, "<h2>Problems writing this report</h2><ul>"
                 + "".join(f"<li class='note'>{_e(p)}</li>" for p in problems) + "</ul>"]
    return ("<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
            "<meta name='viewport' content='width=device-width, initial-scale=1'>"
            "<link rel='icon' href='data:,'>"
            f"<title>{_e(title)}</title><style>{CSS}</style></head><body>"
            + "\n".join(parts) + "</body></html>\n")


def write_report(
    folder: str | Path,
    *,
    out: str | Path | None = None,
    prob: float = _defaults.CI_PROB,
    random_seed: int = 0,
    figures: bool = False,
) -> dict:
    """Write ``report.html`` for the fit in ``folder`` (atomically); optionally the figures.

    ``out`` defaults to ``folder/report.html``; ``figures=True`` also writes each figure as
    ``folder/figures/<name>.png``. Returns ``{"report": path, "figures": {name: path},
    "diagnostics_ok": bool, "problems": [...]}``.
    """
    from bayescale.io import atomic_write, atomic_write_text

    folder = Path(folder)
    report = build_report(folder, prob=prob, random_seed=random_seed)
    path = Path(out) if out is not None else folder / REPORT_FILE
    atomic_write_text(path, report.html)
    written = {}
    if figures:
        target = folder / "figures"
        target.mkdir(exist_ok=True)
        for name, png in report.figures.items():
            written[name] = str(atomic_write(target / f"{name}.png",
                                             lambda tmp, png=png: Path(tmp).write_bytes(png)))
    return {"report": str(path), "figures": written, "diagnostics_ok": report.diagnostics_ok,
            "problems": list(report.problems)}


# ------------------------------------------------------------------------------ command line
