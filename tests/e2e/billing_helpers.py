"""Helpers for billing end-to-end tests: run a DAG over REST (the AWS CUR DAG unless `dag`
says otherwise), read the warehouse and the sandbox's goldens, call a sandbox server's
admin API, kill the Celery pool process running a task."""
import os
import signal
import time

import psutil
import requests

from devstack.demo import REAL_CUR, sandbox_golden  # noqa: F401 (REAL_CUR re-exported)
from devstack.demo import slice_snapshot as demo_slice_snapshot

DAG = "billing_aws_cur"
PAYER = "111122223333"


def trigger(airflow, conf, dag=DAG):
    airflow.wait_for_dag(dag)
    airflow.unpause(dag)
    return airflow.trigger(dag, conf)


def run(airflow, conf, timeout=600, dag=DAG):
    run_id = trigger(airflow, conf, dag)
    return run_id, airflow.wait_for_run(dag, run_id, timeout)


def states(airflow, run_id, dag=DAG):
    return {(t["task_id"], t["map_index"]): t["state"] for t in airflow.task_instances(dag, run_id)}


def golden(env, provider, period, account=PAYER):
    return sandbox_golden(env, provider, period, account)


def sandbox(env, method, path, server="aws", **kwargs):
    """The admin API of one sandbox server (faults, goldens: any; requests: that server's
    log; quota: azure)."""
    response = requests.request(method, f"{env[f'SANDBOX_{server.upper()}_URL']}/_sandbox/{path}",
                                timeout=30, **kwargs)
    response.raise_for_status()
    return response.json() if response.content else None


def slice_snapshot(env, period, account=PAYER, provider="aws"):
    """Published rows of the slice (key, version, BilledCost) + quarantine count."""
    return demo_slice_snapshot(env, period, account, provider)


def assert_exact(env, period, provider, column, account=PAYER):
    """The slice in the warehouse equals the sandbox golden of its latest delivery."""
    rows, quarantined = slice_snapshot(env, period, account)
    expected = golden(env, provider, period, account)
    assert len(rows) + quarantined == expected["rows"]
    assert len({r[0] for r in rows}) == len(rows), "duplicate idempotency keys"
    assert {r[1] for r in rows} == {expected["version"]}
    if quarantined == 0:
        assert sum(r[2] for r in rows) == __import__("decimal").Decimal(expected["sums"][column])
    return rows


def kill_worker_running(pid: int) -> int:
    """SIGKILL the Celery pool process running task process `pid`, with its children (a
    worker process dying mid-task: OOM killer, node loss). Returns the killed pid."""
    proc = psutil.Process(pid)
    while proc.parent() and "celery worker" not in " ".join(proc.parent().cmdline()):
        proc = proc.parent()
    victims = [proc, *proc.children(recursive=True)]
    for victim in victims:
        try:
            os.kill(victim.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return proc.pid


def wait_for_task_running(airflow, run_id, task_id, timeout=300, dag=DAG):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for ti in airflow.task_instances(dag, run_id):
            if ti["task_id"] == task_id and ti["state"] == "running" and ti.get("pid"):
                return ti
        time.sleep(0.3)
    raise AssertionError(f"{task_id} never ran with a pid in {run_id}")
