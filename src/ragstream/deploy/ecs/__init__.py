"""The ECS target: web and ingest-worker services on Fargate behind an ALB, RDS
PostgreSQL, S3 for documents. Same discipline as the single host: resources as
dataclasses (resources.py), a planner of describe-only calls yielding Steps (plan_*.py),
the shared executors, the shared typed client (ragstream.deploy.aws).

    settings.py    the [ecs] table of ragstream.deploy.toml
    resources.py   names, ARNs and least-privilege policies; the desired EcsStack
    network.py     VPC and subnets lookup, the three security groups (ALB -> tasks -> DB)
    data.py        S3 bucket, RDS subnet group and instance
    edge.py        ALB, target group, listeners, Route 53 alias
    services.py    log group, cluster, task definitions, services, autoscaling
    planner.py     all of the above in dependency order
    teardown.py    destroy (keeps the database and the bucket unless --all)
    deployer.py    plan/apply/destroy/release/rollback/status for this target
"""
