"""What a source is (as the user added it) and the pure rules about it: its kind and
default name, `--every` durations, include/exclude globs."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from ragstream.errors import SourceError

Kind = Literal["folder", "web", "s3"]
UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


@dataclass(frozen=True)
class SourceSpec:
    name: str
    kind: Kind
    location: str  # absolute folder path, http(s) URL, or s3://bucket/prefix
    every: float | None = None  # seconds between scheduled syncs; None = on demand only
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    depth: int = 0  # web: how many links deep to follow
    same_site: bool = True  # web: follow links on the same host only
    allow_private: bool = False  # web: allow private/loopback addresses (intranets)
    rate: float = 1.0  # web: requests per second per host
    timeout: float = 10.0  # web: seconds per request
    max_pages: int = 200  # web: crawl cap
    options: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["include"], data["exclude"] = list(self.include), list(self.exclude)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SourceSpec:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        known["include"] = tuple(known.get("include", ()))
        known["exclude"] = tuple(known.get("exclude", ()))
        return cls(**known)

    def wants(self, relative: str) -> bool:
        """Whether a document at `relative` (to the source root) belongs to the source.

        Globs use fnmatch rules (`*` also matches `/`): "*.md" means every Markdown file.
        """
        if self.include and not any(fnmatchcase(relative, g) for g in self.include):
            return False
        return not any(fnmatchcase(relative, g) for g in self.exclude)


def kind_of(location: str) -> Kind:
    scheme = urlsplit(location).scheme.lower() if "://" in location else ""
    if scheme in ("http", "https"):
        return "web"
    if scheme == "s3":
        return "s3"
    if scheme:
        raise SourceError(
            f"{location}: the {scheme}:// scheme is not supported; "
            "use a folder path, an http(s):// URL or s3://bucket/prefix"
        )
    return "folder"


def normalize_location(location: str, kind: Kind) -> str:
    if kind == "folder":
        path = Path(location).expanduser().resolve()
        if not path.is_dir():
            raise SourceError(f"{location}: no such folder (a folder source needs a directory)")
        return str(path)
    if kind == "s3":
        parts = urlsplit(location)
        if not parts.netloc:
            raise SourceError(f"{location}: name a bucket, e.g. s3://my-bucket/docs/")
        return f"s3://{parts.netloc}/{parts.path.lstrip('/')}"
    parts = urlsplit(location)
    if parts.username or parts.password:
        # It would be stored in sources.json and shown in every citation and log line.
        raise SourceError(
            f"{parts.scheme}://{parts.hostname}/...: the URL holds a user name or password; "
            "sources cannot carry credentials, remove them from the URL"
        )
    if not parts.hostname:
        raise SourceError(f"{location}: the URL has no host name")
    return parts._replace(fragment="").geturl()


def default_name(location: str, kind: Kind) -> str:
    if kind == "folder":
        raw = Path(location).name
    elif kind == "s3":
        parts = urlsplit(location)
        raw = f"{parts.netloc}-{parts.path.strip('/')}".rstrip("-")
    else:
        parts = urlsplit(location)
        raw = f"{parts.hostname}{parts.path.rstrip('/')}"
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", raw).strip("-.")[:64]
    return name or "source"


def check_name(name: str) -> str:
    if not NAME_RE.match(name):
        raise SourceError(
            f"source name {name!r} is not usable: use letters, digits, '.', '_' or '-' "
            "(at most 64, starting with a letter or digit)"
        )
    return name


def parse_every(text: str | None) -> float | None:
    """'90s', '15m', '2h', '1d' -> seconds (None stays None)."""
    if text is None:
        return None
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd])\s*", text.lower())
    if not match or float(match.group(1)) <= 0:
        raise SourceError(f"--every {text!r}: give a duration such as 30s, 15m, 2h or 1d")
    return float(match.group(1)) * UNITS[match.group(2)]


def format_every(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    for unit in ("d", "h", "m"):
        if seconds >= UNITS[unit] and seconds % UNITS[unit] == 0:
            return f"{int(seconds // UNITS[unit])}{unit}"
    return f"{seconds:g}s"
