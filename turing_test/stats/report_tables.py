"""Flat tables of a study report: the tidy results CSV and the XLSX workbook."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

import openpyxl
import pandas as pd

if TYPE_CHECKING:
    from .report import StudyReport

RESULT_COLUMNS = ["task", "section", "statistic", "group", "value", "ci95_lo", "ci95_hi", "se", "p", "n"]


def _row(task: str, section: str, statistic: str, value=None, *, group: str = "", ci=None,
         se=None, p=None, n=None) -> dict:
    lo, hi = (ci if ci else (None, None))
    return {"task": task, "section": section, "statistic": statistic, "group": group,
            "value": value, "ci95_lo": lo, "ci95_hi": hi, "se": se, "p": p, "n": n}


def results_table(results: dict) -> pd.DataFrame:
    """Every number of the report as one row (readers already pseudonymised if asked)."""
    rows: list[dict] = []
    for task in results["tasks"]:
        res = results["per_task"][task]
        for group, d in res["by_truth"].items():
            for stat in ("mean", "sd", "median", "q1", "q3", "iqr"):
                rows.append(_row(task, "descriptive", stat, d[stat], group=group, n=d["n"]))
        for form, entry in (res["icc"] or {}).items():
            rows.append(_row(task, "agreement", form, entry["value"], ci=entry["ci95"], p=entry["p"],
                             n=res["n_complete_items"]))
        for level, value in (res["krippendorff_alpha"] or {}).items():
            rows.append(_row(task, "agreement", f"krippendorff_alpha_{level}", value))
        rows.append(_row(task, "agreement", "fleiss_kappa", res["fleiss_kappa"], n=res["n_complete_items"]))
        if res["kendall_w"]:
            kw = res["kendall_w"]
            rows.append(_row(task, "agreement", "kendall_w", kw["w"], p=kw["p"], n=res["n_complete_items"]))
        for pair in res["cohen_kappa"]:
            for weighting in ("unweighted", "linear", "quadratic"):
                rows.append(_row(task, "cohen_kappa", weighting, pair[weighting], group=" vs ".join(pair["readers"]),
                                 se=pair["se"][weighting], n=pair["n_items"]))
        _discrimination_rows(task, res, rows)
    frame = pd.DataFrame(rows, columns=RESULT_COLUMNS)
    return frame


def _discrimination_rows(task: str, res: dict, rows: list[dict]) -> None:
    d = res.get("discrimination")
    if d:
        rows.append(_row(task, "discrimination", "auc_pooled", d["auc"], ci=d["ci95_delong"],
                         se=d["se_delong"], p=d["p"], n=d["n_pos"] + d["n_neg"]))
        if d.get("ci95_bootstrap"):
            rows.append(_row(task, "discrimination", "auc_pooled_bootstrap_ci", d["auc"], ci=d["ci95_bootstrap"]))
        rows.append(_row(task, "discrimination", "mann_whitney_u", d["mann_whitney_u"], p=d["p"]))
    for reader, detail in (res.get("per_reader_discrimination") or {}).items():
        rows.append(_row(task, "per_reader_auc", "auc", detail["auc"], group=reader, ci=detail["ci95_delong"],
                         se=detail["se_delong"], n=detail["n_pos"] + detail["n_neg"]))
    m = res.get("mrmc")
    if m:
        for modality, auc in m["auc_by_modality"].items():
            rows.append(_row(task, "mrmc", "reader_averaged_auc", auc, group=modality,
                             ci=m["ci95_by_modality"][modality], se=m["se_by_modality"][modality]))
        if "diff" in m:
            rows.append(_row(task, "mrmc", "auc_difference", m["diff"], group=" - ".join(m["modalities"]),
                             ci=m["diff_ci95"], se=m.get("se_diff"), p=m["p"]))
    fc = res.get("forced_choice")
    if fc:
        pooled = fc["pooled"]
        rows.append(_row(task, "forced_choice", "accuracy", pooled["accuracy"], group="pooled",
                         ci=pooled["ci95"], p=pooled["p"], n=pooled["n"]))
        for reader, acc in fc["per_reader"].items():
            rows.append(_row(task, "forced_choice", "accuracy", acc["accuracy"], group=reader,
                             ci=acc["ci95"], p=acc["p"], n=acc["n"]))


def table7_frame(results: dict) -> pd.DataFrame:
    """Task x real/synthetic, mean ± SD (MedCoDi-M Table 7) with the numbers behind it."""
    rows = []
    for entry in results["table7"]:
        row = {"task": entry["task"], "real (mean ± SD)": entry["real_label"],
               "synthetic (mean ± SD)": entry["synthetic_label"]}
        for label in ("real", "synthetic"):
            for stat in ("n", "mean", "sd", "median", "q1", "q3"):
                row[f"{label} {stat}"] = entry[label][stat]
        rows.append(row)
    return pd.DataFrame(rows)


def workbook_bytes(report: StudyReport, include_ratings: bool = False) -> bytes:
    results = report.results
    sheets = {
        "Table 7": table7_frame(results),
        "Results": results_table(results),
        "Per reader": pd.DataFrame(results["per_reader"]),
        "Notes": pd.DataFrame(
            [{"task": t, "statistic": k, "note": v}
             for t in results["tasks"] for k, v in results["per_task"][t]["notes"].items()]
            + [{"task": "", "statistic": "warning", "note": w} for w in results["warnings"]],
            columns=["task", "statistic", "note"]),
    }
    if include_ratings:
        sheets["Ratings"] = report.ratings
    # openpyxl's write-only mode streams rows: about 3x faster than pandas.to_excel
    book = openpyxl.Workbook(write_only=True)
    for name, frame in sheets.items():
        sheet = book.create_sheet(title=name)
        sheet.append([str(c) for c in frame.columns])
        for row in frame.astype(object).where(frame.notna(), None).itertuples(index=False, name=None):
            sheet.append(list(row))
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
