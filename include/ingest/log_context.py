"""Task log context and progress lines (issue 15 §3).

Airflow 3 task logs are structlog JSON lines, and structlog's `merge_contextvars` runs for
every record — structlog's and stdlib `logging`'s alike — so values bound here become
fields of **every line** the task writes after that: provider, account, period, version,
chunk for billing; batch for the catalog (docs/airflow-ops-reference §4; stdlib `extra=`
would be dropped).

`progress()` logs how far a long step is (rows so far, rows/s) at least every
`PROGRESS_EVERY_S` seconds from a timer thread, so a step stuck inside one big batch still
shows it is alive, and once more when it ends.
"""
from __future__ import annotations

import contextvars
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import structlog

PROGRESS_EVERY_S = 10.0
log = structlog.get_logger("ingest.progress")


def bind_slice(slice_: dict | None, chunk_id: str | None = None) -> dict:
    """Bind a billing slice version (its `SliceVersion.to_json()` form) and chunk; returns
    what was bound. Never binds anything that is not one of these ids."""
    fields = {}
    if isinstance(slice_, dict):
        fields = {"provider": slice_.get("provider"), "account": slice_.get("billing_account"),
                  "period": slice_.get("billing_period"), "version": slice_.get("version")}
    if chunk_id is not None:
        fields["chunk"] = chunk_id
    fields = {k: v for k, v in fields.items() if v is not None}
    structlog.contextvars.bind_contextvars(**fields)
    return fields


def bind_from_descriptor(descriptor) -> dict:
    """Bind what a task's input descriptor names: a chunk or normalized dict or a plan
    (`slice`, `chunk_id`), a fetch result (its `chunk`), or a catalog batch (`batch_id`)."""
    if not isinstance(descriptor, dict):
        return {}
    if isinstance(descriptor.get("chunk"), dict):  # a fetch result: {"chunk": …, "landed": …}
        descriptor = descriptor["chunk"]
    fields = bind_slice(descriptor.get("slice"), descriptor.get("chunk_id"))
    if descriptor.get("batch_id"):
        structlog.contextvars.bind_contextvars(batch=descriptor["batch_id"])
        fields["batch"] = descriptor["batch_id"]
    return fields


class Progress:
    """A row counter a step advances with `add(n)`; read by the timer thread."""

    def __init__(self, step: str):
        self.step, self.rows, self.started = step, 0, time.monotonic()

    def add(self, rows: int) -> None:
        self.rows += rows

    def line(self, event: str = "progress") -> None:
        elapsed = time.monotonic() - self.started
        log.info(event, step=self.step, rows=self.rows, elapsed_s=round(elapsed, 1),
                 rows_per_s=round(self.rows / elapsed, 1) if elapsed > 0 else None)


@contextmanager
def progress(step: str, every_s: float = PROGRESS_EVERY_S) -> Iterator[Progress]:
    """Count rows of `step`; a progress line every `every_s` seconds and a final one.
    The timer runs in the caller's context copy, so its lines carry the bound fields."""
    counter, stop = Progress(step), threading.Event()
    context = contextvars.copy_context()

    def tick() -> None:
        while not stop.wait(every_s):
            context.run(counter.line)

    timer = threading.Thread(target=tick, name=f"progress-{step}", daemon=True)
    timer.start()
    try:
        yield counter
    finally:
        stop.set()
        timer.join()
        counter.line("progress done")
