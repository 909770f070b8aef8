"""Build the agent as one executable zipapp: `ragstream/host/` and a `__main__`.

It must fit in EC2's 16 KB of user data, so the shipped sources are minified (docstrings,
comments and function annotations dropped by a round trip through `ast`), the build-side modules stay home,
and the zip is STORED: the user data gzips the whole file, and gzip over plain sources
compresses far better than per-file deflate does. The tests run this very build.
"""

from __future__ import annotations

import ast
import io
import zipfile
from importlib.resources import files
from importlib.resources.abc import Traversable

SHEBANG = b"#!/usr/bin/python3\n"
MAIN = "import sys\nfrom ragstream.host.agent import main\nsys.exit(main())\n"
# A fixed timestamp keeps the build reproducible (same bytes for the same sources).
EPOCH = (2020, 1, 1, 0, 0, 0)
# Used only where the user data is made, never on the instance.
BUILD_ONLY = {"package.py", "userdata.py", "ragstream.service"}


def minify(source: str) -> str:
    """The same code without docstrings, comments and function annotations."""
    tree = ast.parse(source)
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (
            isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
            and body
            and isinstance(body[0], ast.Expr)
            and isinstance(body[0].value, ast.Constant)
            and isinstance(body[0].value.value, str)
        ):
            node.body = body[1:] or [ast.Pass()]
        # Function annotations are documentation only (dataclass fields keep theirs).
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            node.returns = None
        if isinstance(node, ast.arg):
            node.annotation = None
    return ast.unparse(tree) + "\n"


def _entries(folder: Traversable, prefix: str) -> list[tuple[str, bytes]]:
    found: list[tuple[str, bytes]] = []
    for item in sorted(folder.iterdir(), key=lambda entry: entry.name):
        name = f"{prefix}/{item.name}"
        if item.is_dir():
            if item.name != "__pycache__":
                found.extend(_entries(item, name))
        elif item.name.endswith(".py") and item.name not in BUILD_ONLY:
            found.append((name, minify(item.read_text(encoding="utf-8")).encode()))
        elif not item.name.endswith((".pyc", ".pyo")) and item.name not in BUILD_ONLY:
            found.append((name, item.read_bytes()))
    return found


def build_zipapp() -> bytes:
    """The agent as the bytes of an executable zipapp (`python3 ragstream-host ...`)."""
    buffer = io.BytesIO()
    buffer.write(SHEBANG)
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        for name, data in [
            ("__main__.py", MAIN.encode()),
            ("ragstream/__init__.py", b""),
            *_entries(files("ragstream.host"), "ragstream/host"),
        ]:
            archive.writestr(zipfile.ZipInfo(name, EPOCH), data)
    return buffer.getvalue()
