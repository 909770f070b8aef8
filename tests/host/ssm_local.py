"""Run what `send_command` was asked, here, with the real agent (moto executes nothing).

`run_commands_locally(monkeypatch, site)` hooks the deploy side's SSM client: the real
SendCommand still goes to moto (so moto records it), then the command is rendered from
the parameters moto received, with the agent path replaced by the test's zipapp and
settings, and run in bash; GetCommandInvocation answers with that run's result.
"""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from types import SimpleNamespace
from typing import Any

import pytest

from ragstream.deploy.aws import AwsClients
from ragstream.host.config import AGENT_PATH
from tests.host.site import Site


def render(document: dict[str, Any], parameters: dict[str, list[str]]) -> list[str]:
    """The shell lines of an SSM Command document with its {{ parameters }} filled in."""
    lines: list[str] = []
    for step in document["mainSteps"]:
        for line in step["inputs"]["runCommand"]:
            for name, values in parameters.items():
                for spelling in ("{{ " + name + " }}", "{{" + name + "}}"):
                    line = line.replace(spelling, " ".join(values))
            lines.append(line)
    return lines


def run_commands_locally(monkeypatch: pytest.MonkeyPatch, site: Site) -> list[dict[str, Any]]:
    """Hook every deploy SSM client; return the list of runs (params, command, result)."""
    runs: list[dict[str, Any]] = []
    agent = shlex.join([sys.executable, str(site.zipapp), "--config", str(site.config_path)])

    def lines_of(client: Any, params: dict[str, Any]) -> list[str]:
        name = params["DocumentName"]
        if name == "AWS-RunShellScript":
            return list(params["Parameters"]["commands"])
        content = client.get_document(Name=name)["Content"]
        return render(json.loads(content), params.get("Parameters", {}))

    def make(self: AwsClients) -> Any:
        client = self.session.client("ssm")
        sent: list[dict[str, Any]] = []

        def remember(params: dict[str, Any], **_: Any) -> None:
            sent.append(dict(params))

        def execute(parsed: dict[str, Any], **_: Any) -> None:
            params = sent.pop()
            script = "\n".join(lines_of(client, params)).replace(AGENT_PATH, agent)
            done = subprocess.run(
                ["bash", "-c", script], capture_output=True, text=True, env=site.env, timeout=600
            )
            runs.append(
                {
                    "params": params,
                    "script": script,
                    "command_id": parsed["Command"]["CommandId"],
                    "result": done,
                }
            )

        def answer(params: dict[str, Any], **_: Any) -> Any:
            asked = json.loads(params["body"])
            run = next(r for r in runs if r["command_id"] == asked["CommandId"])
            done = run["result"]
            return SimpleNamespace(status_code=200, headers={}), {
                "CommandId": asked["CommandId"],
                "InstanceId": asked["InstanceId"],
                "Status": "Success" if done.returncode == 0 else "Failed",
                "ResponseCode": done.returncode,
                "StandardOutputContent": done.stdout,
                "StandardErrorContent": done.stderr,
            }

        events = client.meta.events
        events.register("provide-client-params.ssm.SendCommand", remember)
        events.register("after-call.ssm.SendCommand", execute)
        events.register("before-call.ssm.GetCommandInvocation", answer)
        return client

    monkeypatch.setattr(AwsClients, "ssm", property(make))
    return runs
