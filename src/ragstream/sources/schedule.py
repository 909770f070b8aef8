"""When a source is due for a scheduled sync: pure functions of its spec and state.

A source with `--every` syncs that often; after a failed sync it is retried sooner but
backing off (30 s, 1 min, 2 min, ... never later than its regular interval), so a site
that is down is neither hammered nor forgotten.
"""

from __future__ import annotations

from ragstream.sources.registry import SourceState
from ragstream.sources.spec import SourceSpec

BACKOFF_FIRST = 30.0


def backoff(failures: int, cap: float) -> float:
    """Seconds to wait after `failures` failed syncs in a row (>= 1)."""
    return float(min(cap, BACKOFF_FIRST * 2 ** min(max(failures, 1) - 1, 20)))


def due_at(spec: SourceSpec, state: SourceState) -> float | None:
    """Wall-clock time of the next scheduled sync; None when the source has no --every."""
    if spec.every is None:
        return None
    if state.last_sync is None:
        return 0.0  # never synced: now
    if state.consecutive_failures:
        return state.last_sync + backoff(state.consecutive_failures, spec.every)
    return state.last_sync + spec.every
