"""Factual-correctness benchmark of report -> CT (issue 4 item 6; CT analogue of MedCoDi-M Table 3).

An independent multi-label finding classifier, trained on REAL phantom CTs only, judges CTs
generated from held-out phantom reports at several guidance scales; per-finding and macro AUC
against the reports' labels, plus the diversity between seeds of the same report.

    nice -n 5 .venv/bin/python benchmarks/bench_ct_factual.py            # full run (~20-25 min, 2-core CPU)
    .venv/bin/python benchmarks/bench_ct_factual.py --help

Modules: ``classifier`` (the judge), ``heldout`` (held-out reports), ``metrics`` (AUC, bootstrap,
diversity), ``runner`` (the benchmark), ``report`` (table, JSON, figures), ``cli``.
"""
