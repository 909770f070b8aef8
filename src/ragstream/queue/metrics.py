"""Publish the queue depth to CloudWatch, which the ECS worker service scales on
(RAGstream/IngestQueueDepth, dimension Stack). Rate-limited: one datum a minute is what
the alarm behind target tracking reads; a failed publish is a warning, never a stop."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

NAMESPACE = "RAGstream"
METRIC = "IngestQueueDepth"


class DepthPublisher:
    def __init__(self, stack: str, depth: Callable[[], int], client: Any = None,
                 every: float = 60.0) -> None:  # fmt: skip
        self.stack = stack
        self.depth = depth
        self.every = every
        self._client = client
        self._last = float("-inf")

    @property
    def client(self) -> Any:
        if self._client is None:
            import boto3

            self._client = boto3.client("cloudwatch")
        return self._client

    def tick(self) -> None:
        now = time.monotonic()
        if now - self._last < self.every:
            return
        self._last = now
        try:
            value = self.depth()
            self.client.put_metric_data(Namespace=NAMESPACE, MetricData=[{
                "MetricName": METRIC, "Value": float(value), "Unit": "Count",
                "Dimensions": [{"Name": "Stack", "Value": self.stack}]}])  # fmt: skip
        except Exception as exc:  # the worker keeps working without the metric
            log.warning("queue depth not published: %s", exc)
