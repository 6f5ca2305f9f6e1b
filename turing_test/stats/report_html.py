"""Self-contained HTML of a study report (inline CSS, figures as base64 PNG)."""

from __future__ import annotations

import base64
from html import escape
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from .report import StudyReport

FIGURE_CAPTIONS = {
    "rating_distributions": "Rating distributions, real vs synthetic, per task",
    "roc_curves": "ROC curves of the ratings, real vs synthetic (bold: pooled; thin: per reader)",
    "reader_auc_heatmap": "Per-reader AUC per task",
    "reader_accuracy_heatmap": "Per-reader forced-choice accuracy per task",
}

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem;max-width:72rem;color:#222}
h1{font-size:1.5rem} h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #ccc}
h3{font-size:1rem;margin-top:1.2rem}
table{border-collapse:collapse;margin:.5rem 0 1rem;font-size:.85rem}
th,td{border:1px solid #ccc;padding:.25rem .5rem;text-align:right}
th:first-child,td:first-child{text-align:left} thead th{background:#f3f3f3}
figure{margin:1rem 0} figcaption{font-size:.85rem;color:#555} img{max-width:100%}
.meta,.note{font-size:.85rem;color:#555}
"""


def fmt(value: float | int | None, digits: int = 3) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, int):
        return str(value)
    return f"{value:.{digits}f}"


def fmt_ci(pair: list | None, digits: int = 3) -> str:
    if not pair or (pair[0] is None and pair[1] is None):
        return "n/a"
    return "[" + ", ".join("n/a" if v is None else f"{v:.{digits}f}" for v in pair) + "]"


def fmt_p(value: float | None) -> str:
    return "n/a" if value is None else ("&lt;0.001" if value < 0.001 else f"{value:.3f}")


def _table(header: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def render_html(report: StudyReport) -> str:
    r = report.results
    parts = [
        f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{escape(report.title)}</title>"
        f"<style>{_CSS}</style></head><body><h1>{escape(report.title)}</h1>",
        f"<p class='meta'>{r['n_readers']} readers{' (pseudonymised)' if r['readers_pseudonymised'] else ''}, "
        f"{r['n_items']} items, {r['n_ratings']} ratings; scale {escape(str(r['scale'] or 'not declared'))}; "
        "truth 1 = real, 0 = synthetic; AUC 0.5 = readers cannot tell synthetic from real.</p>",
        "<h2>Summary (Table 7 layout)</h2>", _summary_table(r),
    ]
    for name, caption in FIGURE_CAPTIONS.items():
        if name in report.figures:
            data = base64.b64encode(report.figure_png(name)).decode()
            parts.append(f"<figure><img alt='{escape(caption)}' src='data:image/png;base64,{data}'>"
                         f"<figcaption>{escape(caption)}</figcaption></figure>")
    for task in r["tasks"]:
        parts.append(_task_section(task, r["per_task"][task]))
    if r["warnings"]:
        parts.append("<h2>Warnings</h2><ul>" + "".join(f"<li>{escape(w)}</li>" for w in r["warnings"]) + "</ul>")
    parts.append("</body></html>")
    return "\n".join(parts)


def _summary_table(r: dict) -> str:
    rows = []
    for entry in r["table7"]:
        res = r["per_task"][entry["task"]]
        d = res.get("discrimination") or {}
        fc = (res.get("forced_choice") or {}).get("pooled") or {}
        rows.append([escape(entry["task"]), escape(entry["real_label"]), escape(entry["synthetic_label"]),
                     f"{fmt(d.get('auc'))} {fmt_ci(d.get('ci95_delong'))}", fmt_ci(d.get("ci95_bootstrap")),
                     fmt_p(d.get("p")),
                     f"{fmt(fc.get('accuracy'))} {fmt_ci(fc.get('ci95'))}" if fc else "–"])
    return _table(["Task", "Real (mean ± SD)", "Synthetic (mean ± SD)", "AUC [95% CI DeLong]",
                   "AUC bootstrap CI", "Mann–Whitney p", "Forced-choice accuracy [exact CI]"], rows)


def _task_section(task: str, res: dict) -> str:
    parts = [f"<h2>{escape(task)}</h2>"]
    by = res["by_truth"]
    parts.append(_table(["Group", "n", "Mean ± SD", "Median", "IQR (Q1–Q3)"], [
        [label, fmt(d["n"]), f"{fmt(d['mean'], 2)} ± {fmt(d['sd'], 2)}", fmt(d["median"], 2),
         f"{fmt(d['iqr'], 2)} ({fmt(d['q1'], 2)}–{fmt(d['q3'], 2)})"] for label, d in by.items()]))
    parts.append("<h3>Agreement</h3>")
    if res["icc"]:
        parts.append(_table(["ICC (Shrout–Fleiss)", "Value", "95% CI", "F", "p"], [
            [form, fmt(e["value"]), fmt_ci(e["ci95"]), fmt(e["f"], 2), fmt_p(e["p"])]
            for form, e in res["icc"].items()]))
    alpha = res["krippendorff_alpha"] or {}
    kw = res["kendall_w"] or {}
    parts.append(_table(["Coefficient", "Value"], [
        *[[f"Krippendorff's alpha ({level})", fmt(v)] for level, v in alpha.items()],
        ["Fleiss' kappa (nominal; items rated by all)", fmt(res["fleiss_kappa"])],
        ["Kendall's W (tie-corrected)", f"{fmt(kw.get('w'))} (χ² {fmt(kw.get('chi2'), 2)}, df {kw.get('df', 'n/a')}, "
                                        f"p {fmt_p(kw.get('p'))})" if kw else "n/a"],
    ]))
    parts.append(_cohen_summary(res))
    parts.append(_discrimination(res))
    if res["notes"]:
        parts.append("<h3>Notes</h3><ul class='note'>" + "".join(
            f"<li><b>{escape(k)}</b>: {escape(v)}</li>" for k, v in res["notes"].items()) + "</ul>")
    return "\n".join(parts)


def _cohen_summary(res: dict) -> str:
    pairs = res["cohen_kappa"]
    if not pairs:
        return ""
    rows = []
    for weighting in ("unweighted", "linear", "quadratic"):
        values = np.array([p[weighting] for p in pairs if p[weighting] is not None], dtype=float)
        rows.append([weighting, str(values.size)] + (
            [fmt(float(np.median(values))), f"{fmt(float(values.min()))} – {fmt(float(values.max()))}"]
            if values.size else ["n/a", "n/a"]))
    full = _table(["Readers", "n", "Unweighted", "Linear", "Quadratic"], [
        [escape(" vs ".join(p["readers"])), fmt(p["n_items"]), fmt(p["unweighted"]), fmt(p["linear"]),
         fmt(p["quadratic"])] for p in pairs])
    return (f"<h3>Cohen's kappa, {len(pairs)} reader pairs (categories: {escape(res['cohen_kappa_categories'])})</h3>"
            + _table(["Weights", "Pairs", "Median", "Range"], rows)
            + f"<details><summary>All pairs</summary>{full}</details>")


def _discrimination(res: dict) -> str:
    d = res.get("discrimination")
    if not d:
        return ""
    parts = ["<h3>Real vs synthetic</h3>", _table(["Statistic", "Value"], [
        ["AUC (pooled ratings)", fmt(d["auc"])],
        ["DeLong SE / 95% CI", f"{fmt(d['se_delong'])} / {fmt_ci(d['ci95_delong'])}"],
        ["Bootstrap 95% CI (items resampled)", fmt_ci(d.get("ci95_bootstrap"))],
        ["Mann–Whitney U / p", f"{fmt(d['mann_whitney_u'], 1)} / {fmt_p(d['p'])}"],
        *_forced_choice_rows(res.get("forced_choice")),
    ])]
    m = res.get("mrmc")
    if m:
        rows = [[escape(mod), fmt(auc), fmt_ci(m["ci95_by_modality"][mod]), fmt(m["df_by_modality"][mod], 1)]
                for mod, auc in m["auc_by_modality"].items()]
        parts.append("<p>Obuchowski–Rockette MRMC (readers and cases random, jackknife covariance, Hillis df)</p>")
        parts.append(_table(["Modality", "Reader-averaged AUC", "95% CI", "df"], rows))
        if m.get("diff") is not None:
            parts.append(f"<p>Difference {escape(' − '.join(m['modalities']))}: {fmt(m['diff'])} "
                         f"{fmt_ci(m['diff_ci95'])}, F = {fmt(m['f'], 2)} on ({m['df1']}, {fmt(m['df2'], 1)}) df, "
                         f"p = {fmt_p(m['p'])}</p>")
    detail = res.get("per_reader_discrimination") or {}
    choice = (res.get("forced_choice") or {}).get("per_reader", {})
    rows = []
    for reader in sorted(set(detail) | set(choice)):
        a, c = detail.get(reader, {}), choice.get(reader)
        rows.append([escape(reader), f"{fmt(a.get('auc'))} {fmt_ci(a.get('ci95_delong'))}",
                     f"{fmt(c['accuracy'])} {fmt_ci(c['ci95'])} (n={c['n']}, p {fmt_p(c['p'])})" if c else "–"])
    parts.append(_table(["Reader", "AUC [DeLong CI]", "Forced-choice accuracy [exact CI]"], rows))
    return "\n".join(parts)


def _forced_choice_rows(fc: dict | None) -> list[list[str]]:
    if not fc:
        return []
    pooled = fc["pooled"]
    rows = [["Forced-choice accuracy, pooled [exact CI]",
             f"{fmt(pooled['accuracy'])} {fmt_ci(pooled['ci95'])} (n={pooled['n']}, binomial p {fmt_p(pooled['p'])})"]]
    signed = fc.get("auc_signed_confidence")
    if signed:
        rows.append(["AUC of confidence-signed forced choice [DeLong CI]",
                     f"{fmt(signed['auc'])} {fmt_ci(signed['ci95_delong'])}"])
    return rows
