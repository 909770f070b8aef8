"""The agent's one error type.

The agent ships alone to the instance (see package.py), so it cannot import
`ragstream.errors` and its tree; the deploy wing translates this one where it meets it.
Its str() is one line saying what failed and what to do; the CLI prints it and exits 1.
"""

from __future__ import annotations


class HostError(Exception):
    """The host agent could not do its job; nothing that was serving was touched."""


class NotYetError(HostError):
    """Nothing to run yet: no key stored, or no image pushed (a first boot before either)."""
