"""Blob stores: a directory and S3 (moto's server), same behaviour, one-line errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ragstream.errors import ConfigError, StoreError
from ragstream.queue.blobs import BlobStore, LocalBlobs, S3Blobs, open_blobs


def roundtrip(store: BlobStore) -> None:
    key = store.put(b"hello badgers", ".MD")
    assert key.startswith("sha256/") and key.endswith(".md")
    assert store.put(b"hello badgers", ".md") == key  # content-addressed: one object
    assert store.get(key) == b"hello badgers"
    store.delete(key)
    with pytest.raises(StoreError, match=f"blob {key} is missing"):
        store.get(key)


def test_local_directory(tmp_path: Path) -> None:
    store = open_blobs(str(tmp_path / "blobs"))
    assert isinstance(store, LocalBlobs)
    roundtrip(store)
    with pytest.raises(StoreError, match="outside the blob directory"):
        store.get("../../etc/passwd")
    assert not list((tmp_path / "blobs").rglob(".tmp-*"))


@pytest.mark.aws
def test_s3_on_moto(aws: Any) -> None:
    s3 = aws.client("s3")
    s3.create_bucket(Bucket="rs-docs", CreateBucketConfiguration={"LocationConstraint": aws.region})
    store = open_blobs("s3://rs-docs/uploads/", client=s3)
    assert isinstance(store, S3Blobs) and store.where == "s3://rs-docs/uploads/"
    roundtrip(store)
    key = store.put(b"x", ".txt")
    assert s3.get_object(Bucket="rs-docs", Key=f"uploads/{key}")["Body"].read() == b"x"
    missing = open_blobs("s3://no-such-bucket", client=s3)
    with pytest.raises(
        StoreError, match=r"s3://no-such-bucket/: put_object .* failed \(NoSuchBucket\)"
    ):
        missing.put(b"x", ".txt")


@pytest.mark.parametrize(
    ("location", "message"),
    [
        ("", "set RAGSTREAM_BLOBS"),
        ("s3://", "name a bucket"),
        ("gs://bucket/x", "use a directory or s3://bucket/prefix"),
    ],
)
def test_bad_locations_say_what_to_do(location: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        open_blobs(location)
