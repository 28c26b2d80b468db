"""`make demo`: run the project's DAGs on the local stack over the REST API, print a summary.

Runs: the stack self-check; AWS CUR → FOCUS for the real anonymized CUR sample and for
generated legacy-CUR and CUR 2.0 months from the provider sandbox, each checked against the
sandbox's golden totals (rows, exact Decimal sums), then one slice again to show a re-run
changes nothing; Azure Cost Management and GCP BigQuery months (reconciled at publish
against the provider's own totals); and a real MARC-8 vendor file into the catalog.
"""
from __future__ import annotations

import shutil
import time
from decimal import Decimal
from pathlib import Path

import requests

from devstack.api import AirflowClient
from devstack.celery_health import celery_executions
from devstack.state import ADMIN_USER, ROOT, StackState

REAL_CUR = {"layout": "cur1", "prefix": "user", "report": "user-cur",
            "billing_account": "123412340534", "billing_period": "2023-11"}
DEMO_RUNS = [
    ("stack_selfcheck", {"chunks": 8}, None),
    ("billing_aws_cur", REAL_CUR, ("aws-cur", "lineItem/UnblendedCost")),
    ("billing_aws_cur", {"layout": "cur1", "billing_period": "2024-01"},
     ("aws-cur", "lineItem/NetUnblendedCost")),
    ("billing_aws_cur", {"layout": "cur2", "prefix": "cur2", "report": "sandbox-cur2",
                         "billing_period": "2024-02"}, ("aws-cur2", "line_item_net_unblended_cost")),
    ("billing_aws_cur", REAL_CUR, ("aws-cur", "lineItem/UnblendedCost")),  # re-run: no change
    ("billing_azure_cost", {"billing_period": "2024-01"}, None),
    ("billing_gcp_export", {"billing_period": "2024-01"}, None),
    ("catalog_ingest", {"source": "61PRINT160129.mrc",  # staged into the inbox (catalog_inbox)
                        "format": "marc21", "batch_size": 500}, None),
]
CATALOG_FILE = ROOT / "tests/fixtures/library/folio-data-import/61PRINT160129.mrc"
# the task whose return value summarizes each DAG's run
SUMMARY_TASK = {"stack_selfcheck": "summarize", "billing_azure_cost": "publish",
                "billing_gcp_export": "publish", "catalog_ingest": "summarize"}


def sandbox_golden(env: dict, provider: str, period: str, account: str) -> dict:
    """The sandbox's golden expectation (rows, exact sums, version) of a slice's latest
    delivery."""
    return requests.get(f"{env['SANDBOX_AWS_URL']}/_sandbox/golden", timeout=10, params={
        "provider": provider, "period": period, "account": account, "latest": 1}
    ).json()["goldens"][0]


def slice_snapshot(env: dict, period: str, account: str, provider: str = "aws") -> tuple[list[tuple], int]:
    """What the warehouse holds for a slice: its published rows (idempotency key, version,
    BilledCost) and the quarantined rows of the published version."""
    import psycopg
    with psycopg.connect(env["INGEST_DB_URL"]) as conn:
        rows = conn.execute(
            "SELECT x_idempotency_key, x_version, billed_cost FROM billing.line_items "
            "WHERE x_provider = %s AND x_billing_account = %s AND x_billing_period = %s "
            "ORDER BY 1", (provider, account, period)).fetchall()
        quarantined = conn.execute(
            "SELECT count(*) FROM billing.quarantine q JOIN billing.ledger l USING (load_id) "
            "WHERE l.state = 'published' AND l.provider = %s AND l.billing_account = %s "
            "AND l.billing_period = %s", (provider, account, period)).fetchone()[0]
    return rows, quarantined


def golden_check(env: dict, golden_spec, published: dict, conf: dict) -> tuple[bool, list[str]]:
    """Compare the warehouse with the sandbox's golden expectation of the delivered slice."""
    provider, column = golden_spec
    account = conf.get("billing_account", "111122223333")
    golden = sandbox_golden(env, provider, conf["billing_period"], account)
    published_rows, quarantined = slice_snapshot(env, conf["billing_period"], account)
    rows, keys = len(published_rows), len({key for key, _, _ in published_rows})
    billed = sum((cost for _, _, cost in published_rows), Decimal(0))
    expected_sum = Decimal(golden["sums"][column])
    ok = (rows + quarantined == golden["rows"] and keys == rows
          and (quarantined > 0 or billed == expected_sum))
    return ok, [f"  publish: {published['status']}; warehouse: {rows} rows (distinct keys {keys}) + "
                f"{quarantined} quarantined = {rows + quarantined}, golden {golden['rows']} rows; "
                f"Σ BilledCost {billed.normalize()} vs golden Σ {column} "
                f"{expected_sum.normalize()} → {'EXACT' if billed == expected_sum else 'see quarantine'}"
                + ("" if ok else "  ✗ MISMATCH")]


