from benchmarks.ct_factual.cli import main

raise SystemExit(main())
