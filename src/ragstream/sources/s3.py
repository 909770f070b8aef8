"""An S3 source: list s3://bucket/prefix page by page, read only objects whose ETag moved.

boto3 finds credentials the standard way (environment, profile, SSO, the EC2 instance
role) and honours AWS_ENDPOINT_URL; nothing here takes a key. Citations are
s3://bucket/key. A listing that fails (no bucket, access denied, no credentials) fails
the whole sync so nothing is removed; one unreadable object is one failed line.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import urlsplit

from ragstream.errors import SourceError
from ragstream.ingest.loaders import SUPPORTED_SUFFIXES
from ragstream.sources.connector import Doc
from ragstream.sources.spec import SourceSpec


class S3Connector:
    def __init__(
        self, spec: SourceSpec, max_bytes: int, client: Any = None, page_size: int = 1000
    ) -> None:
        parts = urlsplit(spec.location)
        self.bucket = parts.netloc
        self.prefix = parts.path.lstrip("/")
        self.spec = spec
        self.max_bytes = max_bytes
        self._client = client
        self.page_size = page_size

    @property
    def client(self) -> Any:
        if self._client is None:
            try:
                import boto3
            except ImportError:
                raise SourceError("S3 sources need boto3: pip install 'ragstream[s3]'") from None
            self._client = boto3.client("s3")
        return self._client

    def scan(self, known: Mapping[str, Mapping[str, Any]]) -> Iterator[Doc]:
        for obj in self._objects():
            key = f"s3://{self.bucket}/{obj['Key']}"
            etag = str(obj.get("ETag", "")).strip('"')
            if known.get(key, {}).get("version") == etag:
                yield Doc(key, etag)
            elif obj.get("Size", 0) > self.max_bytes:
                mb = obj["Size"] / (1024 * 1024)
                yield Doc(key, error=f"object is {mb:.1f} MB, over the max_file_mb limit")
            else:
                yield self._read(obj["Key"], key, etag)

    def _objects(self) -> Iterator[dict[str, Any]]:
        client = self.client  # outside the try: "boto3 missing" is its own message
        try:
            paginator = client.get_paginator("list_objects_v2")
            for page in paginator.paginate(
                Bucket=self.bucket,
                Prefix=self.prefix,
                PaginationConfig={"PageSize": self.page_size},
            ):
                for obj in page.get("Contents", []):
                    name = obj["Key"]
                    relative = name[len(self.prefix) :].lstrip("/")
                    suffix = PurePosixPath(name).suffix.lower()
                    if suffix in SUPPORTED_SUFFIXES and self.spec.wants(relative):
                        yield obj
        except Exception as exc:
            raise SourceError(f"s3://{self.bucket}/{self.prefix}: {_reason(exc)}") from None

    def _read(self, name: str, key: str, etag: str) -> Doc:
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=name)
            data = response["Body"].read(self.max_bytes + 1)
        except Exception as exc:
            gone = _code(exc) in ("NoSuchKey", "404")
            return Doc(key, error=_reason(exc), gone=gone)
        if len(data) > self.max_bytes:
            return Doc(key, error="object is over the max_file_mb limit")
        return Doc(key, etag, PurePosixPath(name).suffix, data)


def _code(exc: Exception) -> str:
    response = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


def _reason(exc: Exception) -> str:
    """botocore's errors as one line a user can act on (never a credential)."""
    code = _code(exc)
    name = type(exc).__name__
    if code in ("AccessDenied", "403", "AllAccessDisabled"):
        return "access denied: the credentials need s3:ListBucket and s3:GetObject here"
    if code == "NoSuchBucket":
        return "no such bucket (check the name and the region)"
    if code in ("NoSuchKey", "404"):
        return "the object is gone"
    if name in ("NoCredentialsError", "PartialCredentialsError"):
        return "no AWS credentials found (environment, profile or instance role)"
    if name in ("EndpointConnectionError", "ConnectTimeoutError", "ReadTimeoutError"):
        return f"cannot reach S3 ({name})"
    if code:
        return f"S3 error {code}"
    return f"S3 request failed ({name})"
