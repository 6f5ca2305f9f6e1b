"""Study report of a Visual Turing Test: the MedCoDi-M Table 7 layout (task x real/synthetic,
mean ± SD) plus every statistic of :func:`rating_stats` and forced-choice accuracy per task,
with figures, as HTML / PDF / CSV / JSON / XLSX.

Input: a long table ``item, reader, rating, truth, task[, modality][, forced_choice]
[, confidence]`` with truth 1 = real, 0 = synthetic (a higher rating = "more real", so an AUC
near 0.5 means readers could not tell synthetic from real). ``forced_choice`` is the reader's
guess in the same coding (1/0, or the words real/synthetic; blank = not asked).
Readers are renamed R01, R02, ... (in sorted order of their ids) before anything is computed,
so no export can leak an identity, unless ``pseudonymise=False``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from . import figures
from .descriptive import describe, mean_sd_label
from .discrimination import delong, forced_choice_accuracy, split_by_truth
from .errors import RatingTableError, UndefinedStatistic
from .summary import rating_stats, to_jsonable
from .table import Scale, original_ratings, parse_scale, validate_table

TRUTH_LABELS = {1: "real", 0: "synthetic"}
_CHOICE_WORDS = {"real": 1, "synthetic": 0, "1": 1, "0": 0, "1.0": 1, "0.0": 0, "true": 1, "false": 0}


@dataclass
class StudyReport:
    """Results (JSON-safe dict), the analysed long table and the figures of one study."""

    title: str
    results: dict
    ratings: pd.DataFrame
    figures: dict[str, Figure]
    _png: dict[str, bytes] = field(default_factory=dict, repr=False)

    def figure_png(self, name: str) -> bytes:
        if name not in self._png:
            self._png[name] = figures.png_bytes(self.figures[name])
        return self._png[name]

    def to_html(self) -> str:
        from .report_html import render_html

        return render_html(self)

    def to_pdf(self) -> bytes:
        from .report_pdf import render_pdf

        return render_pdf(self)

    def to_json(self) -> bytes:
        return json.dumps(self.results, allow_nan=False, indent=2).encode()

    def to_csv(self) -> bytes:
        """Tidy results: one row per statistic (task, section, statistic, group, value, CI, p, n)."""
        from .report_tables import results_table

        return results_table(self.results).to_csv(index=False).encode()

    def ratings_csv(self) -> bytes:
        """The analysed long table (pseudonymised readers unless asked otherwise)."""
        return self.ratings.to_csv(index=False).encode()

    def to_xlsx(self, include_ratings: bool = False) -> bytes:
        """Workbook of the results; the raw ratings sheet is opt-in (openpyxl needs ~4 s for
        40,000 rows, and ratings_csv() already serves them)."""
        from .report_tables import workbook_bytes

        return workbook_bytes(self, include_ratings=include_ratings)

    def write(self, directory: str | Path, stem: str = "study_report") -> dict[str, Path]:
        """Write every format into ``directory``; returns {format: path}."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        outputs = {
            "html": (f"{stem}.html", self.to_html().encode()),
            "pdf": (f"{stem}.pdf", self.to_pdf()),
            "json": (f"{stem}.json", self.to_json()),
            "csv": (f"{stem}_results.csv", self.to_csv()),
            "ratings_csv": (f"{stem}_ratings.csv", self.ratings_csv()),
            "xlsx": (f"{stem}.xlsx", self.to_xlsx()),
        }
        paths = {}
        for kind, (name, data) in outputs.items():
            paths[kind] = directory / name
            paths[kind].write_bytes(data)
        return paths


def pseudonymise_readers(df: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, str]]:
    """Replace reader ids by R01, R02, ... (sorted id order); returns (copy, {id: pseudonym})."""
    readers = sorted(df["reader"].astype(str).unique())
    width = max(2, len(str(len(readers))))
    mapping = {reader: f"R{i:0{width}d}" for i, reader in enumerate(readers, start=1)}
    out = df.copy()
    out["reader"] = out["reader"].astype(str).map(mapping)
    return out, mapping


