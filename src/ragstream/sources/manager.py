"""`Sources`: the one object the CLI, the page and `watch` use (Workspace.sources)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ragstream.errors import SourceError
from ragstream.sources.registry import Registry, SourceState
from ragstream.sources.spec import (
    SourceSpec,
    check_name,
    default_name,
    kind_of,
    normalize_location,
)
from ragstream.sources.sync import Syncer, SyncResult


@dataclass(frozen=True)
class SourceInfo:
    spec: SourceSpec
    state: SourceState

    @property
    def documents(self) -> int:
        return len(self.state.docs)


class Sources:
    def __init__(self, syncer: Syncer) -> None:
        self.syncer = syncer
        self.registry: Registry = syncer.registry

    def add(
        self,
        location: str,
        *,
        name: str | None = None,
        every: float | None = None,
        include: Sequence[str] = (),
        exclude: Sequence[str] = (),
        **web: object,
    ) -> SourceSpec:
        kind = kind_of(location)
        location = normalize_location(location, kind)
        if kind == "folder":
            self._refuse_nested(Path(location))
        if name is None:
            taken = {s.name for s in self.registry.specs()}
            name = base = default_name(location, kind)
            n = 2
            while name in taken:
                name, n = f"{base}-{n}", n + 1
        spec = SourceSpec(
            name=check_name(name),
            kind=kind,
            location=location,
            every=every,
            include=tuple(include),
            exclude=tuple(exclude),
            **web,  # type: ignore[arg-type]  # depth, same_site, allow_private, rate, timeout
        )
        return self.registry.add(spec)

    def _refuse_nested(self, folder: Path) -> None:
        """One document, one source: removing a source must not take another's documents."""
        for spec in self.registry.specs():
            if spec.kind != "folder":
                continue
            other = Path(spec.location)
            if folder != other and (folder.is_relative_to(other) or other.is_relative_to(folder)):
                raise SourceError(
                    f"{folder} overlaps the folder source {spec.name!r} ({other}): "
                    "use --include/--exclude on one source instead"
                )

    def infos(self) -> list[SourceInfo]:
        return [SourceInfo(s, self.registry.state(s.name)) for s in self.registry.specs()]

    def sync(self, name: str | None = None) -> list[SyncResult]:
        """Sync one source, or all of them; one failing source never stops the others."""
        specs = [self.registry.get(name)] if name else self.registry.specs()
        return [self.syncer.sync(spec) for spec in specs]

    def remove(self, name: str) -> int:
        """Forget source NAME; its documents leave the index. Returns how many left."""
        self.registry.get(name)
        removed = self.syncer.remove_documents(name)
        self.registry.delete(name)
        return removed
