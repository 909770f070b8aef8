"""`ragstream deploy ...`: parse flags, call a Deployer, print. Nothing else lives here."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from ragstream.deploy.settings import DEFAULT_FILE, DeploySettings, load_deploy_settings

SETTING_FLAGS = [
    click.option("--region", help="AWS region [eu-central-1]"),
    click.option("--profile", help="AWS profile (else the usual AWS_* environment)"),
    click.option("--stack", help="stack name; tags every resource [ragstream]"),
    click.option("--repository", help="ECR repository [ragstream-web]"),
    click.option("--ssm-parameter", help="SSM parameter holding the OpenAI key"),
    click.option("--instance-type", help="EC2 instance type [t3.small]"),
    click.option("--ami", help="pin an AMI (default: Canonical's current Ubuntu 24.04)"),
    click.option("--ami-parameter", help="SSM parameter naming the AMI [Canonical's]"),
    click.option("--data-volume-gb", type=int, help="size of the /data volume [20]"),
    click.option("--domain", help="serve HTTPS on this name (needs --hosted-zone-id)"),
    click.option("--hosted-zone-id", help="Route 53 zone of the domain"),
    click.option("--allowed-cidr", "allowed_cidrs", multiple=True, help="ingress CIDR (repeat)"),
    click.option("--elastic-ip/--no-elastic-ip", default=None, help="keep a fixed public IP"),
    click.option("--ssh/--no-ssh", default=None, help="open port 22 to the allowed CIDRs"),
    click.option("--registry", help="push here instead of the account's ECR (mirrors, tests)"),
    click.option(
        "--source-bucket",
        "source_buckets",
        multiple=True,
        help="s3://bucket[/prefix] the host may read, for S3 sources (repeat)",
    ),
]


def setting_flags(command: Callable[..., Any]) -> Callable[..., Any]:
    for option in reversed(SETTING_FLAGS):
        command = option(command)
    return command


def settings_of(ctx: click.Context) -> DeploySettings:
    obj = ctx.obj or {}  # set by the `deploy` group, inherited by its subcommands
    return load_deploy_settings(obj.get("overrides"), path=obj.get("config"))


def with_deployer(command: Callable[..., Any]) -> Callable[..., Any]:
    """Build the Deployer from the group's flags; translate AWS errors for the whole body."""

    @click.pass_context
    @functools.wraps(command)
    def wrapper(ctx: click.Context, *args: Any, **kwargs: Any) -> Any:
        from ragstream.deploy.aws import aws_errors
        from ragstream.deploy.deployer import Deployer

        settings = settings_of(ctx)
        with aws_errors(settings.profile):
            if settings.target == "ecs":  # the second target: ragstream.deploy.ecs
                from ragstream.deploy.ecs.cli import run_ecs

                return run_ecs(command, settings, ctx, *args, **kwargs)
            return command(Deployer(settings, echo=click.echo), *args, **kwargs)

    return wrapper


@click.group()
@click.option("--config", type=click.Path(path_type=Path), help=f"settings file [{DEFAULT_FILE}]")
@setting_flags
@click.pass_context
def deploy(ctx: click.Context, config: Path | None, **overrides: Any) -> None:
    """Deploy to your AWS account: plan/apply the stack, build/push images, release."""
    overrides["allowed_cidrs"] = overrides["allowed_cidrs"] or None
    overrides["source_buckets"] = overrides["source_buckets"] or None
    ctx.obj = {"config": config, "overrides": overrides}


@deploy.command()
@click.option("--force", is_flag=True, help="overwrite an existing settings file")
@click.option("--target", type=click.Choice(["host", "ecs"]), default="host", show_default=True,
              help="one EC2 host, or ECS Fargate + ALB + RDS + S3 (adds an [ecs] table)")  # fmt: skip
@setting_flags
@click.pass_context
def init(ctx: click.Context, force: bool, target: str, **flags: Any) -> None:
    """Write ragstream.deploy.toml: the flags given over the defaults (or, with --force, over
    the existing file)."""
    from ragstream.deploy.settings import write_settings

    path = ctx.obj.get("config") or DEFAULT_FILE
    if path.exists() and not force:
        raise click.ClickException(f"{path} exists: edit it, or pass --force to rewrite it")
    flags["allowed_cidrs"] = flags["allowed_cidrs"] or None
    flags["source_buckets"] = flags["source_buckets"] or None
    given = {k: v for k, v in {**ctx.obj["overrides"], **flags}.items() if v is not None}
    # only defaults and flags: a stray RAGSTREAM_DEPLOY_* variable is not written to the file
    write_settings(load_deploy_settings({**given, "target": target}, env={}, path=None), path)
    if target == "ecs":
        from ragstream.deploy.ecs.settings import EcsSettings, ecs_toml

        with path.open("a", encoding="utf-8") as file:
            file.write(ecs_toml(EcsSettings()))
    click.echo(f"wrote {path}; next: `ragstream deploy whoami`, then `ragstream deploy plan`")


