"""Obuchowski–Rockette MRMC analysis of the reader-averaged AUC, readers and cases random.

Figures of merit theta_ij (modality i, reader j) are empirical (Mann–Whitney) AUCs. Their
case-sampling covariances come from the case jackknife, the OR error covariances (Var, Cov1,
Cov2, Cov3) are averages of those, and the inference uses Hillis' (2007, 2008) denominator
degrees of freedom:

* per modality:  SE^2 = (MS(R)_i + r max(Cov2_i, 0)) / r,
  df = (MS(R)_i + r max(Cov2_i, 0))^2 / (MS(R)_i^2 / (r - 1));
* comparing modalities:  F = MS(T) / (MS(T*R) + r max(Cov2 - Cov3, 0)) on (t - 1, df2),
  df2 = (MS(T*R) + r max(Cov2 - Cov3, 0))^2 / (MS(T*R)^2 / ((t - 1)(r - 1))).

No library implements this (R's MRMCaov does); it is written here.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from .discrimination import structural_components
from .errors import UndefinedStatistic

SINGLE_MODALITY = "all"


def jackknife_aucs(df: pd.DataFrame) -> dict:
    """theta (t x r) and the leave-one-case-out AUCs (c x t x r) of a long table.

    Leaving out positive case k changes the AUC to (n1 AUC - V10_k) / (n1 - 1) (and likewise
    for a negative case with V01), so all c jackknife values come from DeLong's placement values
    at the cost of one AUC. A case a reader never saw leaves that reader's AUC unchanged.
    """
    modality = df["modality"] if "modality" in df.columns else pd.Series(SINGLE_MODALITY, index=df.index)
    case_codes, cases = pd.factorize(df["item"], sort=True)
    mod_codes, modalities = pd.factorize(modality, sort=True)
    reader_codes, readers = pd.factorize(df["reader"], sort=True)
    t, r, c = len(modalities), len(readers), len(cases)
    classes = pd.Series(df["truth"].to_numpy()).groupby(mod_codes).nunique()
    if (classes < 2).any():
        lonely = modalities[int(classes.index[classes < 2][0])]
        raise UndefinedStatistic(
            f"modality {lonely} has items of one truth class only: every modality needs real and "
            "synthetic items (repeat the real ratings under each modality, as the MRMC export does)"
        )
    theta = np.full((t, r), np.nan)
    jack = np.empty((c, t, r))
    ratings, truth = df["rating"].to_numpy(float), df["truth"].to_numpy()
    order = np.lexsort((reader_codes, mod_codes))
    cell = mod_codes[order] * r + reader_codes[order]
    bounds = np.flatnonzero(np.diff(cell)) + 1
    case_sets: dict[int, set[frozenset]] = {}
    for rows in np.split(order, bounds):
        i, j = mod_codes[rows[0]], reader_codes[rows[0]]
        is_pos = truth[rows] == 1
        n1, n0 = int(is_pos.sum()), int((~is_pos).sum())
        if n1 < 2 or n0 < 2:
            raise UndefinedStatistic(
                f"reader {readers[j]} ({modalities[i]}) rated fewer than 2 cases of a class"
            )
        auc, v10, v01 = structural_components(ratings[rows][is_pos], ratings[rows][~is_pos])
        theta[i, j] = auc
        jack[:, i, j] = auc
        jack[case_codes[rows][is_pos], i, j] = (n1 * auc - v10) / (n1 - 1)
        jack[case_codes[rows][~is_pos], i, j] = (n0 * auc - v01) / (n0 - 1)
        case_sets.setdefault(int(i), set()).add(frozenset(case_codes[rows].tolist()))
    missing = np.argwhere(np.isnan(theta))
    if missing.size:
        i, j = missing[0]
        raise UndefinedStatistic(
            f"reader {readers[j]} has no ratings under modality {modalities[i]}; "
            "OR-MRMC needs every reader in every modality"
        )
    per_modality = [next(iter(sets)) for sets in case_sets.values() if len(sets) == 1]
    shared = frozenset.intersection(*per_modality) if len(per_modality) == t else frozenset()
    return {"theta": theta, "jackknife": jack, "modalities": [str(m) for m in modalities],
            "readers": [str(x) for x in readers], "n_cases": c,
            # every reader read the same cases within each modality
            "fully_crossed": all(len(sets) == 1 for sets in case_sets.values()),
            "n_shared_cases": len(shared)}


def jackknife_covariance(jack: np.ndarray) -> np.ndarray:
    """(c - 1) / c * sum_k (theta_(k) - mean)(theta_(k) - mean)' over the flattened t*r cells."""
    c = jack.shape[0]
    flat = jack.reshape(c, -1)
    centred = flat - flat.mean(axis=0)
    return (c - 1) / c * centred.T @ centred


def or_covariances(cov: np.ndarray, t: int, r: int) -> dict:
    """Average the cell covariance matrix into OR's Var, Cov1 (same reader), Cov2 (same
    modality), Cov3 (neither); entries that no pair defines are None."""
    mod = np.repeat(np.arange(t), r)
    rdr = np.tile(np.arange(r), t)
    same_mod, same_rdr = mod[:, None] == mod[None, :], rdr[:, None] == rdr[None, :]

    def mean(mask: np.ndarray) -> float | None:
        return float(cov[mask].mean()) if mask.any() else None

    return {"var": mean(same_mod & same_rdr), "cov1": mean(~same_mod & same_rdr),
            "cov2": mean(same_mod & ~same_rdr), "cov3": mean(~same_mod & ~same_rdr)}


