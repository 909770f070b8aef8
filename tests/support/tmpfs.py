"""A small tmpfs of its own for a test: a disk that really fills, a mount that really
turns read-only. Needs mount(8) and the right to use it (root here); skips otherwise."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


@contextmanager
def small_tmpfs(size: str = "2m") -> Iterator[Path]:
    """Mount a tmpfs of `size` on a fresh directory; unmount and delete it after."""
    if shutil.which("mount") is None:
        pytest.skip("mount(8) is not installed: cannot make a small disk to fill")
    root = Path(tempfile.mkdtemp(prefix="ragstream-tmpfs-"))
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(root)],
        capture_output=True, text=True,
    )  # fmt: skip
    if mounted.returncode != 0:
        root.rmdir()
        pytest.skip(f"cannot mount a tmpfs here ({mounted.stderr.strip()}): needs root")
    try:
        yield root
    finally:
        subprocess.run(["umount", "-l", str(root)], capture_output=True)
        root.rmdir()


def remount_read_only(root: Path) -> None:
    subprocess.run(["mount", "-o", "remount,ro", str(root)], check=True, capture_output=True)
