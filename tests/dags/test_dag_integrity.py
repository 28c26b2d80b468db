"""Every DAG imports cleanly and follows the suite's rules (tags, docs, retries, queues)."""
import ast
from pathlib import Path

import pytest

from include.ingest.queues import QUEUES

DAGS_DIR = Path(__file__).resolve().parents[2] / "dags"
DAG_FILES = sorted(p for p in DAGS_DIR.glob("*.py") if not p.name.startswith("_"))
# Heavy or I/O libraries that must not be imported at DAG parse time (style rule 2).
PARSE_TIME_FORBIDDEN = {"pandas", "pyarrow", "psycopg", "psycopg2", "redis", "boto3",
                        "requests", "pymarc", "lxml", "sqlalchemy"}


@pytest.fixture(scope="module")
def dagbag():
    from airflow.dag_processing.dagbag import DagBag
    bag = DagBag(dag_folder=str(DAGS_DIR))
    return bag


def test_dag_files_exist():
    assert DAG_FILES, f"expected DAG files in {DAGS_DIR}"


def test_no_import_errors(dagbag):
    assert dagbag.import_errors == {}
    assert len(dagbag.dags) >= len(DAG_FILES)


def test_every_dag_has_tags_docs_and_retries(dagbag):
    for dag_id, dag in dagbag.dags.items():
        assert dag.tags, f"{dag_id}: expected tags"
        assert dag.doc_md and len(dag.doc_md.strip()) > 40, f"{dag_id}: expected doc_md"
        for task in dag.tasks:
            assert task.retries >= 1, f"{dag_id}.{task.task_id}: expected retries ≥ 1"


def test_every_task_has_a_bounded_execution_timeout(dagbag):
    """A task that never ends (a source streaming forever, a hung socket) must not hold its
    worker slot for good; the values live in include/ingest/timeouts.py."""
    from datetime import timedelta
    for dag_id, dag in dagbag.dags.items():
        for task in dag.tasks:
            limit = task.execution_timeout
            assert limit is not None and timedelta(0) < limit <= timedelta(hours=6), (
                f"{dag_id}.{task.task_id}: expected an execution_timeout of at most 6 h, got {limit}")


def test_every_task_runs_on_a_known_queue(dagbag):
    for dag_id, dag in dagbag.dags.items():
        for task in dag.tasks:
            assert task.queue in QUEUES, (f"{dag_id}.{task.task_id}: expected a queue of "
                                          f"{QUEUES}, got {task.queue!r}")


@pytest.mark.parametrize("path", DAG_FILES, ids=lambda p: p.name)
def test_dag_files_import_nothing_heavy_at_module_level(path):
    tree = ast.parse(path.read_text())
    for node in tree.body:  # only module level: imports inside tasks are the point
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module]
        for name in names:
            assert name.split(".")[0] not in PARSE_TIME_FORBIDDEN, f"{path.name} imports {name}"


# What a DAG file may not pull in at parse time, however indirectly (through include/ingest):
# the dag-processor imports every DAG file every few seconds.
PARSE_TIME_FORBIDDEN_TREES = ("pyarrow", "psycopg", "psycopg2", "lxml", "boto3", "botocore",
                              "azure", "google.cloud", "pymarc", "pandas", "redis", "pgpq")
_IMPORT_PROBE = """
import importlib.util, json, sys
import airflow.sdk  # what every DAG file needs anyway; only the DAG's own additions count
before = set(sys.modules)
spec = importlib.util.spec_from_file_location("dag_under_test", sys.argv[1])
spec.loader.exec_module(importlib.util.module_from_spec(spec))
print(json.dumps(sorted(set(sys.modules) - before)))
"""


@pytest.mark.parametrize("path", DAG_FILES, ids=lambda p: p.name)
def test_dag_files_pull_in_nothing_heavy_transitively(path):
    import json
    import os
    import subprocess
    import sys

    root = DAGS_DIR.parent
    env = {**os.environ, "PYTHONPATH": f"{root}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    probe = subprocess.run([sys.executable, "-c", _IMPORT_PROBE, str(path)], cwd=root, env=env,
                           capture_output=True, text=True, timeout=120)
    assert probe.returncode == 0, f"{path.name}: expected a clean import, got {probe.stderr[-2000:]}"
    added = json.loads(probe.stdout.strip().splitlines()[-1])
    heavy = sorted({t for m in added for t in PARSE_TIME_FORBIDDEN_TREES
                    if m == t or m.startswith(t + ".")})
    assert heavy == [], f"{path.name}: expected no heavy imports at parse time, got {heavy}"


def test_every_task_has_the_one_retry_policy(dagbag):
    """One error vocabulary (include/ingest/errors.py), read by one policy in every DAG."""
    from include.ingest.retry_policy import IngestRetryPolicy
    for dag_id, dag in dagbag.dags.items():
        for task in dag.tasks:
            assert isinstance(task.retry_policy, IngestRetryPolicy), (
                f"{dag_id}.{task.task_id}: expected IngestRetryPolicy, got {task.retry_policy!r}")
