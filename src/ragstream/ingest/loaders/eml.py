"""E-mail messages (.eml) via the stdlib `email` package.

The headers (subject, from, to, date) are the title and the first lines; the body is the
plain-text part, else the HTML part's text. Attachments of a supported type are loaded
with their own loader and returned as LoadResult.attachments: the pipeline stores each as
a document of its own, `mail.eml#report.pdf`, cited by its own pages or lines, titled
"Subject > report.pdf", and removed or replaced with its message (ragstream.ingest.attached).
Attachments over EML_MAX_ATTACHMENT_BYTES, past the first EML_MAX_ATTACHMENTS, or that
fail to load are named in a warning; the message itself is still indexed.
"""

from __future__ import annotations

import email
import email.policy
import hashlib
from email.message import EmailMessage, MIMEPart
from pathlib import Path

from ragstream.errors import LoaderError
from ragstream.ingest.limits import EML_MAX_ATTACHMENT_BYTES, EML_MAX_ATTACHMENTS, MiB
from ragstream.ingest.loaders.common import (
    Attachment,
    LoadResult,
    decode_legacy,
    one_line,
    tidy,
)
from ragstream.models import Section

_HEADERS = ("From", "To", "Cc", "Date")


def load_eml(data: bytes) -> LoadResult:
    try:
        return _load(data)
    except LoaderError:
        raise
    except Exception as exc:  # the email package raises header and payload errors alike
        raise LoaderError(
            f"not a readable e-mail ({type(exc).__name__}: {one_line(exc)})"
        ) from None


def _load(data: bytes) -> LoadResult:
    message = email.message_from_bytes(data, policy=email.policy.default)
    known = ("Subject", "From", *_HEADERS)
    if not isinstance(message, EmailMessage) or not any(message[name] for name in known):
        raise LoaderError("not an e-mail message (no From, To, Subject or Date header)")
    subject = " ".join(str(message.get("Subject", "")).split()) or "(no subject)"
    head = [f"Subject: {subject}"] + [
        f"{name}: {' '.join(str(message[name]).split())}" for name in _HEADERS if message[name]
    ]
    body = _body(message)
    sections = [Section(text=tidy("\n".join(head) + "\n\n" + body), title=subject)]
    result = LoadResult(sections)
    names: set[str] = set()
    for count, part in enumerate(message.iter_attachments(), start=1):
        if count > EML_MAX_ATTACHMENTS:
            result.warnings.append(f"only the first {EML_MAX_ATTACHMENTS} attachments were read")
            break
        attachment = _attachment(part, subject, result.warnings, names)
        if attachment is not None:
            result.attachments.append(attachment)
    return result


def _body(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    text = _part_text(part)
    if part.get_content_type() == "text/html":
        from ragstream.ingest.loaders.html import load_html  # only for HTML-only mail

        return "\n\n".join(s.text for s in load_html(text.encode("utf-8")).sections)
    return text


def _part_text(part: MIMEPart) -> str:
    try:
        content = part.get_content()
    except (LookupError, ValueError):  # an unknown or lying charset
        payload = part.get_payload(decode=True)
        content = decode_legacy(payload if isinstance(payload, bytes) else b"")
    return content if isinstance(content, str) else ""


def _attachment(
    part: MIMEPart, subject: str, warnings: list[str], names: set[str]
) -> Attachment | None:
    from ragstream.ingest import loaders  # the registry imports this module lazily

    # "#" separates a message's key from its attachment's: never inside the name.
    name = Path(part.get_filename() or "").name.replace("#", "_").strip()
    suffix = Path(name).suffix.lower()
    if not name or not loaders.is_supported(Path(name)) or suffix == ".eml":
        return None  # archives, unknown types, nested mail: not indexed
    name = _unique(name, names)
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes) or not payload:
        return None
    if len(payload) > EML_MAX_ATTACHMENT_BYTES:
        warnings.append(
            f"attachment {name}: {len(payload) / MiB:.1f} MB, over the "
            f"{EML_MAX_ATTACHMENT_BYTES // MiB} MB limit per attachment: not indexed"
        )
        return None
    try:
        loaded = loaders.load_bytes(suffix, payload)
    except LoaderError as exc:
        warnings.append(f"attachment {name}: {exc}")
        return None
    title = f"{subject} > {name}"
    sections = [
        Section(
            text=s.text,
            page=s.page,
            title=f"{title} > {s.title}" if s.title else title,
            line=s.line,
        )
        for s in loaded.sections
    ]
    sha = hashlib.sha256(payload).hexdigest()
    return Attachment(name, sha, len(payload), sections, loaded.warnings)


def _unique(name: str, taken: set[str]) -> str:
    """`name`, or `stem (2).ext` when the message already has an attachment so named."""
    stem, suffix, candidate, n = Path(name).stem, Path(name).suffix, name, 1
    while candidate in taken:
        n += 1
        candidate = f"{stem} ({n}){suffix}"
    taken.add(candidate)
    return candidate
