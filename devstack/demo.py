"""`make demo`: run the project's DAGs on the local stack over the REST API, print a summary.

Today the suite's runnable DAG is `stack_selfcheck` (mapped probes on a non-default Celery
queue plus one probe per queue); billing and catalog DAGs join this list as they land.
"""
from __future__ import annotations

import time

from devstack.api import AirflowClient
from devstack.celery_health import celery_executions
from devstack.state import ADMIN_PASSWORD, ADMIN_USER, StackState

DEMO_RUNS = [
    ("stack_selfcheck", {"chunks": 8}),
]


def run_and_report(client: AirflowClient, env: dict, dag_id: str,
                   conf: dict) -> tuple[bool, list[str]]:
    client.wait_for_dag(dag_id)
    client.unpause(dag_id)
    started = time.monotonic()
    run_id = client.trigger(dag_id, conf, note="make demo")
    run = client.wait_for_run(dag_id, run_id)
    tis = client.task_instances(dag_id, run_id)
    by_queue: dict[str, int] = {}
    for ti in tis:
        by_queue[ti["queue"]] = by_queue.get(ti["queue"], 0) + 1
    mapped = [ti for ti in tis if ti["map_index"] >= 0]
    time.sleep(2)  # Celery writes its result a moment after Airflow marks the task done
    celery = celery_executions(env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"], dag_id, run_id)
    per_worker: dict[str, int] = {}
    for _, worker, _ in celery.values():
        per_worker[worker] = per_worker.get(worker, 0) + 1
    lines = [f"{dag_id}  run {run_id}: {run['state'].upper()} in {time.monotonic() - started:.0f}s",
             f"  task instances: {len(tis)} ({len(mapped)} mapped); executed by Celery "
             f"workers: {len(celery)}/{len(tis)} ("
             + ", ".join(f"{w}={n}" for w, n in sorted(per_worker.items())) + ")",
             "  per queue: " + ", ".join(f"{q}={n}" for q, n in sorted(by_queue.items())),
             "  hosts: " + ", ".join(sorted({ti['hostname'] or '?' for ti in tis}))]
    failed = [f"{ti['task_id']}[{ti['map_index']}]={ti['state']}" for ti in tis
              if ti["state"] != "success"]
    if failed:
        lines.append("  not successful: " + ", ".join(failed))
    if dag_id == "stack_selfcheck" and run["state"] == "success":
        lines.append(f"  summary: {client.xcom(dag_id, run_id, 'summarize')}")
    if len(celery) != len(tis):
        lines.append(f"  NOT on Celery: {sorted(set((t['task_id'], t['map_index']) for t in tis) - set(celery))}")
    return run["state"] == "success" and len(celery) == len(tis), lines


def run_demo(env: dict, state: StackState) -> int:
    client = AirflowClient(state.api_url, ADMIN_USER, ADMIN_PASSWORD)
    ok, report = True, []
    for dag_id, conf in DEMO_RUNS:
        run_ok, lines = run_and_report(client, env, dag_id, conf)
        ok, report = ok and run_ok, report + lines
    print("\n==================== demo summary ====================")
    print("\n".join(report))
    print(f"\nAirflow UI stays up at {state.api_url} (login {ADMIN_USER} / {ADMIN_PASSWORD}); "
          f"`make down` stops the stack.")
    return 0 if ok else 1
