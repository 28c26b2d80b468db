"""The Airflow processes of the stack, run by honcho from the project's Procfile."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

from devstack.state import ROOT, StackState
from include.ingest.queues import QUEUES

VENV_BIN = Path(sys.executable).parent


class HealthError(RuntimeError):
    """A stack process did not become healthy; the message names it and its log."""


def honcho_pid(state: StackState) -> int | None:
    pidfile = state.home / "honcho.pid"
    if not pidfile.exists():
        return None
    pid = int(pidfile.read_text())
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    return pid if b"honcho" in cmdline else None


def start_honcho(state: StackState, env: dict[str, str]) -> int:
    """Start honcho in its own session (so `down` can stop the whole group); return its pid."""
    pid = honcho_pid(state)
    if pid:
        return pid
    state.logs.mkdir(parents=True, exist_ok=True)
    log = open(state.logs / "honcho.log", "ab")
    proc = subprocess.Popen(
        [str(VENV_BIN / "honcho"), "start", "-f", str(ROOT / "Procfile"), "-d", str(ROOT),
         "--no-colour"],
        env={**os.environ, **env, "PATH": f"{VENV_BIN}:{os.environ.get('PATH', '')}"},
        stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    (state.home / "honcho.pid").write_text(str(proc.pid))
    deadline = time.monotonic() + 10  # until exec() has replaced the forked interpreter
    while not honcho_pid(state) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    return proc.pid


def stop_honcho(state: StackState, timeout: float = 90.0) -> bool:
    """SIGTERM the honcho group (honcho forwards it), SIGKILL what is left after `timeout`."""
    pid = honcho_pid(state)
    if not pid:
        return False
    os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.killpg(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.5)
    else:
        os.killpg(pid, signal.SIGKILL)
    (state.home / "honcho.pid").unlink(missing_ok=True)
    return True


def api_health(state: StackState) -> dict:
    response = requests.get(f"{state.api_url}/api/v2/monitor/health", timeout=5)
    response.raise_for_status()
    return response.json()


def wait_for_airflow(state: StackState, timeout: float = 420.0) -> dict:
    """Wait until the api-server answers and reports metadatabase, scheduler, triggerer and
    dag-processor healthy. Returns the last health document."""
    deadline, last = time.monotonic() + timeout, "no answer"
    while time.monotonic() < deadline:
        if not honcho_pid(state):
            raise HealthError(f"the stack's processes exited; see {state.logs / 'honcho.log'}")
        try:
            health = api_health(state)
            unhealthy = [name for name, part in health.items()
                         if isinstance(part, dict) and part.get("status") != "healthy"]
            if not unhealthy:
                return health
            last = f"not yet healthy: {', '.join(unhealthy)}"
        except (requests.RequestException, ValueError) as exc:
            last = f"api-server not answering ({type(exc).__name__})"
        time.sleep(2)
    raise HealthError(f"expected Airflow healthy at {state.api_url} within {timeout:.0f}s, "
                      f"got {last}; see {state.logs / 'honcho.log'}")


def worker_queues(env: dict[str, str]) -> dict[str, list[str]]:
    result = subprocess.run([sys.executable, "-m", "devstack.celery_health"], env={
        **os.environ, **env}, capture_output=True, text=True, cwd=ROOT, timeout=120)
    if result.returncode != 0:
        return {}
    lines = result.stdout.strip().splitlines()
    return json.loads(lines[-1]) if lines else {}


def wait_for_workers(state: StackState, env: dict[str, str], timeout: float = 300.0) -> dict:
    """Wait until live Celery workers together consume every queue of the suite."""
    deadline, missing = time.monotonic() + timeout, set(QUEUES)
    while time.monotonic() < deadline:
        workers = worker_queues(env)
        missing = set(QUEUES) - {q for queues in workers.values() for q in queues}
        if not missing:
            return workers
        time.sleep(3)
    raise HealthError(f"expected Celery workers consuming every queue, got none for "
                      f"{sorted(missing)}; see {state.logs / 'honcho.log'}")


def wait_for_sandbox(state: StackState, timeout: float = 180.0) -> dict:
    """Wait for the provider sandbox's ready file (it writes it once every server listens)."""
    ready = state.home / "sandbox.ready"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ready.exists():
            return json.loads(ready.read_text())
        if not honcho_pid(state):
            break
        time.sleep(1)
    raise HealthError(f"expected the sandbox to write {ready} within {timeout:.0f}s; see "
                      f"{state.logs / 'honcho.log'} (lines prefixed 'sandbox')")