def build_study_report(
    df: pd.DataFrame,
    *,
    scale: str | Scale | Sequence[int] | None = "1-5",
    title: str = "Visual Turing Test",
    pseudonymise: bool = True,
    n_bootstrap: int = 2000,
    seed: int = 0,
    task_order: Sequence[str] | None = None,
) -> StudyReport:
    """Analyse every task of a study and build its report (figures are drawn here too)."""
    scale = parse_scale(scale)
    table, warnings = validate_table(df, scale, group_columns=("task",))
    if "truth" not in table.columns:
        raise RatingTableError("missing required column: truth (1 = real, 0 = synthetic)")
    table = _parse_optional_columns(table)
    if pseudonymise:
        table, _ = pseudonymise_readers(table)
    tasks = _task_order(table, task_order)

    per_task, table7, per_reader_rows = {}, [], []
    for task in tasks:
        rows = table[table["task"] == task].drop(columns=["task"])
        stats_columns = [c for c in ("item", "reader", "rating", "truth", "modality", "replicated") if c in rows]
        result = rating_stats(rows[stats_columns], scale, n_bootstrap=n_bootstrap, seed=seed)
        part = original_ratings(rows)  # every rating once from here on
        groups = {label: describe(part.loc[part["truth"] == code, "rating"])
                  for code, label in TRUTH_LABELS.items()}
        result["by_truth"] = groups
        if "forced_choice" in part.columns and part["forced_choice"].notna().any():
            result["forced_choice"] = _forced_choice(part)
        per_task[task] = result
        table7.append({"task": task, **{label: groups[label] for label in TRUTH_LABELS.values()},
                       **{f"{label}_label": mean_sd_label(groups[label]) for label in TRUTH_LABELS.values()}})
        per_reader_rows.extend(_per_reader_rows(task, result))

    results = {
        "title": title,
        "scale": None if scale is None else str(scale),
        "truth_coding": {"1": "real", "0": "synthetic"},
        "readers_pseudonymised": pseudonymise,
        "n_readers": int(table["reader"].nunique()),
        "n_items": int(table[["task", "item"]].drop_duplicates().shape[0]),
        "n_ratings": len(original_ratings(table)),
        "tasks": list(tasks),
        "table7": table7,
        "per_task": per_task,
        "per_reader": per_reader_rows,
        "warnings": warnings,
    }
    results = to_jsonable(results, results.setdefault("notes", {}))
    per_reader = pd.DataFrame(per_reader_rows)
    once = original_ratings(table)
    figs = {
        "rating_distributions": figures.rating_distributions(
            once, tasks, None if scale is None else scale.categories),
        "roc_curves": figures.roc_curves(once, tasks),
    }
    if not per_reader.empty and per_reader["auc"].notna().any():
        figs["reader_auc_heatmap"] = figures.reader_heatmap(
            per_reader, "auc", "Per-reader AUC, real vs synthetic (0.5 = indistinguishable)")
    if "accuracy" in per_reader and per_reader["accuracy"].notna().any():
        figs["reader_accuracy_heatmap"] = figures.reader_heatmap(
            per_reader, "accuracy", "Per-reader forced-choice accuracy (0.5 = chance)")
    return StudyReport(title=title, results=results, ratings=table, figures=figs)


def _parse_optional_columns(table: pd.DataFrame) -> pd.DataFrame:
    if "forced_choice" in table.columns:
        text = table["forced_choice"].astype(str).str.strip().str.lower()
        blank = table["forced_choice"].isna() | text.isin(["", "nan", "none"])
        coded = text.map(_CHOICE_WORDS)
        bad = coded.isna() & ~blank
        if bad.any():
            raise RatingTableError(
                f"forced_choice must be real/synthetic or 1/0; found {table['forced_choice'][bad].iloc[0]!r}"
            )
        table["forced_choice"] = coded.where(~blank).astype(float)
    if "confidence" in table.columns:
        raw = table["confidence"].astype(str).str.strip()
        numbers = pd.to_numeric(raw.where(~raw.isin(["", "nan", "None"])), errors="coerce")
        bad = numbers.isna() & ~raw.isin(["", "nan", "None"])
        if bad.any():
            raise RatingTableError(f"confidence must be a number; found {raw[bad].iloc[0]!r}")
        table["confidence"] = numbers.astype(float)
    return table


def _task_order(table: pd.DataFrame, task_order: Sequence[str] | None) -> list[str]:
    present = list(dict.fromkeys(table["task"]))
    if task_order is None:
        return sorted(present)
    order = [t for t in task_order if t in present]
    return order + sorted(t for t in present if t not in order)


def _forced_choice(part: pd.DataFrame) -> dict:
    result = forced_choice_accuracy(part)
    answered = part.dropna(subset=["forced_choice"])
    if "confidence" in answered.columns and answered["confidence"].notna().all():
        # signed confidence: +c when the reader said "real", -c when "synthetic"; its AUC uses the
        # confidence ratings as an ROC of the forced choice
        score = np.where(answered["forced_choice"] == 1, 1.0, -1.0) * answered["confidence"]
        pos, neg = split_by_truth(score, answered["truth"])
        try:
            result["auc_signed_confidence"] = delong(pos, neg)
        except UndefinedStatistic as exc:
            result["auc_signed_confidence"] = None
            result["reason"] = str(exc)
    return result


def _per_reader_rows(task: str, result: dict) -> list[dict]:
    detail = result.get("per_reader_discrimination") or {}
    choice = (result.get("forced_choice") or {}).get("per_reader", {})
    readers = sorted(set(detail) | set(choice))
    rows = []
    for reader in readers:
        d, c = detail.get(reader, {}), choice.get(reader, {})
        rows.append({"task": task, "reader": reader, "auc": d.get("auc"),
                     "auc_ci95_lo": (d.get("ci95_delong") or [None, None])[0],
                     "auc_ci95_hi": (d.get("ci95_delong") or [None, None])[1],
                     "accuracy": c.get("accuracy"), "accuracy_ci95_lo": (c.get("ci95") or [None, None])[0],
                     "accuracy_ci95_hi": (c.get("ci95") or [None, None])[1], "accuracy_p": c.get("p"),
                     "n_forced_choice": c.get("n")})
    return rows
