"""A Bloom filter that lost recent writes — Redis restored from an older DUMP, an `everysec`
AOF that lost its last second, a failover to a lagging replica, a FLUSHALL — must never
make a known record look new: its high-water mark is behind PostgreSQL's last commit, so
its misses are not trusted, and it is rebuilt. Every scenario is played on the real Redis
(DUMP / RESTORE / FLUSHALL) and the real PostgreSQL."""
import uuid

from include.ingest.catalog import batches
from include.ingest.catalog.pipeline import ingest_batch, parse_batch
from include.ingest.catalog.plan import plan_batches
from include.ingest.catalog.screen import last_commit_seq, screen
from include.ingest.catalog.store import commit_batch
from tests.integration.catalog.ingest import FIXTURES, ingest

FILE = FIXTURES / "folio-data-import" / "100.mrc"


def _records_per_control_number(conn) -> dict:
    """How many live records hold each 001/003 control key (1 each, or a record is doubled)."""
    return dict(conn.execute(
        "SELECT k.value, count(DISTINCT k.record_id) FROM catalog.record_keys k "
        "JOIN catalog.records r USING (record_id) WHERE k.kind = 'control' "
        "AND r.current_version IS NOT NULL GROUP BY k.value"))


def _in_step(conn, bloom) -> bool:
    return bloom.complete_through() == last_commit_seq(conn)


def test_a_filter_restored_from_an_older_dump_does_not_create_a_record_twice(
        catalog, bloom, redis_client):
    dump = redis_client.dump(bloom.key)  # e.g. the last RDB/AOF state before a crash
    assert ingest(catalog, bloom, FILE)["created"] == 100
    redis_client.restore(bloom.key, 0, dump, replace=True)  # the ingest's writes are lost
    assert not _in_step(catalog, bloom)
    again = ingest(catalog, bloom, FILE)
    assert (again["created"], again["unchanged"]) == (0, 100)
    counts = _records_per_control_number(catalog)
    assert len(counts) == 100 and set(counts.values()) == {1}
    assert _in_step(catalog, bloom)  # the commit found it behind and rebuilt it
    assert ingest(catalog, bloom, FILE)["unchanged"] == 100


def test_a_flushall_between_screening_and_commit_loses_no_key(catalog, bloom, redis_client):
    run_id = f"run-{uuid.uuid4().hex[:8]}"
    (descriptor,) = plan_batches(str(FILE), run_id)
    batches.register(catalog, [descriptor])
    items = parse_batch(descriptor)
    screened = screen(catalog, items, bloom)  # the batch's keys reach the filter ...
    redis_client.flushall()  # ... and are lost
    batches.ensure_bloom_ready(catalog, bloom)  # another run's plan rebuilds it meanwhile
    assert commit_batch(catalog, descriptor, items, bloom, screened)["created"] == 100
    assert _in_step(catalog, bloom)
    again = ingest(catalog, bloom, FILE)  # every key must be in the filter again
    assert (again["created"], again["unchanged"]) == (0, 100)
    assert set(_records_per_control_number(catalog).values()) == {1}


def test_a_flushall_mid_run_ends_with_no_duplicates(catalog, bloom, redis_client):
    run_id = f"run-{uuid.uuid4().hex[:8]}"
    descriptors = plan_batches(str(FILE), run_id, batch_size=20, min_batch=1)
    assert len(descriptors) == 5
    batches.register(catalog, descriptors)
    for n, descriptor in enumerate(descriptors):
        if n == 2:
            redis_client.flushall()
        ingest_batch(catalog, descriptor, bloom)
    assert batches.run_summary(catalog, run_id)["created"] == 100
    assert _in_step(catalog, bloom)
    assert ingest(catalog, bloom, FILE, batch_size=20, min_batch=1)["unchanged"] == 100
    counts = _records_per_control_number(catalog)
    assert len(counts) == 100 and set(counts.values()) == {1}
