"""The local PostgreSQL and Redis ask for passwords, and the stack's role is no superuser
(issue 11 item 8): any local user could otherwise reach them, and a superuser session can
run `COPY … TO PROGRAM`."""
import subprocess

import psycopg
import pytest
import redis

from devstack.credentials import postgres_url, redis_url, server_password
from devstack.servers import LocalPostgres, LocalRedis
from devstack.state import free_port

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def postgres(tmp_path_factory):
    home = tmp_path_factory.mktemp("pg")
    server = LocalPostgres(home, free_port())
    server.start()
    with psycopg.connect(postgres_url(home, server.port, "postgres", superuser=True),
                         autocommit=True) as admin:  # a database from before the owner role
        admin.execute("CREATE DATABASE warehouse")
    with psycopg.connect(postgres_url(home, server.port, "warehouse", superuser=True),
                         autocommit=True) as old:
        old.execute("CREATE SCHEMA billing; CREATE TABLE billing.t (id serial PRIMARY KEY, "
                    "seq bigint GENERATED ALWAYS AS IDENTITY); CREATE VIEW billing.v AS SELECT 1; "
                    "CREATE FUNCTION billing.f() RETURNS int LANGUAGE sql AS 'SELECT 1'")
    server.ensure_databases("airflow", "warehouse")
    yield home, server
    server.stop()


def test_tcp_needs_the_password(postgres):
    home, server = postgres
    for user in ("ingest", "ingest_app"):
        with pytest.raises(psycopg.OperationalError, match="password"):
            psycopg.connect(f"postgresql://{user}@127.0.0.1:{server.port}/postgres", connect_timeout=5)
        with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
            psycopg.connect(f"postgresql://{user}:wrong@127.0.0.1:{server.port}/postgres", connect_timeout=5)


def test_the_stack_role_owns_its_databases_and_is_no_superuser(postgres):
    home, server = postgres
    with psycopg.connect(postgres_url(home, server.port, "warehouse")) as app:
        assert app.execute("SELECT rolsuper, rolcreaterole FROM pg_roles "
                           "WHERE rolname = current_user").fetchone() == (False, False)
        owners = set(app.execute(
            "SELECT pg_get_userbyid(relowner) FROM pg_class WHERE relnamespace = 'billing'::regnamespace "
            "UNION SELECT pg_get_userbyid(proowner) FROM pg_proc WHERE pronamespace = 'billing'::regnamespace "
            "UNION SELECT pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname = 'billing'").fetchall())
        assert owners == {("ingest_app",)}  # handed over from the superuser
        app.execute("ALTER TABLE billing.t ADD COLUMN x int")  # what a migration does
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            app.execute("COPY (SELECT 1) TO PROGRAM 'id'")
    with psycopg.connect(postgres_url(home, server.port, "airflow")) as app:
        app.execute("CREATE TABLE t (id int)")  # Airflow's own migrations create tables in public


def test_a_conversion_cut_short_is_finished_at_the_next_start(postgres):
    """The database already belongs to ingest_app but a table is still the superuser's (a
    start that stopped half-way): the next start hands it over."""
    home, server = postgres
    with psycopg.connect(postgres_url(home, server.port, "warehouse", superuser=True),
                         autocommit=True) as old:
        old.execute("CREATE TABLE billing.left_behind (id bigint GENERATED ALWAYS AS IDENTITY)")
    server.ensure_databases("airflow", "warehouse")
    with psycopg.connect(postgres_url(home, server.port, "warehouse")) as app:
        app.execute("INSERT INTO billing.left_behind DEFAULT VALUES")  # owner: may write


def test_redis_needs_the_password_and_it_is_not_on_the_command_line(tmp_path):
    server = LocalRedis(tmp_path, free_port())
    server.start()
    try:
        with pytest.raises(redis.AuthenticationError):
            redis.Redis(port=server.port).ping()
        assert redis.Redis.from_url(redis_url(tmp_path, server.port)).ping()
        processes = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
        assert server_password(tmp_path, "redis") not in processes
    finally:
        server.stop()
    assert not server.is_running()
