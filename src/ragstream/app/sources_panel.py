"""The sidebar's sources: each one's last sync, documents and failures, and "Sync now".

Adding sources stays on the command line (`ragstream source add`): a URL or bucket
typed into a shared page would let any visitor make the server fetch it.
"""

from __future__ import annotations

import datetime as dt

import streamlit as st

from ragstream.sources.manager import SourceInfo
from ragstream.workspace import Workspace


def sources_panel(workspace: Workspace) -> None:
    infos = workspace.sources.infos()
    if not infos:
        return  # no sources: the page stays as it was
    with st.sidebar.expander(f"Sources ({len(infos)})", expanded=False):
        for info in infos:
            st.markdown(f"**{info.spec.name}** · {info.spec.kind} · {info.documents} documents")
            st.caption(_last_result(info))
            for line in info.state.failures[:5]:
                st.caption(f":red[{line}]")
            if st.button("Sync now", key=f"sync-{info.spec.name}", icon=":material/sync:"):
                with st.spinner(f"Syncing {info.spec.name}…"):
                    [result] = workspace.sources.sync(info.spec.name)
                (st.success if result.ok and not result.report.failed else st.warning)(
                    result.summary()
                )


def _last_result(info: SourceInfo) -> str:
    state = info.state
    if state.last_sync is None:
        return "never synced"
    when = dt.datetime.fromtimestamp(state.last_sync).strftime("%m-%d %H:%M")
    if not state.last_ok:
        return f"last sync {when} failed: {state.last_error}"
    counts = ", ".join(f"{n} {status}" for status, n in sorted(state.counts.items()))
    return f"last sync {when}: {counts or 'no documents'}"
