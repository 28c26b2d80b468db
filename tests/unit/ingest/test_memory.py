"""The Arrow pool the workers run with (include/ingest/memory.py): jemalloc when the stack's
environment is applied before pyarrow loads, and a warning that says the fix otherwise."""
import logging
import os
import subprocess
import sys

from devstack.state import ROOT
from include.ingest import memory

PROBE = ("import logging, sys; logging.basicConfig(stream=sys.stdout); "
         "from include.ingest.memory import use_returning_pool; print(use_returning_pool())")


def _probe(pool: str | None) -> str:
    env = {k: v for k, v in os.environ.items() if k != "ARROW_DEFAULT_MEMORY_POOL"}
    if pool:
        env["ARROW_DEFAULT_MEMORY_POOL"] = pool
    return subprocess.run([sys.executable, "-c", PROBE], env={**env, "PYTHONPATH": str(ROOT)},
                          capture_output=True, text=True, check=True).stdout


def test_the_stack_environment_gives_workers_jemalloc():
    assert _probe(memory.EXPECTED).strip() == "jemalloc"


def test_without_it_the_task_warns_with_the_setting_to_add():
    out = _probe("mimalloc")
    assert "expected jemalloc, got mimalloc; set ARROW_DEFAULT_MEMORY_POOL=jemalloc" in out
    assert out.strip().endswith("mimalloc")


def test_in_this_process_the_call_reports_the_pool_in_use(caplog):
    with caplog.at_level(logging.WARNING):
        name = memory.use_returning_pool()
    assert (name == "jemalloc") == (not caplog.records)
