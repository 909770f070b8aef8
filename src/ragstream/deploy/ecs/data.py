"""Where the data lives: the S3 bucket of original documents and the RDS database.

Bucket: versioning on, every public access blocked, default encryption (SSE-S3).
Database: PostgreSQL, storage encrypted, not publicly accessible, in the private subnets,
automated backups kept `db_backup_days`, master password generated and kept by RDS in
Secrets Manager (ManageMasterUserPassword: AWS rotates it; it never passes through here).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ragstream.deploy.ecs.clients import EcsClients
from ragstream.deploy.ecs.network import Network
from ragstream.deploy.ecs.resources import DB_NAME, DB_USER, Database, EcsStack
from ragstream.deploy.executor import Context, Step
from ragstream.deploy.lookup import get_or_none

BLOCK_ALL = {
    "BlockPublicAcls": True,
    "IgnorePublicAcls": True,
    "BlockPublicPolicy": True,
    "RestrictPublicBuckets": True,
}
ENCRYPTION = {"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]}


def plan_bucket(clients: EcsClients, stack: EcsStack) -> Iterator[Step]:
    s3, name = clients.s3, stack.bucket
    label = f"S3 bucket {name}"
    exists = get_or_none(lambda: s3.head_bucket(Bucket=name), "404", "NoSuchBucket") is not None

    def create(ctx: Any) -> None:
        where: Any = {} if clients.region == "us-east-1" else {
            "CreateBucketConfiguration": {"LocationConstraint": clients.region}}  # fmt: skip
        ctx.clients.s3.create_bucket(Bucket=name, **where)
        ctx.clients.s3.put_bucket_tagging(
            Bucket=name, Tagging={"TagSet": [{"Key": k, "Value": v} for k, v in stack.tags]}
        )

    def versioning(ctx: Any) -> None:
        ctx.clients.s3.put_bucket_versioning(
            Bucket=name, VersioningConfiguration={"Status": "Enabled"}
        )

    def block(ctx: Any) -> None:
        ctx.clients.s3.put_public_access_block(
            Bucket=name, PublicAccessBlockConfiguration=BLOCK_ALL
        )

    def encrypt(ctx: Any) -> None:
        ctx.clients.s3.put_bucket_encryption(
            Bucket=name, ServerSideEncryptionConfiguration=ENCRYPTION
        )

    if not exists:
        yield Step("create", label, "for uploaded and synced documents", create)
        yield Step("update", label, "versioning on", versioning)
        yield Step("update", label, "block all public access", block)
        yield Step("update", label, "default encryption SSE-S3", encrypt)
        return
    if s3.get_bucket_versioning(Bucket=name).get("Status") != "Enabled":
        yield Step("update", label, "versioning on", versioning)
    pab = get_or_none(
        lambda: s3.get_public_access_block(Bucket=name), "NoSuchPublicAccessBlockConfiguration"
    )
    if pab is None or pab["PublicAccessBlockConfiguration"] != BLOCK_ALL:
        yield Step("update", label, "block all public access", block)
    enc = get_or_none(lambda: s3.get_bucket_encryption(Bucket=name),
                      "ServerSideEncryptionConfigurationNotFoundError")  # fmt: skip
    if enc is None:
        yield Step("update", label, "default encryption SSE-S3", encrypt)


def find_database(clients: EcsClients, identifier: str) -> Any | None:
    found = get_or_none(lambda: clients.rds.describe_db_instances(DBInstanceIdentifier=identifier),
                        "DBInstanceNotFound", "DBInstanceNotFoundFault")  # fmt: skip
    return found["DBInstances"][0] if found else None


def plan_database(
    clients: EcsClients, stack: EcsStack, net: Network, ctx: Context
) -> Iterator[Step]:
    db: Database = stack.database
    rds = clients.rds
    tags = [{"Key": k, "Value": v} for k, v in stack.tags]
    group = get_or_none(lambda: rds.describe_db_subnet_groups(DBSubnetGroupName=db.subnet_group),
                        "DBSubnetGroupNotFoundFault")  # fmt: skip
    if group is None:
        yield Step("create", f"DB subnet group {db.subnet_group}", "private subnets",
                   lambda c: c.clients.rds.create_db_subnet_group(
                       DBSubnetGroupName=db.subnet_group, SubnetIds=list(net.private),
                       DBSubnetGroupDescription=f"ragstream {stack.name}: private", Tags=tags))  # fmt: skip
    else:
        have = sorted(s["SubnetIdentifier"] for s in group["DBSubnetGroups"][0]["Subnets"])
        if have != sorted(net.private):
            yield Step("update", f"DB subnet group {db.subnet_group}", "private subnets",
                       lambda c: c.clients.rds.modify_db_subnet_group(
                           DBSubnetGroupName=db.subnet_group, SubnetIds=list(net.private)))  # fmt: skip
    found = find_database(clients, db.identifier)
    if found is None:

        def create(c: Any) -> None:
            made = c.clients.rds.create_db_instance(
                DBInstanceIdentifier=db.identifier, Engine="postgres",
                EngineVersion=db.engine_version, DBInstanceClass=db.instance_class,
                AllocatedStorage=db.storage_gb, StorageType="gp3", StorageEncrypted=True,
                DBName=DB_NAME, MasterUsername=DB_USER, ManageMasterUserPassword=True,
                DBSubnetGroupName=db.subnet_group, PubliclyAccessible=False,
                VpcSecurityGroupIds=[c.need("sg:" + stack.groups[2].name)],
                BackupRetentionPeriod=db.backup_days, CopyTagsToSnapshot=True,
                DeletionProtection=False, Tags=tags,
            )["DBInstance"]  # fmt: skip
            c.values["db_secret_arn"] = made["MasterUserSecret"]["SecretArn"]
            c.values["db_host"] = (made.get("Endpoint") or {}).get("Address", "")

        detail = (f"PostgreSQL {db.engine_version} {db.instance_class}, encrypted, private, "
                  f"backups {db.backup_days} days, password managed in Secrets Manager")  # fmt: skip
        yield Step("create", f"RDS instance {db.identifier}", detail, create)
        return
    ctx.values["db_secret_arn"] = found.get("MasterUserSecret", {}).get("SecretArn", "")
    ctx.values["db_host"] = (found.get("Endpoint") or {}).get("Address", "")
    changes: dict[str, Any] = {}
    if found.get("BackupRetentionPeriod") != db.backup_days:
        changes["BackupRetentionPeriod"] = db.backup_days
    if found.get("PubliclyAccessible"):
        changes["PubliclyAccessible"] = False
    if not found.get("MasterUserSecret"):
        changes["ManageMasterUserPassword"] = True
    if found.get("DBInstanceClass") != db.instance_class:
        changes["DBInstanceClass"] = db.instance_class
    if changes:
        yield Step("update", f"RDS instance {db.identifier}", ", ".join(sorted(changes)),
                   lambda c: c.clients.rds.modify_db_instance(
                       DBInstanceIdentifier=db.identifier, ApplyImmediately=True, **changes))  # fmt: skip
    if not found.get("StorageEncrypted"):
        yield Step("warn", f"RDS instance {db.identifier}",
                   "storage is NOT encrypted; RDS cannot encrypt in place: restore an encrypted "
                   "copy of a snapshot", lambda c: None)  # fmt: skip
