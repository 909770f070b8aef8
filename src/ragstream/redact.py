"""Secrets never reach a message: scrub them by value, and mask URL passwords by shape.

Parsing alone is not enough (a non-numeric port, an unencoded `#` or `/` in a password,
a server that echoes the `Authorization` header in its error body), so every secret the
settings hold is *registered* here when a `Settings` is made (flag, environment, `_FILE`
or settings file alike), and `redact()` replaces each registered value wherever it
appears, then masks whatever still looks like a credential (`user:pass@`, `password=`,
`Bearer ...`). `redact()` is applied where messages leave: every RagstreamError's text,
the CLI's error printer, the page's error display and, through `RedactingFilter`, logs.

This module imports nothing of RAGstream: every floor may use it.
"""

from __future__ import annotations

import logging
import re
import threading
from urllib.parse import quote, unquote

MASK = "***"
# Shorter values would turn ordinary words in every message into *** and protect nothing
# a guess would not find at once.
MIN_SECRET_LENGTH = 4

_secrets: set[str] = set()
_secrets_lock = threading.Lock()
_pattern: re.Pattern[str] | None = None

# scheme://user:password@ in a URL (or anywhere in a message); the password is everything
# up to the LAST '@' of the run, so an unencoded '#', '/' or ':' in it is masked too.
_URL_PASSWORD = re.compile(r"(?P<head>\b[a-zA-Z][\w+.-]*://[^\s:/?#@]*):(?P<password>[^\s]*)@")
# key=value DSNs and query strings (password=..., api_key=...)
_KEY_VALUE = re.compile(r"((?:password|passwd|api[_-]?key)\s*=\s*)('[^']*'|[^\s&,;]+)", re.I)
_BEARER = re.compile(r"(\bBearer\s+)[^\s\"',;]+", re.I)


def register_secret(value: str | None) -> None:
    """Remember a secret value (and its URL-encoded and decoded forms) to scrub it later."""
    if not value:
        return
    forms = {value, unquote(value), quote(value, safe="")}
    forms = {f for f in forms if len(f) >= MIN_SECRET_LENGTH}
    global _pattern
    with _secrets_lock:
        if forms <= _secrets:
            return
        _secrets.update(forms)
        # longest first: a secret containing another is replaced whole
        ordered = sorted(_secrets, key=len, reverse=True)
        _pattern = re.compile("|".join(re.escape(s) for s in ordered))


def register_url(url: str | None) -> None:
    """Register a URL's password, and each '@'-separated piece of it: libpq splits
    `user:pa@ss@host` at the first '@' and echoes the rest as a host name."""
    password = url_password(url)
    if password:
        for piece in (password, *password.split("@")):
            register_secret(piece)


def url_password(url: str | None) -> str | None:
    """The password part of `scheme://user:password@host...`, read as libpq reads it.

    Unlike `urllib.parse`, this survives a non-numeric port and an unencoded `#` or `/`
    in the password (the credentials run to the last '@').
    """
    if not url:
        return None
    match = _URL_PASSWORD.search(url)
    if match:
        return match.group("password")
    key_value = _KEY_VALUE.search(url)
    return key_value.group(2).strip("'\"") if key_value else None


def mask_url(url: str) -> str:
    """The URL (or key=value DSN) with its password replaced by ***, for messages and logs."""
    return redact(url)


def redact(text: str) -> str:
    """`text` with every registered secret and every credential-shaped part masked."""
    pattern = _pattern
    if pattern is not None:
        text = pattern.sub(MASK, text)
    text = _URL_PASSWORD.sub(lambda m: f"{m.group('head')}:{MASK}@", text)
    text = _KEY_VALUE.sub(lambda m: m.group(1) + MASK, text)
    return _BEARER.sub(lambda m: m.group(1) + MASK, text)


def one_line(exc: BaseException) -> str:
    """All of an exception's text on one line (a server's DETAIL and HINT included),
    secrets masked."""
    return redact(" ".join(str(exc).split()) or type(exc).__name__)


def first_line(exc: BaseException) -> str:
    """An exception's first line (its class name if it has no text), secrets masked:
    what a one-line error quotes of a library's failure."""
    text = str(exc).strip()
    return redact(text.splitlines()[0] if text else type(exc).__name__)


class RedactingFilter(logging.Filter):
    """Scrubs a log record's message, arguments and traceback text (it never drops one)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "_ragstream_redacted", False):
            return True
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: logging reports that itself, later
            message = ""
        scrubbed = redact(message)
        if scrubbed != message:
            # only then: formatters that read `args` themselves (uvicorn's access log)
            # keep working for every record that holds no secret
            record.msg, record.args = scrubbed, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        record._ragstream_redacted = True
        return True


def install_log_redaction() -> None:
    """Redact every log record of this process, whichever logger or handler it goes to.

    Streamlit gives each of its loggers its own handler and stops propagation, so a
    filter on the root logger would miss them: the filter runs as records are made.
    """
    previous = logging.getLogRecordFactory()
    if getattr(previous, "_ragstream_redacting", False):
        return
    redacting = RedactingFilter()

    def factory(*args: object, **kwargs: object) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        redacting.filter(record)
        return record

    factory._ragstream_redacting = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)
