"""The `tickets-mcp` command: the entry point that wires settings, store or remote, and the front ends."""