@deploy.command()
@with_deployer
def whoami(deployer: Any) -> None:
    """Show the AWS identity, account and region the commands will use."""
    for key, value in deployer.whoami().items():
        click.echo(f"{key:<9} {value}")


@deploy.command()
@click.option(
    "--detailed-exitcode",
    is_flag=True,
    help="exit 2 when there are changes or drift, 0 when there are none (like Terraform)",
)
@with_deployer
def plan(deployer: Any, detailed_exitcode: bool) -> None:
    """Show what `apply` would change (describe calls only)."""
    click.echo(f"plan for stack {deployer.settings.stack} in {deployer.settings.region}:")
    if deployer.plan() and detailed_exitcode:
        sys.exit(2)


@deploy.command()
@with_deployer
def apply(deployer: Any) -> None:
    """Create or repair the stack so it matches the settings (idempotent)."""
    click.echo(f"applying stack {deployer.settings.stack} in {deployer.settings.region}:")
    deployer.apply()


deploy.add_command(apply, "up")


@deploy.command()
@click.option(
    "--all",
    "everything",
    is_flag=True,
    help="also delete the data volume, the ECR repository and the key",
)
@click.option("--confirm", metavar="STACK", help="the stack name, to skip the typed prompt")
@with_deployer
def destroy(deployer: Any, everything: bool, confirm: str | None) -> None:
    """Delete what `apply` created (found by the stack tag) after a typed confirmation."""
    steps = deployer.destroy_steps(everything)
    if not steps:
        click.echo("nothing to destroy")
        return
    for step in steps:
        click.echo(f"  - {step}")
    stack = deployer.settings.stack
    typed = (
        confirm if confirm is not None else click.prompt(f"type the stack name ({stack}) to go on")
    )
    if typed != stack:
        raise click.ClickException(f"{typed!r} is not {stack!r}: nothing was deleted")
    deployer.destroy(steps, everything)
    if everything:
        from ragstream.deploy.oidc import oidc_note

        click.echo(oidc_note(deployer))


@deploy.command()
@with_deployer
def backup(deployer: Any) -> None:
    """Snapshot the /data volume now (tagged with the stack)."""
    deployer.backup()


@deploy.group()
def secret() -> None:
    """Store or check the OpenAI key in SSM Parameter Store."""


def stdin_is_terminal() -> bool:
    return sys.stdin.isatty()


@secret.command("set")
@click.argument("name", required=False)
@with_deployer
def secret_set(deployer: Any, name: str | None) -> None:
    """Store the key from a hidden prompt, or from stdin when piped (never from argv)."""
    if stdin_is_terminal():
        value = click.prompt("value", hide_input=True, confirmation_prompt=True)
    else:
        value = sys.stdin.read()
    click.echo(deployer.set_secret(value, name))


@secret.command("check")
@click.argument("name", required=False)
@with_deployer
def secret_check(deployer: Any, name: str | None) -> None:
    """Say whether the key exists and when it last changed (never its value)."""
    found = deployer.check_secret(name)
    if found is None:
        raise click.ClickException(
            f"{name or deployer.settings.ssm_parameter} does not exist: run `ragstream deploy secret set`"
        )
    click.echo(
        f"{found['name']}: {found['type']}, version {found['version']}, "
        f"last modified {found['last_modified']}"
    )


@deploy.command()
@with_deployer
def status(deployer: Any) -> None:
    """Instance state, public IP, DNS vs IP, the running image, health of the URL.

    Exits 1 when something is wrong (each problem is listed)."""
    from ragstream.deploy.status import gather

    report = gather(deployer.clients, deployer.settings)
    for line in report.lines():
        click.echo(line)
    if report.problems:  # scripts and monitors can tell "up" from "something is wrong"
        sys.exit(1)


