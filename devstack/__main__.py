"""`python -m devstack up|down|status|env|demo|password` — the local stack's command line."""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from devstack import airflow_settings, processes
from devstack.env import needs_local_postgres, needs_local_redis, stack_env, write_env_file
from devstack.servers import LocalPostgres, LocalRedis, ServerError
from devstack.state import ADMIN_USER, ROOT, VIEWER_USER, StackState, write_private


def process_env(state: StackState) -> dict[str, str]:
    """The full environment for child processes: ours, the stack's, and the venv on PATH."""
    bindir = str(Path(sys.executable).parent)
    return {**os.environ, **stack_env(state), "PATH": f"{bindir}:{os.environ.get('PATH', '')}"}


def say(message: str) -> None:
    print(f"[devstack {time.strftime('%H:%M:%S')}] {message}", flush=True)


def seed_sandbox_data(state: StackState) -> None:
    """The sandbox serves real files from `<home>/sandbox-data` (its --data dir): seed it
    with the real anonymized CUR sample so the demo ingests real provider data. Users drop
    their own files there too (layout: sandbox/userdata.py)."""
    target = state.home / "sandbox-data" / "aws-cur"
    if not target.exists():
        target.mkdir(parents=True)
        shutil.copy(ROOT / "tests/fixtures/billing/aws-cur/sample-anonymous-aws-export-dataset.csv",
                    target)


def up(state: StackState) -> dict[str, str]:
    running = processes.honcho_pid(state) is not None
    first_start = "admin_password" not in state.secrets
    state.assign(running=running)
    if first_start:  # shown once; `python -m devstack password` shows it again
        say(f"generated the Airflow login {ADMIN_USER} / {state.admin_password} "
            f"(kept in {state.state_file}, mode 0600)")
    env = process_env(state)
    if needs_local_postgres():
        pg = LocalPostgres(state.home, state.ports["postgres"])
        say(f"PostgreSQL on 127.0.0.1:{pg.port} (data {pg.datadir}, binaries {pg.bindir})")
        pg.start()
        pg.ensure_databases("airflow", "warehouse")
    if needs_local_redis():
        say(f"Redis on 127.0.0.1:{state.ports['redis']}")
        LocalRedis(state.home, state.ports["redis"]).start()
    from include.ingest.persist.migrate import migrate
    applied = migrate(env["INGEST_DB_URL"])
    say(f"warehouse schema: {'applied ' + ', '.join(applied) if applied else 'up to date'}")
    seed_sandbox_data(state)
    write_env_file(state, stack_env(state))
    state.airflow_home.mkdir(parents=True, exist_ok=True)
    passwords = state.airflow_home / "simple_auth_manager_passwords.json"
    write_private(passwords, json.dumps({ADMIN_USER: state.admin_password,
                                        VIEWER_USER: state.viewer_password}))
    if not running:
        say("airflow db migrate")
        result = subprocess.run(["airflow", "db", "migrate"], env=env, capture_output=True,
                                text=True)
        if result.returncode != 0:
            raise ServerError(f"airflow db migrate failed: {result.stderr.strip()[-1500:]}")
        counts = airflow_settings.apply(ROOT / "airflow_settings.yaml", env,
                                        state.home / "tmp", "airflow")
        say(f"applied airflow_settings.yaml: {counts}")
        say("starting Airflow processes under honcho (Procfile)")
        processes.start_honcho(state, env)
    endpoints = processes.wait_for_sandbox(state)
    say("provider sandbox: " + ", ".join(f"{name} {info['url']}" for name, info in
                                          sorted(endpoints.items()) if isinstance(info, dict)
                                          and "url" in info))
    processes.wait_for_airflow(state)
    workers = processes.wait_for_workers(state, env)
    say("Celery workers: " + "; ".join(f"{w} → {','.join(q)}" for w, q in sorted(workers.items())))
    say(f"Airflow UI: {state.api_url}  (login {ADMIN_USER}; password: `python -m devstack "
        f"password`, kept in {state.state_file})")
    return env


def down(state: StackState) -> None:
    if processes.stop_honcho(state):
        say("stopped Airflow processes")
    if state.ports.get("redis") and needs_local_redis():
        LocalRedis(state.home, state.ports["redis"]).stop()
    if state.ports.get("postgres") and needs_local_postgres() and (state.home / "pgdata").exists():
        LocalPostgres(state.home, state.ports["postgres"]).stop()
    say("stack stopped (data kept in %s)" % state.home)


def status(state: StackState) -> int:
    pid = processes.honcho_pid(state)
    print(json.dumps({"home": str(state.home), "running": bool(pid), "honcho_pid": pid,
                      "api_url": state.api_url if state.ports else None,
                      "ports": state.ports}, indent=2))
    return 0 if pid else 3


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devstack", description=__doc__)
    parser.add_argument("command", choices=["up", "down", "status", "env", "demo", "password"])
    parser.add_argument("--home", type=Path, help="stack directory (default .local/stack)")
    args = parser.parse_args(argv)
    state = StackState.load(args.home)
    try:
        if args.command == "up":
            up(state)
        elif args.command == "down":
            down(state)
        elif args.command == "status":
            return status(state)
        elif args.command == "password":
            print(state.secrets.get("admin_password") or "no stack yet: run `make up` first")
        elif args.command == "env":
            print(write_env_file(state, stack_env(state)) if state.ports else "")
        elif args.command == "demo":
            from devstack.demo import run_demo
            return run_demo(up(state), state)
    except (ServerError, processes.HealthError, airflow_settings.SettingsError) as exc:
        print(f"devstack {args.command}: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
