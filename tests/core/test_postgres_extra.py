"""A database URL without the postgres extra installed: one line naming the fix (14.9)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from ragstream.index.sqlite import SqliteStore

# psycopg and pgvector made unimportable, as on an install without the [postgres] extra
WITHOUT_EXTRA = """
import sys
class Missing:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("psycopg", "pgvector"):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
sys.meta_path.insert(0, Missing())
from ragstream.cli import main
main(sys.argv[1:])
"""


@pytest.mark.parametrize(
    "argv",
    [["docs"], ["search", "key"], ["migrate"], ["copy", "--to", "postgresql://u@h/db"]],
)
def test_database_url_without_the_extra_is_one_line(argv: list[str], tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "RAGSTREAM_WORKSPACE": str(tmp_path / "ws"),
           "PYTHONPATH": ":".join(sys.path)}  # fmt: skip
    if argv[0] != "copy":
        env["RAGSTREAM_DATABASE_URL"] = "postgresql://app:x-Pa55@127.0.0.1:5432/rag"
    else:
        (tmp_path / "ws").mkdir()
        SqliteStore(tmp_path / "ws" / "index.sqlite").close()
    run = subprocess.run(
        [sys.executable, "-c", WITHOUT_EXTRA, *argv],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert run.returncode == 1, run.stderr
    assert run.stderr.count("\n") == 1 and "Traceback" not in run.stderr, run.stderr
    assert "pip install 'ragstream[postgres]'" in run.stderr
    assert "psycopg is not installed" in run.stderr
