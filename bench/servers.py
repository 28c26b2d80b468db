"""A PostgreSQL database for benchmarks: `INGEST_DB_URL`'s server, else a local server in
`.local/bench-servers` (devstack's), with a fresh database per run, migrated."""
from __future__ import annotations

import contextlib
import os
import shutil
import uuid

import psycopg

from devstack.credentials import postgres_url, redis_url
from devstack.servers import LocalPostgres, LocalRedis
from devstack.state import ROOT, free_port

HOME = ROOT / ".local" / "bench-servers" / str(os.getpid())  # per run: runs never share


@contextlib.contextmanager
def bench_database():
    from include.ingest.persist.migrate import migrate

    server = None
    admin = os.environ.get("INGEST_DB_URL")
    if not admin:
        server = LocalPostgres(HOME, free_port())
        server.start()
        admin = postgres_url(HOME, server.port, "postgres", superuser=True)
    name = f"bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = f"{admin.rsplit('/', 1)[0]}/{name}"
    migrate(url)
    try:
        yield url
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if server:
            server.stop()
            shutil.rmtree(server.datadir.parent, ignore_errors=True)


@contextlib.contextmanager
def bench_redis():
    if os.environ.get("INGEST_REDIS_URL"):
        yield os.environ["INGEST_REDIS_URL"]
        return
    server = LocalRedis(HOME, free_port())
    server.start()
    try:
        yield redis_url(HOME, server.port)
    finally:
        server.stop()