def obuchowski_rockette(df: pd.DataFrame, confidence: float = 0.95) -> dict:
    """OR-MRMC of a long table with item, reader, rating, truth[, modality].

    Returns ``auc_by_modality``, ``ci95_by_modality`` (plus SE, df, reader AUCs, the OR
    covariances) and, with two or more modalities, the F test ``{f, df1, df2, p}``; with exactly
    two also ``diff`` (first minus second in sorted order) and ``diff_ci95``.
    """
    if df["reader"].nunique() < 2:
        raise UndefinedStatistic("OR-MRMC needs at least 2 readers (reader variance is random)")
    jk = jackknife_aucs(df)
    theta, modalities, readers = jk["theta"], jk["modalities"], jk["readers"]
    t, r = theta.shape
    cov = jackknife_covariance(jk["jackknife"])
    q = 1 - (1 - confidence) / 2
    notes: list[str] = []
    if not jk["fully_crossed"]:
        notes.append("not every reader read every case of a modality: OR assumes a fully crossed design")
    elif t > 1 and jk["n_shared_cases"] < jk["n_cases"]:
        # e.g. real items shared, synthetic items per generator: the jackknife covariances then
        # carry only what the shared cases contribute, which is the right model for that design
        notes.append(f"the modalities share {jk['n_shared_cases']} of {jk['n_cases']} cases "
                     "(the others belong to one modality); covariances reflect that")
    out: dict = {"modalities": modalities, "n_readers": r, "n_cases": jk["n_cases"],
                 "auc_by_modality": {}, "ci95_by_modality": {}, "se_by_modality": {},
                 "df_by_modality": {}, "reader_auc": {}, "covariance": or_covariances(cov, t, r)}
    for i, m in enumerate(modalities):
        block = cov[i * r:(i + 1) * r, i * r:(i + 1) * r]
        cov2_i = float(block[~np.eye(r, dtype=bool)].mean())
        ms_r = float(theta[i].var(ddof=1))
        denom = ms_r + r * max(cov2_i, 0.0)
        se = float(np.sqrt(denom / r))
        df_i = denom**2 / (ms_r**2 / (r - 1)) if ms_r > 0 else np.inf
        half = stats.t.ppf(q, df_i) * se
        mean = float(theta[i].mean())
        out["auc_by_modality"][m] = mean
        out["ci95_by_modality"][m] = [float(mean - half), float(mean + half)]
        out["se_by_modality"][m] = se
        out["df_by_modality"][m] = float(df_i) if np.isfinite(df_i) else None
        out["reader_auc"][m] = {reader: float(v) for reader, v in zip(readers, theta[i], strict=True)}
        if denom <= 0:  # e.g. all ratings identical: a zero-width interval would be a false claim
            out["ci95_by_modality"][m] = [None, None]
            out["se_by_modality"][m] = None
            notes.append(f"{m}: no reader or case variation, the CI is undefined")
        elif not np.isfinite(df_i):
            notes.append(f"{m}: readers' AUCs are equal, df taken as infinite (normal quantile)")
    if t >= 2:
        out.update(_compare_modalities(theta, out["covariance"], q, notes))
    if notes:
        out["notes"] = notes
    return out


def _compare_modalities(theta: np.ndarray, covs: dict, q: float, notes: list[str]) -> dict:
    t, r = theta.shape
    mod_means, rdr_means, grand = theta.mean(axis=1), theta.mean(axis=0), theta.mean()
    ms_t = r * ((mod_means - grand) ** 2).sum() / (t - 1)
    interaction = theta - mod_means[:, None] - rdr_means[None, :] + grand
    ms_tr = (interaction**2).sum() / ((t - 1) * (r - 1))
    denom = ms_tr + r * max(covs["cov2"] - covs["cov3"], 0.0)
    out: dict = {"df1": t - 1}
    if denom <= 0:
        notes.append("modality comparison undefined: no reader-by-modality or case variation")
        out.update({"f": None, "df2": None, "p": None})
        if t == 2:
            out.update({"diff": float(mod_means[0] - mod_means[1]), "diff_ci95": [None, None]})
        return out
    df2 = denom**2 / (ms_tr**2 / ((t - 1) * (r - 1))) if ms_tr > 0 else np.inf
    f_stat = ms_t / denom
    out.update({"f": float(f_stat), "df2": float(df2) if np.isfinite(df2) else None,
                "p": float(stats.f.sf(f_stat, t - 1, df2)),
                "ms_t": float(ms_t), "ms_tr": float(ms_tr)})
    if not np.isfinite(df2):
        notes.append("no reader-by-modality variation: df2 taken as infinite")
    if t == 2:
        diff = float(mod_means[0] - mod_means[1])
        se = float(np.sqrt(2 * denom / r))
        half = stats.t.ppf(q, df2) * se
        out.update({"diff": diff, "se_diff": se, "diff_ci95": [diff - half, diff + half]})
    return out
