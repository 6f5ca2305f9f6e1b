"""Benchmark: study report for 20 readers x 1,000 items x 2 questions, bootstrap CIs included.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_stats.py [--readers 20] [--items 1000]
        [--tasks 2] [--bootstrap 2000] [--repeat 3]

Prints per-stage timings of the statistics of one task (to see where time goes), then of the
full report (statistics of every task + figures + HTML + PDF + JSON/CSV/XLSX) for each repeat,
and the median total. The target of issue 7 is <= 5 s for the full report.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
TASK_NAMES = ["image realism", "report coherence", "image coherence", "pair coherence",
              "report realism", "CT-report coherence"]


class Stopwatch:
    """Wall and CPU time per stage. The CPU time (this process only) is what to compare across
    runs on a shared machine; the wall time is what a user waits."""

    def __init__(self) -> None:
        self.rows: list[tuple[str, float, float]] = []

    def __call__(self, label: str, work: Callable[[], object]) -> object:
        wall, cpu = time.perf_counter(), time.process_time()
        result = work()
        self.rows.append((label, time.perf_counter() - wall, time.process_time() - cpu))
        print(f"  {label:<44}{self.rows[-1][1]:8.3f} s wall {self.rows[-1][2]:8.3f} s cpu", flush=True)
        return result

    @property
    def total(self) -> tuple[float, float]:
        return sum(r[1] for r in self.rows), sum(r[2] for r in self.rows)


def stage_breakdown(df, n_bootstrap: int) -> None:
    """Each statistic of one task on its own (what rating_stats does, stage by stage)."""
    from turing_test.stats import agreement, discrimination, mrmc
    from turing_test.stats.table import to_wide, validate_table

    task = df["task"].iloc[0]
    part = df[df["task"] == task].drop(columns=["task", "forced_choice", "confidence"])
    print(f"statistics of one task ({task!r}, {len(part)} ratings):")
    watch = Stopwatch()
    table, _ = watch("validate table", lambda: validate_table(part, "1-5"))
    wide = watch("long -> wide matrix", lambda: to_wide(table))
    watch("ICC, six forms with CIs", lambda: agreement.icc(wide.matrix))
    watch("Krippendorff alpha x 4 levels", lambda: [agreement.krippendorff_alpha(wide.matrix, lv, range(1, 6))
                                                    for lv in agreement.ALPHA_LEVELS])
    watch("Fleiss kappa", lambda: agreement.fleiss_kappa(wide.matrix))
    n_pairs = len(wide.readers) * (len(wide.readers) - 1) // 2
    watch(f"Cohen kappa x {n_pairs} pairs (3 weightings + SE)",
          lambda: agreement.pairwise_cohen_kappa(wide.matrix, wide.readers, range(1, 6)))
    watch("Kendall W", lambda: agreement.kendall_w(wide.matrix))
    pos, neg = discrimination.split_by_truth(table["rating"], table["truth"])
    watch("AUC + DeLong + Mann-Whitney", lambda: (discrimination.delong(pos, neg),
                                                  discrimination.mann_whitney(pos, neg)))
    watch(f"bootstrap CI ({n_bootstrap} item resamples)", lambda: discrimination.bootstrap_auc_ci(
        table["rating"], table["truth"], table["item"], n_boot=n_bootstrap))
    watch("per-reader AUC", lambda: discrimination.per_reader_auc(table))
    watch("OR-MRMC (jackknife, Hillis df)", lambda: mrmc.obuchowski_rockette(table))
    wall, cpu = watch.total
    print(f"  {'sum':<44}{wall:8.3f} s wall {cpu:8.3f} s cpu\n")


def full_report(df, n_bootstrap: int) -> tuple[float, float]:
    from turing_test.stats.report import build_study_report

    watch = Stopwatch()
    report = watch("statistics of every task + figures", lambda: build_study_report(df, n_bootstrap=n_bootstrap))
    watch("HTML (figures as base64 PNG)", report.to_html)
    watch("PDF (matplotlib)", report.to_pdf)
    watch("JSON + results CSV + ratings CSV", lambda: (report.to_json(), report.to_csv(), report.ratings_csv()))
    watch("XLSX (results sheets)", report.to_xlsx)
    wall, cpu = watch.total
    print(f"  {'total':<44}{wall:8.3f} s wall {cpu:8.3f} s cpu")
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--readers", type=int, default=20)
    parser.add_argument("--items", type=int, default=1000)
    parser.add_argument("--tasks", type=int, default=2, choices=range(1, len(TASK_NAMES) + 1))
    parser.add_argument("--bootstrap", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    if str(REPO_ROOT) not in sys.path:
        sys.path.insert(0, str(REPO_ROOT))

    start = time.perf_counter()
    import matplotlib  # noqa: F401  (import cost reported separately from the work)

    from turing_test.stats.simulate import simulate_study

    import_seconds = time.perf_counter() - start
    df = simulate_study(args.readers, args.items, TASK_NAMES[: args.tasks], seed=42)
    print(f"{args.readers} readers x {args.items} items x {args.tasks} questions = {len(df)} ratings; "
          f"bootstrap {args.bootstrap}; imports {import_seconds:.2f} s\n")
    stage_breakdown(df, args.bootstrap)
    totals = []
    for run in range(1, args.repeat + 1):
        print(f"full report, run {run}/{args.repeat}:")
        totals.append(full_report(df, args.bootstrap))
    walls, cpus = [t[0] for t in totals], [t[1] for t in totals]
    print(f"\nfull report over {len(totals)} run(s): wall median {statistics.median(walls):.3f} s "
          f"(min {min(walls):.3f} s), cpu median {statistics.median(cpus):.3f} s; target <= 5 s")


if __name__ == "__main__":
    main()
