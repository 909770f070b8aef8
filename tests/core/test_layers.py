"""Imports run one way: the library's floors never import the doors above them (the CLI
commands, the page, the Workspace object), so each floor can be used and tested alone."""

from __future__ import annotations

from pathlib import Path

import ragstream
from tests.support.imports import imported_modules

PACKAGE = Path(ragstream.__file__).parent
DOORS = ("ragstream.workspace", "ragstream.commands", "ragstream.app", "ragstream.cli",
         "ragstream.api", "ragstream.web", "ragstream.deploy")  # fmt: skip
FLOORS = ("index", "ingest", "retrieve", "generate", "text.py", "models.py", "errors.py",
          "config.py", "layered.py", "openai_client.py", "sources", "queue")  # fmt: skip


def floor_files() -> list[Path]:
    files: list[Path] = []
    for floor in FLOORS:
        place = PACKAGE / floor
        files.extend(sorted(place.rglob("*.py")) if place.is_dir() else [place])
    return files


def test_lower_floors_never_import_a_door() -> None:
    offenders = [
        f"{path.relative_to(PACKAGE)} imports {name}"
        for path in floor_files()
        for name in sorted(imported_modules(path))
        if name.startswith(DOORS)
    ]
    assert offenders == []


def test_the_check_sees_real_imports() -> None:
    assert "ragstream.workspace" in imported_modules(PACKAGE / "commands" / "options.py")
    assert len(floor_files()) > 30
