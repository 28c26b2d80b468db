"""A chunk that fails for good goes to the DLQ with its descriptor; the replay steps load it,
publish the slice exactly, and resolve the entry (the DAG runs these same functions)."""
import pytest

from include.ingest.billing import pipeline, replay
from include.ingest.billing.normalize.aws_cur import normalize_batch
from include.ingest.billing.sources import aws_cur
from include.ingest.errors import PermanentError
from include.ingest.billing.store.publish import PublishError
from tests.integration.billing.run_cur import PAYER, report

pytestmark = pytest.mark.integration


def test_failed_chunk_is_dead_lettered_then_replayed_exactly(sandbox, s3, billing_env):
    sv, chunks, source = aws_cur.find_delivery(s3, report(sandbox), "2024-01", PAYER)
    planned = pipeline.plan(sv, [{**c, "conn_id": "unused"} for c in chunks], source, "run-1")
    sandbox.set_faults("aws.get:403:nth=1")  # the first data file: access denied, for good
    for i, chunk in enumerate(planned["chunks"]):
        try:
            landed = aws_cur.fetch(s3, chunk, sv)
        except PermanentError as exc:
            assert i == 0 and "403" in str(exc)
            continue
        pipeline.persist(pipeline.normalize(chunk, landed.to_json(), normalize_batch,
                                            aws_cur.read_batches))
    sandbox.clear_faults()
    with pytest.raises(PublishError, match="expected 3 loaded chunks, got 2"):
        pipeline.publish_slice(planned)
    with pytest.raises(PermanentError) as closed:  # the DAG's last task: the run must not end green
        pipeline.close_run(planned, "billing_aws_cur", "run-1")
    first = planned["chunks"][0]["chunk_id"]
    assert f"got ledger state 'loading': 1 chunk(s) did not load ({first}; recorded in billing.dlq" in str(closed.value)

    entries = replay.open_dlq_entries(None, "billing_aws_cur")
    assert [e["chunk"]["chunk_id"] for e in entries] == [planned["chunks"][0]["chunk_id"]]
    # the replay DAG's steps, with the sandbox client standing in for the connection
    fetched = [{"id": e["id"], "chunk": e["chunk"],
                "landed": aws_cur.fetch(s3, e["chunk"], sv).to_json()} for e in entries]
    persisted = [pipeline.persist(replay.replay_normalize(f)) for f in fetched]
    [published] = replay.publish_replayed(persisted)
    assert published["status"] == "published" and published["dlq_resolved"] == 1
    golden = sandbox.golden("aws-cur", "2024-01")
    assert published["rows_in"] == golden["rows"]
    state = billing_env.execute("SELECT state, resolution FROM billing.dlq").fetchall()
    assert [s for s, _ in state] == ["resolved"]
    assert replay.open_dlq_entries(None, None) == []
    assert pipeline.close_run(planned, "billing_aws_cur", "run-1")["ledger_state"] == "published"  # green now


def test_a_run_without_a_plan_or_with_a_refused_publish_fails_at_its_last_task(sandbox, s3, billing_env):
    with pytest.raises(PermanentError, match="expected a plan, got none; the plan task failed"):
        pipeline.close_run(None, "billing_azure_cost", "run-2")
    sv, chunks, source = aws_cur.find_delivery(s3, report(sandbox), "2024-01", PAYER)
    planned = pipeline.plan(sv, [{**c, "conn_id": "unused"} for c in chunks], source, "run-2")
    for chunk in planned["chunks"]:
        landed = aws_cur.fetch(s3, chunk, sv)
        pipeline.persist(pipeline.normalize(chunk, landed.to_json(), normalize_batch, aws_cur.read_batches))
    with pytest.raises(PermanentError, match="got ledger state 'loading': publish did not complete"):
        pipeline.close_run(planned, "billing_aws_cur", "run-2")  # every chunk loaded, publish not run
    assert replay.open_dlq_entries(None, None) == []
