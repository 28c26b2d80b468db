"""Print every DAG's wiring as JSON: per task its queue, pool, retries, retry delay and
policy, trigger rule, execution_timeout, operator and neighbours; per DAG its schedule and
params. For refactors that must not change behaviour: dump before, dump after, diff.

    PYTHONPATH=. .venv/bin/python -m tests.dags.dump_wiring > before.json
"""
from __future__ import annotations

import contextlib
import json
import sys


def wiring(dag_folder: str = "dags") -> dict:
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=dag_folder)
    if bag.import_errors:
        raise SystemExit(f"expected every DAG file to import, got errors: {bag.import_errors}")
    out = {}
    for dag_id, dag in sorted(bag.dags.items()):
        out[dag_id] = {
            "schedule": str(dag.schedule), "max_active_runs": dag.max_active_runs,
            "params": {name: repr(dag.params.get_param(name).value) for name in dag.params},
            "tasks": {t.task_id: {
                "queue": t.queue, "pool": t.pool, "retries": t.retries,
                "retry_delay": str(t.retry_delay), "trigger_rule": str(t.trigger_rule),
                "execution_timeout": str(t.execution_timeout),
                "retry_policy": type(getattr(t, "retry_policy", None)).__name__,
                "operator": type(t).__name__,
                "upstream": sorted(t.upstream_task_ids), "downstream": sorted(t.downstream_task_ids),
            } for t in sorted(dag.tasks, key=lambda t: t.task_id)},
        }
    return out


if __name__ == "__main__":
    with contextlib.redirect_stdout(sys.stderr):  # Airflow logs to stdout; only the JSON goes there
        found = wiring(*sys.argv[1:])
    json.dump(found, sys.stdout, indent=1, sort_keys=True)
    print()
