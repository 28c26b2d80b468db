"""A catalog store on the session's real PostgreSQL, emptied per test, and a Bloom filter
of its own in the session's real Redis."""
import uuid

import psycopg
import pytest
import redis

from include.ingest.catalog.bloom import BloomFilter
from include.ingest.catalog.screen import last_commit_seq

CATALOG_TABLES = ("catalog.records", "catalog.record_versions", "catalog.record_keys",
                  "catalog.record_results", "catalog.dlq", "catalog.batches")


@pytest.fixture
def catalog(warehouse_url):
    """A connection to the session's warehouse with the catalog tables emptied first."""
    with psycopg.connect(warehouse_url) as conn:
        conn.execute(f"TRUNCATE {', '.join(CATALOG_TABLES)} RESTART IDENTITY")
        conn.commit()
        yield conn


@pytest.fixture
def redis_client(redis_url):
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


@pytest.fixture
def bloom(redis_client, catalog):
    """A ready, empty filter (the catalog is empty, so empty is complete through its last
    commit: commit_seq is not reset between tests)."""
    bloom = BloomFilter(redis_client, name=f"test:bloom:{uuid.uuid4().hex}", capacity=100_000)
    bloom.mark_ready(last_commit_seq(catalog))
    yield bloom
    bloom.drop()
