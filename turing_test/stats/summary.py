"""``rating_stats``: every statistic of the ``manage.py rating_stats`` contract in one dict.

The contract keys (see PRODUCT.md) are always spelled exactly so; extra keys (``notes``,
``warnings``, ``descriptive``, SEs, bootstrap CI, ...) add detail. A statistic that is undefined
for the data is ``None`` and ``notes[<key>]`` says why; the result passes
``json.dumps(..., allow_nan=False)``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from . import agreement, discrimination, mrmc
from .descriptive import describe_groups
from .errors import RatingTableError, UndefinedStatistic
from .table import Scale, original_ratings, parse_scale, to_wide, validate_table

POOLING_WARNING = (
    "discrimination pools every rating as an independent observation, but ratings of one item "
    "by several readers are correlated: ci95_bootstrap (cases resampled) and mrmc (readers and "
    "cases random) are the intervals that generalise"
)


def rating_stats(
    df: pd.DataFrame,
    scale: str | Scale | Sequence[int] | None = None,
    *,
    n_bootstrap: int = 2000,
    seed: int = 0,
) -> dict:
    """All agreement and discrimination statistics of a long rating table.

    ``df``: columns item, reader, rating[, truth][, modality]. ``scale`` (e.g. ``"1-5"``) is
    checked against the ratings and used as the category set of Cohen's kappa and the value
    domain of Krippendorff's alpha. ``n_bootstrap = 0`` skips the bootstrap CI.
    Raises :class:`RatingTableError` for unusable input.
    """
    scale = parse_scale(scale)
    table, warnings = validate_table(df, scale)
    if "task" in table.columns:
        tasks = sorted(table["task"].unique())
        if len(tasks) > 1:
            # pooling realism and coherence ratings would mix different questions
            raise RatingTableError(
                f"the table holds {len(tasks)} tasks ({', '.join(tasks[:3])}{', ...' if len(tasks) > 3 else ''}): "
                "analyse one task at a time (filter the CSV) or build the study report"
            )
        table = table.drop(columns=["task"])
    all_rows = table  # OR-MRMC needs the real items under every modality, copies included
    table = original_ratings(table)
    if len(table) < len(all_rows):
        warnings.append(f"{len(all_rows) - len(table)} replicated row(s) (real ratings copied per "
                        "modality) are used by mrmc only")
    wide = to_wide(table)
    notes: dict[str, str] = {}
    categories = None if scale is None else scale.categories
    out: dict[str, Any] = {
        "n_items": int(table["item"].nunique()),
        "n_readers": len(wide.readers),
        "n_ratings": len(table),
        "scale": None if scale is None else str(scale),
        "n_complete_items": int(wide.complete().shape[0]),
    }
    if len(wide.readers) < 2:
        warnings.append("only one reader: agreement statistics need at least 2")

    out["icc"] = _guarded(notes, "icc", lambda: agreement.icc(wide.matrix))
    for form, entry in (out["icc"] or {}).items():
        if "reason" in entry:
            notes[f"icc.{form}"] = entry["reason"]
    out["krippendorff_alpha"] = _alphas(wide.matrix, categories, notes)
    out["fleiss_kappa"] = _guarded(notes, "fleiss_kappa", lambda: agreement.fleiss_kappa(wide.matrix))
    out["cohen_kappa"] = agreement.pairwise_cohen_kappa(wide.matrix, wide.readers, categories)
    out["cohen_kappa_categories"] = "declared scale" if scale is not None else "observed in each pair"
    if not out["cohen_kappa"]:
        notes["cohen_kappa"] = "needs at least 2 readers: no reader pairs"
    for entry in out["cohen_kappa"]:
        if "reason" in entry:
            notes[f"cohen_kappa[{entry['readers'][0]},{entry['readers'][1]}]"] = entry["reason"]
    out["kendall_w"] = _guarded(notes, "kendall_w", lambda: agreement.kendall_w(wide.matrix))
    out["descriptive"] = describe_groups(table, by=("truth",))

    if "truth" in table.columns:
        _discrimination(table, all_rows, out, notes, warnings, n_bootstrap, seed)
    out["notes"] = notes
    out["warnings"] = warnings
    return to_jsonable(out, notes)


def _alphas(matrix: np.ndarray, categories: np.ndarray | None, notes: dict) -> dict | None:
    values, reasons = {}, {}
    for level in agreement.ALPHA_LEVELS:
        try:
            values[level] = agreement.krippendorff_alpha(matrix, level, categories)
        except UndefinedStatistic as exc:
            values[level], reasons[level] = None, str(exc)
    if len(reasons) == len(values) and len(set(reasons.values())) == 1:
        notes["krippendorff_alpha"] = next(iter(reasons.values()))
        return None
    notes.update({f"krippendorff_alpha.{k}": v for k, v in reasons.items()})
    return values


def _discrimination(
    table: pd.DataFrame, all_rows: pd.DataFrame, out: dict, notes: dict, warnings: list,
    n_bootstrap: int, seed: int,
) -> None:
    pos, neg = discrimination.split_by_truth(table["rating"], table["truth"])
    if pos.size == 0 or neg.size == 0:
        present = 1 if neg.size == 0 else 0
        reason = f"truth has one class only (every item is {present}): the classes cannot be compared"
        for key in ("discrimination", "per_reader_auc", "mrmc"):
            out[key] = None
            notes[key] = reason
        return
    roc = discrimination.delong(pos, neg)
    mw = discrimination.mann_whitney(pos, neg)
    result = {
        "auc": roc["auc"], "se_delong": roc["se_delong"], "ci95_delong": roc["ci95_delong"],
        "mann_whitney_u": mw["u"], "p": mw["p"], "n_pos": roc["n_pos"], "n_neg": roc["n_neg"],
    }
    for key, source in (("discrimination.se_delong", roc), ("discrimination.p", mw)):
        if "reason" in source:
            notes[key] = source["reason"]
    if n_bootstrap > 0:
        try:
            result["ci95_bootstrap"] = discrimination.bootstrap_auc_ci(
                table["rating"], table["truth"], table["item"], n_boot=n_bootstrap, seed=seed
            )
            result["bootstrap"] = {"replicates": n_bootstrap, "seed": seed, "resampled": "items"}
        except UndefinedStatistic as exc:
            result["ci95_bootstrap"] = None
            notes["discrimination.ci95_bootstrap"] = str(exc)
    out["discrimination"] = result
    if table["reader"].nunique() > 1:
        warnings.append(POOLING_WARNING)

    detail = discrimination.per_reader_auc(table)
    out["per_reader_auc"] = {reader: d["auc"] for reader, d in detail.items()}
    out["per_reader_discrimination"] = detail
    for reader, d in detail.items():
        if "reason" in d:
            notes[f"per_reader_auc.{reader}"] = d["reason"]
    out["mrmc"] = _guarded(notes, "mrmc", lambda: mrmc.obuchowski_rockette(all_rows))
    if out["mrmc"] and out["mrmc"].get("notes"):
        notes["mrmc"] = "; ".join(out["mrmc"]["notes"])


def _guarded(notes: dict, key: str, compute: Callable[[], Any]) -> Any:
    """Run one statistic; an UndefinedStatistic becomes None plus its reason in ``notes``."""
    try:
        return compute()
    except UndefinedStatistic as exc:
        notes[key] = str(exc)
        return None


def to_jsonable(obj: Any, notes: dict | None = None, path: str = "") -> Any:
    """numpy scalars -> Python, tuples -> lists, non-finite floats -> None (noted, never silent)."""
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v, notes, f"{path}.{k}" if path else str(k)) for k, v in obj.items()}
    if isinstance(obj, list | tuple | np.ndarray):
        return [to_jsonable(v, notes, f"{path}[{i}]") for i, v in enumerate(obj)]
    if isinstance(obj, np.bool_ | bool):
        return bool(obj)
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, float | np.floating):
        if not np.isfinite(obj):
            if notes is not None:
                notes.setdefault(path, "not a finite number")
            return None
        return float(obj)
    return obj


def format_summary(result: dict) -> str:
    """A readable plain-text rendering of :func:`rating_stats` for the terminal."""
    lines = [f"items {result['n_items']}   readers {result['n_readers']}   ratings {result['n_ratings']}"
             + (f"   scale {result['scale']}" if result.get("scale") else ""), ""]
    lines.append("ICC (Shrout-Fleiss)          value   95% CI")
    for form, entry in (result["icc"] or {}).items():
        lines.append(f"  {form:<26} {_num(entry['value']):>6}   {_ci(entry['ci95'])}")
    if result["icc"] is None:
        lines.append("  n/a")
    alphas = result["krippendorff_alpha"] or {}
    lines.append("Krippendorff's alpha         " + "   ".join(f"{k} {_num(v)}" for k, v in alphas.items()))
    lines.append(f"Fleiss' kappa                {_num(result['fleiss_kappa'])}")
    kw = result["kendall_w"]
    lines.append("Kendall's W                  " + (
        f"{_num(kw['w'])}  chi2 {kw['chi2']:.2f}  df {kw['df']}  p {_p(kw['p'])}" if kw else "n/a"))
    lines.append(f"Cohen's kappa ({result['cohen_kappa_categories']})")
    lines.append("  readers                    unweighted  linear  quadratic")
    for entry in result["cohen_kappa"]:
        pair = " vs ".join(entry["readers"])
        lines.append(f"  {pair:<26} {_num(entry['unweighted']):>10}  {_num(entry['linear']):>6}  "
                     f"{_num(entry['quadratic']):>9}")
    if "discrimination" in result:
        d = result["discrimination"]
        lines.append("")
        if d:
            lines.append(f"AUC (pooled) {_num(d['auc'])}  DeLong SE {_num(d['se_delong'])}  "
                         f"95% CI {_ci(d['ci95_delong'])}  bootstrap {_ci(d.get('ci95_bootstrap'))}")
            lines.append(f"Mann-Whitney U {d['mann_whitney_u']:.1f}  p {_p(d['p'])}")
            lines.append("Per-reader AUC  " + "  ".join(
                f"{k} {_num(v)}" for k, v in (result["per_reader_auc"] or {}).items()))
        m = result.get("mrmc")
        if m:
            lines.append("OR-MRMC reader-averaged AUC")
            for mod, auc in m["auc_by_modality"].items():
                lines.append(f"  {mod:<26} {_num(auc)}   {_ci(m['ci95_by_modality'][mod])}")
            if m.get("diff") is not None:
                lines.append(f"  difference {_num(m['diff'])} {_ci(m['diff_ci95'])}  F {_num(m['f'])} "
                             f"df ({m['df1']}, {_num(m['df2'], 2)})  p {_p(m['p'])}")
    for key, reason in result.get("notes", {}).items():
        lines.append(f"note: {key}: {reason}")
    for text in result.get("warnings", []):
        lines.append(f"warning: {text}")
    return "\n".join(lines)


def _num(value: float | None, digits: int = 3) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def _ci(pair: list | None) -> str:
    if not pair or (pair[0] is None and pair[1] is None):
        return "n/a"
    return "[" + ", ".join("n/a" if v is None else f"{v:.3f}" for v in pair) + "]"


def _p(value: float | None) -> str:
    return "n/a" if value is None else ("<0.001" if value < 0.001 else f"{value:.3f}")
