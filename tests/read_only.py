"""A file or folder that a child process cannot change, also when the tests run as root.

Root ignores permission bits, so `chmod` alone proves nothing there. The child runs instead in a user
and mount namespace of its own (`unshare --map-root-user --mount`) where the path is bind-mounted
read-only over itself: the kernel answers EROFS to every write, whoever asks, and nothing outside the
child sees the mount. Where user namespaces are not allowed (some containers), a user other than root
gets the same from permission bits; root there cannot have it, and the tests say so when they skip.

    def test_x(read_only: ReadOnly) -> None:
        with read_only(db.parent, [sys.executable, "-m", "tickets_mcp", "--db", str(db), "info"]) as command:
            subprocess.run(command, ...)
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from collections.abc import Callable, Generator, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import pytest

ReadOnly = Callable[[Path, Sequence[str]], AbstractContextManager[list[str]]]
"""read_only(path, command): a context whose value is `command` run with `path` read-only."""

_MOUNT_READ_ONLY = 'mount --bind -o ro "$1" "$1" && shift && exec "$@"'


def _mounted_read_only(path: Path, command: Sequence[str]) -> list[str]:
    unshare = ["unshare", "--map-root-user", "--mount", "sh", "-c", _MOUNT_READ_ONLY]
    return [*unshare, "sh", str(path), *command]


def _can_mount(tmp: Path) -> str | None:
    """None when a read-only bind mount in a namespace of our own works here, else why not."""
    if shutil.which("unshare") is None:
        return "unshare is not installed"
    probe = tmp / "mount-probe"
    probe.mkdir()
    done = subprocess.run(
        _mounted_read_only(probe, ["touch", str(probe / "written")]),
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    if done.returncode == 0:
        return "a write went through the read-only bind mount"
    if "Read-only file system" not in done.stderr:
        return f"unshare --map-root-user --mount is not allowed here ({done.stderr.strip()})"
    return None


@contextmanager
def _by_permissions(path: Path, command: Sequence[str]) -> Generator[list[str]]:
    """`path` (and a folder's files) without write permission while the block runs, restored after."""
    paths = [path, *path.iterdir()] if path.is_dir() else [path]
    modes = {p: p.stat().st_mode for p in paths}
    try:
        for p, mode in modes.items():
            os.chmod(p, mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
        yield list(command)
    finally:
        for p, mode in modes.items():
            os.chmod(p, mode)


@pytest.fixture(scope="session")
def read_only(tmp_path_factory: pytest.TempPathFactory) -> ReadOnly:
    """How this machine makes a path read-only for a child process; skips with the reason where it cannot."""
    why_not = _can_mount(tmp_path_factory.mktemp("read-only"))
    if why_not is None:

        @contextmanager
        def mounted(path: Path, command: Sequence[str]) -> Generator[list[str]]:
            yield _mounted_read_only(path, command)

        return mounted
    if sys.platform != "win32" and os.geteuid() != 0:
        return _by_permissions
    pytest.skip(f"cannot make a path read-only for root: {why_not}")
