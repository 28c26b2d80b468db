"""docker-compose.yaml cannot run here (no Docker engine), so it is checked statically:
it parses, and its services, queues and settings agree with the local stack."""
import json
import re
import shlex

import pytest
import yaml

from devstack.env import stack_env
from devstack.state import ROOT, StackState
from include.ingest.queues import QUEUES, WORKER_GROUPS

COMPOSE = yaml.safe_load((ROOT / "docker-compose.yaml").read_text())
SERVICES = COMPOSE["services"]
PROCFILE = dict(line.split(":", 1) for line in (ROOT / "Procfile").read_text().splitlines()
                if line.strip() and not line.startswith("#"))

# Settings whose values must be identical in both stacks (URLs and secrets differ by design).
SAME_VALUE = ("AIRFLOW__CORE__EXECUTOR", "AIRFLOW__CORE__LOAD_EXAMPLES",
              "AIRFLOW__CELERY__WORKER_PREFETCH_MULTIPLIER", "AIRFLOW__CELERY__TASK_ACKS_LATE",
              "AIRFLOW__CELERY_BROKER_TRANSPORT_OPTIONS__VISIBILITY_TIMEOUT",
              "AIRFLOW__API_AUTH__JWT_ISSUER", "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK",
              "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS", "ARROW_DEFAULT_MEMORY_POOL")
SAME_JSON = ("AIRFLOW__CELERY__EXTRA_CELERY_CONFIG",)


@pytest.fixture(scope="module")
def local_env(tmp_path_factory):
    state = StackState.load(tmp_path_factory.mktemp("stack"))
    state.assign()
    return stack_env(state)


def worker_spec(command: str) -> dict:
    args = shlex.split(command)
    args = args[args.index("worker") + 1:]
    opts = dict(zip(args[::2], args[1::2]))
    return {"name": opts["-H"].split("@")[0], "queues": tuple(opts["-q"].split(",")),
            "concurrency": int(opts["-c"])}


def test_compose_has_every_process_of_the_local_stack():
    for name in ("postgres", "redis", "airflow-apiserver", "airflow-scheduler",
                 "airflow-dag-processor", "airflow-triggerer", "flower", "sandbox"):
        assert name in SERVICES, name
    procfile_to_service = {"api": "airflow-apiserver", "scheduler": "airflow-scheduler",
                           "dag_processor": "airflow-dag-processor",
                           "triggerer": "airflow-triggerer", "sandbox": "sandbox"}
    for process in PROCFILE:
        service = procfile_to_service.get(process) or "airflow-" + process.replace("_", "-")
        assert service in SERVICES, f"Procfile process {process} has no compose service"


def test_worker_groups_and_queues_agree_everywhere():
    compose_workers = {worker_spec(s["command"])["name"]: worker_spec(s["command"])
                       for n, s in SERVICES.items() if n.startswith("airflow-worker-")}
    procfile_workers = {worker_spec(c)["name"]: worker_spec(c)
                        for p, c in PROCFILE.items() if p.startswith("worker_")}
    expected = {g: {"name": g, "queues": spec["queues"], "concurrency": spec["concurrency"]}
                for g, spec in WORKER_GROUPS.items()}
    assert compose_workers == expected
    assert procfile_workers == expected
    consumed = [q for spec in expected.values() for q in spec["queues"]]
    assert sorted(consumed) == sorted(QUEUES), "every queue consumed by exactly one group"


def test_shared_settings_match_the_local_stack(local_env):
    common = COMPOSE["x-airflow-common"]["environment"]
    assert set(local_env) - set(common) <= {
        "AIRFLOW_HOME", "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT",
        "AIRFLOW__SCHEDULER__MIN_FILE_PROCESS_INTERVAL"} | {
        k for k in local_env if k.startswith("STACK_PORT_")}
    for key in SAME_VALUE:
        assert str(common[key]) == local_env[key], key
    for key in SAME_JSON:
        assert json.loads(common[key]) == json.loads(local_env[key]), key


def test_airflow_services_see_include_and_the_shared_landing_zone():
    common = COMPOSE["x-airflow-common"]
    assert "./include:/opt/airflow/include" in common["volumes"]
    assert common["environment"]["PYTHONPATH"] == "/opt/airflow"
    assert any(v.startswith("landing:") for v in common["volumes"])
    for name, service in SERVICES.items():
        if name.startswith("airflow-worker-"):
            assert service["depends_on"]["airflow-apiserver"]["condition"] == "service_healthy"


