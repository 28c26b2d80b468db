"""Print, as JSON, the queues each live Celery worker consumes ({worker: [queue, …]}).

Run with the stack's environment; it asks the workers themselves over the broker, so a
worker that is up but not consuming shows up as missing queues.
"""
from __future__ import annotations

import json


def main() -> None:
    from airflow.providers.celery.executors.celery_executor import app

    replies = app.control.inspect(timeout=3).active_queues() or {}
    print(json.dumps({worker: sorted(q["name"] for q in queues)
                      for worker, queues in replies.items()}))


if __name__ == "__main__":
    main()


def celery_executions(metadata_url: str, dag_id: str, run_id: str) -> dict:
    """(task_id, map_index) → (Celery status, worker, queue) for a DAG run.

    The executor's own record: the task instance's Celery task id (metadata DB) joined to
    Celery's result backend table, which the worker writes (`result_extended` adds worker
    and queue). A task instance with no row here did not go through Celery.
    """
    import psycopg

    url = metadata_url.replace("postgresql+psycopg2://", "postgresql://")
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT ti.task_id, ti.map_index, c.status, c.worker, c.queue "
            "FROM task_instance ti JOIN celery_taskmeta c ON c.task_id = ti.external_executor_id "
            "WHERE ti.dag_id = %s AND ti.run_id = %s", (dag_id, run_id)).fetchall()
    return {(task_id, idx): (status, worker, queue) for task_id, idx, status, worker, queue in rows}
