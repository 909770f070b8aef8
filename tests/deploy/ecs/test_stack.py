"""The ECS target against moto's server: plan, apply, plan again (nothing to do), what
apply made, drift shown and repaired, least privilege on every policy, destroy keeping
the data unless --all.

moto does not keep a service's deploymentConfiguration (describe_services returns
none), so the circuit breaker is checked on the create_service request itself."""

from __future__ import annotations

import dataclasses
import json
import time

import pytest

from ragstream.deploy.ecs import cli as ecs_cli
from ragstream.deploy.ecs.resources import METRIC_NAMESPACE
from tests.deploy.ecs.account import EcsAccount, applied

pytestmark = pytest.mark.aws


def test_plan_apply_plan_again_is_nothing_to_do(ecs_account: EcsAccount) -> None:
    first = ecs_account.plan()
    assert any("create RDS instance rs-ecs-db" in line for line in first), first
    assert any("sticky sessions" in line for line in first)
    requests = applied(ecs_account)
    aws = ecs_account.aws
    # services: Fargate in the private subnets, no public IP, circuit breaker with rollback
    web = requests["rs-ecs-web"]
    assert web["deploymentConfiguration"]["deploymentCircuitBreaker"] == {
        "enable": True,
        "rollback": True,
    }
    assert requests["rs-ecs-worker"]["deploymentConfiguration"]["deploymentCircuitBreaker"][
        "rollback"
    ]
    vpc = web["networkConfiguration"]["awsvpcConfiguration"]
    assert vpc["assignPublicIp"] == "DISABLED"
    assert set(vpc["subnets"]) == set(ecs_account.private_subnets)
    assert web["loadBalancers"][0]["containerPort"] == 8501
    # the database: encrypted, private, backups on, password managed in Secrets Manager
    db = aws.client("rds").describe_db_instances(DBInstanceIdentifier="rs-ecs-db")["DBInstances"][0]
    assert db["StorageEncrypted"] and not db["PubliclyAccessible"]
    assert db["BackupRetentionPeriod"] == 7 and db["MasterUserSecret"]["SecretArn"]
    # the bucket: versioned, no public access, encrypted
    s3 = aws.client("s3")
    bucket = f"rs-ecs-{aws.account_id}-{aws.region}-docs"
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    assert all(s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"].values())
    assert s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
    # the edge: sticky target group health-checked on /_stcore/health, HTTPS + redirect, alias
    elb = aws.client("elbv2")
    tg = elb.describe_target_groups(Names=["rs-ecs-web"])["TargetGroups"][0]
    assert tg["HealthCheckPath"] == "/_stcore/health"
    attrs = {
        a["Key"]: a["Value"]
        for a in elb.describe_target_group_attributes(TargetGroupArn=tg["TargetGroupArn"])[
            "Attributes"
        ]
    }
    assert attrs["stickiness.enabled"] == "true" and attrs["stickiness.type"] == "lb_cookie"
    alb = elb.describe_load_balancers(Names=["rs-ecs-alb"])["LoadBalancers"][0]
    listeners = {
        x["Port"]: x
        for x in elb.describe_listeners(LoadBalancerArn=alb["LoadBalancerArn"])["Listeners"]
    }
    assert listeners[443]["Certificates"][0]["CertificateArn"] == ecs_account.ecs.certificate_arn
    assert listeners[80]["DefaultActions"][0]["Type"] == "redirect"
    records = aws.client("route53").list_resource_record_sets(
        HostedZoneId=ecs_account.settings.hosted_zone_id
    )
    alias = [r for r in records["ResourceRecordSets"] if r["Name"] == "docs.example.org."]
    assert alias[0]["AliasTarget"]["DNSName"].rstrip(".").lower() == alb["DNSName"].lower()
    # the task definitions: secrets injected by ECS, logs to CloudWatch
    td = aws.client("ecs").describe_task_definition(taskDefinition="rs-ecs-web")["taskDefinition"]
    box = td["containerDefinitions"][0]
    assert {s["name"] for s in box["secrets"]} == {"OPENAI_API_KEY", "PGPASSWORD"}
    assert all("PASSWORD" not in e["name"] and "KEY" not in e["name"] for e in box["environment"])
    assert box["logConfiguration"]["options"]["awslogs-group"] == "/ragstream/rs-ecs"
    # autoscaling: web on CPU, workers on queued jobs per worker
    aas = aws.client("application-autoscaling")
    policies = {
        p["PolicyName"]: p
        for p in aas.describe_scaling_policies(ServiceNamespace="ecs")["ScalingPolicies"]
    }
    assert policies["rs-ecs-web-cpu"]["TargetTrackingScalingPolicyConfiguration"][
        "PredefinedMetricSpecification"
    ]
    metrics = policies["rs-ecs-worker-queue-depth"]["TargetTrackingScalingPolicyConfiguration"][
        "CustomizedMetricSpecification"
    ]["Metrics"]
    assert metrics[0]["MetricStat"]["Metric"]["Namespace"] == METRIC_NAMESPACE
    targets = aas.describe_scalable_targets(ServiceNamespace="ecs")["ScalableTargets"]
    assert {(t["ResourceId"], t["MinCapacity"], t["MaxCapacity"]) for t in targets} == {
        ("service/rs-ecs/rs-ecs-web", 2, 6),
        ("service/rs-ecs/rs-ecs-worker", 1, 4),
    }


def group_id(acct: EcsAccount, name: str) -> str:
    groups = acct.aws.client("ec2").describe_security_groups(
        Filters=[{"Name": "group-name", "Values": [name]}]
    )
    return str(groups["SecurityGroups"][0]["GroupId"])


def test_drift_is_shown_and_repaired(ecs_account: EcsAccount) -> None:
    applied(ecs_account)
    aws = ecs_account.aws
    elb, ec2, iam = aws.client("elbv2"), aws.client("ec2"), aws.client("iam")
    # 1. stickiness switched off by hand
    tg = elb.describe_target_groups(Names=["rs-ecs-web"])["TargetGroups"][0]["TargetGroupArn"]
    elb.modify_target_group_attributes(
        TargetGroupArn=tg, Attributes=[{"Key": "stickiness.enabled", "Value": "false"}]
    )
    # 2. the tasks opened to the world and the ALB -> tasks rule removed
    tasks, alb = group_id(ecs_account, "rs-ecs-tasks"), group_id(ecs_account, "rs-ecs-alb")
    ec2.authorize_security_group_ingress(
        GroupId=tasks,
        IpPermissions=[
            {
                "IpProtocol": "tcp",
                "FromPort": 8501,
                "ToPort": 8501,
                "IpRanges": [{"CidrIp": "0.0.0.0/0"}],
            }
        ],
    )
    ec2.revoke_security_group_ingress(
        GroupId=tasks,
        IpPermissions=[
            {
                "IpProtocol": "tcp",
                "FromPort": 8501,
                "ToPort": 8501,
                "UserIdGroupPairs": [{"GroupId": alb}],
            }
        ],
    )
    # 3. the task role's policy widened
    iam.put_role_policy(
        RoleName="rs-ecs-task",
        PolicyName="ragstream-task",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}],
            }
        ),
    )
    plan = "\n".join(ecs_account.plan())
    assert "update target group rs-ecs-web: sticky sessions: stickiness.enabled=false->true" in plan
    assert "authorize ingress tcp/8501 from sg:rs-ecs-alb: on security group rs-ecs-tasks" in plan
    assert (
        "revoke ingress tcp 0.0.0.0/0" in plan or "revoke ingress tcp/8501 from 0.0.0.0/0" in plan
    )
    assert "update inline policy ragstream-task" in plan
    ecs_account.deployer().apply()
    assert ecs_account.plan() == []
    attrs = {
        a["Key"]: a["Value"]
        for a in elb.describe_target_group_attributes(TargetGroupArn=tg)["Attributes"]
    }
    assert attrs["stickiness.enabled"] == "true"
    perms = ec2.describe_security_groups(GroupIds=[tasks])["SecurityGroups"][0]["IpPermissions"]
    assert [p.get("IpRanges") for p in perms] == [[]]
    assert [g["GroupId"] for p in perms for g in p["UserIdGroupPairs"]] == [alb]


