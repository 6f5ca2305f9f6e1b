"""Property tests of the per-reader order (pure function, many random instances, no database)."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from turing_test.randomisation import (
    REAL,
    SYNTHETIC,
    OrderItem,
    adjacent_same_source,
    build_order,
    max_prefix_imbalance,
    reader_seed,
    truth_pattern,
)

N_CASES = 120


def random_study(rng: random.Random, *, max_per_source: int = 2) -> list[OrderItem]:
    """Tasks of 4-12 items; each source case gives at most ``max_per_source`` items (a real case and
    what was generated from its report), possibly in different tasks; a few practice items."""
    items: list[OrderItem] = []
    n_tasks = rng.randint(1, 4)
    sizes = [rng.randint(4, 12) for _ in range(n_tasks)]
    slots = [t for t, n in enumerate(sizes) for _ in range(n)]
    rng.shuffle(slots)  # a case's items land in random tasks
    cases = [f"c{i // max_per_source}" for i in range(len(slots))]
    for i, (t, case) in enumerate(zip(slots, cases, strict=True)):
        truth = REAL if rng.random() < 0.5 else SYNTHETIC
        items.append(OrderItem(key=f"t{t}-i{i}-{rng.random():.6f}", truth=truth, task=f"task{t}", source_case=case))
    for p in range(rng.randint(0, 3)):
        items.append(OrderItem(key=f"practice{p}", truth=rng.choice([REAL, SYNTHETIC]), task="task0", source_case=f"p{p}", practice=True))
    return items


def blocks(order: list[str], items: dict[str, OrderItem]) -> list[list[OrderItem]]:
    out: list[list[OrderItem]] = []
    for key in order:
        item = items[key]
        label = "practice" if item.practice else item.task
        if not out or (("practice" if out[-1][0].practice else out[-1][0].task) != label):
            out.append([])
        out[-1].append(item)
    return out


def test_reproducible_and_independent_of_input_order():
    rng = random.Random(1)
    for _ in range(N_CASES):
        items = random_study(rng)
        seed = rng.randrange(2**31)
        first = build_order(items, seed=seed, reader_key="user:7")
        shuffled = items[:]
        rng.shuffle(shuffled)
        assert build_order(shuffled, seed=seed, reader_key="user:7") == first
        assert sorted(first) == sorted(i.key for i in items)  # a permutation


def test_readers_and_seeds_change_the_order():
    rng = random.Random(2)
    items = [OrderItem(key=f"k{i}", truth=REAL if i % 2 else SYNTHETIC, task="t", source_case=f"c{i}") for i in range(20)]
    orders = {tuple(build_order(items, seed=5, reader_key=f"user:{r}")) for r in range(10)}
    assert len(orders) == 10
    assert build_order(items, seed=5, reader_key="user:1") != build_order(items, seed=6, reader_key="user:1")
    assert reader_seed(study_seed=5, reader_key="user:1") == reader_seed(study_seed=5, reader_key="user:1")
    del rng


def test_practice_first_then_one_block_per_task():
    rng = random.Random(3)
    for _ in range(N_CASES):
        items = random_study(rng)
        by_key = {i.key: i for i in items}
        order = build_order(items, seed=rng.randrange(2**31), reader_key="r")
        n_practice = sum(1 for i in items if i.practice)
        assert all(by_key[k].practice for k in order[:n_practice])
        assert not any(by_key[k].practice for k in order[n_practice:])
        main_blocks = [b for b in blocks(order, by_key) if not b[0].practice]
        tasks = [b[0].task for b in main_blocks]
        assert len(tasks) == len(set(tasks)), "a task's items must form one block"


def test_balanced_within_every_task_block():
    rng = random.Random(4)
    for _ in range(N_CASES):
        items = random_study(rng)
        by_key = {i.key: i for i in items}
        for block in blocks(build_order(items, seed=rng.randrange(2**31), reader_key="r"), by_key):
            assert max_prefix_imbalance([i.truth for i in block]) <= 2.0 + 1e-9


def test_balance_is_not_a_predictable_alternation():
    rng = random.Random(5)
    patterns = {tuple(truth_pattern(n_real=10, n_synthetic=10, rng=rng)) for _ in range(200)}
    assert len(patterns) > 50
    # some orders put two of the same class next to each other (no strict pairing a reader could exploit)
    assert any(any(a == b for a, b in zip(p, p[1:], strict=False)) for p in patterns)


def test_no_same_source_neighbours_when_avoidable():
    rng = random.Random(6)
    for _ in range(N_CASES):
        items = random_study(rng, max_per_source=2)
        order = build_order(items, seed=rng.randrange(2**31), reader_key="r")
        by_key = {i.key: i for i in items}
        seq = [by_key[k] for k in order]
        # practice items have their own sources; everything else has at most two items per source
        assert adjacent_same_source(seq) == 0, [(i.source_case, i.truth) for i in seq]


def test_unavoidable_adjacency_still_gives_a_valid_order():
    items = [OrderItem(key=f"k{i}", truth=REAL if i % 2 else SYNTHETIC, task="t", source_case="same") for i in range(6)]
    order = build_order(items, seed=1, reader_key="r")
    assert sorted(order) == sorted(i.key for i in items)


def test_three_items_per_source_mostly_separated():
    rng = random.Random(7)
    total = violations = 0
    for _ in range(60):
        items = random_study(rng, max_per_source=3)
        by_key = {i.key: i for i in items}
        seq = [by_key[k] for k in build_order(items, seed=rng.randrange(2**31), reader_key="r")]
        violations += adjacent_same_source(seq)
        total += len(seq)
    assert violations / total < 0.02


@pytest.mark.parametrize("bad", [{"truth": "maybe"}, {"key": "dup"}])
def test_rejects_bad_input(bad):
    items = [OrderItem(key="dup", truth=REAL, task="t", source_case="a"), OrderItem(key="b", truth=SYNTHETIC, task="t", source_case="b")]
    if "truth" in bad:
        items[1] = OrderItem(key="b", truth="maybe", task="t", source_case="b")
    else:
        items[1] = OrderItem(key="dup", truth=SYNTHETIC, task="t", source_case="b")
    with pytest.raises(ValueError):
        build_order(items, seed=1, reader_key="r")


def test_every_item_once_with_counts_preserved():
    rng = random.Random(8)
    items = random_study(rng)
    order = build_order(items, seed=3, reader_key="r")
    assert Counter(order) == Counter(i.key for i in items)