def test_no_secret_literals_in_compose():
    for key, value in COMPOSE["x-airflow-common"]["environment"].items():
        if re.search(r"SECRET|FERNET|JWT", key) and "ISSUER" not in key:
            assert str(value).startswith("${") and ":?" in str(value), key


def test_no_credentials_in_any_url_and_every_password_comes_from_env():
    text = (ROOT / "docker-compose.yaml").read_text()
    literal = re.findall(r"://[^\s/@$]*:(?!\$\{)[^\s/@]+@", text)
    assert literal == [], f"expected credentials only from ${{...}} placeholders, got {literal}"
    assert "admin:admin" not in text.replace("SIMPLE_AUTH_MANAGER_USERS: admin:admin", "")
    assert "--requirepass" in str(SERVICES["redis"]["command"])


def test_published_ports_bind_loopback_and_flower_asks_for_a_password():
    for name, service in SERVICES.items():
        for port in service.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), (f"{name}: expected a port published on "
                                                        f"127.0.0.1 only, got {port!r}")
    flower_env = SERVICES["flower"]["environment"]
    assert str(flower_env["AIRFLOW__CELERY__FLOWER_BASIC_AUTH"]).startswith("${")


def test_monitoring_services_are_wired_to_their_files():
    """statsd-exporter maps Airflow's StatsD metrics, Prometheus scrapes it and the console's
    /metrics (the plugin's prefix) with the alert rules, Grafana provisions the dashboard."""
    common = COMPOSE["x-airflow-common"]["environment"]
    assert common["AIRFLOW__METRICS__STATSD_ON"] == "True"
    assert common["AIRFLOW__METRICS__STATSD_HOST"] == "statsd-exporter"
    exporter = SERVICES["statsd-exporter"]
    assert "--statsd.mapping-config=/etc/statsd/mappings.yml" in exporter["command"]
    assert "./deploy/statsd/mappings.yml:/etc/statsd/mappings.yml:ro" in exporter["volumes"]
    assert yaml.safe_load((ROOT / "deploy/statsd/mappings.yml").read_text())["mappings"]

    prometheus = yaml.safe_load((ROOT / "deploy/prometheus/prometheus.yml").read_text())
    jobs = {job["job_name"]: job for job in prometheus["scrape_configs"]}
    from include.ingest.console.app import URL_PREFIX
    assert jobs["ingestion"]["metrics_path"] == f"{URL_PREFIX}/metrics"
    assert jobs["ingestion"]["static_configs"][0]["targets"] == ["airflow-apiserver:8080"]
    assert jobs["airflow-statsd"]["static_configs"][0]["targets"] == ["statsd-exporter:9102"]
    mounts = SERVICES["prometheus"]["volumes"]
    assert "./deploy/prometheus/alerts.yml:/etc/prometheus/alerts.yml:ro" in mounts
    assert prometheus["rule_files"] == ["/etc/prometheus/alerts.yml"]
    token_file = jobs["ingestion"]["authorization"]["credentials_file"]
    assert SERVICES["metrics-token"]["environment"]["TOKEN_FILE"] == token_file

    grafana = SERVICES["grafana"]
    assert "./deploy/grafana/provisioning:/etc/grafana/provisioning:ro" in grafana["volumes"]
    assert "./deploy/grafana/dashboards:/var/lib/grafana/dashboards:ro" in grafana["volumes"]
    assert str(grafana["environment"]["GF_SECURITY_ADMIN_PASSWORD"]).startswith("${")
    dashboard = json.loads((ROOT / "deploy/grafana/dashboards/ingestion.json").read_text())
    exprs = " ".join(t["expr"] for p in dashboard["panels"] for t in p["targets"])
    for metric in ("ingest_dlq_depth", "ingest_billing_rows_published_total",
                   "ingest_reconciliation_discrepancies", "airflow_task_duration"):
        assert metric in exprs, metric


def test_every_env_example_secret_the_compose_file_needs_is_listed():
    text = (ROOT / "docker-compose.yaml").read_text()
    needed = set(re.findall(r"\$\{([A-Z_]+):\?", text))
    listed = {line.split("=", 1)[0] for line in (ROOT / ".env.example").read_text().splitlines()
              if "=" in line and not line.startswith("#")}
    assert needed <= listed, needed - listed