UNSCOPABLE = {"ecr:GetAuthorizationToken", "cloudwatch:PutMetricData"}


def test_every_policy_is_least_privilege(ecs_account: EcsAccount) -> None:
    applied(ecs_account)
    aws = ecs_account.aws
    iam = aws.client("iam")
    db = aws.client("rds").describe_db_instances(DBInstanceIdentifier="rs-ecs-db")["DBInstances"][0]
    arn = lambda service, rest: f"arn:aws:{service}:{aws.region}:{aws.account_id}:{rest}"  # noqa: E731
    bucket = f"arn:aws:s3:::rs-ecs-{aws.account_id}-{aws.region}-docs"
    expected = {
        "rs-ecs-execution": {
            "ecr:GetAuthorizationToken": ["*"],
            "ecr:BatchCheckLayerAvailability": [arn("ecr", "repository/ragstream-web")],
            "ecr:BatchGetImage": [arn("ecr", "repository/ragstream-web")],
            "ecr:GetDownloadUrlForLayer": [arn("ecr", "repository/ragstream-web")],
            "logs:CreateLogStream": [arn("logs", "log-group:/ragstream/rs-ecs:*")],
            "logs:PutLogEvents": [arn("logs", "log-group:/ragstream/rs-ecs:*")],
            "ssm:GetParameters": [arn("ssm", "parameter/ragstream/prod/OPENAI_API_KEY")],
            "secretsmanager:GetSecretValue": [db["MasterUserSecret"]["SecretArn"]],
        },
        "rs-ecs-task": {
            "s3:ListBucket": [bucket],
            "s3:GetObject": [f"{bucket}/*"],
            "s3:PutObject": [f"{bucket}/*"],
            "s3:DeleteObject": [f"{bucket}/*"],
            "cloudwatch:PutMetricData": ["*"],
        },
    }
    for role, wanted in expected.items():
        assert iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"] == []
        (name,) = iam.list_role_policies(RoleName=role)["PolicyNames"]
        doc = iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"]
        granted: dict[str, list[str]] = {}
        for st in doc["Statement"]:
            assert st["Effect"] == "Allow" and "NotAction" not in st and "NotResource" not in st
            actions = [st["Action"]] if isinstance(st["Action"], str) else st["Action"]
            resources = [st["Resource"]] if isinstance(st["Resource"], str) else st["Resource"]
            for action in actions:
                assert "*" not in action, (role, action)
                if resources == ["*"]:
                    assert action in UNSCOPABLE, (role, action)
                if action == "cloudwatch:PutMetricData":
                    assert st["Condition"] == {
                        "StringEquals": {"cloudwatch:namespace": METRIC_NAMESPACE}
                    }
                granted.setdefault(action, []).extend(resources)
        assert granted == wanted, role
        trust = iam.get_role(RoleName=role)["Role"]["AssumeRolePolicyDocument"]
        assert trust["Statement"][0]["Principal"] == {"Service": "ecs-tasks.amazonaws.com"}


