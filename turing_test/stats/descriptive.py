"""Per-group descriptive statistics: n, mean ± SD (ddof = 1), median and IQR."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike


def describe(values: ArrayLike) -> dict:
    """n, mean, SD (ddof = 1, ``None`` below 2 values), median, quartiles and IQR.

    Quartiles use linear interpolation (numpy's default, R's type 7), the convention of the
    R summaries that the published Visual Turing Test tables were made with.
    """
    x = np.asarray(values, dtype=float)
    x = x[~np.isnan(x)]
    if x.size == 0:
        return {"n": 0, "mean": None, "sd": None, "median": None, "q1": None, "q3": None, "iqr": None}
    q1, median, q3 = np.percentile(x, [25, 50, 75])
    return {
        "n": int(x.size),
        "mean": float(x.mean()),
        "sd": float(x.std(ddof=1)) if x.size > 1 else None,
        "median": float(median),
        "q1": float(q1),
        "q3": float(q3),
        "iqr": float(q3 - q1),
    }


def describe_groups(
    df: pd.DataFrame, by: Sequence[str] = ("task", "truth"), value: str = "rating"
) -> list[dict]:
    """One :func:`describe` row per group (only the ``by`` columns present are used)."""
    keys = [c for c in by if c in df.columns]
    if not keys:
        return [describe(df[value])]
    rows = []
    for group, part in df.groupby(keys, sort=True):
        group = group if isinstance(group, tuple) else (group,)
        labels = {k: (v.item() if hasattr(v, "item") else v) for k, v in zip(keys, group, strict=True)}
        rows.append({**labels, **describe(part[value])})
    return rows


def mean_sd_label(summary: dict, decimals: int = 2) -> str:
    """``"3.45 ± 0.87"`` as in the MedCoDi-M Table 7; ``"–"`` when there is nothing to show."""
    if summary.get("mean") is None:
        return "–"
    sd = summary.get("sd")
    sd_text = f"{sd:.{decimals}f}" if sd is not None else "n/a"
    return f"{summary['mean']:.{decimals}f} ± {sd_text}"
