"""The Ingestion console on the real stack (issue 15): after demo-like runs, a browser
logs in, sees the slices with their exact totals, replays a DLQ entry; every plugin route
wants a login, a viewer may look but not act; /metrics has series per provider; and no
stack secret is in a task log, an XCom or the metrics page."""
import json
import re
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import psycopg
import pytest
import requests

from devstack.state import ADMIN_USER, ROOT, VIEWER_USER
from tests.e2e.billing_helpers import PAYER, REAL_CUR, golden, run, sandbox, states
from tests.e2e.cloud_helpers import forget_slice
from tests.e2e.console_browser import chromium_page, log_in

pytestmark = pytest.mark.e2e
ARTIFACTS = ROOT / "tests" / "artifacts"
CONSOLE = "/ingestion"
GET_ROUTES = ["/", "/api/slices", "/api/quarantine", "/api/billing-dlq", "/api/throttling",
              "/api/catalog-batches", "/api/catalog-dlq", "/api/ils", "/api/queues", "/metrics"]


def token(base, username, password):
    answer = requests.post(f"{base}/auth/token", json={"username": username, "password": password},
                           timeout=30)
    assert answer.status_code == 201, answer.text
    return answer.json()["access_token"]


def warehouse_total(env, provider, account, period):
    with psycopg.connect(env["INGEST_DB_URL"]) as conn:
        return conn.execute("SELECT sum(billed_cost), count(*) FROM billing.line_items WHERE "
                            "x_provider = %s AND x_billing_account = %s AND x_billing_period = %s",
                            (provider, account, period)).fetchone()


def open_dlq_ids(env):
    with psycopg.connect(env["INGEST_DB_URL"]) as conn:
        return [r[0] for r in conn.execute("SELECT id FROM billing.dlq WHERE state = 'open' ORDER BY id")]


@pytest.fixture(scope="module")
def demo_runs(stack, airflow):
    """The real CUR sample, Azure and GCP months (side by side), then a CUR month with one
    data file refused for good: its chunks land in the DLQ."""
    _, env = stack
    with ThreadPoolExecutor(3) as pool:
        results = list(pool.map(lambda args: run(airflow, args[1], 900, dag=args[0]), [
            ("billing_aws_cur", REAL_CUR), ("billing_azure_cost", {"billing_period": "2024-01"}),
            ("billing_gcp_export", {"billing_period": "2024-01"})]))
    assert [r[1]["state"] for r in results] == ["success"] * 3
    # the stack is shared: another test may have published this month already, and a
    # published version is never fetched again — so the fault would never be met
    forget_slice(env, "aws", PAYER, "2024-02")
    sandbox(env, "POST", "faults", json={"rules": [{"endpoint": "aws.get", "fault": "403", "nth": [3]}]})
    try:
        run_id, result = run(airflow, {"layout": "cur1", "billing_period": "2024-02"})
    finally:
        sandbox(env, "DELETE", "faults")
    assert result["state"] == "failed", states(airflow, run_id)
    # the refused file fails its fetch; the month's chunks did not load, so finalize put
    # them in the DLQ (mapped downstream tasks fail as a whole)
    assert open_dlq_ids(env)
    return run_id


def test_every_route_wants_a_login_and_a_viewer_cannot_act(stack, demo_runs):
    state, _ = stack
    base = state.api_url + CONSOLE
    for route in GET_ROUTES:
        assert requests.get(base + route, timeout=30).status_code == 401, route
    for dag_id in ("billing_dlq_replay", "catalog_rollback", "billing_aws_cur"):
        answer = requests.post(f"{base}/actions/{dag_id}", json={"confirm": True}, timeout=30)
        assert answer.status_code == 401, dag_id
    viewer = {"Authorization": "Bearer " + token(state.api_url, VIEWER_USER, state.viewer_password)}
    assert requests.get(base + "/", headers=viewer, timeout=30).status_code == 200
    for dag_id, body in (("billing_dlq_replay", {"entry_ids": [1], "confirm": True}),
                         ("catalog_rollback", {"batch_id": "b", "confirm": True})):
        answer = requests.post(f"{base}/actions/{dag_id}", json=body, headers=viewer, timeout=30)
        assert answer.status_code == 403, answer.text
    admin = {"Authorization": "Bearer " + token(state.api_url, ADMIN_USER, state.admin_password)}
    unconfirmed = requests.post(f"{base}/actions/billing_dlq_replay", json={"entry_ids": [1]},
                                headers=admin, timeout=30)
    assert unconfirmed.status_code == 409  # destructive: confirm first
    form = requests.post(f"{base}/actions/billing_dlq_replay", data={"entry_ids": "1"},
                         headers=admin, timeout=30)
    assert form.status_code == 415  # JSON only: no cross-site form posts