def brief(summary) -> str:
    """A one-line view of a summary XCom: counts and statuses, reconciliation verdicts."""
    if not isinstance(summary, dict):
        return str(summary)[:400]
    shown = {k: v for k, v in summary.items() if not isinstance(v, (list, dict))}
    checks = summary.get("reconciliation")
    if isinstance(checks, list):
        shown["reconciliation"] = ", ".join(f"{c.get('measure')} {c.get('status')}" for c in checks)
    return str(shown)[:600]


def run_and_report(client: AirflowClient, env: dict, dag_id: str, conf: dict,
                   golden_spec) -> tuple[bool, list[str]]:
    client.wait_for_dag(dag_id)
    client.unpause(dag_id)
    started = time.monotonic()
    run_id = client.trigger(dag_id, conf, note="make demo")
    run = client.wait_for_run(dag_id, run_id, timeout=900)
    tis = client.task_instances(dag_id, run_id)
    by_queue: dict[str, int] = {}
    for ti in tis:
        if ti["state"] != "skipped":
            by_queue[ti["queue"]] = by_queue.get(ti["queue"], 0) + 1
    ran = [ti for ti in tis if ti["state"] != "skipped"]
    mapped = [ti for ti in ran if ti["map_index"] >= 0]
    time.sleep(2)  # Celery writes its result a moment after Airflow marks the task done
    celery = celery_executions(env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"], dag_id, run_id)
    per_worker: dict[str, int] = {}
    for _, worker, _ in celery.values():
        per_worker[worker] = per_worker.get(worker, 0) + 1
    lines = [f"{dag_id} {conf}\n  run {run_id}: {run['state'].upper()} in "
             f"{time.monotonic() - started:.0f}s",
             f"  task instances run: {len(ran)} ({len(mapped)} mapped); executed by Celery "
             f"workers: {len(celery)}/{len(ran)} ("
             + ", ".join(f"{w}={n}" for w, n in sorted(per_worker.items())) + ")",
             "  per queue: " + ", ".join(f"{q}={n}" for q, n in sorted(by_queue.items()))]
    failed = [f"{ti['task_id']}[{ti['map_index']}]={ti['state']}" for ti in tis
              if ti["state"] not in ("success", "skipped")]
    if failed:
        lines.append("  not successful: " + ", ".join(failed))
    if len(celery) != len(ran):
        lines.append("  NOT on Celery: " + str(sorted(
            {(t["task_id"], t["map_index"]) for t in ran} - set(celery))))
    if run["state"] == "success" and dag_id in SUMMARY_TASK:
        lines.append("  summary: " + brief(client.xcom(dag_id, run_id, SUMMARY_TASK[dag_id])))
    golden_ok = True
    if run["state"] == "success" and golden_spec:
        golden_ok, more = golden_check(env, golden_spec, client.xcom(dag_id, run_id, "publish"),
                                       conf)
        lines += more
    return run["state"] == "success" and len(celery) == len(ran) and golden_ok, lines


def catalog_inbox(env: dict, conf: dict) -> dict:
    """The catalog file copied into the stack's inbox root (a catalog source may only be in
    the landing zone or an inbox root), and `conf` naming it there."""
    inbox = Path(env["INGEST_INBOX_ROOTS"].split(",")[0].strip())
    inbox.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(CATALOG_FILE, inbox / conf["source"])
    return {**conf, "source": str(inbox / conf["source"])}


def run_demo(env: dict, state: StackState) -> int:
    client = AirflowClient(state.api_url, ADMIN_USER, state.admin_password)
    ok, report = True, []
    for dag_id, conf, golden_spec in DEMO_RUNS:
        if dag_id == "catalog_ingest":
            conf = catalog_inbox(env, conf)
        run_ok, lines = run_and_report(client, env, dag_id, conf, golden_spec)
        ok, report = ok and run_ok, report + lines
        print("\n".join(lines), flush=True)
    print("\n==================== demo summary ====================")
    print("\n".join(report))
    print(f"\nAirflow UI stays up at {state.api_url} (login {ADMIN_USER}, password from "
          f"`.venv/bin/python -m devstack password`); "
          f"`make down` stops the stack. Warehouse: psql \"$INGEST_DB_URL\" "
          f"(`set -a; . {state.home}/stack.env`), tables billing.line_items, billing.ledger, "
          f"billing.quarantine, billing.dlq; view billing.focus.")
    return 0 if ok else 1
