"""Threshold-free scores and sample-diversity measures for the factual-correctness benchmark.

Pure numpy/scipy. AUCs are Mann-Whitney estimates (ties count one half), so no operating
point is ever chosen; a finding without enough positive or negative reports gets ``None`` and a
reason instead of a number.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import numpy as np
from scipy import ndimage
from scipy.stats import rankdata


def auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Area under the ROC curve = P(score of a positive > score of a negative), ties = 1/2."""
    y = np.asarray(labels).astype(bool)
    s = np.asarray(scores, dtype=np.float64)
    n1 = int(y.sum())
    n0 = y.size - n1
    if n1 == 0 or n0 == 0:
        raise ValueError("AUC needs at least one positive and one negative")
    ranks = rankdata(s)
    return float((ranks[y].sum() - n1 * (n1 + 1) / 2.0) / (n1 * n0))


def evaluable_findings(
    labels: np.ndarray, names: Sequence[str], min_positives: int = 3, min_negatives: int = 3
) -> tuple[list[int], dict[str, str]]:
    """Indices of findings with enough positives and negatives, and a reason for every other."""
    labels = np.asarray(labels)
    keep, skipped = [], {}
    for j, name in enumerate(names):
        pos = int(labels[:, j].sum())
        neg = int(labels.shape[0] - pos)
        if pos < min_positives:
            skipped[name] = f"{pos} positive report(s) among {labels.shape[0]} (< {min_positives})"
        elif neg < min_negatives:
            skipped[name] = f"{neg} negative report(s) among {labels.shape[0]} (< {min_negatives})"
        else:
            keep.append(j)
    return keep, skipped


def per_finding_auc(
    labels: np.ndarray, scores: np.ndarray, names: Sequence[str], keep: Sequence[int]
) -> tuple[dict[str, float | None], float | None]:
    """{finding: AUC or None} and the macro AUC (mean over ``keep``; None if ``keep`` is empty)."""
    out: dict[str, float | None] = dict.fromkeys(names)
    values = []
    for j in keep:
        out[names[j]] = auc(labels[:, j], scores[:, j])
        values.append(out[names[j]])
    return out, (float(np.mean(values)) if values else None)


def bootstrap_macro(
    labels: np.ndarray,
    score_sets: dict[str, np.ndarray],
    keep: Sequence[int],
    reference: str | None,
    n_boot: int = 1000,
    seed: int = 0,
) -> dict[str, dict]:
    """Percentile 95% CIs of the macro AUC per score set, resampling reports with replacement.

    The same resamples serve every score set, so ``diff_vs_reference`` (set minus
    ``reference``) is a paired comparison; ``p_not_above`` is the share of resamples in which
    the set is not above the reference (a one-sided bootstrap p-value).
    """
    out: dict[str, dict] = {k: {} for k in score_sets}
    if not keep or n_boot <= 0:
        return out
    rng = np.random.default_rng(seed)
    n = labels.shape[0]
    macros = {k: [] for k in score_sets}
    for _ in range(n_boot):
        idx = rng.integers(0, n, n)
        y = labels[idx]
        cols = [j for j in keep if 0 < y[:, j].sum() < n]
        if not cols:
            continue
        for k, s in score_sets.items():
            macros[k].append(np.mean([auc(y[:, j], s[idx, j]) for j in cols]))
    for k, values in macros.items():
        v = np.asarray(values)
        if v.size == 0:
            continue
        out[k]["macro_ci95"] = [float(np.percentile(v, 2.5)), float(np.percentile(v, 97.5))]
        if reference is not None and reference in macros and k != reference:
            d = v - np.asarray(macros[reference])
            out[k]["diff_vs_reference"] = {
                "reference": reference,
                "ci95": [float(np.percentile(d, 2.5)), float(np.percentile(d, 97.5))],
                "p_not_above": float(np.mean(d <= 0.0)),
            }
    return out


def ssim3d(a: np.ndarray, b: np.ndarray, data_range: float, sigma: float = 1.5) -> float:
    """Mean structural similarity of two volumes (Gaussian window, Wang et al. 2004 constants)."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    c1 = (0.01 * data_range) ** 2
    c2 = (0.03 * data_range) ** 2

    def blur(x: np.ndarray) -> np.ndarray:
        return ndimage.gaussian_filter(x, sigma, mode="reflect", truncate=3.5)

    mu_a, mu_b = blur(a), blur(b)
    var_a = blur(a * a) - mu_a**2
    var_b = blur(b * b) - mu_b**2
    cov = blur(a * b) - mu_a * mu_b
    num = (2 * mu_a * mu_b + c1) * (2 * cov + c2)
    den = (mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2)
    return float(np.mean(num / den))


def pairwise_diversity(volumes: Sequence[np.ndarray], data_range: float) -> dict[str, float]:
    """Mean over all pairs of: mean absolute difference (HU) and 1 - SSIM."""
    if len(volumes) < 2:
        raise ValueError("diversity needs at least two samples")
    mad, dssim = [], []
    for a, b in itertools.combinations(volumes, 2):
        fa, fb = a.astype(np.float32), b.astype(np.float32)
        mad.append(float(np.mean(np.abs(fa - fb))))
        dssim.append(1.0 - ssim3d(fa, fb, data_range))
    return {"mean_abs_diff_hu": float(np.mean(mad)), "one_minus_ssim": float(np.mean(dssim)),
            "pairs": len(mad)}  # fmt: skip


def json_safe(value):
    """Recursively turn numpy scalars/arrays into Python types and non-finite floats into None."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, np.ndarray):
        return json_safe(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
