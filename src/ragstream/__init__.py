"""RAGstream: ask your documents, get answers that cite file and page.

from ragstream import Workspace
with Workspace.open(workspace="my-index") as ws:
    ws.ingest(["docs"])
    for event in ws.ask("how do I rotate the key?"):
        ...
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from ragstream.workspace import Workspace

__all__ = ["Workspace", "__version__"]


def __getattr__(name: str) -> Any:
    # Imported lazily: `ragstream.host` runs on instances without numpy or onnxruntime.
    if name == "Workspace":
        from ragstream.workspace import Workspace

        return Workspace
    raise AttributeError(name)
