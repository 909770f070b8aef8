"""Every error RAGstream raises on purpose derives from one root.

    RagstreamError                 anything the user can act on; str() is one line
    ├── ConfigError                a setting or settings file is wrong (names it)
    ├── LoaderError                one document could not be read (names file and why)
    ├── IndexError_                the index cannot be used as asked
    │   └── EmbedderMismatch       index built by another embedder / dimension
    ├── StoreError                 the store failed (database locked, disk full, missing extension...)
    │   └── DamagedIndex           the index file is damaged: refuse to write, say how to recover
    ├── GenerationError            the LLM could not answer (key, server, timeout)
    ├── SourceError                a source cannot be added, read or synced (names it)
    └── DeployError                an AWS or Docker step failed (translated, one line)

Errors of the libraries underneath (sqlite3, openai, botocore, psycopg) are translated
into these where they are first caught, so callers handle one tree and users read one
line, never a traceback. Their text passes through `ragstream.redact` whenever it is
shown, so no configured secret (key, password, URL credentials) is ever part of one.
The host agent (ragstream.host) ships alone to the instance and cannot import this
module: its own one-line error is ragstream.host.errors.HostError.
"""

from __future__ import annotations

from ragstream.redact import redact


class RagstreamError(Exception):
    """Root of RAGstream's errors. The message is one line saying what to do."""

    def __str__(self) -> str:
        # The one boundary every translated error crosses: whatever a library below put
        # in the message (an echoed header, a URL), secrets leave it here.
        return redact(super().__str__())


class ConfigError(RagstreamError):
    """A setting is invalid or a settings file cannot be read."""


class LoaderError(RagstreamError):
    """A document could not be loaded; the ingest goes on with the other files."""


class IndexError_(RagstreamError):  # trailing underscore: do not shadow the builtin
    """The index cannot be used as asked."""


class EmbedderMismatch(IndexError_):
    """The index was built by a different embedder (name or dimension)."""


class StoreError(RagstreamError):
    """The store failed."""


class DamagedIndex(StoreError):
    """The index file is malformed or truncated; reads may work, writes are refused."""


class GenerationError(RagstreamError):
    """The language model could not produce an answer."""


class SourceError(RagstreamError):
    """A source (folder, URL, S3 prefix) cannot be added, listed or synced."""


class DeployError(RagstreamError):
    """A deployment step (AWS or Docker) failed."""
