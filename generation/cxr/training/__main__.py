from generation.cxr.training import main

raise SystemExit(main())
