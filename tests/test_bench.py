"""The benchmark suite runs and reports; its figures are read by people, never asserted here."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fixtures.helpers_processes import REPO


@pytest.mark.slow
def test_the_benchmark_command_writes_json_and_a_markdown_table(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--only", "tokens", "--only", "imports", "--out", str(tmp_path)],
        cwd=REPO,
        check=True,
        capture_output=True,
        timeout=300,
    )
    results = json.loads((tmp_path / "latest.json").read_text())
    names = json.dumps(results)
    assert "tools/list, default set (10 tools)" in names
    assert "import time" in names
    table = (tmp_path / "latest.md").read_text()
    assert "| metric | unit | ours | reference | ratio |" in table
