"""Where sources live in the workspace directory:

    <workspace>/sources.json          the specs, {"sources": [...]} (changed by add/remove)
    <workspace>/sources/NAME.json     one source's state: document versions, last result
    <workspace>/sources/NAME.lock     held (flock) while NAME syncs: syncs never overlap

Every file is written whole to a temporary file and renamed over the old one, so a crash
leaves the old or the new version, never half of one (like the store's atomic writes).
Specs change under `sources.lock`; a state file only under its source's sync lock.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from ragstream.errors import SourceError
from ragstream.sources.spec import SourceSpec


@dataclass
class SourceState:
    docs: dict[str, dict[str, Any]] = field(default_factory=dict)  # key -> {"version", ...}
    last_sync: float | None = None  # when the last sync finished (ok or not)
    last_ok: bool = True
    last_error: str = ""  # why the whole sync failed (listing, credentials, lock)
    counts: dict[str, int] = field(default_factory=dict)  # status -> files, last sync
    failures: list[str] = field(default_factory=list)  # "key: reason", last sync
    consecutive_failures: int = 0
    seconds: float = 0.0

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SourceState:
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})


def write_atomic(path: Path, data: dict[str, Any], indent: int | None = 1) -> None:
    """Write JSON to `path` via a temporary file + rename (never half-written)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(data, out, indent=indent, sort_keys=True)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise SourceError(f"{path}: cannot read ({exc}); fix or delete the file") from None
    if not isinstance(data, dict):
        raise SourceError(f"{path}: expected a JSON object; fix or delete the file")
    return data


class Registry:
    """The sources of one workspace directory."""

    def __init__(self, workspace: Path) -> None:
        self.root = Path(workspace)
        self.specs_path = self.root / "sources.json"
        self.state_dir = self.root / "sources"

    # --- specs --------------------------------------------------------------------
    def specs(self) -> list[SourceSpec]:
        raw = _read_json(self.specs_path).get("sources", [])
        try:
            return [SourceSpec.from_json(item) for item in raw]
        except TypeError as exc:
            raise SourceError(f"{self.specs_path}: a source entry is malformed ({exc})") from None

    def get(self, name: str) -> SourceSpec:
        for spec in self.specs():
            if spec.name == name:
                return spec
        names = ", ".join(s.name for s in self.specs()) or "none yet"
        raise SourceError(
            f"no source named {name!r} (sources: {names}; see: ragstream source list)"
        )

    def add(self, spec: SourceSpec) -> SourceSpec:
        with self._specs_lock():
            specs = self.specs()
            if any(s.name == spec.name for s in specs):
                raise SourceError(
                    f"a source named {spec.name!r} exists already: pick another with --name"
                )
            for s in specs:
                if s.location == spec.location:
                    raise SourceError(f"{spec.location} is already the source {s.name!r}")
            self._write_specs([*specs, spec])
        return spec

    def delete(self, name: str) -> None:
        with self._specs_lock():
            self.get(name)
            self._write_specs([s for s in self.specs() if s.name != name])
        for suffix in (".json", ".lock"):
            with contextlib.suppress(FileNotFoundError):
                (self.state_dir / f"{name}{suffix}").unlink()

    def _write_specs(self, specs: list[SourceSpec]) -> None:
        write_atomic(self.specs_path, {"sources": [s.to_json() for s in specs]})

    @contextlib.contextmanager
    def _specs_lock(self) -> Iterator[None]:
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / "sources.lock", "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            yield

    # --- state ----------------------------------------------------------------------
    def state(self, name: str) -> SourceState:
        data = _read_json(self.state_dir / f"{name}.json")
        return SourceState.from_json(data) if data else SourceState()

    def save_state(self, name: str, state: SourceState) -> None:
        data = {f.name: getattr(state, f.name) for f in fields(state)}  # asdict deep-copies
        write_atomic(self.state_dir / f"{name}.json", data, indent=None)

    @contextlib.contextmanager
    def sync_lock(self, name: str) -> Iterator[bool]:
        """Yields True when this process now holds NAME's lock, False when another does.

        flock is released by the kernel if the holder dies, so a crash never wedges it.
        """
        self.state_dir.mkdir(parents=True, exist_ok=True)
        with open(self.state_dir / f"{name}.lock", "a") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
