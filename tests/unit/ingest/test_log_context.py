"""Bound ids appear as fields on every structlog line (stdlib records too, as Airflow's
task logging merges contextvars for both), and a long step logs progress by the clock."""
import json
import time

import pytest
import structlog

from include.ingest.log_context import bind_from_descriptor, progress

SLICE = {"provider": "aws", "billing_account": "111122223333", "billing_period": "2024-01",
         "version": "asm-1", "version_at": "2024-02-01T00:00:00+00:00"}


@pytest.fixture
def json_lines():
    """structlog configured like a task process: contextvars merged, JSON rendered."""
    lines: list[dict] = []

    def keep(_, __, event):
        lines.append(json.loads(json.dumps(event, default=str)))
        raise structlog.DropEvent

    structlog.configure(processors=[structlog.contextvars.merge_contextvars, keep])
    structlog.contextvars.clear_contextvars()
    yield lines
    structlog.contextvars.clear_contextvars()
    structlog.reset_defaults()


def test_a_chunk_descriptor_binds_slice_version_and_chunk_on_every_line(json_lines):
    bound = bind_from_descriptor({"slice": SLICE, "chunk_id": "c-0003", "path": "x"})
    assert bound == {"provider": "aws", "account": "111122223333", "period": "2024-01",
                     "version": "asm-1", "chunk": "c-0003"}
    log = structlog.get_logger("t")
    log.info("first")
    log.info("second", rows=5)
    assert len(json_lines) == 2
    for line in json_lines:
        assert {k: line[k] for k in bound} == bound


def test_a_fetch_result_binds_the_chunk_it_carries(json_lines):
    fetched = {"chunk": {"slice": SLICE, "chunk_id": "c-0007"}, "landed": {"path": "p"}}
    assert bind_from_descriptor(fetched)["chunk"] == "c-0007"
    structlog.get_logger("t").info("normalizing")
    assert (json_lines[0]["provider"], json_lines[0]["chunk"]) == ("aws", "c-0007")


def test_a_catalog_batch_binds_its_id(json_lines):
    assert bind_from_descriptor({"batch_id": "9f-0002", "batch_no": 2}) == {"batch": "9f-0002"}
    structlog.get_logger("t").info("parsed")
    assert json_lines[0]["batch"] == "9f-0002"


def test_progress_lines_come_by_the_clock_with_rows_and_rate(json_lines):
    bind_from_descriptor({"slice": SLICE, "chunk_id": "c-1"})
    with progress("normalize", every_s=0.05) as done:
        for _ in range(4):
            done.add(1000)
            time.sleep(0.06)
    ticks = [line for line in json_lines if line["event"] == "progress"]
    final = [line for line in json_lines if line["event"] == "progress done"]
    assert len(ticks) >= 2 and len(final) == 1
    assert final[0]["rows"] == 4000 and final[0]["rows_per_s"] > 0
    assert all(line["chunk"] == "c-1" and line["step"] == "normalize" for line in ticks + final)


def test_the_default_interval_is_ten_seconds_at_most():
    from include.ingest import log_context
    assert log_context.PROGRESS_EVERY_S <= 10
