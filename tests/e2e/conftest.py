"""The real local stack for end-to-end tests: PostgreSQL, Redis, Airflow on Celery.

It runs in its own directory (`.local/test-stack`) on free ports, so it never touches a
demo stack that is already up, and is stopped when the session ends.
"""
import os
import subprocess
import sys

import pytest

from devstack.api import AirflowClient
from devstack.env import stack_env
from devstack.state import ADMIN_USER, ROOT, StackState

TEST_STACK_HOME = ROOT / ".local" / "test-stack"


def _devstack(command: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    env["AIRFLOW_API_PORT"] = "0"  # any free port: 8080 belongs to the demo
    # a killed worker's task is detected in ~30 s instead of 5 min (airflow3-notes §7.5)
    env["AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT"] = "30"
    env["AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL"] = "5"
    return subprocess.run([sys.executable, "-m", "devstack", command, "--home",
                           str(TEST_STACK_HOME)], env=env, cwd=ROOT, text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=900)


@pytest.fixture(scope="session")
def stack():
    started = _devstack("up")
    if started.returncode != 0:
        _devstack("down")
        pytest.fail(f"devstack up failed:\n{started.stdout[-4000:]}")
    state = StackState.load(TEST_STACK_HOME)
    try:
        yield state, stack_env(state)
    finally:
        stopped = _devstack("down")
        print(stopped.stdout[-2000:])


@pytest.fixture(scope="session")
def airflow(stack):
    state, _ = stack
    return AirflowClient(state.api_url, ADMIN_USER, state.admin_password)
