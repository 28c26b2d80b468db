"""Real servers for integration tests: PostgreSQL and Redis.

`INGEST_DB_URL` / `INGEST_REDIS_URL` in the environment point the tests at existing
servers; otherwise they are started from `.local/test-servers` on free ports (the same
code as the local stack, devstack/servers.py) and stopped at the end of the session.
Each session works in its own fresh database.
"""
import os
import shutil
import uuid

import psycopg
import pytest

from devstack import credentials
from devstack.servers import LocalPostgres, LocalRedis
from devstack.state import ROOT, free_port

# One directory per pytest process: two sessions in one checkout (a developer's and an
# agent's, or CI re-runs) must not find each other's servers on unknown ports.
SERVERS_HOME = ROOT / ".local" / "test-servers" / str(os.getpid())


@pytest.fixture(scope="session", autouse=True)
def _servers_home_removed():
    yield
    shutil.rmtree(SERVERS_HOME, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_admin_url():
    if os.environ.get("INGEST_DB_URL"):
        yield os.environ["INGEST_DB_URL"]
        return
    server = LocalPostgres(SERVERS_HOME, free_port())
    server.start()
    try:
        yield credentials.postgres_url(SERVERS_HOME, server.port, "postgres", superuser=True)
    finally:
        server.stop()


@pytest.fixture(scope="session")
def warehouse_url(postgres_admin_url):
    """A migrated warehouse database of its own for this session."""
    from include.ingest.persist.migrate import migrate

    name = f"test_{uuid.uuid4().hex[:10]}"
    base = postgres_admin_url.rsplit("/", 1)[0]
    with psycopg.connect(postgres_admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = f"{base}/{name}"
    migrate(url)
    try:
        yield url
    finally:
        with psycopg.connect(postgres_admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


BILLING_TABLES = ("billing.line_items", "billing.quarantine",
                  "billing.chunk_loads", "billing.dlq", "billing.ledger", "billing.cursors",
                  "billing.reconciliation")


@pytest.fixture
def warehouse(warehouse_url):
    """A connection to the session's warehouse with the billing tables emptied first."""
    with psycopg.connect(warehouse_url) as conn:
        conn.execute(f"TRUNCATE {', '.join(BILLING_TABLES)}")
        for (name,) in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = "
                                    "'billing' AND tablename LIKE 'line\\_items\\_load\\_%'").fetchall():
            conn.execute(f'DROP TABLE billing."{name}"')  # each load's table (billing/store/load_tables)
        conn.commit()
        yield conn


@pytest.fixture(scope="session")
def redis_url():
    if os.environ.get("INGEST_REDIS_URL"):
        yield os.environ["INGEST_REDIS_URL"]
        return
    server = LocalRedis(SERVERS_HOME, free_port())
    server.start()
    try:
        yield credentials.redis_url(SERVERS_HOME, server.port)  # not the fixture
    finally:
        server.stop()
