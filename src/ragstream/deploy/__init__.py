"""`ragstream deploy`: the AWS side, run from a laptop or CI (chalice-style plan, then apply).

settings.py   ragstream.deploy.toml (flag > RAGSTREAM_DEPLOY_* > file > default)
aws.py        the typed boto3 clients, and the one place botocore errors become DeployError
resources.py  the desired stack as small dataclasses and policy dicts (no AWS calls)
lookup.py     read-only describe/list helpers shared by every command
planner.py    desired vs described -> Steps (ECR, IAM); compute.py does the EC2 side
executor.py   Step, the display-only executor (plan) and the real one (apply)
teardown.py   the Steps of `destroy`, found by the stack tag
image.py      docker build/push with the ECR token on stdin
release.py    the host agent's commands through SSM Run Command
status.py     instance, DNS vs IP, running image, health
oidc.py       GitHub OIDC provider + deploy role
deployer.py   the object the CLI drives; cli.py is thin over it
"""
