"""Per-reader reading order: a pure function of the study's items, the study seed and the reader.

No Django here. The caller stores the result (``AssignmentEntry`` rows); it is never recomputed, so
a change to this algorithm cannot reorder a reader who has already started.

Guarantees (``tests/turing_test/test_randomisation.py`` checks each on many random instances):

* reproducible: same items (in any input order), seed and reader key -> same order;
* different readers get different orders (a per-reader RNG derived from seed and reader key);
* practice items come first; then one block per task (task order shuffled per reader unless
  ``shuffle_tasks=False``);
* balanced: inside every block the running count of synthetic items stays within
  ``max_imbalance`` of its expected share (``k * n_synthetic / n``) at every prefix ``k`` — close
  to even throughout, yet not a strict real/synthetic alternation a reader could exploit;
* no two consecutive items share a source case wherever a swap can avoid it (a greedy fill that
  favours the most frequent remaining source, then a swap repair, best of several seeded tries).
"""

from __future__ import annotations

import hashlib
import random
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

REAL = "real"
SYNTHETIC = "synthetic"
ORDER_VERSION = "order-v1"


@dataclass(frozen=True)
class OrderItem:
    key: str  # stable and opaque (the item token)
    truth: str  # REAL or SYNTHETIC
    task: str  # task key: items of one task form one block
    source_case: str  # items from the same case should not follow each other
    practice: bool = False


