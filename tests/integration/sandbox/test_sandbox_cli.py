"""The CLI as honcho runs it: foreground process, ready JSON on stdout and in --ready-file,
clean exit on SIGTERM; and the `golden` subcommand agrees with the served goldens."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from sandbox import Sandbox

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[3]


def _env():
    return {**os.environ, "PYTHONPATH": str(ROOT)}


def test_serve_prints_ready_json_and_stops_on_sigterm(tmp_path):
    ready = tmp_path / "ready.json"
    proc = subprocess.Popen(
        [sys.executable, "-m", "sandbox", "serve", "--host", "127.0.0.1", "--aws-port", "0", "--azure-port", "0",
         "--gcp-port", "0", "--seed", "5", "--scale", "50", "--faults", "gcp.tabledata:503:first=1",
         "--ready-file", str(ready)],
        cwd=ROOT, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        info = json.loads(line)
        assert info["ready"] is True and json.loads(ready.read_text()) == info
        for name in ("aws", "azure", "gcp"):
            assert requests.get(f"{info[name]['url']}/_sandbox/health", timeout=5).json()["ok"] is True
        g = info["gcp"]
        data = f"{g['api_root']}/projects/{g['project']}/datasets/{g['dataset']}/tables/{g['table']}/data"
        assert requests.get(data, timeout=5).status_code == 503  # --faults applied
        assert requests.get(data, timeout=5).status_code == 200
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
        assert json.loads(proc.stdout.readline()) == {"stopped": True}
        assert not ready.exists()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_bad_fault_spec_exits_with_a_message():
    proc = subprocess.run([sys.executable, "-m", "sandbox", "serve", "--faults", "azure.query:teapot"],
                          cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "expected fault one of" in proc.stderr


def test_golden_subcommand_matches_served_goldens():
    proc = subprocess.run([sys.executable, "-m", "sandbox", "golden", "--seed", "9", "--scale", "40",
                           "--providers", "aws,azure,gcp"], cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    printed = {(g["provider"], g["period"]): g for g in json.loads(proc.stdout)["goldens"]}
    with Sandbox(seed=9, scale=40) as sb:
        for (provider, period), golden in printed.items():
            served = sb.golden(provider, period, version=0)
            assert {k: v for k, v in served.items() if k != "info"} == {k: v for k, v in golden.items() if k != "info"}
    assert len(printed) == 8  # aws-cur, aws-cur2, azure, gcp x 2 months
