"""A DAG run triggered over REST API v2 executes on Celery workers, mapped on a non-default
queue, and every queue of the suite is consumed by a live worker."""
import time

import pytest

from devstack.celery_health import celery_executions

from include.ingest.queues import BILLING_NORMALIZE, QUEUES, WORKER_GROUPS

pytestmark = pytest.mark.e2e


def test_selfcheck_run_executes_on_celery_workers(stack, airflow):
    state, env = stack
    chunks = 6
    airflow.wait_for_dag("stack_selfcheck")
    airflow.unpause("stack_selfcheck")
    run_id = airflow.trigger("stack_selfcheck", {"chunks": chunks}, note="e2e")
    run = airflow.wait_for_run("stack_selfcheck", run_id, timeout=600)
    tis = airflow.task_instances("stack_selfcheck", run_id)
    assert run["state"] == "success", [(t["task_id"], t["map_index"], t["state"]) for t in tis]

    mapped = [t for t in tis if t["task_id"] == "probe_chunk"]
    assert sorted(t["map_index"] for t in mapped) == list(range(chunks))
    assert {t["queue"] for t in mapped} == {BILLING_NORMALIZE}

    # The executor's own record: each task instance went through Celery, and the mapped
    # ones were consumed by the worker group that owns billing.normalize.
    # Celery records SUCCESS a moment after Airflow marks the task instance done.
    deadline = time.monotonic() + 60
    while True:
        results = celery_executions(env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"],
                                 "stack_selfcheck", run_id)
        done = {status for status, _, _ in results.values()} == {"SUCCESS"}
        if (done and len(results) == len(tis)) or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert len(results) == len(tis)
    assert {status for status, _, _ in results.values()} == {"SUCCESS"}
    cpu_group = next(g for g, spec in WORKER_GROUPS.items() if BILLING_NORMALIZE in spec["queues"])
    for i in range(chunks):
        status, worker, queue = results[("probe_chunk", i)]
        assert worker.startswith(f"{cpu_group}@") and queue == BILLING_NORMALIZE

    summary = airflow.xcom("stack_selfcheck", run_id, "summarize")
    assert summary["chunks"] == chunks
    assert summary["queues"] == sorted(QUEUES)
    assert {queue for _, _, queue in results.values()} == set(QUEUES)
