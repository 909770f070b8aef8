"""The process `ragstream serve` starts: Streamlit's own CLI, plus a warm-up thread.

Streamlit runs the page script only when a browser connects, so without help the first
question would pay for loading the embedder and the token counter (several seconds on
a small machine). This launcher loads them while Streamlit starts: the warm-up goes
through the same `st.cache_resource` the page uses, whose per-key lock makes an early
visitor wait for the one load in progress instead of starting a second.

    python -m ragstream.app.server --server.port=8501 ...   (flags as for `streamlit run`)
"""

from __future__ import annotations

import logging
import sys
import threading

from ragstream.app.cli import SCRIPT

log = logging.getLogger("ragstream.app")


def warm_up() -> None:
    from ragstream.app.state import shared_workspace
    from ragstream.config import load_settings

    try:
        shared_workspace(load_settings())
    except Exception as exc:  # the page reports it properly when a visitor arrives
        log.warning("warm-up skipped: %s", exc)


def main() -> None:
    from streamlit.web import cli as streamlit_cli

    threading.Thread(target=warm_up, name="ragstream-warm-up", daemon=True).start()
    sys.argv = ["streamlit", "run", str(SCRIPT), *sys.argv[1:]]
    sys.exit(streamlit_cli.main())


if __name__ == "__main__":
    main()
