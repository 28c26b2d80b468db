"""The environment every process of the local stack runs with.

URLs already in the environment win (`INGEST_DB_URL`, `AIRFLOW__DATABASE__SQL_ALCHEMY_CONN`,
`AIRFLOW__CELERY__BROKER_URL`, `INGEST_REDIS_URL`): the stack then uses those servers and
starts no local one for them.
"""
from __future__ import annotations

import json
import os

from devstack.credentials import postgres_url, redis_url
from devstack.state import ADMIN_USER, ROOT, VIEWER_USER, StackState, write_private

EXTERNAL_KEYS = ("INGEST_DB_URL", "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN",
                 "AIRFLOW__CELERY__BROKER_URL", "INGEST_REDIS_URL")


def external_urls() -> dict[str, str]:
    return {key: os.environ[key] for key in EXTERNAL_KEYS if os.environ.get(key)}


def needs_local_postgres() -> bool:
    ext = external_urls()
    return not ("INGEST_DB_URL" in ext and "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN" in ext)


def needs_local_redis() -> bool:
    ext = external_urls()
    return not ("AIRFLOW__CELERY__BROKER_URL" in ext and "INGEST_REDIS_URL" in ext)


def local_pg_url(state: StackState, database: str, driver: str = "postgresql") -> str:
    """The stack's own PostgreSQL as the role that owns its databases (not a superuser)."""
    return postgres_url(state.home, state.ports["postgres"], database, driver=driver)


def stack_env(state: StackState) -> dict[str, str]:
    """Environment variables (name → value) for every stack process."""
    ports, ext = state.ports, external_urls()
    metadata = ext.get("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN") or local_pg_url(
        state, "airflow", "postgresql+psycopg2")
    result_backend = "db+" + metadata
    env = {
        "AIRFLOW_HOME": str(state.airflow_home),
        "PYTHONPATH": str(ROOT),
        "INGEST_STACK_HOME": str(state.home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
        "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__FERNET_KEY": state.secrets["fernet_key"],
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{ADMIN_USER}:admin,{VIEWER_USER}:viewer",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE":
            str(state.airflow_home / "simple_auth_manager_passwords.json"),
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{ports['api']}/execution/",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": metadata,
        "AIRFLOW__API__BASE_URL": state.api_url,
        "AIRFLOW__API__PORT": str(ports["api"]),
        # loopback unless the operator opens it on purpose (AIRFLOW_API_HOST=0.0.0.0)
        "AIRFLOW__API__HOST": os.environ.get("AIRFLOW_API_HOST", "127.0.0.1"),
        # One uvicorn worker: this is a 2-core dev box, and four workers cost ~1 GB and
        # a slow start for no gain at this load.
        "AIRFLOW__API__WORKERS": "1",
        "AIRFLOW__API__SECRET_KEY": state.secrets["api_secret_key"],
        "AIRFLOW__API_AUTH__JWT_SECRET": state.secrets["jwt_secret"],
        "AIRFLOW__API_AUTH__JWT_ISSUER": "ingest-local-stack",
        "AIRFLOW__CELERY__BROKER_URL": ext.get("AIRFLOW__CELERY__BROKER_URL") or redis_url(
            state.home, ports["redis"], 0),
        "AIRFLOW__CELERY__RESULT_BACKEND": result_backend,
        "AIRFLOW__CELERY__WORKER_PREFETCH_MULTIPLIER": "1",
        "AIRFLOW__CELERY__TASK_ACKS_LATE": "True",
        # A killed worker's task goes back to the queue instead of being acked as done.
        "AIRFLOW__CELERY__EXTRA_CELERY_CONFIG": json.dumps({"task_reject_on_worker_lost": True,
                                                            # records worker + queue per task
                                                            "result_extended": True}),
        # Longer than the longest task plus queue wait (airflow3-notes §7.5).
        "AIRFLOW__CELERY_BROKER_TRANSPORT_OPTIONS__VISIBILITY_TIMEOUT": "21600",
        "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "True",
        "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_PORT": str(ports["scheduler_health"]),
        "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(ports["triggerer_logs"]),
        # New DAG files show up in seconds, not the 5-minute production default.
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "10",
        "AIRFLOW__SCHEDULER__MIN_FILE_PROCESS_INTERVAL": "10",
        # jemalloc returns freed pages: peak RSS stays flat as inputs grow (ingest/memory.py)
        "ARROW_DEFAULT_MEMORY_POOL": "jemalloc",
        "INGEST_DB_URL": ext.get("INGEST_DB_URL") or local_pg_url(state, "warehouse"),
        "INGEST_REDIS_URL": ext.get("INGEST_REDIS_URL") or redis_url(state.home, ports["redis"], 1),
        "INGEST_LANDING_URL": os.environ.get("INGEST_LANDING_URL")
            or (state.home / "landing").as_uri(),
        # where a catalog_ingest `source` may also point (include/ingest/safety/paths.py)
        "INGEST_INBOX_ROOTS": os.environ.get("INGEST_INBOX_ROOTS") or str(state.home / "inbox"),
        "SANDBOX_CLIENT_SECRET": state.secrets["sandbox_client_secret"],
        "SANDBOX_AWS_URL": f"http://127.0.0.1:{ports['sandbox_aws']}",
        "SANDBOX_AZURE_URL": f"http://127.0.0.1:{ports['sandbox_azure']}",
        "SANDBOX_AZURE_TLS_URL": f"https://127.0.0.1:{ports['sandbox_azure_tls']}",
        "SANDBOX_GCP_URL": f"http://127.0.0.1:{ports['sandbox_gcp']}",
        "SANDBOX_ILS_URL": f"http://127.0.0.1:{ports['sandbox_ils']}",
    }
    for name, port in ports.items():
        env[f"STACK_PORT_{name.upper()}"] = str(port)
    return env


def write_env_file(state: StackState, env: dict[str, str]) -> "os.PathLike[str]":
    """Write `stack.env` (for honcho and for `source`-ing in a shell)."""
    path = state.home / "stack.env"
    lines = [f"{key}='{value}'" for key, value in sorted(env.items())]
    write_private(path, "\n".join(lines) + "\n")
    return path
