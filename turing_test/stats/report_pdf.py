"""PDF of a study report with matplotlib only (no system libraries such as cairo/pango):
text pages in a monospaced font, then the report's figures as vector pages."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

import numpy as np
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure

from .report_html import FIGURE_CAPTIONS

if TYPE_CHECKING:
    from .report import StudyReport

A4 = (8.27, 11.69)
LINES_PER_PAGE = 78


def _n(value: float | None, digits: int = 3) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def _ci(pair: list | None) -> str:
    if not pair or (pair[0] is None and pair[1] is None):
        return "n/a"
    return "[" + ", ".join("n/a" if v is None else f"{v:.3f}" for v in pair) + "]"


def _p(value: float | None) -> str:
    return "n/a" if value is None else ("<0.001" if value < 0.001 else f"{value:.3f}")


def report_lines(report: StudyReport) -> list[str]:
    """The text of the report, one entry per printed line."""
    r = report.results
    lines = [report.title, "",
             f"{r['n_readers']} readers{' (pseudonymised)' if r['readers_pseudonymised'] else ''}, "
             f"{r['n_items']} items, {r['n_ratings']} ratings, scale {r['scale'] or 'not declared'}",
             "truth 1 = real, 0 = synthetic; AUC 0.5 = synthetic indistinguishable from real", "",
             "Table 7 layout: mean ± SD per task", f"{'task':<34}{'real':>16}{'synthetic':>16}{'AUC [DeLong CI]':>26}"]
    for entry in r["table7"]:
        d = r["per_task"][entry["task"]].get("discrimination") or {}
        lines.append(f"{entry['task'][:33]:<34}{entry['real_label']:>16}{entry['synthetic_label']:>16}"
                     f"{_n(d.get('auc')) + ' ' + _ci(d.get('ci95_delong')):>26}")
    for task in r["tasks"]:
        lines += ["", f"== {task}"] + _task_lines(r["per_task"][task])
    if r["warnings"]:
        lines += ["", "Warnings"] + [f"- {w}" for w in r["warnings"]]
    return lines


def _task_lines(res: dict) -> list[str]:
    lines = ["ICC            value   95% CI             p"]
    for form, e in (res["icc"] or {}).items():
        lines.append(f"  {form:<11}{_n(e['value']):>7}   {_ci(e['ci95']):<18} {_p(e['p'])}")
    alpha = res["krippendorff_alpha"] or {}
    lines.append("Krippendorff alpha: " + ", ".join(f"{k} {_n(v)}" for k, v in alpha.items()) if alpha
                 else "Krippendorff alpha: n/a")
    kw = res["kendall_w"]
    lines.append(f"Fleiss kappa {_n(res['fleiss_kappa'])}; Kendall W "
                 + (f"{_n(kw['w'])} (chi2 {kw['chi2']:.2f}, df {kw['df']}, p {_p(kw['p'])})" if kw else "n/a"))
    pairs = res["cohen_kappa"]
    for weighting in ("unweighted", "linear", "quadratic"):
        v = np.array([p[weighting] for p in pairs if p[weighting] is not None], dtype=float)
        if v.size:
            lines.append(f"Cohen kappa {weighting:<10} {len(pairs)} pairs: median {np.median(v):.3f}, "
                         f"range {v.min():.3f} to {v.max():.3f}")
    d = res.get("discrimination")
    if d:
        lines.append(f"AUC {_n(d['auc'])}, DeLong SE {_n(d['se_delong'])}, CI {_ci(d['ci95_delong'])}, "
                     f"bootstrap CI {_ci(d.get('ci95_bootstrap'))}")
        lines.append(f"Mann-Whitney U {d['mann_whitney_u']:.1f}, p {_p(d['p'])}")
    m = res.get("mrmc")
    if m:
        for mod, auc in m["auc_by_modality"].items():
            lines.append(f"OR-MRMC reader-averaged AUC ({mod}) {_n(auc)} {_ci(m['ci95_by_modality'][mod])}")
        if m.get("diff") is not None:
            lines.append(f"OR-MRMC difference {_n(m['diff'])} {_ci(m['diff_ci95'])}, F {_n(m['f'], 2)}, "
                         f"df ({m['df1']}, {_n(m['df2'], 1)}), p {_p(m['p'])}")
    fc = res.get("forced_choice")
    if fc:
        pooled = fc["pooled"]
        lines.append(f"Forced choice pooled accuracy {_n(pooled['accuracy'])} {_ci(pooled['ci95'])}, "
                     f"n {pooled['n']}, p {_p(pooled['p'])}")
    detail = res.get("per_reader_discrimination") or {}
    choice = (fc or {}).get("per_reader", {})
    lines.append(f"  {'reader':<10}{'AUC [DeLong CI]':<28}{'accuracy [exact CI]':<28}p")
    for reader in sorted(set(detail) | set(choice)):
        a, c = detail.get(reader, {}), choice.get(reader)
        acc = f"{_n(c['accuracy'])} {_ci(c['ci95'])}" if c else "-"
        lines.append(f"  {reader:<10}{_n(a.get('auc')) + ' ' + _ci(a.get('ci95_delong')):<28}{acc:<28}"
                     f"{_p(c['p']) if c else ''}")
    for key, reason in res["notes"].items():
        lines.append(f"note {key}: {reason}")
    return lines


def render_pdf(report: StudyReport) -> bytes:
    buffer = io.BytesIO()
    lines = [piece for line in report_lines(report) for piece in _wrap(line, 100)]
    with PdfPages(buffer, metadata={"Title": report.title, "Creator": "RadSynth"}) as pdf:
        for start in range(0, len(lines), LINES_PER_PAGE):
            page = Figure(figsize=A4)
            page.text(0.06, 0.96, "\n".join(lines[start:start + LINES_PER_PAGE]), family="monospace",
                      fontsize=7, va="top", ha="left")
            pdf.savefig(page)
        for name in FIGURE_CAPTIONS:  # same order as the HTML; panel titles name the tasks
            if name in report.figures:
                pdf.savefig(report.figures[name])
    return buffer.getvalue()


def _wrap(line: str, width: int) -> list[str]:
    return [line[i:i + width] for i in range(0, max(len(line), 1), width)] or [""]
