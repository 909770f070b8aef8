"""`ragstream doctor` and the CLI on damaged indexes (issue 14.7): real workspaces, the
builtin embedder, real damage (random scribbles over pages, truncation to 0 bytes)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from ragstream.cli import main

TOPICS = ["turbine", "gearbox", "rotor", "bearing", "blade", "tower", "nacelle", "yaw"]


@pytest.fixture(scope="module")
def healthy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with docs/ and a workspace ws/ indexing them, made once and copied."""
    root = tmp_path_factory.mktemp("doctor")
    for n in range(24):
        topic = TOPICS[n % len(TOPICS)]
        text = f"# {topic} {n}\n\n" + f"The {topic} number {n} needs checking every week. " * 40
        (root / "docs").mkdir(exist_ok=True)
        (root / "docs" / f"{topic}-{n}.md").write_text(text)
    main(["ingest", "-q", str(root / "docs"), "--workspace", str(root / "ws")])
    return root


@pytest.fixture
def folder(healthy: Path, tmp_path: Path) -> Path:
    shutil.copytree(healthy, tmp_path / "copy")
    return tmp_path / "copy"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        main(list(argv))
        code = 0
    except SystemExit as exit_info:
        code = int(exit_info.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def scribble(db: Path) -> None:
    data = bytearray(db.read_bytes())
    rng = np.random.default_rng(3)
    for start in range(4096 * 2, len(data) - 4096, 4096 * 2):
        data[start + 100 : start + 600] = rng.integers(0, 256, 500, dtype=np.uint8).tobytes()
    db.write_bytes(bytes(data))


def test_doctor_on_a_healthy_workspace_says_ok(
    folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "doctor", "--workspace", str(folder / "ws"))
    assert code == 0, out
    assert "integrity check: ok" in out and "FAIL" not in out
    assert re.search(r"ok    (\d+) chunks, \1 listed in the manifest, \1 in the keyword index", out)


def test_a_scribbled_index_refuses_ingest_and_doctor_rebuilds_it(
    folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = ["--workspace", str(folder / "ws")]
    db = folder / "ws" / "index.sqlite"
    scribble(db)
    (folder / "docs" / "new.md").write_text("# new\n\nA brand new document about anemometers.\n")
    damaged = db.read_bytes()
    code, out, err = run(capsys, "ingest", "-q", str(folder / "docs"), *ws)
    assert code == 1 and err.startswith("error: ") and len(err.strip().splitlines()) == 1
    assert "damaged" in err and "ragstream doctor --rebuild" in err
    assert db.read_bytes() == damaged  # nothing written into it
    code, out, _ = run(capsys, "doctor", *ws)
    failures = [line for line in out.splitlines() if line.startswith("FAIL")]
    assert code == 1 and failures, out
    assert any("damaged" in f or "integrity check" in f for f in failures)
    code, out, err = run(capsys, "doctor", "--rebuild", *ws)
    assert code == 0, out + err
    assert "moved the old index to" in out and "24 of 24 document(s) re-ingested" in out
    assert list((folder / "ws").glob("index.sqlite.damaged-*"))
    code, out, _ = run(capsys, "search", "gearbox", *ws)
    assert code == 0 and "gearbox" in out
    assert run(capsys, "doctor", *ws)[0] == 0


def test_an_index_truncated_to_zero_bytes_is_reported_everywhere(
    folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = ["--workspace", str(folder / "ws")]
    db = folder / "ws" / "index.sqlite"
    db.write_bytes(b"")
    for argv in (["docs"], ["search", "rotor"], ["ingest", "-q", str(folder / "docs")]):
        code, out, err = run(capsys, *argv, *ws)
        assert code == 1 and "index file is empty (0 bytes)" in err, (argv, out, err)
        assert len(err.strip().splitlines()) == 1
    assert db.stat().st_size == 0
    code, out, _ = run(capsys, "doctor", *ws)
    assert code == 1 and "FAIL" in out and "0 bytes" in out
    code, out, err = run(capsys, "doctor", "--rebuild", *ws)
    assert code == 1 and "no readable manifest" in err and "ragstream ingest DIR" in err


@pytest.mark.postgres
def test_doctor_on_postgresql_checks_connection_and_counts(
    postgres_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RAGSTREAM_DATABASE_URL", postgres_url)
    code, out, _ = run(capsys, "doctor")
    assert code == 0, out
    assert "connected, schema current" in out and "0 chunks, 0 listed in the manifest" in out
    assert "fixture-Pa55word" not in out
    code, _, err = run(capsys, "doctor", "--rebuild")
    assert code == 1 and "ragstream copy" in err and len(err.strip().splitlines()) == 1
