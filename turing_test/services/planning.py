"""Sample-size planner of the study builder: :func:`turing_test.stats.planner.plan_study` for one
design (readers x items per class, real and synthetic balanced) and :func:`plan_grid` for a small
readers x items table around it. Pure computation; the assumptions' defaults are the planner's own
(a test keeps them equal). The statistics package (pandas, scipy) is imported on first use only.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from turing_test.errors import InvalidInput


@dataclass(frozen=True)
class PlanField:
    label: str
    default: float
    low: float
    high: float
    integer: bool = False
    help: str = ""


# Bounds keep every combination computable (finite half-widths) and cheap.
PLAN_FIELDS: dict[str, PlanField] = {
    "readers": PlanField("Readers", 5, 1, 100, integer=True, help="ICC(2,1) needs at least 2"),
    "items_per_class": PlanField("Items per class", 50, 2, 10_000, integer=True, help="real = synthetic items per task"),
    "auc": PlanField("Expected AUC", 0.5, 0.01, 0.99,
                     help="0.5 = readers cannot tell real from synthetic (the widest interval)"),
    "icc": PlanField("Expected ICC", 0.5, 0.0, 0.95,
                     help="inter-reader agreement of the scores"),
    "reader_sd": PlanField("Reader SD of AUC", 0.05, 0.0, 0.25,
                           help="spread of the readers' true AUCs"),
    "reader_correlation": PlanField("Reader correlation", 0.5, 0.0, 1.0,
                                    help="correlation of two readers' AUC errors on the same cases"),
    "reader_share": PlanField("Reader bias share", 0.1, 0.0, 0.5,
                              help="share of score variance from systematic reader bias (ICC + share < 0.95)"),
}
GRID_READERS = (3, 5, 10, 20)
GRID_ITEMS_PER_CLASS = (25, 50, 100, 250)
GRID_MAX_VALUES = 6
MAX_ICC_PLUS_SHARE = 0.95


def plan_defaults() -> dict[str, float]:
    return {name: f.default for name, f in PLAN_FIELDS.items()}


def grid_values_parse(text: str | None, *, field: str) -> list[int] | None:
    """``"3, 5, 10"`` -> [3, 5, 10]; blank -> None (the default axis)."""
    if text is None or not str(text).strip():
        return None
    try:
        return [int(part) for part in str(text).replace(";", ",").split(",") if part.strip()]
    except ValueError:
        raise InvalidInput(f"{field}: give whole numbers separated by commas.", field=field) from None


def _check(name: str, value: float) -> float:
    spec = PLAN_FIELDS[name]
    if value is None or isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidInput(f"{spec.label}: give a number.", field=name)
    if spec.integer and value != int(value):
        raise InvalidInput(f"{spec.label}: give a whole number.", field=name)
    if not spec.low <= value <= spec.high:
        raise InvalidInput(f"{spec.label} must be between {spec.low:g} and {spec.high:g}.", field=name)
    return int(value) if spec.integer else float(value)


def _axis(name: str, values: Sequence[int] | None, chosen: int, defaults: Sequence[int]) -> list[int]:
    if values is None:
        return sorted({*defaults, chosen})
    values = sorted({_check(name, v) for v in values})
    if not values or len(values) > GRID_MAX_VALUES:
        raise InvalidInput(f"Grid {PLAN_FIELDS[name].label.lower()}: give 1 to {GRID_MAX_VALUES} values.", field=f"grid_{name}")
    return values


def _finite(value):
    """JSON-safe: NaN / inf (a degenerate simulation) become None."""
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def sample_size_plan(
    *,
    readers: int,
    items_per_class: int,
    auc: float,
    icc: float,
    reader_sd: float,
    reader_correlation: float,
    reader_share: float,
    grid_readers: Sequence[int] | None = None,
    grid_items_per_class: Sequence[int] | None = None,
) -> dict:
    """Expected 95% CI half-widths of the reader-averaged AUC and of ICC(2,1) for one design, and
    the same over a readers x items-per-class grid (by default the usual sizes plus this design).
    Raises InvalidInput (400) for values outside :data:`PLAN_FIELDS`."""
    from turing_test.stats import planner

    given = {"readers": readers, "items_per_class": items_per_class, "auc": auc, "icc": icc, "reader_sd": reader_sd,
             "reader_correlation": reader_correlation, "reader_share": reader_share}
    values = {name: _check(name, value) for name, value in given.items()}
    if values["icc"] + values["reader_share"] > MAX_ICC_PLUS_SHARE:
        raise InvalidInput(f"Expected ICC + reader bias share must be at most {MAX_ICC_PLUS_SHARE:g}.", field="reader_share")
    assumptions = {k: values[k] for k in ("auc", "icc", "reader_sd", "reader_correlation", "reader_share")}
    r, per_class = values["readers"], values["items_per_class"]
    axis_readers = _axis("readers", grid_readers, r, GRID_READERS)
    axis_items = _axis("items_per_class", grid_items_per_class, per_class, GRID_ITEMS_PER_CLASS)
    try:
        plan = planner.plan_study(r, 2 * per_class, **assumptions)
        cells = planner.plan_grid(axis_readers, [2 * n for n in axis_items], **assumptions)
    except ValueError as exc:  # the bounds above should make this unreachable
        raise InvalidInput(str(exc)) from None
    rows = []
    for i, n_readers in enumerate(axis_readers):
        row = []
        for j, n in enumerate(axis_items):
            cell = cells[i * len(axis_items) + j]
            row.append({
                "items_per_class": n,
                "n_items": 2 * n,
                "auc_halfwidth": _finite(cell["auc"]["halfwidth"]),
                "icc2_halfwidth": _finite(cell["icc2"]["halfwidth"]) if cell["icc2"] else None,
                "selected": n_readers == r and n == per_class,
            })
        rows.append({"readers": n_readers, "cells": row})
    return {
        "readers": r,
        "items_per_class": per_class,
        "n_items": 2 * per_class,
        "confidence": 0.95,
        "assumptions": assumptions,
        "auc": _finite(plan["auc"]),
        "icc2": _finite(plan["icc2"]) if plan["icc2"] else None,
        "notes": plan.get("notes", {}),
        "grid": {"readers": axis_readers, "items_per_class": axis_items, "rows": rows},
    }
