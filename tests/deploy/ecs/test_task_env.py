"""The task definition's way to the database works with the real store: a URL without a
password (RAGSTREAM_DATABASE_URL) plus PGPASSWORD injected by ECS from the RDS secret."""

from __future__ import annotations

from pathlib import Path

import pytest

from ragstream.deploy.ecs.resources import DB_NAME, DB_USER, EcsArns, desired_ecs_stack
from ragstream.deploy.ecs.services import container
from ragstream.deploy.ecs.settings import EcsSettings
from ragstream.deploy.settings import DeploySettings
from ragstream.index.postgres import PostgresStore
from tests.support.postgres import PostgresServer

pytestmark = pytest.mark.postgres


def test_url_without_password_plus_pgpassword_opens_the_store(
    postgres_server: PostgresServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    postgres_server.admin(f"CREATE ROLE {DB_USER} LOGIN PASSWORD 'task-Secret-1'")
    postgres_server.admin(f"CREATE DATABASE {DB_NAME} OWNER {DB_USER}")
    postgres_server.admin("CREATE EXTENSION IF NOT EXISTS vector", database=DB_NAME)
    try:
        s = DeploySettings(region="eu-west-1", stack="rs")
        stack = desired_ecs_stack(s, EcsSettings(), EcsArns("aws", "eu-west-1", "1"), "arn:secret")
        host = f"{postgres_server.host}:{postgres_server.port}"
        spec = container(s, stack, stack.worker, "img", host.split(":")[0], "arn:secret", "arn:key")
        env = {e["name"]: e["value"] for e in spec["environment"]}
        url = env["RAGSTREAM_DATABASE_URL"].replace(":5432/", f":{postgres_server.port}/")
        url = url.replace("sslmode=require", "sslmode=disable")  # the test server has no TLS
        assert "task-Secret-1" not in str(spec) and ":5432/" in env["RAGSTREAM_DATABASE_URL"]
        assert [x["name"] for x in spec["secrets"]] == ["OPENAI_API_KEY", "PGPASSWORD"]
        monkeypatch.setenv("PGPASSWORD", "task-Secret-1")
        store = PostgresStore(url)  # migrates as the app's first open does
        assert store.schema_version() > 0
        store.close()
    finally:
        postgres_server.admin(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
        postgres_server.admin(f"DROP ROLE IF EXISTS {DB_USER}")
