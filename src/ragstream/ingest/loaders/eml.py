"""E-mail messages (.eml) via the stdlib `email` package.

The headers (subject, from, to, date) are the title and the first lines; the body is the
plain-text part, else the HTML part's text. Attachments of a supported type are loaded
with their own loader and become sections titled "Subject > attachment name" (one
document per message keeps deleting and re-ingesting the .eml file simple).
"""

from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage, MIMEPart
from pathlib import Path

from ragstream.errors import LoaderError
from ragstream.ingest.loaders.common import LoadResult, decode_legacy, one_line, tidy
from ragstream.models import Section

MAX_ATTACHMENTS = 50
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
    warnings: list[str] = []
    for count, part in enumerate(message.iter_attachments(), start=1):
        if count > MAX_ATTACHMENTS:
            warnings.append(f"only the first {MAX_ATTACHMENTS} attachments were read")
            break
        sections.extend(_attachment(part, subject, warnings))
    return LoadResult(sections, warnings)


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


def _attachment(part: MIMEPart, subject: str, warnings: list[str]) -> list[Section]:
    from ragstream.ingest import loaders  # the registry imports this module lazily

    name = Path(part.get_filename() or "").name
    suffix = Path(name).suffix.lower()
    if not name or not loaders.is_supported(Path(name)) or suffix == ".eml":
        return []  # images, archives, nested mail: not indexed
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes) or not payload:
        return []
    try:
        loaded = loaders.load_bytes(suffix, payload)
    except LoaderError as exc:
        warnings.append(f"attachment {name}: {exc}")
        return []
    title = f"{subject} > {name}"
    return [
        Section(
            text=s.text,
            page=s.page,
            title=f"{title} > {s.title}" if s.title else title,
        )
        for s in loaded.sections
    ]
