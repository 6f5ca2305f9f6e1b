"""Blinding audit: can simple cues tell real items from synthetic ones? (no Django)

Before a study opens, every item is reduced to cheap features of what readers will receive —
header fields, matrix and spacing, noise level, intensity histogram, report length — and a
cross-validated classifier tries to predict real vs synthetic from them. An out-of-fold AUC near
0.5 means the cues carry no information; far above 0.5 means readers could score "synthetic"
without judging anatomy, and the admin is warned. Every single feature's own AUC is reported too,
so the admin sees *which* cue gives the game away (the "worst cues").

Features are plain ``dict[str, float | str]``; strings are categorical (one-hot encoded).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np

AUC_WARN = 0.75  # cross-validated AUC at or above this: warn
CUE_WARN = 0.90  # a single feature separating this well: warn
MIN_PER_CLASS = 3  # fewer items of a class: no cross-validation, say so

# Header keywords compared between items (values as strings). Anything that differs by origin
# here is a cue a reader's viewer could show.
HEADER_KEYWORDS = (
    "SOPClassUID", "Modality", "Manufacturer", "ManufacturerModelName", "SoftwareVersions",
    "ImageType", "SyntheticData", "BitsAllocated", "BitsStored", "PixelRepresentation",
    "PhotometricInterpretation", "RescaleSlope", "RescaleIntercept", "WindowCenter", "WindowWidth",
    "KVP", "ConvolutionKernel", "SeriesDescription", "StudyDescription", "BodyPartExamined",
    "ViewPosition", "PatientName", "PatientID", "PatientSex", "StudyDate", "SeriesDate",
    "InstitutionName", "TransferSyntaxUID", "LossyImageCompression", "BurnedInAnnotation",
)


# --- feature extraction ------------------------------------------------------------------------


def header_features(header: Mapping[str, object], *, n_elements: int | None = None, n_private: int | None = None) -> dict:
    """Categorical header cues; a missing keyword is its own category ("<absent>")."""
    out: dict[str, float | str] = {}
    for keyword in HEADER_KEYWORDS:
        value = header.get(keyword)
        if isinstance(value, list | tuple):
            value = "\\".join(str(v) for v in value)
        out[f"header.{keyword}"] = "<absent>" if value is None else str(value)
    if n_elements is not None:
        out["header.n_elements"] = float(n_elements)
    if n_private is not None:
        out["header.n_private_tags"] = float(n_private)
    return out


def _noise_sigma(image: np.ndarray) -> float:
    """Immerkær's fast noise estimate on a 2-D image (robust to smooth structure)."""
    if image.shape[0] < 3 or image.shape[1] < 3:
        return 0.0
    img = image.astype(np.float64)
    # Laplacian-difference mask [[1,-2,1],[-2,4,-2],[1,-2,1]] via shifted sums.
    c = img[1:-1, 1:-1]
    n = img[:-2, 1:-1] + img[2:, 1:-1] + img[1:-1, :-2] + img[1:-1, 2:]
    d = img[:-2, :-2] + img[:-2, 2:] + img[2:, :-2] + img[2:, 2:]
    conv = 4 * c - 2 * n + d
    h, w = img.shape
    return float(math.sqrt(math.pi / 2) * np.abs(conv).sum() / (6 * (w - 2) * (h - 2)))


