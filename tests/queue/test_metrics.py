"""The queue-depth metric the ECS worker service scales on, on moto's CloudWatch."""

from __future__ import annotations

from typing import Any

import pytest
from click.testing import CliRunner

from ragstream.cli import cli
from ragstream.queue.metrics import METRIC, NAMESPACE, DepthPublisher


@pytest.mark.aws
def test_depth_is_published_at_most_once_per_interval(aws: Any) -> None:
    cw = aws.client("cloudwatch")
    depths = iter([7, 9])
    publisher = DepthPublisher("rs-ecs", lambda: next(depths), client=cw, every=3600)
    publisher.tick()
    publisher.tick()  # within the interval: nothing sent, depth not even read
    (metric,) = cw.list_metrics(Namespace=NAMESPACE)["Metrics"]
    assert metric["MetricName"] == METRIC
    assert metric["Dimensions"] == [{"Name": "Stack", "Value": "rs-ecs"}]
    assert next(depths) == 9


def test_a_failing_publish_is_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    class Down:
        def put_metric_data(self, **_: Any) -> None:
            raise ConnectionError("no route to monitoring")

    DepthPublisher("s", lambda: 1, client=Down()).tick()
    assert "queue depth not published: no route to monitoring" in caplog.text


def test_publish_depth_needs_the_stack_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RAGSTREAM_STACK", raising=False)
    result = CliRunner().invoke(cli, ["worker", "--publish-depth", "--blobs", "/tmp/x"])
    assert "--publish-depth needs RAGSTREAM_STACK" in str(result.exception)
