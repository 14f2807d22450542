"""Benchmarks for tickets-mcp: run `python -m bench` from the repository root."""
