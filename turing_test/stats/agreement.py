"""Inter-reader agreement: ICC (six Shrout–Fleiss forms), Krippendorff's alpha, Fleiss' kappa,
pairwise Cohen's kappa and Kendall's W.

Every function takes a **units x readers** matrix (rows = rated items, columns = readers,
NaN = not rated), the layout of :class:`~turing_test.stats.table.WideRatings`. The one library
that wants the transposed layout (``krippendorff``) is wrapped here so callers never have to
remember it. Undefined coefficients raise :class:`UndefinedStatistic` with the reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import combinations

import krippendorff
import numpy as np
from numpy.typing import ArrayLike
from scipy import stats
from statsmodels.stats import inter_rater

from .errors import UndefinedStatistic

ICC_FORMS = ("ICC1", "ICC2", "ICC3", "ICC1k", "ICC2k", "ICC3k")
ALPHA_LEVELS = ("nominal", "ordinal", "interval", "ratio")
KAPPA_WEIGHTS = ("unweighted", "linear", "quadratic")


def complete_rows(matrix: ArrayLike) -> np.ndarray:
    """Rows without a missing rating (ICC, Fleiss' kappa and Kendall's W need a full design)."""
    x = np.asarray(matrix, dtype=float)
    if x.ndim != 2:
        raise ValueError("expected a units x readers matrix")
    return x[~np.isnan(x).any(axis=1)]


# --------------------------------------------------------------------------- ICC
def icc(matrix: ArrayLike, confidence: float = 0.95) -> dict[str, dict]:
    """Shrout & Fleiss (1979) ICCs from two-way ANOVA mean squares, with F-based CIs.

    Rows with a missing rating are dropped. CIs follow Shrout & Fleiss / McGraw & Wong (1996):
    exact F intervals for ICC(1,*) and ICC(3,*), Satterthwaite's approximation for ICC(2,1),
    and the Spearman–Brown step-up of the ICC(2,1) bounds for ICC(2,k) (as R's psych does).
    Written here rather than taken from pingouin because pingouin goes through a long-wide-long
    reshape and a full ANOVA table (slow on 20 x 1000 designs) and returns NaN/inf silently in the
    degenerate cases that must become reasons here.
    Each form is ``{value, ci95: [lo, hi], f, df1, df2, p}`` plus ``reason`` where a part is None.
    """
    x = complete_rows(matrix)
    n, k = x.shape
    if k < 2:
        raise UndefinedStatistic("ICC needs at least 2 readers")
    if n < 2:
        raise UndefinedStatistic(f"ICC needs at least 2 items rated by every reader (found {n})")
    if np.ptp(x) == 0:
        raise UndefinedStatistic("all ratings are identical: no variance to partition")

    grand = x.mean()
    ss_rows = k * ((x.mean(axis=1) - grand) ** 2).sum()
    ss_cols = n * ((x.mean(axis=0) - grand) ** 2).sum()
    ss_total = ((x - grand) ** 2).sum()
    ss_error = max(ss_total - ss_rows - ss_cols, 0.0)  # clip float round-off below zero
    df_b, df_w, df_j, df_e = n - 1, n * (k - 1), k - 1, (n - 1) * (k - 1)
    bms, wms = ss_rows / df_b, (ss_total - ss_rows) / df_w
    jms, ems = ss_cols / df_j, ss_error / df_e

    q = 1 - (1 - confidence) / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        values = {
            "ICC1": (bms - wms) / (bms + (k - 1) * wms),
            "ICC2": (bms - ems) / (bms + (k - 1) * ems + k * (jms - ems) / n),
            "ICC3": (bms - ems) / (bms + (k - 1) * ems),
            "ICC1k": (bms - wms) / bms,
            "ICC2k": (bms - ems) / (bms + (jms - ems) / n),
            "ICC3k": (bms - ems) / bms,
        }
        f1, f3 = bms / wms, bms / ems
        ci = {}
        for form, f_obs, df2 in (("1", f1, df_w), ("3", f3, df_e)):
            f_lo = f_obs / stats.f.ppf(q, df_b, df2)
            f_hi = f_obs * stats.f.ppf(q, df2, df_b)
            ci[f"ICC{form}"] = ((f_lo - 1) / (f_lo + k - 1), (f_hi - 1) / (f_hi + k - 1))
            ci[f"ICC{form}k"] = (1 - 1 / f_lo, 1 - 1 / f_hi)
        _, lo, hi = icc2_from_mean_squares(bms, jms, ems, n, k, confidence)
        ci["ICC2"] = (lo, hi)
        ci["ICC2k"] = (_spearman_brown(lo, k), _spearman_brown(hi, k))

    f_test = {"1": (f1, df_b, df_w), "2": (f3, df_b, df_e), "3": (f3, df_b, df_e)}
    out = {}
    for form in ICC_FORMS:
        f_obs, d1, d2 = f_test[form[3]]
        entry = {
            "value": _finite_or_none(values[form]),
            "ci95": [_finite_or_none(v) for v in ci[form]],
            "f": _finite_or_none(f_obs),
            "df1": int(d1),
            "df2": int(d2),
            "p": _finite_or_none(stats.f.sf(f_obs, d1, d2)) if np.isfinite(f_obs) else None,
        }
        if entry["value"] is None:
            entry["reason"] = "undefined: the items do not differ in mean rating"
        elif form == "ICC2k" and ci["ICC2k"][0] == -np.inf:
            entry["reason"] = ("CI lower bound unbounded: the ICC(2,1) lower bound is below "
                               "-1/(k-1), where the Spearman-Brown step-up diverges")
        elif None in entry["ci95"]:
            entry["reason"] = "confidence interval undefined: zero residual variance"
        out[form] = entry
    return out


def _spearman_brown(single: float, k: int) -> float:
    """ICC of the mean of k readers from a single-reader ICC; -inf below -1/(k-1), where the
    step-up has its pole (psych and pingouin print a meaningless large positive number there)."""
    denominator = 1 + (k - 1) * single
    if not np.isfinite(single):
        return np.nan
    return float(k * single / denominator) if denominator > 0 else -np.inf


def icc2_from_mean_squares(
    bms: ArrayLike, jms: ArrayLike, ems: ArrayLike, n: int, k: int, confidence: float = 0.95
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """ICC(2,1) and its Satterthwaite-df interval (McGraw & Wong 1996, case 2A), vectorised.

    Shared with the sample-size planner, which evaluates it on thousands of simulated studies.
    Entries without a defined interval (ICC >= 1, zero variance) are NaN.
    """
    bms, jms, ems = (np.asarray(v, dtype=float) for v in (bms, jms, ems))
    q = 1 - (1 - confidence) / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        value = (bms - ems) / (bms + (k - 1) * ems + k * (jms - ems) / n)
        ok = np.isfinite(value) & (value < 1)
        icc2 = np.where(ok, value, 0.0)
        a = k * icc2 / (n * (1 - icc2))
        b = 1 + k * icc2 * (n - 1) / (n * (1 - icc2))
        v = (a * jms + b * ems) ** 2 / ((a * jms) ** 2 / (k - 1) + (b * ems) ** 2 / ((n - 1) * (k - 1)))
        f_lo = stats.f.ppf(q, n - 1, v)
        f_hi = stats.f.ppf(q, v, n - 1)
        lo = n * (bms - f_lo * ems) / (f_lo * (k * jms + (k * n - k - n) * ems) + n * bms)
        hi = n * (f_hi * bms - ems) / (k * jms + (k * n - k - n) * ems + n * f_hi * bms)
    return value, np.where(ok, lo, np.nan), np.where(ok, hi, np.nan)


# ------------------------------------------------------------------ Krippendorff
def krippendorff_alpha(
    matrix: ArrayLike, level: str = "interval", value_domain: Sequence[float] | None = None
) -> float:
    """Krippendorff's alpha of a units x readers matrix with missing ratings allowed.

    ``value_domain`` is the declared scale when there is one (it matters for the ordinal metric
    only through its order); by default the observed values.
    """
    if level not in ALPHA_LEVELS:
        raise ValueError(f"level must be one of {ALPHA_LEVELS}")
    x = np.asarray(matrix, dtype=float)
    if x.ndim != 2:
        raise ValueError("expected a units x readers matrix")
    if x.shape[1] < 2:
        raise UndefinedStatistic("Krippendorff's alpha needs at least 2 readers")
    pairable = x[(~np.isnan(x)).sum(axis=1) >= 2]
    if pairable.size == 0:
        raise UndefinedStatistic("Krippendorff's alpha needs items rated by at least 2 readers")
    observed = np.unique(pairable[~np.isnan(pairable)])
    if observed.size < 2:
        raise UndefinedStatistic("all ratings are identical: no disagreement is possible")
    if level == "ratio" and observed.min() < 0:
        raise UndefinedStatistic("ratio level needs non-negative ratings")
    extra = np.asarray([] if value_domain is None else value_domain, dtype=float)
    domain = np.unique(np.concatenate([observed, extra]))
    # the library wants readers x units: transposing is exactly the pitfall tested for
    value = krippendorff.alpha(
        reliability_data=pairable.T, value_domain=domain, level_of_measurement=level
    )
    if not np.isfinite(value):
        raise UndefinedStatistic(f"Krippendorff's alpha ({level}) is undefined for these ratings")
    return float(value)


# ---------------------------------------------------------------------- Fleiss
def fleiss_kappa(matrix: ArrayLike) -> float:
    """Fleiss' (1971) kappa over the items rated by every reader (categories are nominal)."""
    x = complete_rows(matrix)
    if x.shape[1] < 2:
        raise UndefinedStatistic("Fleiss' kappa needs at least 2 readers")
    if x.shape[0] == 0:
        raise UndefinedStatistic("Fleiss' kappa needs items rated by every reader (none are)")
    counts, _ = inter_rater.aggregate_raters(x)
    shares = counts.sum(axis=0) / counts.sum()
    if np.isclose((shares**2).sum(), 1.0):
        raise UndefinedStatistic("all ratings fall in one category: chance agreement is 1")
    return float(inter_rater.fleiss_kappa(counts, method="fleiss"))


# ----------------------------------------------------------------------- Cohen
def cohen_kappa(a: ArrayLike, b: ArrayLike, categories: Sequence[float] | None = None) -> dict:
    """Cohen's kappa of two readers, unweighted and with linear / quadratic agreement weights.

    ``categories``: the declared scale (e.g. 1..5), or None for the categories observed in the
    pair (R irr's convention). Weighted kappa depends on that choice, so it is explicit. Weights
    treat the category list as equally spaced ranks, like irr::kappa2 and scikit-learn.
    Standard errors are the large-sample (non-null) ones of Fleiss, Cohen & Everitt (1969), the
    ASE of SAS PROC FREQ. Items rated by only one of the two readers are ignored.
    """
    a, b = np.asarray(a, float), np.asarray(b, float)
    both = ~np.isnan(a) & ~np.isnan(b)
    a, b = a[both], b[both]
    n = a.size
    out: dict = {"n_items": int(n), "se": {}}
    if n == 0:
        raise UndefinedStatistic("the two readers rated no item in common")
    cats = np.unique(np.concatenate([a, b])) if categories is None else np.asarray(categories, float)
    codes_a, codes_b = np.searchsorted(cats, a), np.searchsorted(cats, b)
    if (
        np.any(codes_a >= cats.size) or np.any(codes_b >= cats.size)
        or np.any(cats[np.minimum(codes_a, cats.size - 1)] != a)
        or np.any(cats[np.minimum(codes_b, cats.size - 1)] != b)
    ):
        raise ValueError("a rating is not one of the given categories")
    k = cats.size
    table = np.bincount(codes_a * k + codes_b, minlength=k * k).reshape(k, k) / n
    reasons = {}
    for name in KAPPA_WEIGHTS:
        kappa, se, reason = _weighted_kappa(table, n, name)
        out[name], out["se"][name] = kappa, se
        if reason:
            reasons[name] = reason
    if len(reasons) == len(KAPPA_WEIGHTS) and len(set(reasons.values())) == 1:
        out["reason"] = next(iter(reasons.values()))
    elif reasons:
        out["reason"] = "; ".join(f"{name}: {reason}" for name, reason in reasons.items())
    return out


def _weighted_kappa(p: np.ndarray, n: int, weighting: str) -> tuple[float | None, float | None, str]:
    k = p.shape[0]
    if weighting != "unweighted" and k < 2:
        return None, None, "a single category leaves no distance to weight"
    i, j = np.indices((k, k))
    if weighting == "unweighted":
        w = (i == j).astype(float)
    elif weighting == "linear":
        w = 1 - np.abs(i - j) / (k - 1)
    else:
        w = 1 - (i - j) ** 2 / (k - 1) ** 2
    rows, cols = p.sum(axis=1), p.sum(axis=0)
    p_obs = (w * p).sum()
    p_exp = (w * np.outer(rows, cols)).sum()
    if np.isclose(p_exp, 1.0):
        return None, None, "chance agreement is 1 (both readers used one category)"
    kappa = (p_obs - p_exp) / (1 - p_exp)
    w_row = w @ cols  # mean weight of row category i against reader b's marginal
    w_col = rows @ w
    var = ((p * (w - (w_row[:, None] + w_col[None, :]) * (1 - kappa)) ** 2).sum()
           - (kappa - p_exp * (1 - kappa)) ** 2) / (n * (1 - p_exp) ** 2)
    return float(kappa), float(np.sqrt(max(var, 0.0))), ""


def pairwise_cohen_kappa(
    matrix: ArrayLike, readers: Sequence[str], categories: Sequence[float] | None = None
) -> list[dict]:
    """:func:`cohen_kappa` for every reader pair, in reader order; undefined pairs get None."""
    x = np.asarray(matrix, dtype=float)
    out = []
    for ia, ib in combinations(range(x.shape[1]), 2):
        entry: dict = {"readers": [str(readers[ia]), str(readers[ib])]}
        try:
            entry.update(cohen_kappa(x[:, ia], x[:, ib], categories))
        except UndefinedStatistic as exc:
            entry.update({name: None for name in KAPPA_WEIGHTS})
            entry.update({"n_items": 0, "se": dict.fromkeys(KAPPA_WEIGHTS), "reason": str(exc)})
        out.append(entry)
    return out


# ---------------------------------------------------------------------- Kendall
def kendall_w(matrix: ArrayLike) -> dict:
    """Kendall's coefficient of concordance with the tie correction, over complete items.

    W = 12 S / (m^2 (n^3 - n) - m sum T), T = sum over tie groups of (t^3 - t) per reader;
    chi2 = m (n - 1) W on n - 1 df (equal to Friedman's tie-corrected statistic).
    Likert ratings are full of ties, and without the correction W is biased low.
    """
    x = complete_rows(matrix)
    n, m = x.shape
    if m < 2:
        raise UndefinedStatistic("Kendall's W needs at least 2 readers")
    if n < 2:
        raise UndefinedStatistic(f"Kendall's W needs at least 2 items rated by every reader (found {n})")
    ranks = stats.rankdata(x, axis=0)
    ties = 0.0
    for column in x.T:
        _, counts = np.unique(column, return_counts=True)
        ties += float((counts**3 - counts).sum())
    s = float(((ranks.sum(axis=1) - m * (n + 1) / 2) ** 2).sum())
    denominator = m**2 * (n**3 - n) - m * ties
    if denominator <= 0:
        raise UndefinedStatistic("every reader gave all items the same rating: W is undefined")
    w = 12 * s / denominator
    chi2 = m * (n - 1) * w
    return {"w": float(w), "chi2": float(chi2), "df": int(n - 1), "p": float(stats.chi2.sf(chi2, n - 1))}


def _finite_or_none(value: float) -> float | None:
    value = float(value)
    return value if np.isfinite(value) else None
