from tickets_mcp.cli import main

raise SystemExit(main())
