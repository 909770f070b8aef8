"""Where uploaded and synced bytes wait for a worker: any replica writes, any worker reads.

A location is a directory (one host, or a shared volume) or `s3://bucket/prefix` (a fleet).
Blobs are content-addressed (`sha256/<hex><suffix>`): writing the same bytes twice is one
object, and a job's bytes never change under it.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

from ragstream.errors import ConfigError, StoreError


class BlobStore(Protocol):
    where: str

    def put(self, data: bytes, suffix: str) -> str:
        """Store `data`; returns its key."""

    def get(self, key: str) -> bytes: ...

    def delete(self, key: str) -> None: ...


BLOBS_ENV = "RAGSTREAM_BLOBS"


def blob_location() -> str:
    """The blob store the environment names ("" for none): set, with a database URL,
    it turns uploads and syncs into jobs for the ingest workers."""
    return os.environ.get(BLOBS_ENV, "")


def blob_key(data: bytes, suffix: str) -> str:
    return f"sha256/{hashlib.sha256(data).hexdigest()}{suffix.lower()}"


class LocalBlobs:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.where = str(root)

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if self.root.resolve() not in path.parents:
            raise StoreError(f"{self.where}: blob key {key!r} points outside the blob directory")
        return path

    def put(self, data: bytes, suffix: str) -> str:
        key = blob_key(data, suffix)
        path = self._path(key)
        if path.exists():
            return key
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # write then rename: a reader never sees half a blob
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
            with os.fdopen(fd, "wb") as out:
                out.write(data)
            os.replace(tmp, path)
        except OSError as exc:
            raise StoreError(f"{self.where}: cannot write blob {key} ({exc.strerror})") from None
        return key

    def get(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            raise StoreError(f"{self.where}: blob {key} is missing") from None
        except OSError as exc:
            raise StoreError(f"{self.where}: cannot read blob {key} ({exc.strerror})") from None

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)


class S3Blobs:
    """Blobs as objects under s3://bucket/prefix (credentials found the standard way)."""

    def __init__(self, bucket: str, prefix: str = "", client: Any = None) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.where = f"s3://{bucket}/{self.prefix}"
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            try:
                import boto3
            except ImportError:
                raise ConfigError(
                    "an s3:// blob store needs boto3: pip install 'ragstream[s3]'"
                ) from None
            self._client = boto3.client("s3")
        return self._client

    def _call(self, action: str, key: str, **kwargs: Any) -> Any:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return getattr(self.client, action)(Bucket=self.bucket, Key=self.prefix + key, **kwargs)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in ("NoSuchKey", "404"):
                raise StoreError(f"{self.where}: blob {key} is missing") from None
            raise StoreError(f"{self.where}: {action} {key} failed ({code})") from None
        except BotoCoreError as exc:
            raise StoreError(f"{self.where}: {action} {key} failed ({exc})") from None

    def put(self, data: bytes, suffix: str) -> str:
        key = blob_key(data, suffix)
        self._call("put_object", key, Body=data)
        return key

    def get(self, key: str) -> bytes:
        body: bytes = self._call("get_object", key)["Body"].read()
        return body

    def delete(self, key: str) -> None:
        self._call("delete_object", key)


def open_blobs(location: str, client: Any = None) -> BlobStore:
    """`s3://bucket/prefix` or a directory (created on first write)."""
    if not location:
        raise ConfigError(
            "no blob store: set RAGSTREAM_BLOBS (or --blobs) to a directory or s3://bucket/prefix"
        )
    if location.startswith("s3://"):
        parts = urlsplit(location)
        if not parts.netloc:
            raise ConfigError(f"blob store {location!r}: name a bucket, s3://bucket/prefix")
        return S3Blobs(parts.netloc, parts.path, client)
    if "://" in location:
        raise ConfigError(f"blob store {location!r}: use a directory or s3://bucket/prefix")
    return LocalBlobs(Path(location))