def image_features(array: np.ndarray, spacing_mm: Sequence[float] | None = None, *, prefix: str = "image") -> dict:
    """Matrix, spacing, noise, intensity histogram and sharpness of a 2-D image or 3-D volume."""
    arr = np.asarray(array, dtype=np.float64)
    if arr.ndim == 2:
        arr = arr[None]
    if arr.ndim != 3 or arr.size == 0:
        raise ValueError(f"expected a 2-D image or 3-D volume, got shape {np.shape(array)}")
    nz, ny, nx = arr.shape
    out: dict[str, float | str] = {
        f"{prefix}.rows": float(ny),
        f"{prefix}.columns": float(nx),
        f"{prefix}.slices": float(nz),
    }
    if spacing_mm is not None:
        spacing = [float(s) for s in spacing_mm]
        for name, value in zip(("spacing_0", "spacing_1", "spacing_2"), spacing, strict=False):
            out[f"{prefix}.{name}"] = round(value, 4)
    flat = arr.ravel()
    if flat.size > 2_000_000:  # keep the audit cheap on big CTs: a fixed-stride sample
        flat = flat[:: flat.size // 2_000_000 + 1]
    percentiles = np.percentile(flat, [1, 5, 25, 50, 75, 95, 99])
    for p, v in zip((1, 5, 25, 50, 75, 95, 99), percentiles, strict=True):
        out[f"{prefix}.p{p:02d}"] = float(v)
    out[f"{prefix}.mean"] = float(flat.mean())
    out[f"{prefix}.std"] = float(flat.std())
    lo, hi = float(percentiles[0]), float(percentiles[-1])
    if hi > lo:
        hist, _ = np.histogram(np.clip(flat, lo, hi), bins=64, range=(lo, hi))
        prob = hist[hist > 0] / hist.sum()
        out[f"{prefix}.entropy"] = float(-(prob * np.log2(prob)).sum())
    else:
        out[f"{prefix}.entropy"] = 0.0
    out[f"{prefix}.fraction_at_min"] = float(np.mean(flat <= flat.min()))
    # Noise and sharpness on up to five evenly spaced slices.
    picks = sorted({int(round(x)) for x in np.linspace(0, nz - 1, num=min(nz, 5))})
    noise = [_noise_sigma(arr[k]) for k in picks]
    out[f"{prefix}.noise_sigma"] = float(np.median(noise))
    grads = []
    for k in picks:
        gy, gx = np.gradient(arr[k])
        grads.append(float(np.mean(np.hypot(gx, gy))))
    out[f"{prefix}.gradient_mean"] = float(np.median(grads))
    return out


_SENTENCE_SPLIT = re.compile(r"[.!?]+(?:\s|$)")


def report_features(text: str, *, prefix: str = "report") -> dict:
    """Length and style of a report as readers see it."""
    text = text or ""
    words = re.findall(r"[A-Za-z0-9']+", text)
    sentences = [s for s in _SENTENCE_SPLIT.split(text) if s.strip()]
    letters = [c for c in text if c.isalpha()]
    return {
        f"{prefix}.chars": float(len(text)),
        f"{prefix}.words": float(len(words)),
        f"{prefix}.sentences": float(len(sentences)),
        f"{prefix}.words_per_sentence": float(len(words) / len(sentences)) if sentences else 0.0,
        f"{prefix}.mean_word_length": float(np.mean([len(w) for w in words])) if words else 0.0,
        f"{prefix}.digits": float(sum(c.isdigit() for c in text)),
        f"{prefix}.upper_ratio": float(sum(c.isupper() for c in letters) / len(letters)) if letters else 0.0,
        f"{prefix}.commas": float(text.count(",")),
        f"{prefix}.lines": float(text.count("\n") + 1 if text else 0),
    }


# --- the audit -----------------------------------------------------------------------------------


@dataclass
class Cue:
    feature: str
    auc: float  # how well this feature alone separates the classes, folded to >= 0.5
    direction: str  # "higher in real" / "higher in synthetic" / "value X only in …"
    real_summary: str
    synthetic_summary: str


@dataclass
class AuditResult:
    n_items: int
    n_real: int
    n_synthetic: int
    n_features: int
    auc: float | None  # out-of-fold AUC of the classifier; None when too few items
    auc_permutation_p: float | None
    folds: int
    warning: bool
    messages: list[str] = field(default_factory=list)
    worst_cues: list[Cue] = field(default_factory=list)
    constant_features: int = 0

    def as_dict(self) -> dict:
        return asdict(self)


def _vectorise(rows: Sequence[Mapping[str, float | str]]) -> tuple[np.ndarray, list[str]]:
    names: dict[str, None] = {}
    for row in rows:
        for key, value in row.items():
            if isinstance(value, str):
                names[f"{key}={value}"] = None
            else:
                names[key] = None
    columns = sorted(names)
    index = {c: i for i, c in enumerate(columns)}
    matrix = np.zeros((len(rows), len(columns)))
    for r, row in enumerate(rows):
        for key, value in row.items():
            if isinstance(value, str):
                matrix[r, index[f"{key}={value}"]] = 1.0
            else:
                v = float(value) if value is not None and math.isfinite(float(value)) else 0.0
                matrix[r, index[key]] = v
    return matrix, columns


def _auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """Mann–Whitney AUC of ``scores`` for ``labels == 1`` (ties count one half)."""
    from scipy.stats import rankdata

    pos = labels == 1
    n_pos, n_neg = int(pos.sum()), int((~pos).sum())
    if not n_pos or not n_neg:
        return float("nan")
    ranks = rankdata(scores)
    return float((ranks[pos].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def _oof_auc(x: np.ndarray, y: np.ndarray, folds: int, seed: int) -> float:
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    model = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=500))
    cv = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    proba = cross_val_predict(model, x, y, cv=cv, method="predict_proba")[:, 1]
    return _auc(proba, y)


def _summary(values: np.ndarray, categorical: bool) -> str:
    if categorical:
        return f"{values.mean():.0%} of items"
    return f"median {np.median(values):.4g} (range {values.min():.4g}–{values.max():.4g})"


def cues_audit(
    rows: Sequence[Mapping[str, float | str]],
    labels: Sequence[int],
    *,
    seed: int = 0,
    permutations: int = 50,
    top: int = 5,
) -> AuditResult:
    """Cross-validated AUC of a logistic model on the cue features, plus per-feature AUCs.

    ``labels``: 1 = synthetic, 0 = real (the AUC is that of predicting "synthetic").
    """
    y = np.asarray(labels, dtype=int)
    if len(rows) != len(y):
        raise ValueError("rows and labels differ in length")
    if set(np.unique(y)) - {0, 1}:
        raise ValueError("labels must be 0 (real) or 1 (synthetic)")
    n_syn, n_real = int((y == 1).sum()), int((y == 0).sum())
    x_all, names = _vectorise(rows) if rows else (np.zeros((0, 0)), [])
    varying = x_all.std(axis=0) > 1e-12 if x_all.size else np.zeros(0, dtype=bool)
    x, names_v = x_all[:, varying], [n for n, keep in zip(names, varying, strict=True) if keep]
    result = AuditResult(
        n_items=len(y), n_real=n_real, n_synthetic=n_syn, n_features=len(names_v),
        auc=None, auc_permutation_p=None, folds=0, warning=False,
        constant_features=int((~varying).sum()) if x_all.size else 0,
    )
    if min(n_syn, n_real) < MIN_PER_CLASS:
        result.messages.append(
            f"Too few items to audit ({n_real} real, {n_syn} synthetic; need {MIN_PER_CLASS} of each)."
        )
        return result

    cues: list[Cue] = []
    for j, name in enumerate(names_v):
        col = x[:, j]
        auc = _auc(col, y)
        categorical = "=" in name
        folded = max(auc, 1 - auc)
        if categorical:
            direction = "present more in synthetic" if auc > 0.5 else "present more in real"
        else:
            direction = "higher in synthetic" if auc > 0.5 else "higher in real"
        cues.append(Cue(name, round(folded, 4), direction, _summary(col[y == 0], categorical), _summary(col[y == 1], categorical)))
    cues.sort(key=lambda c: (-c.auc, c.feature))
    result.worst_cues = cues[:top]

    if not names_v:
        result.auc = 0.5
        result.messages.append("Every feature is identical across items: no simple cue separates them.")
        return result
    folds = min(5, n_syn, n_real)
    result.folds = folds
    auc = _oof_auc(x, y, folds, seed)
    result.auc = round(max(auc, 0.0), 4)
    if permutations > 0:
        rng = np.random.default_rng(seed)
        null = [_oof_auc(x, rng.permutation(y), folds, seed) for _ in range(permutations)]
        result.auc_permutation_p = round((1 + sum(a >= auc for a in null)) / (1 + permutations), 4)
    if result.auc >= AUC_WARN:
        result.warning = True
        result.messages.append(
            f"A classifier on simple cues tells real from synthetic with AUC {result.auc:.2f} "
            f"(cross-validated, {folds} folds): readers may do the same without judging the images."
        )
    strong = [c for c in cues if c.auc >= CUE_WARN]
    if strong:
        result.warning = True
        result.messages.append(
            "Single cues separate the classes: " + ", ".join(f"{c.feature} (AUC {c.auc:.2f})" for c in strong[:top])
        )
    if not result.warning:
        result.messages.append(f"No simple cue separates real from synthetic (AUC {result.auc:.2f}).")
    return result