def test_release_rollback_status_logs(
    ecs_account: EcsAccount, capsys: pytest.CaptureFixture[str]
) -> None:
    applied(ecs_account)
    deployer = ecs_account.deployer()
    released = deployer.release("v2")
    ecs = ecs_account.aws.client("ecs")
    for family, arn in released.items():
        assert arn.endswith(f"{family}:2")
        svc = ecs.describe_services(cluster="rs-ecs", services=[family])["services"][0]
        assert svc["taskDefinition"] == arn
        td = ecs.describe_task_definition(taskDefinition=arn)["taskDefinition"]
        assert td["containerDefinitions"][0]["image"] == "registry.test:5000/ragstream-web:v2"
    assert ecs_account.plan() == []  # the image is release's business, not drift
    status = deployer.status()
    assert status["services"]["rs-ecs-web"]["revision"] == 2
    assert status["url"] == "https://docs.example.org"
    logs = ecs_account.aws.client("logs")
    logs.create_log_stream(logGroupName="/ragstream/rs-ecs", logStreamName="rs-ecs-web/web/t1")
    logs.put_log_events(logGroupName="/ragstream/rs-ecs", logStreamName="rs-ecs-web/web/t1",
                        logEvents=[{"timestamp": int(time.time() * 1000), "message": "You can now view your Streamlit app"}])  # fmt: skip
    ecs_cli.logs(deployer, tail=10)
    assert "rs-ecs-web/web/t1: You can now view your Streamlit app" in capsys.readouterr().out
    back = deployer.rollback()
    assert all(arn.endswith(":1") for arn in back.values())
    assert deployer.status()["services"]["rs-ecs-worker"]["image"].endswith(":latest")


