"""The process `ragstream serve` starts: Streamlit's own CLI, plus a warm-up thread.

Streamlit runs the page script only when a browser connects, so without help the first
question would pay for loading the embedder and the token counter (several seconds on
a small machine). This launcher loads them as soon as Streamlit is up: the warm-up goes
through the same `st.cache_resource` the page uses, whose per-key lock makes an early
visitor wait for the one load in progress instead of starting a second.

    python -m ragstream.app.server --server.port=8501 ...   (flags as for `streamlit run`)
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import sys
import threading
import time

from ragstream.app.cli import SCRIPT, local_url
from ragstream.host.config import HEALTH_PATH
from ragstream.redact import install_log_redaction, redact

WARM_UP_THREAD = "ragstream-warm-up"
JANITOR_EVERY_S = 5.0


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
        print(redact(f"RAGstream: warm-up skipped: {exc}"), file=sys.stderr, flush=True)
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


def free_ended_uploads() -> int:
    """Drop the uploaded bytes of sessions that no longer exist; return how many sessions.

    Streamlit frees a session's uploads only when it shuts the session down; a closed
    tab's session is kept for a reconnect and then simply expires from that store, its
    uploads left in memory for good (issue 17: 45 MB uploads stayed after the tab closed).
    """
    from streamlit import runtime

    if not runtime.exists():
        return 0
    instance = runtime.get_instance()
    manager = instance.uploaded_file_mgr
    holders = list(getattr(manager, "file_storage", {}))  # before listing the sessions
    if not holders:
        return 0
    # Listing also expires the stored sessions whose reconnect time is over. A session
    # is active before it can upload, so a holder taken above and missing now is gone.
    live = {info.session.id for info in instance._session_mgr.list_sessions()}
    gone = [session_id for session_id in holders if session_id not in live]
    for session_id in gone:
        manager.remove_session_files(session_id)
    if gone:
        _return_memory()
    return len(gone)


def _return_memory() -> None:
    """Hand freed heap back to the OS (glibc keeps it otherwise), so RSS shows it."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def janitor(every_s: float = JANITOR_EVERY_S) -> None:
    while True:
        time.sleep(every_s)
        try:
            freed = free_ended_uploads()
        except Exception as exc:  # Streamlit internals moved, or a race: try again later
            logging.getLogger("ragstream.app").debug("upload janitor: %s", exc)
            continue
        if freed:
            logging.getLogger("ragstream.app").info("freed the uploads of %d ended sessions", freed)


class _QuietWarmUp(logging.Filter):
    """Streamlit warns when a cached function runs outside a page run: ours does so on
    purpose, in the warm-up thread."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.threadName != WARM_UP_THREAD


class _QuietPrivatePort(logging.Filter):
    """Streamlit logs the private port it binds behind the gateway: not an address to
    open, so it stays out of the output (`ragstream serve` prints the public one)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("Uvicorn server started")


def main() -> None:
    from streamlit.web import cli as streamlit_cli

    install_log_redaction()
    context_logger = "streamlit.runtime.scriptrunner_utils.script_run_context"
    logging.getLogger(context_logger).addFilter(_QuietWarmUp())
    server_logger = "streamlit.web.server.starlette.starlette_server"
    logging.getLogger(server_logger).addFilter(_QuietPrivatePort())
    url = health_url(sys.argv[1:])
    threading.Thread(target=warm_up, args=(url,), name=WARM_UP_THREAD, daemon=True).start()
    threading.Thread(target=janitor, name="ragstream-upload-janitor", daemon=True).start()
    sys.argv = ["streamlit", "run", str(SCRIPT), *sys.argv[1:]]
    sys.exit(streamlit_cli.main())


if __name__ == "__main__":
    main()
