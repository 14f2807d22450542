from tickets_mcp.cli.main import main

raise SystemExit(main())
