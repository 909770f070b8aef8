"""The `ragstream` command: a thin door onto the library.

Each subcommand lives in ragstream.commands (deploy and serve in their own wings) and is
imported only when run, so `ragstream search` never pays for importing Streamlit or boto3. Errors from the library
(RagstreamError) print as one line on stderr with exit code 1, never a traceback; an
unexpected exception prints its traceback, with every secret scrubbed (ragstream.redact).
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import traceback
from typing import Any

import click

from ragstream.errors import RagstreamError
from ragstream.redact import install_log_redaction, redact

# name -> "module:attribute" of a click command or group
COMMANDS = {
    "ingest": "ragstream.commands.core:ingest",
    "search": "ragstream.commands.core:search",
    "docs": "ragstream.commands.core:docs",
    "doctor": "ragstream.commands.doctor:doctor",
    "eval": "ragstream.commands.evaluate:evaluate",
    "ask": "ragstream.commands.ask:ask",
    "serve": "ragstream.app.cli:serve",
    "migrate": "ragstream.commands.store:migrate",
    "copy": "ragstream.commands.store:copy",
    "collection": "ragstream.commands.access:collection",
    "user": "ragstream.commands.access:user",
    "audit": "ragstream.commands.access:audit",
    "deploy": "ragstream.deploy.cli:deploy",
    "api": "ragstream.api.cli:api",
    "mcp": "ragstream.api.cli:mcp",
    "token": "ragstream.api.cli:token",
    "source": "ragstream.commands.sources:source",
    "watch": "ragstream.commands.sources:watch",
    "worker": "ragstream.commands.worker:worker",
    "jobs": "ragstream.commands.worker:jobs",
}


def installed(target: str) -> bool:
    """Whether a command's module is here: the Docker image leaves the deploy wing out
    (the container never deploys), so `ragstream deploy` does not exist inside it."""
    package = target.partition(":")[0].rsplit(".", 1)[0]
    return importlib.util.find_spec(package) is not None


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(name for name, target in COMMANDS.items() if installed(target))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None or not installed(target):
            return None
        module, _, attribute = target.partition(":")
        command: click.Command = getattr(importlib.import_module(module), attribute)
        return command


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="ragstream")
def cli() -> None:
    """RAGstream: ask your documents, get answers that cite file and page."""


def main(argv: list[str] | None = None) -> Any:
    install_log_redaction()
    try:
        return cli.main(args=argv, prog_name="ragstream", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except RagstreamError as exc:
        click.echo(f"error: {redact(str(exc))}", err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)
    except Exception:  # a bug: keep the traceback for the report, but never a secret in it
        click.echo(redact(traceback.format_exc()).rstrip(), err=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
