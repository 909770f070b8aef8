"""The /data volume outlives its instance: termination, destroy, apply reattaches, backup."""

from __future__ import annotations

import pytest

from ragstream.deploy.resources import STACK_TAG, VOLUME_TAG

pytestmark = pytest.mark.aws

DATA = [
    {"Name": f"tag:{STACK_TAG}", "Values": ["rs-test"]},
    {"Name": f"tag:{VOLUME_TAG}", "Values": ["data"]},
]


def live_instances(ec2):
    found = ec2.describe_instances(
        Filters=[
            {"Name": f"tag:{STACK_TAG}", "Values": ["rs-test"]},
            {"Name": "instance-state-name", "Values": ["pending", "running"]},
        ]
    )
    return [i for r in found["Reservations"] for i in r["Instances"]]


def data_volumes(ec2):
    return [v for v in ec2.describe_volumes(Filters=DATA)["Volumes"] if v["State"] != "deleted"]


def test_data_survives_termination_and_destroy_and_is_reattached(account):
    ec2 = account.aws.client("ec2")
    assert account.run("apply").exit_code == 0
    (first,) = live_instances(ec2)
    (volume,) = data_volumes(ec2)
    assert volume["Size"] == 20 and volume["Encrypted"]
    (attachment,) = volume["Attachments"]
    assert attachment["InstanceId"] == first["InstanceId"] and attachment["Device"] == "/dev/sdf"
    mappings = {m["DeviceName"]: m["Ebs"] for m in first["BlockDeviceMappings"]}
    assert mappings["/dev/sdf"]["DeleteOnTermination"] is False

    # someone terminates the instance in the console: the data stays
    ec2.terminate_instances(InstanceIds=[first["InstanceId"]])
    ec2.get_waiter("instance_terminated").wait(InstanceIds=[first["InstanceId"]])
    (kept,) = data_volumes(ec2)
    assert kept["VolumeId"] == volume["VolumeId"] and kept["State"] == "available"

    plan = account.run("plan")
    assert f"reattach kept data volume {volume['VolumeId']} (20 GB)" in plan.output
    applied = account.run("apply")
    assert applied.exit_code == 0, applied.output
    (second,) = live_instances(ec2)
    (again,) = data_volumes(ec2)
    assert again["VolumeId"] == volume["VolumeId"], "a second volume was made"
    assert again["Attachments"][0]["InstanceId"] == second["InstanceId"]
    assert second["Placement"]["AvailabilityZone"] == volume["AvailabilityZone"]

    backup = account.run("backup")
    assert backup.exit_code == 0, backup.output
    (snapshot,) = ec2.describe_snapshots(
        Filters=[{"Name": f"tag:{STACK_TAG}", "Values": ["rs-test"]}]
    )["Snapshots"]
    assert snapshot["VolumeId"] == volume["VolumeId"]
    assert f"snapshot {snapshot['SnapshotId']} of {volume['VolumeId']} started" in backup.output

    destroyed = account.run("destroy", "--confirm", "rs-test")
    assert destroyed.exit_code == 0, destroyed.output
    assert "the data volume is kept" in destroyed.output
    assert f"data volume {volume['VolumeId']} (20 GB in " in destroyed.output
    assert "`apply` reattaches it, `destroy --all` deletes it" in destroyed.output
    assert [v["VolumeId"] for v in data_volumes(ec2)] == [volume["VolumeId"]]

    everything = account.run("destroy", "--all", "--confirm", "rs-test")
    assert everything.exit_code == 0, everything.output
    assert f"delete data volume {volume['VolumeId']}" in everything.output
    assert data_volumes(ec2) == []


def test_backup_without_a_stack_says_to_apply(account):
    result = account.run("backup")
    assert result.exit_code == 1
    assert "has no data volume" in str(result.exception)