def test_browser_sees_exact_slice_totals_and_replays_the_dlq(stack, airflow, demo_runs, tmp_path):
    state, env = stack
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    account, period = REAL_CUR["billing_account"], REAL_CUR["billing_period"]
    total, rows = warehouse_total(env, "aws", account, period)
    expected = golden(env, "aws-cur", period, account)
    if rows == expected["rows"]:  # nothing quarantined: the provider's own total, to the digit
        assert total == Decimal(expected["sums"]["lineItem/UnblendedCost"])
    airflow.unpause("billing_dlq_replay")
    entries = open_dlq_ids(env)
    with chromium_page(tmp_path / "chromium") as page:
        log_in(page, state.api_url, ADMIN_USER, state.admin_password, "/plugin/ingestion")
        frame = page.frame_locator("iframe").first
        cost = frame.locator(f'[data-slice="aws|{account}|{period}"] .billed-cost')
        cost.wait_for(timeout=60_000)
        assert Decimal(cost.inner_text()) == total
        page.screenshot(path=str(ARTIFACTS / "console-in-airflow-ui.png"), full_page=True)

        page.goto(f"{state.api_url}{CONSOLE}/")
        for provider in ("aws", "azure", "gcp"):
            for slice_div in page.locator(f'[data-slice^="{provider}|"]').all():
                key = slice_div.get_attribute("data-slice").split("|")
                shown = slice_div.locator(".billed-cost").inner_text()
                if shown:
                    assert Decimal(shown) == warehouse_total(env, *key)[0], key
        page.on("dialog", lambda dialog: dialog.accept())
        assert page.locator("#dlq tr[data-dlq-id]").count() == len(entries)
        page.locator("#dlq button.action", has_text="Replay all shown").click()
        page.wait_for_selector("#result[data-run-id]", timeout=60_000)
        assert "triggered billing_dlq_replay run" in page.inner_text("#result")
        run_id = page.get_attribute("#result", "data-run-id")
        page.screenshot(path=str(ARTIFACTS / "console-dlq-replay-triggered.png"), full_page=True)
        replay = airflow.wait_for_run("billing_dlq_replay", run_id, 900)
        assert replay["state"] == "success", states(airflow, run_id, "billing_dlq_replay")
        assert open_dlq_ids(env) == []
        page.reload()
        page.locator('[data-slice="aws|111122223333|2024-02"] .billed-cost').wait_for()
        page.screenshot(path=str(ARTIFACTS / "console-after-replay.png"), full_page=True)
    run_record = airflow.get(f"/api/v2/dags/billing_dlq_replay/dagRuns/{run_id}")
    assert run_record["conf"] == {"entry_ids": entries, "dag_id": None}
    assert run_record["triggering_user_name"] == ADMIN_USER  # Airflow's own audit trail


def test_metrics_have_series_per_provider(stack, demo_runs):
    state, _ = stack
    admin = {"Authorization": "Bearer " + token(state.api_url, ADMIN_USER, state.admin_password)}
    text = requests.get(f"{state.api_url}{CONSOLE}/metrics", headers=admin, timeout=60).text
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "metrics.txt").write_text(text)
    values = {m[0]: float(m[1]) for m in re.findall(r"^(\S+\{[^}]*\}|\S+) (\S+)$", text, re.M)}
    for provider in ("aws", "azure", "gcp"):
        assert values[f'ingest_billing_rows_published_total{{provider="{provider}"}}'] > 0
        assert values[f'ingest_billing_published_slices{{provider="{provider}"}}'] >= 1
    assert values['ingest_tasks_failed_total{provider="aws"}'] >= 1  # the refused data file
    assert values['ingest_queue_depth{queue="billing.fetch"}'] >= 0
    assert all(values[f'ingest_console_source_up{{source="{s}"}}'] == 1
               for s in ("warehouse", "airflow_metadata", "broker"))


def test_no_stack_secret_in_task_logs_xcom_or_metrics(stack, demo_runs):
    state, env = stack
    secrets = {name: value for name, value in state.secrets.items() if len(value) >= 8}
    assert {"fernet_key", "jwt_secret", "sandbox_client_secret", "admin_password"} <= set(secrets)
    logs = list((state.airflow_home / "logs").rglob("*.log"))
    assert len(logs) > 20
    admin = {"Authorization": "Bearer " + token(state.api_url, ADMIN_USER, state.admin_password)}
    metrics_text = requests.get(f"{state.api_url}{CONSOLE}/metrics", headers=admin, timeout=60).text
    meta = env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].replace("postgresql+psycopg2://", "postgresql://")
    with psycopg.connect(meta) as conn:
        xcoms = [json.dumps(v) for (v,) in conn.execute("SELECT value FROM xcom")]
    assert len(xcoms) > 10
    places = {str(p): p.read_text(errors="replace") for p in logs}
    places["xcom"], places["metrics"] = "\n".join(xcoms), metrics_text
    leaks = [(name, where) for name, value in secrets.items() for where, text in places.items()
             if value in text]
    assert leaks == []


def test_task_log_lines_carry_the_slice_and_progress(stack, demo_runs):
    state, _ = stack
    logs = [p for p in (state.airflow_home / "logs").rglob("*.log")
            if "dag_id=billing_azure_cost" in str(p) and "task_id=normalize" in str(p)]
    assert logs
    lines = [json.loads(line) for path in logs for line in path.read_text().splitlines()
             if line.startswith("{")]
    ours = [line for line in lines if str(line.get("logger", "")).startswith(("ingest.", "include."))]
    assert any(line["event"] == "progress done" and line["rows"] > 0 for line in ours)
    for line in ours:
        assert {"provider", "account", "period", "version", "chunk"} <= set(line), line
