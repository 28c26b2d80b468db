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
