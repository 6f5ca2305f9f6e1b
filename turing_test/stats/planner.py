"""Sample-size planner: expected 95% CI half-widths of the reader-averaged AUC and of ICC(2,1)
for a planned number of readers and items, shown in the study builder.

* AUC — formula. Each reader's AUC has the Hanley & McNeil (1982) case-sampling variance V for
  n_pos real and n_neg synthetic items; readers share the cases, so their errors correlate
  (Cov2 = rho V), and true reader AUCs vary with SD sigma_R. Plugging the expected mean squares
  into the Obuchowski–Rockette single-modality interval that the analysis uses
  (:mod:`.mrmc`) gives SE^2 = (sigma_R^2 + V - Cov2 + r Cov2) / r with Hillis' df.
* ICC(2,1) — simulation of the two-way random-effects model the ICC assumes, with the same
  interval the analysis reports (:func:`.agreement.icc2_from_mean_squares`).

The defaults are planning assumptions, not facts about any study: change them in the builder.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from scipy import stats

from .agreement import icc2_from_mean_squares


def hanley_mcneil_variance(auc: float, n_pos: int, n_neg: int) -> float:
    """Variance of one empirical AUC (Hanley & McNeil 1982, exponential approximation)."""
    q1, q2 = auc / (2 - auc), 2 * auc**2 / (1 + auc)
    return (auc * (1 - auc) + (n_pos - 1) * (q1 - auc**2) + (n_neg - 1) * (q2 - auc**2)) / (n_pos * n_neg)


def auc_halfwidth(
    n_readers: int,
    n_items: int,
    *,
    auc: float = 0.5,
    prevalence: float = 0.5,
    reader_sd: float = 0.05,
    reader_correlation: float = 0.5,
    confidence: float = 0.95,
) -> dict:
    """Expected CI half-width of the reader-averaged AUC (OR model, Hillis df).

    ``auc`` 0.5 (readers cannot tell real from synthetic) is the widest case, so the default
    plans conservatively. ``prevalence`` is the share of real (truth = 1) items.
    """
    _check_design(n_readers, n_items, minimum_readers=1)
    n_pos = int(round(n_items * prevalence))
    n_neg = n_items - n_pos
    if n_pos < 1 or n_neg < 1:
        raise ValueError("the planned study needs both real and synthetic items")
    var = hanley_mcneil_variance(auc, n_pos, n_neg)
    cov2 = reader_correlation * var
    ms_r = reader_sd**2 + var - cov2  # E[MS(R)] under the OR model
    total = ms_r + n_readers * cov2
    se = float(np.sqrt(total / n_readers))
    df = total**2 / (ms_r**2 / (n_readers - 1)) if n_readers > 1 and ms_r > 0 else np.inf
    half = float(stats.t.ppf(1 - (1 - confidence) / 2, df) * se)
    return {"halfwidth": half, "se": se, "df": float(df) if np.isfinite(df) else None,
            "n_pos": n_pos, "n_neg": n_neg, "single_reader_se": float(np.sqrt(var))}


def icc2_halfwidth(
    n_readers: int,
    n_items: int,
    *,
    icc: float = 0.5,
    reader_share: float = 0.1,
    n_sim: int = 400,
    seed: int = 0,
    confidence: float = 0.95,
) -> dict:
    """Mean and 90th-percentile CI half-width of ICC(2,1) over simulated studies.

    Model: x_ij = a_i + b_j + e_ij with var(a) = icc, var(b) = reader_share (systematic reader
    bias) and var(e) = 1 - icc - reader_share. Only the mean squares are needed, and those are
    drawn exactly from their scaled chi-square distributions (independent in a balanced two-way
    design), so the cost does not grow with the number of items and readers.
    """
    _check_design(n_readers, n_items, minimum_readers=2)
    if not (0 <= icc < 1 and 0 <= reader_share and icc + reader_share < 1):
        raise ValueError("need 0 <= icc < 1, reader_share >= 0 and icc + reader_share < 1")
    n, k = n_items, n_readers
    error = 1 - icc - reader_share
    df_b, df_j, df_e = n - 1, k - 1, (n - 1) * (k - 1)
    rng = np.random.default_rng(seed)
    # E[BMS] = k var(a) + var(e), E[JMS] = n var(b) + var(e), E[EMS] = var(e)
    bms = (k * icc + error) * rng.chisquare(df_b, n_sim) / df_b
    jms = (n * reader_share + error) * rng.chisquare(df_j, n_sim) / df_j
    ems = error * rng.chisquare(df_e, n_sim) / df_e
    _, lo, hi = icc2_from_mean_squares(bms, jms, ems, n, k, confidence)
    half = (hi - lo) / 2
    half = half[np.isfinite(half)]
    return {"halfwidth": float(half.mean()), "halfwidth_p90": float(np.percentile(half, 90)),
            "n_sim": int(n_sim), "seed": int(seed)}


def plan_study(n_readers: int, n_items: int, **assumptions: float) -> dict:
    """Both half-widths for one design; ``assumptions`` override the documented defaults."""
    auc_keys = {"auc", "prevalence", "reader_sd", "reader_correlation"}
    icc_keys = {"icc", "reader_share", "n_sim", "seed"}
    unknown = set(assumptions) - auc_keys - icc_keys - {"confidence"}
    if unknown:
        raise ValueError(f"unknown planning assumption(s): {', '.join(sorted(unknown))}")
    common = {"confidence": assumptions["confidence"]} if "confidence" in assumptions else {}
    auc_args = {k: v for k, v in assumptions.items() if k in auc_keys}
    icc_args = {k: v for k, v in assumptions.items() if k in icc_keys}
    out = {"n_readers": n_readers, "n_items": n_items,
           "auc": auc_halfwidth(n_readers, n_items, **auc_args, **common)}
    out["icc2"] = icc2_halfwidth(n_readers, n_items, **icc_args, **common) if n_readers >= 2 else None
    if out["icc2"] is None:
        out["notes"] = {"icc2": "ICC needs at least 2 readers"}
    return out


def plan_grid(
    readers: Iterable[int], items: Iterable[int], **assumptions: float
) -> list[dict]:
    """:func:`plan_study` for every (readers, items) combination, for the builder's table."""
    return [plan_study(r, n, **assumptions) for r in readers for n in items]


def _check_design(n_readers: int, n_items: int, minimum_readers: int) -> None:
    if int(n_readers) != n_readers or n_readers < minimum_readers:
        raise ValueError(f"number of readers must be an integer >= {minimum_readers}")
    if int(n_items) != n_items or n_items < 4:
        raise ValueError("number of items must be an integer >= 4")
