"""Benchmarks for tracker-mcp: run `python -m bench` from the repository root."""
