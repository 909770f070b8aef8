"""Settings: CLI flag > environment (RAGSTREAM_*) > settings file > default.

The settings file is TOML: `$RAGSTREAM_CONFIG` if set, else `./ragstream.toml` if present.
Secrets (the OpenAI key, the database URL, the UI password) may also come from a file
named by `<VAR>_FILE`, which is how containers receive them without them showing in
`docker inspect`; their values never appear in `repr()` or in error messages.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, get_type_hints

from ragstream.errors import ConfigError
from ragstream.layered import build, convert, read_table
from ragstream.redact import register_secret, register_url

ENV_PREFIX = "RAGSTREAM_"
MB = 1024 * 1024  # max_file_mb counts mebibytes, everywhere (ingest, page, API)
RETRIEVAL_MODES = ("hybrid", "bm25", "dense")
OCR_MODES = ("auto", "off", "force")  # see ragstream.ingest.ocr
# Secrets keep the names their ecosystems use (OPENAI_API_KEY), plus RAGSTREAM_* aliases.
SECRET_ENV = {
    "openai_api_key": ("OPENAI_API_KEY", "RAGSTREAM_OPENAI_API_KEY"),
    "database_url": ("RAGSTREAM_DATABASE_URL",),
    "password": ("RAGSTREAM_PASSWORD",),
}
OTHER_ENV_ALIASES = {"openai_base_url": ("OPENAI_BASE_URL",)}


@dataclass(frozen=True)
class Settings:
    workspace: Path = Path(".ragstream")
    # "auto" (a new workspace picks builtin or multilingual from its first documents'
    # language), "builtin", "multilingual", a local model dir, a Hugging Face id, "openai:<model>"
    embedder: str = "auto"
    chunk_tokens: int = 256
    chunk_overlap: int = 32
    top_k: int = 5
    retrieval_mode: str = "hybrid"
    reranker: str | None = None  # None = rerank.default_reranker(embedder)
    abstain: str = "auto"  # "auto" | "dense" | "off" | a bar; see ragstream.retrieve.abstain
    max_file_mb: float = 50.0
    # Scans and images: "auto" OCRs pages without text and image files (bounded per file),
    # "force" every PDF page too, "off" none (see ragstream.ingest.ocr).
    ocr: str = "auto"
    model: str = "gpt-4o-mini"
    openai_base_url: str | None = None
    openai_timeout: float = 60.0
    context_tokens: int | None = None  # LLM context window when the model is not a known one
    openai_api_key: str | None = field(default=None, repr=False)
    database_url: str | None = field(default=None, repr=False)
    password: str | None = field(default=None, repr=False)
    session_hours: float = 12.0  # a web login lasts this long, then the page asks again
    groups_claim: str = "groups"  # the OIDC claim whose groups are collection members

    def __post_init__(self) -> None:
        # Every way a Settings is made (flag, env, _FILE, file, replace) passes here, so
        # each secret it holds is known to redact() before any message can carry it.
        for secret in (self.openai_api_key, self.password):
            register_secret(secret)
        for url in (self.database_url, self.openai_base_url):
            register_url(url)
        if self.retrieval_mode not in RETRIEVAL_MODES:
            raise ConfigError(
                f"retrieval_mode={self.retrieval_mode!r} is not one of {', '.join(RETRIEVAL_MODES)}"
            )
        if self.ocr not in OCR_MODES:
            raise ConfigError(f"ocr={self.ocr!r} is not one of {', '.join(OCR_MODES)}")
        if self.chunk_tokens < 16 or not 0 <= self.chunk_overlap < self.chunk_tokens:
            raise ConfigError(
                "chunk_tokens must be >= 16 and chunk_overlap between 0 and chunk_tokens - 1 "
                f"(got {self.chunk_tokens} and {self.chunk_overlap})"
            )
        if self.top_k < 1:
            raise ConfigError(f"top_k must be at least 1 (got {self.top_k})")
        if self.session_hours <= 0:
            raise ConfigError(f"session_hours must be above 0 (got {self.session_hours:g})")

    @property
    def max_file_bytes(self) -> int:
        return int(self.max_file_mb * MB)

    def replace(self, **changes: Any) -> Settings:
        """A copy with `changes` applied, converted like any other source of settings."""
        hints = get_type_hints(Settings)
        unknown = set(changes) - set(hints)
        if unknown:
            raise ConfigError(f"unknown setting(s): {', '.join(sorted(unknown))}")
        return dataclasses.replace(
            self, **{name: convert(name, value, hints[name]) for name, value in changes.items()}
        )


def load_settings(
    overrides: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
    config_file: Path | None = None,
) -> Settings:
    """Build Settings from defaults, then the file, then the environment, then `overrides`.

    `overrides` holds CLI flags; None values mean "flag not given" and are ignored.
    """
    env = os.environ if env is None else env
    return build(Settings, _from_file(config_file, env), _from_env(env), overrides or {})


def _from_file(config_file: Path | None, env: Mapping[str, str]) -> dict[str, Any]:
    path = config_file or (Path(env["RAGSTREAM_CONFIG"]) if env.get("RAGSTREAM_CONFIG") else None)
    if path is None:
        path = Path("ragstream.toml")
        if not path.is_file():
            return {}
    return read_table(path, "ragstream")


def _from_env(env: Mapping[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for f in fields(Settings):
        names = SECRET_ENV.get(f.name, (ENV_PREFIX + f.name.upper(),))
        names = (*names, *OTHER_ENV_ALIASES.get(f.name, ()))
        for name in names:
            if env.get(name):
                values[f.name] = env[name]
                break
            if f.name in SECRET_ENV and env.get(name + "_FILE"):
                values[f.name] = read_secret_file(name + "_FILE", env[name + "_FILE"])
                break
    return values


def read_secret_file(variable: str, path: str) -> str:
    """Read a secret from a mounted file; errors name the variable and path, never content."""
    try:
        value = Path(path).read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigError(f"{variable}={path}: cannot read the file ({exc.strerror})") from None
    if not value:
        raise ConfigError(f"{variable}={path}: the file is empty")
    return value
