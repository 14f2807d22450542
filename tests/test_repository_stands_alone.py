"""The repository stands alone: a fresh clone runs its tests with nothing beside it and no network.

Everything a test or the benchmark reads is in the repository (bench/vendor/: tiktoken's o200k_base
file and the github-mcp-server tool schemas) or comes from a PyPI package; nothing reads the
workplace's sibling folder of notes and data, which a user's clone does not have.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fixtures.helpers_processes import REPO

SCANNED = ("src", "tests", "bench", ".ci")
SKIPPED_DIRS = frozenset({"node_modules", "__pycache__", ".cache", ".pytest_cache", ".ruff_cache"})
# The sibling folder as a path: `../<it>`, a quoted path component, or `<it>/…` after a separator.
# The character class keeps this file from matching itself.
SIBLING = re.compile(r"""\.\./shar[e]d\b|["']shar[e]d["']|(?<![\w.-])shar[e]d[/\\]""")

TIKTOKEN_CACHE = REPO / "bench" / "vendor" / "tiktoken"
# The file name tiktoken's cache gives o200k_base (sha1 of its URL), and the sha256 tiktoken expects.
O200K_FILE = TIKTOKEN_CACHE / "fb374d419588a4632f3f557e76b4b70aebbca790"
O200K_SHA256 = "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d"
# The MCP Apps host side the board app's browser tests use, built as tests/data/ext-apps/SOURCE.md says.
APP_BRIDGE = REPO / "tests" / "data" / "ext-apps" / "app-bridge.js"
APP_BRIDGE_SHA256 = "3b47a989cca898ad2b8cb9ce6eacf0df41a484da14f98069626d99e096262371"

# Prepended to a child's code: any attempt to reach the network fails loudly instead of downloading.
NO_NETWORK = """
import socket

def _refuse(*args, **kwargs):
    raise OSError("this test refuses network use")

socket.getaddrinfo = _refuse
socket.create_connection = _refuse
socket.socket.connect = _refuse
socket.socket.connect_ex = _refuse
"""


def scanned_files() -> Iterator[Path]:
    for top in SCANNED:
        for root, dirs, files in os.walk(REPO / top):
            dirs[:] = sorted(d for d in dirs if d not in SKIPPED_DIRS)
            for name in sorted(files):
                yield Path(root) / name


def offline_env() -> dict[str, str]:
    """The environment minus tiktoken's cache settings, so a child finds its tokenizer by itself."""
    env = dict(os.environ)
    for name in ("TIKTOKEN_CACHE_DIR", "DATA_GYM_CACHE_DIR"):
        env.pop(name, None)
    return env


def run_offline(code: str, env: dict[str, str]) -> str:
    done = subprocess.run(
        [sys.executable, "-c", NO_NETWORK + code],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_no_file_refers_to_the_sibling_shared_folder() -> None:
    found: list[str] = []
    count = 0
    for path in scanned_files():
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue  # not text (a SQLite file, an image): it cannot name a folder
        count += 1
        for number, line in enumerate(text.splitlines(), start=1):
            if SIBLING.search(line):
                found.append(f"{path.relative_to(REPO)}:{number}: {line.strip()[:120]}")
    assert count > 50, f"only {count} files scanned: is REPO right?"
    assert not found, "files that read the sibling folder, which a user's clone does not have:\n" + "\n".join(found)


def test_the_vendored_tokenizer_is_tiktokens_own_file() -> None:
    # Checked before tiktoken sees it: on a mismatch, tiktoken deletes the cached file.
    assert hashlib.sha256(O200K_FILE.read_bytes()).hexdigest() == O200K_SHA256


def test_the_vendored_app_bridge_is_the_build_its_source_note_names() -> None:
    assert hashlib.sha256(APP_BRIDGE.read_bytes()).hexdigest() == APP_BRIDGE_SHA256
    assert f"`{APP_BRIDGE_SHA256}`" in (APP_BRIDGE.parent / "SOURCE.md").read_text()


@pytest.mark.slow
def test_the_vendored_tokenizer_loads_offline() -> None:
    before = sorted(p.name for p in TIKTOKEN_CACHE.iterdir())
    env = {**offline_env(), "TIKTOKEN_CACHE_DIR": str(TIKTOKEN_CACHE)}
    out = run_offline(
        "import json, tiktoken\n"
        "encoding = tiktoken.get_encoding('o200k_base')\n"
        "print(json.dumps([encoding.n_vocab, encoding.encode('hello world')]))\n",
        env,
    )
    assert json.loads(out) == [200019, [24912, 2375]]
    assert sorted(p.name for p in TIKTOKEN_CACHE.iterdir()) == before  # nothing downloaded into it


@pytest.mark.slow
def test_the_token_benchmark_reads_only_the_repository() -> None:
    """bench/tokens.py, with no TIKTOKEN_CACHE_DIR set and no network: its tokenizer and its peer data."""
    out = run_offline(
        "import json, os\n"
        "from bench import tokens\n"
        "default, issues = tokens.peer_default_tools()\n"
        "schemas = [tokens.peer_tool(name) for name in default + issues]\n"
        "print(json.dumps({'cache': os.environ['TIKTOKEN_CACHE_DIR'], 'peer': str(tokens.PEER),\n"
        "    'default': len(default), 'issues': len(issues), 'named': all(s['name'] for s in schemas),\n"
        "    'hello': tokens.tokens('hello world')}))\n",
        offline_env(),
    )
    report = json.loads(out)
    assert Path(report["cache"]) == TIKTOKEN_CACHE
    assert Path(report["peer"]).is_relative_to(REPO / "bench" / "vendor")
    assert (report["default"], report["issues"], report["named"], report["hello"]) == (43, 9, True, 2)
