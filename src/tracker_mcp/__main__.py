from tracker_mcp.cli import main

raise SystemExit(main())