def _run_host(deployer: Any, command: Any, what: str) -> list[Any]:
    from ragstream.deploy.release import run_on_stack

    failed = []
    results = run_on_stack(deployer.clients, deployer.settings.stack, command)
    for result in results:
        click.echo(f"[{result.instance_id}] {result.status} (exit {result.exit_code})")
        if result.stdout:
            click.echo(result.stdout.rstrip())
        if result.stderr:
            click.echo(result.stderr.rstrip(), err=True)
        if not result.ok:
            failed.append(result.instance_id)
    if failed:
        raise click.ClickException(f"{what} failed on {', '.join(failed)}")
    return results


def _promote_latest(deployer: Any, results: list[Any]) -> None:
    """Move `latest` to what the hosts now serve healthy: the only way `latest` moves."""
    from ragstream.deploy.image import promote
    from ragstream.deploy.release import serving_digest

    digest = serving_digest(results)
    if digest is None:
        click.echo("latest not moved: the host reported no serving digest")
    elif promote(deployer, digest):
        click.echo(f"latest -> {digest}")


@deploy.command()
@click.option("--tag", help="image tag to run [the current git commit]")
@with_deployer
def release(deployer: Any, tag: str | None) -> None:
    """Run the new image on the stack's instance(s) via SSM; fail if its health check fails.

    Once every instance serves it healthy, `latest` moves to its digest."""
    from ragstream.deploy.image import git_tag
    from ragstream.deploy.release import release_command

    _promote_latest(deployer, _run_host(deployer, release_command(tag or git_tag()), "release"))


@deploy.command()
@click.option("--to", metavar="TAG|DIGEST", help="one of the last keep_images good releases")
@with_deployer
def rollback(deployer: Any, to: str | None) -> None:
    """Ask the host to go back to the previous image (or --to an older good one)."""
    from ragstream.deploy.release import rollback_command

    _promote_latest(deployer, _run_host(deployer, rollback_command(to), "rollback"))


@deploy.command()
@click.option("--tail", default=200, show_default=True, help="lines of container log")
@with_deployer
def logs(deployer: Any, tail: int) -> None:
    """The app container's recent logs, fetched through SSM."""
    from ragstream.deploy.release import logs_command

    _run_host(deployer, logs_command(tail), "logs")


@deploy.command()
@click.option(
    "--context", "context_dir", default=".", type=click.Path(path_type=Path, file_okay=False)
)
@click.option(
    "--build-arg",
    "build_args",
    multiple=True,
    envvar="RAGSTREAM_DEPLOY_BUILD_ARGS",  # space-separated KEY=VALUE list
    help="KEY=VALUE, passed to docker build (repeat)",
)
@click.option("--cache-from", help="image to reuse layers from (e.g. the pulled :latest)")
@with_deployer
def build(
    deployer: Any, context_dir: Path, build_args: tuple[str, ...], cache_from: str | None
) -> None:
    """docker build, tagged <git-sha>[-dirty] and latest, with OCI labels."""
    from ragstream.deploy.image import build_image

    image = build_image(
        deployer.image_name, context_dir, list(build_args), echo=click.echo, cache_from=cache_from
    )
    click.echo(f"built {image}")


@deploy.command()
@click.option("--tag", help="tag to push [the current git commit]")
@with_deployer
def push(deployer: Any, tag: str | None) -> None:
    """Log in to ECR (token on stdin), push <tag>, print the digest (release moves latest)."""
    from ragstream.deploy.image import git_tag, push_image

    digest = push_image(deployer, tag or git_tag(), echo=click.echo)
    click.echo(f"digest {digest}")


@deploy.command("github-oidc")
@click.option("--repo", required=True, metavar="OWNER/NAME", help="GitHub repository")
@click.option("--branch", default="main", show_default=True, help="branch allowed to deploy")
@with_deployer
def github_oidc(deployer: Any, repo: str, branch: str) -> None:
    """Create the GitHub OIDC provider and a deploy role for one repo+branch; print its ARN."""
    from ragstream.deploy.oidc import setup_github_oidc, trust_conditions

    arn = setup_github_oidc(deployer, repo, branch)
    s = deployer.settings
    click.echo(f"role ARN: {arn}")
    conditions = trust_conditions(repo, branch)
    click.echo("trust: " + " ".join(f"{k.rsplit(':', 1)[1]}={v}" for k, v in conditions.items()))
    click.echo(f"set these variables in {repo} (Settings > Secrets and variables > Actions):")
    for name, value in (
        ("AWS_ROLE_ARN", arn),
        ("AWS_REGION", s.region),
        ("ECR_REPOSITORY", s.repository),
        ("RAGSTREAM_STACK", s.stack),
    ):
        click.echo(f"  {name}={value}")