def test_destroy_keeps_the_database_and_bucket_unless_all(ecs_account: EcsAccount) -> None:
    applied(ecs_account)
    aws = ecs_account.aws
    deployer = ecs_account.deployer()
    steps = [str(s) for s in deployer.destroy_steps(everything=False)]
    assert not any(
        "RDS instance" in s or "S3 bucket" in s or "delete security group rs-ecs-db" in s
        for s in steps
    )
    deployer.destroy(deployer.destroy_steps(everything=False))
    rds, s3 = aws.client("rds"), aws.client("s3")
    bucket = f"rs-ecs-{aws.account_id}-{aws.region}-docs"
    assert rds.describe_db_instances(DBInstanceIdentifier="rs-ecs-db")["DBInstances"]
    s3.head_bucket(Bucket=bucket)
    assert aws.client("elbv2").describe_load_balancers()["LoadBalancers"] == []
    assert [
        c["status"] for c in aws.client("ecs").describe_clusters(clusters=["rs-ecs"])["clusters"]
    ] in ([], ["INACTIVE"])
    # a re-apply brings the stack back around the kept data
    ecs_account.deployer().apply()
    s3.put_object(Bucket=bucket, Key="queue/x.md", Body=b"x")
    deployer = ecs_account.deployer()
    everything = [str(s) for s in deployer.destroy_steps(everything=True)]
    assert any(
        s.startswith("delete RDS instance rs-ecs-db: after a final snapshot") for s in everything
    )
    deployer.destroy(deployer.destroy_steps(everything=True))
    snapshots = rds.describe_db_snapshots(DBInstanceIdentifier="rs-ecs-db")["DBSnapshots"]
    finals = [s for s in snapshots if s["DBSnapshotIdentifier"].startswith("rs-ecs-db-final-")]
    assert len(finals) == 1 and finals[0]["SnapshotType"] == "manual"
    assert bucket not in [b["Name"] for b in s3.list_buckets()["Buckets"]]


def test_a_changed_setting_registers_a_revision_and_rolls_it_out(ecs_account: EcsAccount) -> None:
    applied(ecs_account)
    ecs_account.ecs = dataclasses.replace(ecs_account.ecs, worker_cpu=4096, worker_memory=8192,
                                          worker_max=8)  # fmt: skip
    plan = ecs_account.plan()
    assert "  + register task definition rs-ecs-worker: revision for cpu, memory" in plan
    assert "  + update ECS service rs-ecs-worker: roll out the new revision" in plan
    assert "  + register autoscaling rs-ecs-worker: 1-8 tasks" in plan
    assert not any("rs-ecs-web" in line for line in plan)
    ecs_account.deployer().apply()
    assert ecs_account.plan() == []
    svc = ecs_account.aws.client("ecs").describe_services(
        cluster="rs-ecs", services=["rs-ecs-worker"]
    )
    assert svc["services"][0]["taskDefinition"].endswith("rs-ecs-worker:2")
