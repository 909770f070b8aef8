"""`ragstream-host`: the agent on the EC2 instance.

    ragstream-host [--config PATH] start | release --tag T | rollback [--to REF] | dns
                                   | status [--json]
                                   | mount-data | reconfigure

start, release, rollback and reconfigure first take the deployed settings from SSM
(config_parameter), so a host never runs on settings older than the last `deploy apply`.

Errors print one line on stderr and exit 1; nothing that was serving is touched.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from ragstream.host import docker, drain, imds, release
from ragstream.host.aws import Aws
from ragstream.host.config import DEFAULT_PATH, HostConfig
from ragstream.host.errors import HostError, NotYetError
from ragstream.host.files import write_atomic
from ragstream.host.release import log
from ragstream.host.state import State


def sync_config(config: HostConfig, path: Path) -> HostConfig:
    """Take the deployed settings `deploy apply` stored in SSM; keep host.json in step.

    SSM unreachable: the last settings received (host.json) are used, and that is said.
    """
    if not config.config_parameter:
        return config
    try:
        text = Aws(config.region).parameter(config.config_parameter)
    except HostError as exc:
        log(f"{exc}; using the settings in {path}")
        return config
    if text is None:
        return config
    newer = config.with_deployed(text)
    if newer != config:
        write_atomic(path, (newer.to_json() + "\n").encode(), mode=0o644)
        log(f"settings from {config.config_parameter} applied to {path}")
    return newer


def start(config: HostConfig) -> None:
    current = release.reconcile(config, State.load(config.state_dir)).current
    tag = current.tag if current else config.image_tag
    # The digest, when known, so a moved tag (e.g. "latest") cannot change what a reboot runs.
    ref = (current.digest or current.tag) if current else config.image_tag
    try:
        done = release.deploy(config, ref=ref, tag=tag, action="start")
    except NotYetError as exc:
        if current:  # something ran here before: its image or key vanishing is an error
            raise
        # A first boot before `secret set` or the first release: one line, no restarts.
        log(f"waiting: {exc}; the first `ragstream deploy release` starts the app")
        return
    log(f"serving {tag} ({done.digest or 'no digest'}) from slot {done.slot}")


def release_tag(config: HostConfig, tag: str) -> None:
    done = release.deploy(config, ref=tag, tag=tag, action="release")
    # stdout, one line: `deploy release` moves `latest` to this digest (it passed health).
    print(f"released {tag} {done.digest}", flush=True)


def rollback(config: HostConfig, to: str | None) -> None:
    """Back to the previous release, or `to` (a tag or digest) among the last good ones."""
    state = State.load(config.state_dir)
    target = state.find_good(to) if to else state.previous
    if target is None and to:
        kept = ", ".join(r.tag for r in state.good) or "none"
        raise HostError(f"{to} is not among the last good releases kept here ({kept})")
    if target is None:
        raise HostError("no previous release recorded: nothing to roll back to")
    done = release.deploy(
        config, ref=target.digest or target.tag, tag=target.tag, action="rollback"
    )
    print(f"rolled back to {target.tag} {done.digest}", flush=True)


def dns(config: HostConfig) -> None:
    if not config.domain or not config.hosted_zone_id:
        log("no domain configured: DNS left alone")
        return
    aws = Aws(config.region)
    for attempt in range(1, config.retry_attempts + 1):
        try:
            address = imds.public_ipv4()
            if aws.a_record(config.hosted_zone_id, config.domain) == address:
                log(f"{config.domain} already points at {address}")
            else:
                aws.upsert_a_record(config.hosted_zone_id, config.domain, address)
                log(f"{config.domain} now points at {address}")
            return
        except HostError as exc:
            if attempt == config.retry_attempts:
                raise HostError(f"{exc} (gave up after {attempt} attempts)") from None
            delay = 2 ** (attempt - 1)
            log(f"{exc}; retrying in {delay} s")
            time.sleep(delay)


def status(config: HostConfig) -> dict:
    state = release.reconcile(config, State.load(config.state_dir))
    draining = drain.load(config.state_dir)  # a released-from container still serving
    report: dict = {
        "current": None,
        "previous": state.previous.__dict__ if state.previous else None,
        "good": [r.tag for r in state.good],
        "last": state.last,
        "draining": draining,
    }
    if state.current:
        name = release.container(config, state.current.slot)
        running = docker.state(name).get("State", {}).get("Running", False)
        port = release.slot_port(config, state.current.slot)
        report["current"] = {
            **state.current.__dict__,
            "container": name,
            "running": running,
            "healthy": running and release.is_healthy(config, port),
        }
    return report


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ragstream-host", description="The RAGstream host agent.")
    parser.add_argument("--config", type=Path, default=DEFAULT_PATH, help="host.json to read")
    # How the SSM document passes its checked `ref` parameter: the release tag, or the
    # rollback target (empty: none).
    parser.add_argument("--ref", default="", help=argparse.SUPPRESS)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("start", help="(re)start the recorded release (or image_tag)")
    release_parser = commands.add_parser("release", help="blue/green to a new tag")
    release_parser.add_argument("--tag")
    rollback_parser = commands.add_parser("rollback", help="to the previous or a kept release")
    rollback_parser.add_argument("--to", help="tag or digest of one of the last good releases")
    commands.add_parser("dns", help="point the domain's A record at this instance")
    commands.add_parser("reconfigure", help="take new deployed settings: dns, then start")
    status_parser = commands.add_parser("status", help="what runs, is it healthy")
    status_parser.add_argument("--json", action="store_true")
    commands.add_parser("mount-data", help="format (once) and mount the data volume")
    # Started by a release (drain.py), never by hand.
    commands.add_parser("drain").add_argument("state_dir")
    return parser


def _load(path: Path) -> HostConfig:
    try:
        return HostConfig.load(path)
    except FileNotFoundError:
        raise HostError(f"{path} not found: cloud-init writes it; pass --config") from None
    except (ValueError, TypeError) as exc:
        raise HostError(f"{path} is invalid ({exc})") from None


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "drain":  # everything it needs is in its argv
            drain.run(args.state_dir, log)
            return 0
        config = _load(args.config)
        if args.command in ("start", "release", "rollback", "reconfigure"):
            config = sync_config(config, args.config)
        if args.command == "start":
            start(config)
        elif args.command == "release":
            if not (args.tag or args.ref):
                raise HostError("release needs --tag TAG")
            release_tag(config, args.tag or args.ref)
        elif args.command == "rollback":
            rollback(config, args.to or args.ref or None)
        elif args.command == "dns":
            dns(config)
        elif args.command == "reconfigure":  # after `deploy apply` changed the settings
            dns(config)
            start(config)
        elif args.command == "mount-data":
            from ragstream.host.disk import mount_data

            log(mount_data(config))
        elif args.command == "status":
            report = status(config)
            if args.json:
                print(json.dumps(report, indent=2))
            else:
                current = report["current"]
                print(
                    f"{current['tag']} {current['digest']} slot={current['slot']} "
                    f"healthy={current['healthy']}"
                    if current
                    else "nothing released yet"
                )
                if report["draining"]:  # the old container still serving its WebSockets
                    drained = report["draining"]
                    until = datetime.fromtimestamp(drained["until"], UTC)
                    print(f"draining {drained['name']} until {until:%H:%M:%S} UTC")
                if report["last"]:
                    last = report["last"]
                    outcome = "ok" if last["ok"] else f"failed: {last['reason']}"
                    print(f"last {last['action']} {last['tag']}: {outcome}")
    except HostError as exc:
        print(f"ragstream-host: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":  # `python -m ragstream.host.agent` (how a checkout starts a drainer)
    sys.exit(main())
