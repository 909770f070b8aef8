"""The layer scanner finds what it must (unit test on a synthetic `docker save` archive)."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

from tests.docker.layers import scan_saved_image


def _tar(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _saved_image(path: Path, layers: list[dict[str, bytes]]) -> Path:
    names = [f"layer{i}/layer.tar" for i in range(len(layers))]
    outer = {"manifest.json": json.dumps([{"Layers": names}]).encode()}
    outer |= {name: _tar(files) for name, files in zip(names, layers, strict=True)}
    path.write_bytes(_tar(outer))
    return path


def test_clean_image_has_no_findings(tmp_path: Path) -> None:
    record = b"pip/__init__.py,sha256=Xb3sk-" + b"Q0" * 20 + b",1234\n"  # a hash, not a key
    archive = _saved_image(
        tmp_path / "clean.tar",
        [{"app/main.py": b"print('sk-short')", "pip-23.dist-info/RECORD": record}],
    )
    assert scan_saved_image(archive) == []


def test_finds_env_files_key_like_strings_and_given_secrets(tmp_path: Path) -> None:
    key = b"sk-proj-" + b"A1b2" * 12
    archive = _saved_image(
        tmp_path / "leaky.tar",
        [
            {"etc/hostname": b"x"},
            {"app/.env": b"X=1", "app/config.py": b"KEY = '" + key + b"'"},
            {"data/notes.txt": b"token: hunter2-secret"},
        ],
    )
    findings = scan_saved_image(archive, secrets=(b"hunter2-secret",))
    found = {(f.layer.split("/")[0], f.path, f.what.split(" ")[0]) for f in findings}
    assert ("layer1", "app/.env", ".env") in found
    assert ("layer1", "app/config.py", "key-like") in found
    assert ("layer2", "data/notes.txt", "given") in found
    assert not any(f.layer.startswith("layer0") for f in findings)
