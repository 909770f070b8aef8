"""The process `ragstream serve` starts: Streamlit's own CLI, plus a warm-up thread.

Streamlit runs the page script only when a browser connects, so without help the first
question would pay for loading the embedder and the token counter (several seconds on
a small machine). This launcher loads them as soon as Streamlit is up: the warm-up goes
through the same `st.cache_resource` the page uses, whose per-key lock makes an early
visitor wait for the one load in progress instead of starting a second.

    python -m ragstream.app.server --server.port=8501 ...   (flags as for `streamlit run`)
"""

from __future__ import annotations

import logging
import sys
import threading
import time

from ragstream.app.cli import SCRIPT, local_url
from ragstream.host.config import HEALTH_PATH

WARM_UP_THREAD = "ragstream-warm-up"


def warm_up(health_url: str) -> None:
    """Load the workspace once Streamlit answers health: starting earlier would slow
    Streamlit's own start (two cores, one GIL) for no gain."""
    from ragstream.app.cli import wait_until_up
    from ragstream.app.state import shared_workspace
    from ragstream.config import load_settings

    wait_until_up(health_url, timeout=60)
    started = time.perf_counter()
    try:
        workspace = shared_workspace(load_settings())
        count = len(workspace.documents())
    except Exception as exc:  # the page reports it properly when a visitor arrives
        print(f"RAGstream: warm-up skipped: {exc}", file=sys.stderr, flush=True)
        return
    took = time.perf_counter() - started
    print(
        f"RAGstream: index loaded ({count} documents) in {took:.1f} s", file=sys.stderr, flush=True
    )


def health_url(argv: list[str]) -> str:
    """Where this process will answer health, from its `--server.*` flags."""
    flags = dict(a.removeprefix("--").split("=", 1) for a in argv if a.startswith("--server."))
    base = local_url(
        flags.get("server.address", "127.0.0.1"), int(flags.get("server.port", "8501"))
    )
    return base + HEALTH_PATH


class _QuietWarmUp(logging.Filter):
    """Streamlit warns when a cached function runs outside a page run: ours does so on
    purpose, in the warm-up thread."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.threadName != WARM_UP_THREAD


def main() -> None:
    from streamlit.web import cli as streamlit_cli

    context_logger = "streamlit.runtime.scriptrunner_utils.script_run_context"
    logging.getLogger(context_logger).addFilter(_QuietWarmUp())
    url = health_url(sys.argv[1:])
    threading.Thread(target=warm_up, args=(url,), name=WARM_UP_THREAD, daemon=True).start()
    sys.argv = ["streamlit", "run", str(SCRIPT), *sys.argv[1:]]
    sys.exit(streamlit_cli.main())


if __name__ == "__main__":
    main()
