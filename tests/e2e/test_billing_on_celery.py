"""AWS CUR → FOCUS on the real stack (Celery workers, sandbox S3, PostgreSQL): exact,
idempotent, and unchanged by faults, a killed worker and a REST clear (issue 4 §1–§3)."""
import threading

import pytest

from tests.e2e.billing_helpers import (
    DAG, REAL_CUR, assert_exact, golden, kill_worker_running, run, sandbox, slice_snapshot,
    states, wait_for_task_running)

pytestmark = pytest.mark.e2e
CUR1_COST = "lineItem/NetUnblendedCost"


def test_real_cur_sample_is_exact_and_a_rerun_changes_nothing(stack, airflow):
    _, env = stack
    run_id, result = run(airflow, REAL_CUR)
    assert result["state"] == "success", states(airflow, run_id)
    rows = assert_exact(env, "2023-11", "aws-cur", "lineItem/UnblendedCost",
                        REAL_CUR["billing_account"])
    assert len(rows) == 1281
    before = slice_snapshot(env, "2023-11", REAL_CUR["billing_account"])
    run_id, result = run(airflow, REAL_CUR)
    assert result["state"] == "success"
    assert airflow.xcom(DAG, run_id, "publish")["status"] == "already_published"
    assert slice_snapshot(env, "2023-11", REAL_CUR["billing_account"]) == before


def test_faults_on_a_fifth_of_s3_reads_change_nothing(stack, airflow):
    _, env = stack
    sandbox(env, "POST", "faults", json={"seed": 5, "rules": [
        {"endpoint": "aws.get", "fault": "500", "rate": 0.2},
        {"endpoint": "aws.get", "fault": "reset", "rate": 0.2},
        {"endpoint": "aws.get", "fault": "truncate", "rate": 0.2}]})
    try:
        run_id, result = run(airflow, {"layout": "cur1", "billing_period": "2024-01"}, 900)
        fired = sandbox(env, "GET", "faults")
    finally:
        sandbox(env, "DELETE", "faults")
    assert result["state"] == "success", states(airflow, run_id)
    assert sum(rule["fired"] for rule in fired["rules"]) > 0
    assert_exact(env, "2024-01", "aws-cur", CUR1_COST)


def test_clearing_a_failed_chunk_over_rest_completes_the_slice_exactly(stack, airflow):
    _, env = stack
    sandbox(env, "POST", "faults", json={"rules": [
        {"endpoint": "aws.get", "fault": "403", "nth": [3]}]})  # one data file: AccessDenied
    try:
        run_id, result = run(airflow, {"layout": "cur1", "billing_period": "2024-02"})
    finally:
        sandbox(env, "DELETE", "faults")
    assert result["state"] == "failed"
    failed = [key for key, state in states(airflow, run_id).items() if state == "failed"
              and key[0] == "fetch"]
    assert len(failed) == 1
    assert slice_snapshot(env, "2024-02")[0] == []  # nothing half-published
    airflow.clear(DAG, run_id, [list(failed[0])])
    result = airflow.wait_for_run(DAG, run_id, 600)
    assert result["state"] == "success", states(airflow, run_id)
    assert_exact(env, "2024-02", "aws-cur", CUR1_COST)


def test_killing_the_worker_during_persist_then_the_retry_is_exact(stack, airflow):
    _, env = stack
    airflow.wait_for_dag(DAG)
    airflow.unpause(DAG)
    run_id = airflow.trigger(DAG, {"layout": "cur1", "billing_period": "2024-03"})
    ti = wait_for_task_running(airflow, run_id, "persist")
    kill_worker_running(ti["pid"])
    result = airflow.wait_for_run(DAG, run_id, 900)
    assert result["state"] == "success", states(airflow, run_id)
    tries = [t["try_number"] for t in airflow.task_instances(DAG, run_id)
             if t["task_id"] == "persist" and t["map_index"] == ti["map_index"]]
    assert tries and tries[0] >= 2, "the killed persist should have been retried"
    assert_exact(env, "2024-03", "aws-cur", CUR1_COST)


def test_restatement_and_two_simultaneous_runs_leave_one_version(stack, airflow):
    _, env = stack
    old_version = golden(env, "aws-cur", "2024-01")["version"]
    restated = sandbox(env, "POST", "restate", json={"month": "2024-01", "layout": "cur1"})
    assert restated["version"] != old_version
    results = []

    def one_run():
        results.append(run(airflow, {"layout": "cur1", "billing_period": "2024-01"}, 900))
    threads = [threading.Thread(target=one_run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [r["state"] for _, r in results] == ["success", "success"]
    statuses = sorted(airflow.xcom(DAG, run_id, "publish")["status"] for run_id, _ in results)
    assert statuses == ["already_published", "published"]
    rows = assert_exact(env, "2024-01", "aws-cur", CUR1_COST)
    assert {r[1] for r in rows} == {restated["version"]}
