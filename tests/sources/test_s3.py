"""S3 sources against moto's S3 server (tests/support/aws.py): paginated listing,
incremental re-sync by ETag (no GetObject for unchanged objects), deletions, citations
s3://bucket/key, and one-line errors (no bucket, no credentials, access denied)."""

from __future__ import annotations

from collections import Counter
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from ragstream.sources.s3 import S3Connector, _reason
from ragstream.workspace import Workspace
from tests.sources.files import paths, statuses

pytestmark = pytest.mark.aws


def counted_client(aws: Any, calls: Counter[str]) -> Any:
    client = aws.client("s3")

    def count(model: Any, **_: Any) -> None:
        calls[model.name] += 1

    client.meta.events.register("before-call.s3.*", count)
    return client


def test_sync_paginates_is_incremental_by_etag_and_removes(aws: Any, workspace: Workspace) -> None:
    s3 = aws.client("s3")
    s3.create_bucket(
        Bucket="team-docs", CreateBucketConfiguration={"LocationConstraint": aws.region}
    )
    for i in range(5):
        s3.put_object(
            Bucket="team-docs",
            Key=f"handbook/p{i}.md",
            Body=f"# Page {i}\n\nPolicy {i}: badgers dig setts.\n".encode(),
        )
    s3.put_object(Bucket="team-docs", Key="handbook/logo.gif", Body=b"\x89PNG")
    s3.put_object(Bucket="team-docs", Key="other/x.md", Body=b"# Outside the prefix\n")
    calls: Counter[str] = Counter()
    client = counted_client(aws, calls)
    sources = workspace.sources
    sources.syncer.connectors["s3"] = lambda spec: S3Connector(
        spec, sources.syncer.max_bytes, client=client, page_size=2
    )
    sources.add("s3://team-docs/handbook/", name="handbook")

    [first] = sources.sync("handbook")
    assert first.ok
    assert set(statuses(first)) == {f"s3://team-docs/handbook/p{i}.md" for i in range(5)}
    assert calls["ListObjectsV2"] == 3  # 6 objects, 2 a page
    assert calls["GetObject"] == 5
    hit = workspace.search("badgers dig setts policy 3", k=1)[0]
    assert hit.chunk.path.startswith("s3://team-docs/handbook/p")

    calls.clear()
    [second] = sources.sync("handbook")
    assert set(statuses(second).values()) == {"unchanged"}
    assert calls["GetObject"] == 0  # ETags matched: no object read

    s3.put_object(
        Bucket="team-docs",
        Key="handbook/p1.md",
        Body=b"# Page 1\n\nBadgers now share setts with foxes.\n",
    )
    s3.delete_object(Bucket="team-docs", Key="handbook/p4.md")
    calls.clear()
    [third] = sources.sync("handbook")
    got = statuses(third)
    assert got["s3://team-docs/handbook/p1.md"] == "ingested"
    assert got["s3://team-docs/handbook/p4.md"] == "removed"
    assert calls["GetObject"] == 1
    assert "s3://team-docs/handbook/p4.md" not in paths(workspace)


def test_listing_errors_fail_the_source_and_remove_nothing(
    aws: Any, workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    sources = workspace.sources
    sources.add("s3://no-such-bucket/docs/", name="missing")
    [result] = sources.sync("missing")
    assert (
        result.error == "s3://no-such-bucket/docs/: no such bucket (check the name and the region)"
    )

    s3 = aws.client("s3")
    s3.create_bucket(Bucket="kept", CreateBucketConfiguration={"LocationConstraint": aws.region})
    s3.put_object(Bucket="kept", Key="a.txt", Body=b"Herons stand still in shallow water.")
    sources.add("s3://kept/", name="kept")
    sources.sync("kept")
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)  # it caches credentials found
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    [result] = sources.sync("kept")
    assert (
        result.error
        == "s3://kept/: no AWS credentials found (environment, profile or instance role)"
    )
    assert paths(workspace) == {"s3://kept/a.txt"}  # a failed listing removes nothing
    assert sources.infos()[1].state.consecutive_failures == 1


def test_access_denied_is_one_line() -> None:
    denied = ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "GetObject")
    assert _reason(denied) == (
        "access denied: the credentials need s3:ListBucket and s3:GetObject here"
    )
