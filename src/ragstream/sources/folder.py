"""A folder source: walk, stat, and read only files whose size or mtime moved.

A file is read only once it has been left alone for `settle` seconds and its size and
mtime are the same before and after reading; otherwise it is `pending` (still being
written) and the previous version stays in the index until the next look.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from ragstream.errors import SourceError
from ragstream.ingest.loaders import SUPPORTED_SUFFIXES
from ragstream.sources.connector import Doc
from ragstream.sources.spec import SourceSpec

SETTLE_SECONDS = 1.0


class FolderConnector:
    def __init__(
        self,
        spec: SourceSpec,
        root_key: str,
        *,
        skip: Path | None = None,
        settle: float = SETTLE_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.root = Path(spec.location)
        self.spec = spec
        # Keys are the root's key (as `ingest` names it: relative to the folder holding
        # the workspace) plus the path inside the root: one realpath per sync, not per file.
        self.prefix = root_key.rstrip("/") + "/"
        self.skip = skip.resolve() if skip else None
        self.settle = settle
        self.clock = clock

    def scan(self, known: Mapping[str, Mapping[str, Any]]) -> Iterator[Doc]:
        if not self.root.is_dir():
            raise SourceError(f"{self.root}: the folder is gone (remove the source or restore it)")
        for path, relative in self._files():
            key = self.prefix + relative
            try:
                before = os.stat(path)
            except OSError:
                continue  # deleted between the walk and the stat: it is simply not there
            version = f"{before.st_size}:{before.st_mtime_ns}"
            previous = known.get(key, {}).get("version")
            if previous == version:
                yield Doc(key, version)
                continue
            if self.clock() - before.st_mtime < self.settle:
                yield Doc(key, previous or "", pending=True)
                continue
            yield self._read(Path(path), key, version, before.st_mtime)

    def _read(self, path: Path, key: str, version: str, mtime: float) -> Doc:
        try:
            data = path.read_bytes()
            after = path.stat()
        except OSError as exc:
            return Doc(key, error=f"cannot read the file ({exc.strerror or exc})")
        if f"{after.st_size}:{after.st_mtime_ns}" != version or len(data) != after.st_size:
            return Doc(key, pending=True)  # written to while we read: look again later
        return Doc(key, version, path.suffix, data, extra={"mtime": mtime})

    def _files(self) -> Iterator[tuple[str, str]]:
        for dirpath, dirnames, filenames in os.walk(self.root):
            here = Path(dirpath)
            inside = os.path.relpath(dirpath, self.root)
            inside = "" if inside == "." else inside.replace(os.sep, "/") + "/"
            # Hidden folders (.git, .ragstream) and the workspace are never documents.
            dirnames[:] = sorted(
                d
                for d in dirnames
                if not d.startswith(".")
                and (self.skip is None or (here / d).resolve() != self.skip)
            )
            for name in sorted(filenames):
                if (
                    name.startswith(".")
                    or os.path.splitext(name)[1].lower() not in SUPPORTED_SUFFIXES
                ):
                    continue
                relative = inside + name
                if self.spec.wants(relative):
                    yield os.path.join(dirpath, name), relative
