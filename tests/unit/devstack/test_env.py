"""The stack environment: consistent across processes, external URLs win."""
import pytest

from devstack.env import needs_local_postgres, needs_local_redis, stack_env
from devstack.state import PORT_NAMES, StackState


@pytest.fixture
def state(tmp_path, monkeypatch):
    for key in ("INGEST_DB_URL", "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN",
                "AIRFLOW__CELERY__BROKER_URL", "INGEST_REDIS_URL", "AIRFLOW_API_PORT"):
        monkeypatch.delenv(key, raising=False)
    st = StackState.load(tmp_path / "stack")
    st.assign()
    return st


def test_every_port_is_assigned_once_and_saved(state, tmp_path):
    assert set(state.ports) == set(PORT_NAMES)
    assert len(set(state.ports.values())) == len(PORT_NAMES)
    again = StackState.load(tmp_path / "stack")
    assert again.ports == state.ports and again.secrets == state.secrets


def test_celery_and_api_settings_the_workers_depend_on(state):
    env = stack_env(state)
    assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"].endswith(f":{state.ports['api']}/execution/")
    assert env["AIRFLOW__CELERY__RESULT_BACKEND"].startswith("db+postgresql")
    assert env["AIRFLOW__CELERY__WORKER_PREFETCH_MULTIPLIER"] == "1"
    assert len(env["AIRFLOW__API_AUTH__JWT_SECRET"]) >= 32


def test_external_urls_replace_local_servers(state, monkeypatch):
    monkeypatch.setenv("INGEST_DB_URL", "postgresql://u@db.example/warehouse")
    monkeypatch.setenv("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "postgresql+psycopg2://u@db/af")
    env = stack_env(state)
    assert env["INGEST_DB_URL"] == "postgresql://u@db.example/warehouse"
    assert env["AIRFLOW__CELERY__RESULT_BACKEND"] == "db+postgresql+psycopg2://u@db/af"
    assert not needs_local_postgres()
    assert needs_local_redis()


def test_the_api_listens_on_loopback_unless_opened_on_purpose(state, monkeypatch):
    monkeypatch.delenv("AIRFLOW_API_HOST", raising=False)
    assert stack_env(state)["AIRFLOW__API__HOST"] == "127.0.0.1"
    monkeypatch.setenv("AIRFLOW_API_HOST", "0.0.0.0")
    assert stack_env(state)["AIRFLOW__API__HOST"] == "0.0.0.0"


def test_the_admin_password_is_generated_per_stack_and_kept(state, tmp_path):
    other = StackState.load(tmp_path / "other")
    other.assign()
    assert len(state.admin_password) >= 16 and state.admin_password != "admin"
    assert other.admin_password != state.admin_password
    assert StackState.load(tmp_path / "stack").admin_password == state.admin_password


def test_secret_files_are_private_from_their_first_byte(state, tmp_path):
    import os
    import stat

    from devstack.env import write_env_file
    from devstack.state import write_private

    old_umask = os.umask(0)  # the most permissive umask: the mode must not depend on it
    try:
        env_file = write_env_file(state, stack_env(state))
        existing = tmp_path / "was-public"
        existing.write_text("x")
        existing.chmod(0o644)
        write_private(existing, "secret")
    finally:
        os.umask(old_umask)
    for path in (state.state_file, env_file, existing):
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600, path


def test_the_demo_catalog_file_is_staged_where_the_source_policy_allows_it(state, monkeypatch):
    from devstack.demo import CATALOG_FILE, DEMO_RUNS, catalog_inbox
    from include.ingest.catalog.plan import land_source

    env = stack_env(state)
    conf = next(conf for dag_id, conf, _ in DEMO_RUNS if dag_id == "catalog_ingest")
    staged = catalog_inbox(env, conf)
    for key in ("INGEST_INBOX_ROOTS", "INGEST_LANDING_URL"):
        monkeypatch.setenv(key, env[key])
    landed = land_source(staged["source"], "demo-run")
    assert "/landing/raw/catalog/" in landed.path and landed.size == CATALOG_FILE.stat().st_size
