"""What is deployed: current and previous release, the last good ones (for `rollback
--to`), and how the last attempt went.

Kept in <state_dir>/release.json, written atomically, so `rollback` and `status` work
after a reboot or a crash mid-release.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ragstream.host.errors import HostError
from ragstream.host.files import write_atomic


@dataclass(frozen=True)
class Release:
    tag: str
    digest: str  # "sha256:..." (what rollback pulls), "" if the registry gave none
    slot: str  # "blue" or "green"
    at: str  # ISO time the release went live


@dataclass
class State:
    current: Release | None = None
    previous: Release | None = None
    last: dict[str, Any] = field(default_factory=dict)  # action, tag, ok, reason, seconds, at
    good: list[Release] = field(default_factory=list)  # went live healthy, newest first

    def went_live(self, release: Release, keep: int) -> None:
        """Remember `release` among the last `keep` good ones (one entry per image)."""
        key = release.digest or release.tag
        self.good = [release] + [r for r in self.good if (r.digest or r.tag) != key]
        del self.good[keep:]

    def find_good(self, ref: str) -> Release | None:
        """The newest good release whose tag or digest is `ref`."""
        return next((r for r in self.good if ref in (r.tag, r.digest)), None)

    @classmethod
    def load(cls, state_dir: str) -> State:
        path = Path(state_dir) / "release.json"
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return cls()
        except (OSError, ValueError) as exc:
            raise HostError(f"{path} is unreadable ({exc}); fix or delete it") from None
        return cls(
            current=Release(**data["current"]) if data.get("current") else None,
            previous=Release(**data["previous"]) if data.get("previous") else None,
            last=data.get("last") or {},
            good=[Release(**r) for r in data.get("good") or []],
        )

    def save(self, state_dir: str) -> None:
        data = {
            "current": asdict(self.current) if self.current else None,
            "previous": asdict(self.previous) if self.previous else None,
            "last": self.last,
            "good": [asdict(r) for r in self.good],
        }
        text = json.dumps(data, indent=2, sort_keys=True) + "\n"
        write_atomic(Path(state_dir) / "release.json", text.encode(), mode=0o644)
