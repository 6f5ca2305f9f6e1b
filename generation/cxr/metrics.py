"""Evaluation metrics of MedCoDi-M §3.5, in numpy: Fréchet distance, BLEU-1..4, F1, coherence.

Pure functions so that the benchmark and the tests share one implementation.
"""

from __future__ import annotations

import math
import warnings
from collections import Counter
from collections.abc import Sequence

import numpy as np
from scipy import linalg


def frechet_distance(real: np.ndarray, fake: np.ndarray, eps: float = 1e-6) -> float:
    """FID formula on two feature sets [N, D]: |mu_r - mu_f|^2 + Tr(S_r + S_f - 2 (S_r S_f)^1/2)."""
    real = np.asarray(real, dtype=np.float64)
    fake = np.asarray(fake, dtype=np.float64)
    if real.ndim != 2 or fake.ndim != 2 or real.shape[1] != fake.shape[1]:
        raise ValueError(f"feature sets must be [N, D] with the same D, got {real.shape} and {fake.shape}")
    mu_r, mu_f = real.mean(0), fake.mean(0)
    cov_r = np.cov(real, rowvar=False)
    cov_f = np.cov(fake, rowvar=False)
    with warnings.catch_warnings():
        # Fewer samples than feature dimensions make the covariances singular; the regularised
        # retry below handles it, so scipy's warning is noise here.
        warnings.simplefilter("ignore", linalg.LinAlgWarning)
        covmean = linalg.sqrtm(cov_r @ cov_f)
    if not np.isfinite(covmean).all():  # near-singular product: regularise, as pytorch-fid does
        offset = np.eye(cov_r.shape[0]) * eps
        covmean = linalg.sqrtm((cov_r + offset) @ (cov_f + offset))
    covmean = np.real(covmean)
    return float(((mu_r - mu_f) ** 2).sum() + np.trace(cov_r) + np.trace(cov_f) - 2.0 * np.trace(covmean))


def _ngrams(tokens: Sequence[str], n: int) -> Counter:
    return Counter(tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1))


def corpus_bleu(references: Sequence[Sequence[str]], hypotheses: Sequence[Sequence[str]], max_n: int = 4) -> dict[str, float]:
    """Corpus BLEU-1..max_n (Papineni et al. 2002): clipped n-gram precisions pooled over the
    corpus, geometric mean of orders 1..n with uniform weights, one brevity penalty.
    One reference per hypothesis. Returns {"bleu1": ..., "bleu4": ...}."""
    if len(references) != len(hypotheses):
        raise ValueError("references and hypotheses must have the same length")
    matches = [0] * max_n
    totals = [0] * max_n
    ref_len = hyp_len = 0
    for ref, hyp in zip(references, hypotheses, strict=True):
        ref_len += len(ref)
        hyp_len += len(hyp)
        for n in range(1, max_n + 1):
            hyp_counts, ref_counts = _ngrams(hyp, n), _ngrams(ref, n)
            matches[n - 1] += sum(min(c, ref_counts[g]) for g, c in hyp_counts.items())
            totals[n - 1] += max(len(hyp) - n + 1, 0)
    if hyp_len == 0:
        return {f"bleu{n}": 0.0 for n in range(1, max_n + 1)}
    bp = 1.0 if hyp_len > ref_len else math.exp(1.0 - ref_len / hyp_len)
    scores = {}
    for n in range(1, max_n + 1):
        precisions = [matches[k] / totals[k] if totals[k] else 0.0 for k in range(n)]
        if min(precisions) == 0.0:
            scores[f"bleu{n}"] = 0.0
        else:
            scores[f"bleu{n}"] = bp * math.exp(sum(math.log(p) for p in precisions) / n)
    return scores


def f1_table(true: np.ndarray, pred: np.ndarray, names: Sequence[str]) -> dict[str, object]:
    """Per-label F1 (None where a label has neither true nor predicted positives), micro, macro
    (over labels with at least one true positive case) and support-weighted F1."""
    true = np.asarray(true, dtype=bool)
    pred = np.asarray(pred, dtype=bool)
    tp = (true & pred).sum(0)
    fp = (~true & pred).sum(0)
    fn = (true & ~pred).sum(0)
    support = true.sum(0)
    per: dict[str, float | None] = {}
    for i, name in enumerate(names):
        denom = 2 * tp[i] + fp[i] + fn[i]
        per[name] = float(2 * tp[i] / denom) if denom else None
    scored = [i for i in range(len(names)) if support[i] > 0]
    macro = float(np.mean([per[names[i]] or 0.0 for i in scored])) if scored else None
    weighted = float(sum((per[names[i]] or 0.0) * support[i] for i in scored) / support[scored].sum()) if scored else None
    micro_den = 2 * tp.sum() + fp.sum() + fn.sum()
    return {
        "per_label": per,
        "micro": float(2 * tp.sum() / micro_den) if micro_den else None,
        "macro": macro,
        "weighted": weighted,
        "support": {n: int(s) for n, s in zip(names, support, strict=True)},
    }


def per_label_auc(true: np.ndarray, scores: np.ndarray, names: Sequence[str]) -> dict[str, object]:
    """ROC AUC per label (None when the held-out set has only one class for it), and their mean."""
    from sklearn.metrics import roc_auc_score

    true = np.asarray(true)
    out: dict[str, float | None] = {}
    for i, name in enumerate(names):
        column = true[:, i]
        out[name] = float(roc_auc_score(column, scores[:, i])) if 0 < column.sum() < len(column) else None
    valid = [v for v in out.values() if v is not None]
    return {"per_label": out, "macro": float(np.mean(valid)) if valid else None}


def mean_sd(values: np.ndarray) -> dict[str, float]:
    values = np.asarray(values, dtype=np.float64)
    return {"mean": float(values.mean()), "sd": float(values.std(ddof=1)) if len(values) > 1 else 0.0}