def reader_seed(*, study_seed: int, reader_key: str) -> int:
    """A 64-bit RNG seed for one reader, stable across Python versions and platforms."""
    digest = hashlib.sha256(f"radsynth|{ORDER_VERSION}|{int(study_seed)}|{reader_key}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


def truth_pattern(*, n_real: int, n_synthetic: int, rng: random.Random, max_imbalance: float = 2.0) -> list[str]:
    """A random sequence of REAL/SYNTHETIC whose synthetic count stays near its expected share.

    Each step draws synthetic with probability proportional to the synthetic items left (like a
    shuffle) but only among steps that keep ``|synthetic_so_far - k * p| <= max_imbalance``.
    """
    n = n_real + n_synthetic
    p = n_synthetic / n if n else 0.0
    pattern: list[str] = []
    synth_used = real_used = 0
    for k in range(1, n + 1):
        can_synth = synth_used < n_synthetic
        can_real = real_used < n_real
        in_band_synth = can_synth and abs(synth_used + 1 - k * p) <= max_imbalance + 1e-9
        in_band_real = can_real and abs(synth_used - k * p) <= max_imbalance + 1e-9
        if in_band_synth and in_band_real:
            left_s, left_r = n_synthetic - synth_used, n_real - real_used
            choose_synth = rng.random() < left_s / (left_s + left_r)
        elif in_band_synth or in_band_real:
            choose_synth = in_band_synth
        else:  # cannot happen for max_imbalance >= 1; stay feasible anyway
            choose_synth = can_synth and (not can_real or synth_used - k * p < 0)
        if choose_synth:
            synth_used += 1
            pattern.append(SYNTHETIC)
        else:
            real_used += 1
            pattern.append(REAL)
    return pattern


def adjacent_same_source(sequence: Sequence[OrderItem]) -> int:
    """How many neighbouring pairs share a source case."""
    return sum(1 for a, b in zip(sequence, sequence[1:], strict=False) if a.source_case == b.source_case)


def _fill(pattern: list[str], items: list[OrderItem], prev_source: str | None, rng: random.Random) -> list[OrderItem]:
    """Put items into the truth slots; avoid repeating the previous source, favour frequent sources."""
    pools = {REAL: [i for i in items if i.truth == REAL], SYNTHETIC: [i for i in items if i.truth == SYNTHETIC]}
    for pool in pools.values():
        rng.shuffle(pool)
    remaining = Counter(i.source_case for i in items)
    out: list[OrderItem] = []
    for truth in pattern:
        pool = pools[truth]
        allowed = [i for i in pool if i.source_case != prev_source] or pool
        best = max(remaining[i.source_case] for i in allowed)
        choice = next(i for i in allowed if remaining[i.source_case] == best)
        pool.remove(choice)
        remaining[choice.source_case] -= 1
        out.append(choice)
        prev_source = choice.source_case
    return out


def _violations_around(seq: list[OrderItem], positions: Iterable[int], lo: int, hi: int) -> int:
    pairs = set()
    for p in positions:
        for a in (p - 1, p):
            if lo <= a and a + 1 < hi:
                pairs.add(a)
    count = 0
    for a in pairs:
        if a >= 0 and seq[a].source_case == seq[a + 1].source_case:
            count += 1
    return count


def _repair(seq: list[OrderItem], lo: int, hi: int) -> None:
    """Swap same-truth items inside seq[lo:hi] to break same-source neighbours (in place).

    The pair ``(lo - 1, lo)`` counts too, so a block does not start with the source that ended the
    block before it.
    """
    for _ in range(3):
        changed = False
        for i in range(max(lo, 1), hi):
            if seq[i].source_case != seq[i - 1].source_case:
                continue
            for j in range(lo, hi):
                if j == i or seq[j].truth != seq[i].truth:
                    continue
                touched = {i, j}
                before = _violations_around(seq, touched, lo - 1 if lo > 0 else 0, hi)
                seq[i], seq[j] = seq[j], seq[i]
                after = _violations_around(seq, touched, lo - 1 if lo > 0 else 0, hi)
                if after < before:
                    changed = True
                    break
                seq[i], seq[j] = seq[j], seq[i]
        if not changed:
            return


def _one_order(
    practice: list[OrderItem],
    blocks: list[list[OrderItem]],
    rng: random.Random,
    max_imbalance: float,
) -> list[OrderItem]:
    seq: list[OrderItem] = []
    for block in ([practice] if practice else []) + blocks:
        lo = len(seq)
        n_real = sum(1 for i in block if i.truth == REAL)
        pattern = truth_pattern(
            n_real=n_real, n_synthetic=len(block) - n_real, rng=rng, max_imbalance=max_imbalance
        )
        prev = seq[-1].source_case if seq else None
        seq.extend(_fill(pattern, block, prev, rng))
        _repair(seq, lo, len(seq))
    return seq


def build_order(
    items: Iterable[OrderItem],
    *,
    seed: int,
    reader_key: str,
    shuffle_tasks: bool = True,
    max_imbalance: float = 2.0,
    attempts: int = 12,
) -> list[str]:
    """The reading order (item keys) for one reader. See the module docstring for the guarantees."""
    items = sorted(items, key=lambda i: i.key)  # input order must not matter
    if len({i.key for i in items}) != len(items):
        raise ValueError("item keys must be unique")
    bad = {i.truth for i in items} - {REAL, SYNTHETIC}
    if bad:
        raise ValueError(f"truth must be {REAL!r} or {SYNTHETIC!r}, got {sorted(bad)}")
    if max_imbalance < 1:
        raise ValueError("max_imbalance must be at least 1")
    rng = random.Random(reader_seed(study_seed=seed, reader_key=reader_key))
    practice = [i for i in items if i.practice]
    main = [i for i in items if not i.practice]
    task_keys = sorted({i.task for i in main})
    if shuffle_tasks:
        rng.shuffle(task_keys)
    blocks = [[i for i in main if i.task == t] for t in task_keys]

    best: list[OrderItem] | None = None
    best_score = None
    for _ in range(max(1, attempts)):
        candidate = _one_order(practice, blocks, rng, max_imbalance)
        score = adjacent_same_source(candidate)
        if best is None or score < best_score:
            best, best_score = candidate, score
        if score == 0:
            break
    return [i.key for i in best or []]


def max_prefix_imbalance(truths: Sequence[str]) -> float:
    """Largest ``|synthetic_so_far - k * p|`` over prefixes (0 for an empty or one-class block)."""
    n = len(truths)
    if not n:
        return 0.0
    p = sum(1 for t in truths if t == SYNTHETIC) / n
    worst = 0.0
    synth = 0
    for k, t in enumerate(truths, start=1):
        synth += t == SYNTHETIC
        worst = max(worst, abs(synth - k * p))
    return worst
