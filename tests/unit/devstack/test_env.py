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
