"""The package-data globs in pyproject.toml each ship something, and every data file the
package holds is shipped by one of them (a new template or model file is not forgotten)."""

from __future__ import annotations

import tomllib
from pathlib import Path

import ragstream

PACKAGE = Path(ragstream.__file__).parent
PYPROJECT = PACKAGE.parents[1] / "pyproject.toml"


def _globs() -> list[str]:
    data = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))
    globs: list[str] = data["tool"]["setuptools"]["package-data"]["ragstream"]
    return globs


def test_every_package_data_glob_matches_a_file() -> None:
    empty = [g for g in _globs() if not any(p.is_file() for p in PACKAGE.glob(g))]
    assert empty == []


def test_every_data_file_is_shipped() -> None:
    shipped = {p for g in _globs() for p in PACKAGE.glob(g)}
    data_files = {
        p
        for p in PACKAGE.rglob("*")
        if p.is_file() and p.suffix not in (".py", ".pyc") and "__pycache__" not in p.parts
    }
    assert sorted(str(p.relative_to(PACKAGE)) for p in data_files - shipped) == []
