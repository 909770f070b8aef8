"""Test modules import no other test module or conftest: what several of them share lives
in a helper module (tests/support/, or e.g. tests/app/page_helpers.py), and fixtures
reach them through conftest.py, so each test file can be read and run on its own."""

from __future__ import annotations

from pathlib import Path

from tests.support.imports import imported_modules

TESTS = Path(__file__).resolve().parents[1]
ROOT = TESTS.parent


def test_no_test_module_imports_another_test_module_or_a_conftest() -> None:
    offenders = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in sorted([*TESTS.rglob("*.py"), *(ROOT / "bench").glob("*.py")])
        for name in sorted(imported_modules(path))
        if name.startswith("tests.") and name.rsplit(".", 1)[-1].startswith(("test_", "conftest"))
    ]
    assert offenders == []
