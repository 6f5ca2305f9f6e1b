"""Factual-correctness benchmark of report -> CT (issue 4 item 6; CT analogue of MedCoDi-M Table 3).

An independent multi-label finding classifier (the "judge"), trained on REAL phantom CTs only,
scores CTs generated from held-out phantom reports at several guidance scales: per-finding AUC
against the reports' labels and their macro mean, plus the diversity between seeds of the same
report (the alignment/diversity trade-off of the Report2CT paper).

    nice -n 5 .venv/bin/python benchmarks/bench_ct_factual.py          # full run, see below
    .venv/bin/python benchmarks/bench_ct_factual.py --help

Design (all fixed before any generated CT was scored):

- judge: ``classifier`` — a small 3D CNN plus a linear branch on regional HU histograms, trained
  on ``/work/data/ct-train`` (or a fresh phantom set) with 1/8 of it held out for its own AUC;
  cached under ``var/bench/ct_factual/classifier/<hash>/``; never sees a generated volume;
- held-out reports: ``heldout`` — new phantom cases (seed 990001), label-balanced selection so
  that rare findings have >= 10% positives; their real CTs give the ceiling row;
- generation: one CT per report and guidance (seed 7 + 1000 i for report i, the same across
  guidance, so rows are paired), K = 3 seeds for the first 8 reports (diversity); volumes are
  cached under ``var/bench/ct_factual/generated/`` so re-scoring never regenerates;
- scores: ``metrics`` — Mann-Whitney AUC (no thresholds), findings with < 3 positive or negative
  reports are reported as null with the reason, percentile bootstrap CIs over reports (paired
  for the difference to guidance 1); diversity = mean pairwise |ΔHU| and 1 - SSIM.

Cost with the defaults (64 reports x 4 guidance + 8 x 2 x 4 extra seeds = 320 CTs at 30 steps):
~3.5 s per CT on one core of the 2-core box -> ~20 min, plus ~0.5 min of real phantoms; training
the judge once takes ~4-9 min. ``--n-reports``/``--steps`` trade precision for time.

Modules: ``classifier``, ``heldout``, ``metrics``, ``runner`` (the benchmark), ``report``
(markdown table, JSON, figures), ``cli``.
"""
