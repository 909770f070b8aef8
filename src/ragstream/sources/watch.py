"""`ragstream watch`: keep every source in sync while it runs.

- Folder sources: inotify (watchdog) marks the source dirty on a created, modified,
  closed, moved or deleted file; it syncs once events have been quiet for `debounce`
  seconds. A sync is a stat of every file (cheap) and reads only what moved; files still
  being written come back `pending` and the source is looked at again shortly, so a
  half-written file is never ingested (see folder.py).
- Every `rescan` seconds all folder sources sync anyway: the safety net for events the
  kernel dropped (queue overflow, network filesystems).
- Sources with --every sync on schedule.py's clock, with backoff after failures.
Syncs run one at a time on this thread; the per-source lock keeps them from overlapping
with a `source sync` in another process.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable
from pathlib import Path

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver

from ragstream.sources.manager import Sources
from ragstream.sources.schedule import due_at
from ragstream.sources.spec import SourceSpec
from ragstream.sources.sync import SyncResult

REACT_TO = frozenset({"created", "modified", "deleted", "moved", "closed"})  # not "opened"


class _Handler(FileSystemEventHandler):
    def __init__(self, root: Path, mark: Callable[[], None]) -> None:
        self.root = root
        self.mark = mark

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type not in REACT_TO:
            return
        if event.is_directory and event.event_type == "modified":
            return  # a folder's entries changed: the file events themselves say which
        for raw in (event.src_path, getattr(event, "dest_path", "")):
            path = Path(raw if isinstance(raw, str) else raw.decode())
            if not raw or not path.is_relative_to(self.root):
                continue
            # Hidden files and folders (the workspace, .git, editors' temp files) are not
            # documents; reacting to them would make every sync trigger the next one.
            if not any(p.startswith(".") for p in path.relative_to(self.root).parts):
                self.mark()
                return


class Watcher:
    def __init__(
        self,
        sources: Sources,
        *,
        rescan: float = 60.0,
        debounce: float = 0.3,
        on_result: Callable[[SyncResult], None] | None = None,
    ) -> None:
        self.sources = sources
        self.rescan = rescan
        self.debounce = debounce
        self.on_result = on_result
        self._dirty: dict[str, float] = {}  # source name -> monotonic time to sync at
        self._wake = threading.Condition()
        self._stop = threading.Event()
        self._watched: dict[str, object | None] = {}

    def mark(self, name: str, delay: float | None = None) -> None:
        with self._wake:
            self._dirty[name] = time.monotonic() + (self.debounce if delay is None else delay)
            self._wake.notify()

    def stop(self) -> None:
        self._stop.set()
        with self._wake:
            self._wake.notify()

    def start(self) -> threading.Thread:
        thread = threading.Thread(target=self.run, name="ragstream-watch", daemon=True)
        thread.start()
        return thread

    def run(self, stop_after_first: bool = False) -> None:
        observer = Observer()
        observer.start()
        next_rescan = 0.0
        try:
            while not self._stop.is_set():
                specs = self.sources.registry.specs()
                self._observe(observer, specs)
                now = time.monotonic()
                if now >= next_rescan:
                    next_rescan = now + self.rescan
                    for spec in specs:
                        if spec.kind == "folder":
                            self._dirty.setdefault(spec.name, now)
                self._run_due(specs)
                if stop_after_first and not self._dirty:
                    return
                with self._wake:
                    soonest = min([*self._dirty.values(), next_rescan, now + 1.0])
                    self._wake.wait(max(0.05, soonest - time.monotonic()))
        finally:
            observer.stop()
            observer.join(timeout=5)

    def _observe(self, observer: BaseObserver, specs: list[SourceSpec]) -> None:
        for spec in specs:
            if spec.kind == "folder" and spec.name not in self._watched:
                root = Path(spec.location)
                if not root.is_dir():
                    continue  # its sync reports the missing folder
                handler = _Handler(root, functools.partial(self.mark, spec.name))
                try:
                    self._watched[spec.name] = observer.schedule(handler, str(root), recursive=True)
                except OSError as exc:  # e.g. fs.inotify.max_user_watches reached
                    self._watched[spec.name] = None
                    if self.on_result:
                        why = f"cannot watch {root} ({exc.strerror or exc}); "
                        why += f"it is still rescanned every {self.rescan:g}s"
                        self.on_result(SyncResult(spec.name, error=why))

    def _run_due(self, specs: list[SourceSpec]) -> None:
        now = time.monotonic()
        with self._wake:
            ready = [name for name, at in self._dirty.items() if at <= now]
            for name in ready:
                del self._dirty[name]
        wall = time.time()
        for spec in specs:
            at = due_at(spec, self.sources.registry.state(spec.name))
            if at is not None and at <= wall and spec.name not in ready:
                ready.append(spec.name)
        by_name = {s.name: s for s in specs}
        for name in ready:
            if name in by_name and not self._stop.is_set():
                try:
                    result = self.sources.syncer.sync(by_name[name])
                except Exception as exc:  # never let one source end the watch
                    result = SyncResult(name, error=f"unexpected error: {exc}")
                if result.pending:
                    self.mark(name, self.sources.syncer.settle / 2)
                if self.on_result:
                    self.on_result(result)
