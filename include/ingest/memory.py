"""Arrow's memory pool for tasks that stream big files (normalize, persist).

pyarrow's default pool (mimalloc) keeps freed pages: a 5M-row CUR grew the task's peak RSS
~1.5× over a 1M-row one although Arrow never held more than ~300 MiB at a time; glibc's
malloc did the same. jemalloc gives the pages back and peak RSS stays flat (`make bench`,
`billing_rss_ratio_5m_1m`). Arrow reads `ARROW_DEFAULT_MEMORY_POOL` once, when pyarrow is
first imported, so it is set in the worker environment (devstack/env.py, docker-compose,
bench); here we only check it and cover what Python-level calls allocate.
"""
from __future__ import annotations

import logging

import pyarrow as pa

log = logging.getLogger(__name__)
EXPECTED = "jemalloc"


def use_returning_pool() -> str:
    """Check the process uses jemalloc; warn (once per call site run) with the fix if not.
    Returns the backend name of Arrow's default pool."""
    name = pa.default_memory_pool().backend_name
    if name != EXPECTED:
        try:
            pa.set_memory_pool(pa.jemalloc_memory_pool())  # Python-level allocations only
        except NotImplementedError:
            pass
        log.warning("Arrow memory pool: expected %s, got %s; set ARROW_DEFAULT_MEMORY_POOL=%s "
                    "in the worker environment, or peak RSS grows with the input size",
                    EXPECTED, name, EXPECTED)
    return name
