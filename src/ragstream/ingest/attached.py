"""Documents carried inside another (an e-mail's attachments) and the one rule for their
keys: `<message key>#<attachment name>`, e.g. `inbox/move.eml#plan.pdf`.

Why separate documents, not sections of the message: each is cited by its own pages or
lines (`move.eml#plan.pdf p.2`), listed and removable on its own, and a PDF attachment
gets PDF citations. Why this key: the manifest stays one flat table of keys (no parent
column in either store), the key sorts and scans under its message's folder, so a folder
ingest drops it with its message, and the suffix after "#" picks the citation style.
The message owns them: re-ingesting it replaces them, removing it removes them
(`remove_with_attachments`, used by every door that removes a document).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from ragstream.index.store import Store

SEPARATOR = "#"
CARRIERS = (".eml",)  # suffixes of documents that carry attachments


def attachment_key(parent: str, name: str) -> str:
    return f"{parent}{SEPARATOR}{name}"


def carries(key: str) -> bool:
    return key.lower().endswith(CARRIERS)


def attachments_of(keys: Iterable[str], parent: str) -> list[str]:
    """The keys among `keys` that are attachments of the document `parent`."""
    if not carries(parent):
        return []
    prefix = parent + SEPARATOR
    return sorted(k for k in keys if k.startswith(prefix) and SEPARATOR not in k[len(prefix) :])


def remove_with_attachments(
    store: Store, key: str, collections: Sequence[str] | None = None
) -> bool:
    """Remove `key` and, if it is a message, its attachments; True if `key` was removed."""
    removed = store.remove_document(key, collections)
    if removed and carries(key):
        for child in attachments_of((d.path for d in store.documents()), key):
            store.remove_document(child, collections)
    return removed
