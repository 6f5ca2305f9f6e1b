"""Held-out reports: new phantom cases (their own seed) whose reports prompt the generator.

Cases are drawn exactly as ``python -m generation.phantom --seed SEED`` would draw them (same
per-case seeds), from a pool of ``pool`` cases. ``selection="balanced"`` goes through the findings from
the rarest to the commonest and takes the first pool cases that carry it until it has its quota
of positive reports (10% of ``n``, at least 3), then fills the remaining places (at least 20%)
with the next cases of the pool in order (normal studies included). The choice uses the
report labels only, never a model output, so it cannot favour the generator; it exists because
several findings have a prevalence of ~6% and a purely random draw of ~60 reports would leave
them with too few positives for an AUC. ``selection="random"`` takes the first ``n`` cases.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from generation.phantom import FINDING_NAMES, label_report, make_case, make_report
from generation.phantom.dataset import case_seeds


@dataclass
class HeldOutReport:
    index: int  # position in the pool
    case_seed: int
    findings: str
    impression: str
    labels: np.ndarray  # int8 over FINDING_NAMES: what the case shows
    text_labels: np.ndarray  # int8: what the rule-based labeler reads in the report


def select_reports(
    n: int, seed: int, pool: int | None = None, selection: str = "balanced",
    quota_fraction: float = 0.10, quota_share: float = 0.8, exclude_seeds: set[int] | None = None,
) -> list[HeldOutReport]:  # fmt: skip
    """``n`` held-out reports from the phantom world seeded with ``seed``."""
    if selection not in ("balanced", "random"):
        raise ValueError(f"selection must be 'balanced' or 'random', got {selection!r}")
    pool = max(int(pool or 0), n if selection == "random" else 10 * n)
    seeds = case_seeds(seed, pool)
    exclude = exclude_seeds or set()
    candidates = []
    for i, cs in enumerate(seeds):
        if cs in exclude:
            continue
        report, _, labels, _ = make_report(cs)
        candidates.append((i, cs, report, np.asarray(labels, dtype=np.int8)))
    if selection == "random":
        chosen = candidates[:n]
    else:
        quota = max(3, math.ceil(quota_fraction * n))
        places = max(1, int(quota_share * n))  # the rest keeps the natural mix (normals included)
        pool_labels = np.stack([c[3] for c in candidates])
        counts = np.zeros(len(FINDING_NAMES), dtype=int)
        taken: set[int] = set()
        for j in np.argsort(pool_labels.sum(0), kind="stable"):  # rarest finding first
            for k, c in enumerate(candidates):
                if counts[j] >= quota or len(taken) >= places:
                    break
                if k not in taken and c[3][j]:
                    taken.add(k)
                    counts += c[3]
        rest = [k for k in range(len(candidates)) if k not in taken]
        chosen = [candidates[k] for k in sorted(taken | set(rest[: n - len(taken)]))]
    out = []
    for i, cs, report, labels in chosen:
        text = f"{report.findings}\n{report.impression}"
        read = label_report(text)
        text_labels = np.array([read[k] for k in FINDING_NAMES], dtype=np.int8)
        out.append(HeldOutReport(i, cs, report.findings, report.impression, labels, text_labels))
    return out


def real_volumes(reports: list[HeldOutReport], shape_zyx, spacing_zyx, progress: bool = True) -> np.ndarray:
    """The real phantom CT of each held-out case, on the benchmark grid (int16 [N, Z, Y, X])."""
    import sys

    from tqdm import tqdm

    vols = np.empty((len(reports), *shape_zyx), dtype=np.int16)
    for k, r in enumerate(tqdm(reports, desc="real CTs of held-out cases", unit="case",
                               disable=not progress, file=sys.stderr)):  # fmt: skip
        case = make_case(r.case_seed, shape=tuple(shape_zyx), spacing_mm=tuple(spacing_zyx),
                         drr=False, keep_masks=False)  # fmt: skip
        if not np.array_equal(case.labels, r.labels):
            raise RuntimeError(f"case {r.case_seed}: labels of make_case and make_report differ")
        vols[k] = case.volume_hu
    return vols
