"""Factual-correctness benchmark of report -> CT; see ``benchmarks/ct_factual/__init__.py``.

    nice -n 5 .venv/bin/python benchmarks/bench_ct_factual.py [--weights-dir DIR] [--n-reports 64]
        [--steps 30] [--guidance 1 3 5 7] [--seeds-per-report 3] [--out var/bench/ct_factual]
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.ct_factual.cli import main  # noqa: E402

if __name__ == "__main__":
    raise SystemExit(main())
