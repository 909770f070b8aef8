"""`release` waits for stable services (boto3's `services_stable` waiter, bounded) and
says how the rollout ended. moto runs no tasks: a service scaled to 0 is stable there,
one wanting 2 never is (the wait runs out: one line). moto never plays the circuit
breaker, so the FAILED rollout comes from botocore's Stubber at the boto3 boundary."""

from __future__ import annotations

import dataclasses
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from ragstream.deploy.ecs import cli as ecs_cli
from ragstream.deploy.ecs import rollout
from ragstream.deploy.ecs.rollout import wait_for_rollout
from ragstream.errors import DeployError
from tests.deploy.ecs.account import EcsAccount, applied

WEB = "rs-ecs-web"
TD = "arn:aws:ecs:eu-west-1:123456789012:task-definition/rs-ecs-web:{}"
REASON = "ECS deployment circuit breaker: tasks failed to start."


@pytest.mark.aws
def test_release_waits_until_moto_reports_the_services_stable(ecs_account: EcsAccount) -> None:
    applied(ecs_account)
    ecs = ecs_account.aws.client("ecs")
    for name in (WEB, "rs-ecs-worker"):  # no task to run: stable at once, as moto sees it
        ecs.update_service(cluster="rs-ecs", service=name, desiredCount=0)
    deployer = ecs_account.deployer()
    outcomes = deployer.wait(deployer.release("v2"), poll=1)
    assert [(o.service, o.state) for o in outcomes] == [
        (WEB, "stable"),
        ("rs-ecs-worker", "stable"),
    ]
    assert f"{WEB}: stable (0 tasks on rs-ecs-web:2)" in ecs_account.lines


@pytest.mark.aws
def test_a_release_still_rolling_out_when_the_wait_ends_is_one_line(
    ecs_account: EcsAccount, monkeypatch: pytest.MonkeyPatch
) -> None:
    applied(ecs_account)  # moto: 0 of 2 tasks run, forever
    ecs_account.ecs = dataclasses.replace(ecs_account.ecs, release_wait_seconds=2)
    monkeypatch.setattr(rollout, "POLL_SECONDS", 1)
    deployer = ecs_account.deployer()
    with pytest.raises(DeployError) as failed:  # what `ragstream deploy release` runs
        ecs_cli.release(deployer, tag="v2")
    message = str(failed.value)
    assert "\n" not in message
    assert message.startswith(f"release not stable: {WEB}: rolling-out (not stable after 2s;")
    assert "`ragstream deploy status` shows the rollout" in message


def service(deployments: list[dict[str, Any]], current: int, running: int = 2) -> dict[str, Any]:
    return {"services": [{"serviceName": WEB, "status": "ACTIVE", "taskDefinition": TD.format(current),
                          "desiredCount": 2, "runningCount": running, "deployments": deployments}]}  # fmt: skip


def deployment(status: str, revision: int, rollout: str, reason: str = "") -> dict[str, Any]:
    made = {"id": f"ecs-svc/{revision}", "status": status, "taskDefinition": TD.format(revision),
            "desiredCount": 2, "runningCount": 2, "rolloutState": rollout}  # fmt: skip
    return made | ({"rolloutStateReason": reason} if reason else {})


@pytest.fixture
def stubbed() -> Any:
    client = boto3.client("ecs", region_name="eu-west-1", aws_access_key_id="x",
                          aws_secret_access_key="x")  # fmt: skip
    with Stubber(client) as stub:
        yield client, stub


ROLLING_BACK = service([deployment("PRIMARY", 1, "IN_PROGRESS"),
                        deployment("ACTIVE", 2, "FAILED", REASON)], current=1, running=1)  # fmt: skip
ROLLED_BACK = service([deployment("PRIMARY", 1, "COMPLETED")], current=1)
ASK = {"cluster": "rs-ecs", "services": [WEB]}


def test_the_circuit_breakers_rollback_is_reported_with_its_reason(stubbed: Any) -> None:
    client, stub = stubbed
    for _ in range(3):  # the wait runs out while ECS is still rolling back: FAILED is seen
        stub.add_response("describe_services", ROLLING_BACK, ASK)
    [outcome] = wait_for_rollout(client, "rs-ecs", {WEB: TD.format(2)}, timeout=2, poll=1)
    stub.assert_no_pending_responses()
    assert outcome.line() == (
        f"{WEB}: rolled-back (the circuit breaker rolled back to rs-ecs-web:1; {REASON})"
    )


def test_a_finished_rollback_is_reported_though_the_failed_deployment_is_gone(
    stubbed: Any,
) -> None:
    client, stub = stubbed
    stub.add_response("describe_services", ROLLING_BACK, ASK)
    stub.add_response("describe_services", ROLLED_BACK, ASK)  # stable, on the old revision
    stub.add_response("describe_services", ROLLED_BACK, ASK)  # the verdict's look
    [outcome] = wait_for_rollout(client, "rs-ecs", {WEB: TD.format(2)}, timeout=60, poll=0.01)
    stub.assert_no_pending_responses()
    assert (outcome.state, outcome.detail) == (
        "rolled-back",
        "the circuit breaker rolled back to rs-ecs-web:1",
    )


def test_a_stable_new_revision_is_stable(stubbed: Any) -> None:
    client, stub = stubbed
    fine = service([deployment("PRIMARY", 2, "COMPLETED")], current=2)
    stub.add_response("describe_services", fine, ASK)
    stub.add_response("describe_services", fine, ASK)
    [outcome] = wait_for_rollout(client, "rs-ecs", {WEB: TD.format(2)}, timeout=60, poll=0.01)
    assert outcome.line() == f"{WEB}: stable (2 tasks on rs-ecs-web:2)"
