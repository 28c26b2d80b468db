"""Celery queues as the operator needs them: depth in the broker and the live workers
that consume each one (asked over the broker, like `devstack/celery_health.py`).

Depth is Redis `LLEN` of the queue's lists: kombu's Redis transport keeps one list per
queue and priority step (`name`, `name\\x06\\x163`, …), so the lists are summed.
"""
from __future__ import annotations

import time

from include.ingest.queues import QUEUES

PRIORITY_SEPARATOR = "\x06\x16"
PRIORITY_STEPS = (3, 6, 9)  # kombu's defaults besides 0, which is the bare name
INSPECT_TIMEOUT_S = 1.0
CACHE_S = 10.0  # inspect broadcasts to every worker; a page refresh should not re-ask at once

_cache: dict[str, tuple[float, dict]] = {}


def broker_url() -> str:
    from airflow.configuration import conf
    return conf.get("celery", "broker_url")


def queue_depths(url: str, queues: tuple[str, ...] = QUEUES) -> dict[str, int]:
    """Messages waiting per queue in a Redis broker (0 for a queue with no list yet)."""
    import redis

    client = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
    try:
        pipe = client.pipeline()
        for queue in queues:
            pipe.llen(queue)
            for step in PRIORITY_STEPS:
                pipe.llen(f"{queue}{PRIORITY_SEPARATOR}{step}")
        counts = pipe.execute()
    finally:
        client.close()
    per_queue = 1 + len(PRIORITY_STEPS)
    return {queue: sum(counts[i * per_queue:(i + 1) * per_queue]) for i, queue in enumerate(queues)}


def workers_by_queue() -> dict[str, list[dict]]:
    """queue → [{worker, active}] of the live workers consuming it (cached CACHE_S)."""
    cached = _cache.get("workers")
    if cached and time.monotonic() - cached[0] < CACHE_S:
        return cached[1]
    from airflow.providers.celery.executors.celery_executor import app

    inspect = app.control.inspect(timeout=INSPECT_TIMEOUT_S)
    consumed = inspect.active_queues() or {}
    active = inspect.active() or {}
    result: dict[str, list[dict]] = {}
    for worker, queues in sorted(consumed.items()):
        for queue in queues:
            result.setdefault(queue["name"], []).append(
                {"worker": worker, "active": len(active.get(worker) or [])})
    _cache["workers"] = (time.monotonic(), result)
    return result


def queues_overview() -> list[dict]:
    """Every queue of the suite: depth, consuming workers (a queue with none is a stall)."""
    depths = queue_depths(broker_url())
    workers = workers_by_queue()
    return [{"queue": queue, "depth": depths.get(queue, 0), "workers": workers.get(queue, [])}
            for queue in QUEUES]
