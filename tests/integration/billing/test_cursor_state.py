"""Chunk cursors on real Redis + PostgreSQL, and page landing that resumes from them."""
import json
import uuid
from datetime import datetime, timezone

import pytest
import redis

from include.ingest import landing
from include.ingest.billing.sources.pages import MANIFEST, Page, chunk_dir, land_pages, page_name, read_pages
from include.ingest.errors import TransientError
from include.ingest.billing.store.ledger import SliceVersion
from include.ingest.billing.cursors import ChunkCursor
from tests.integration.billing.cloud_env import cloud_env  # noqa: F401

pytestmark = pytest.mark.integration
SV = SliceVersion("gcp", "acct", "2024-01", f"v-{uuid.uuid4().hex[:8]}", datetime(2024, 2, 1, tzinfo=timezone.utc))


def test_saved_in_redis_and_postgres_and_reloaded_after_a_flush(cloud_env, redis_url):
    r, load = redis.Redis.from_url(redis_url), f"load-{uuid.uuid4().hex}"  # Redis outlives the test database
    with ChunkCursor(load, "c1", r) as cursor:
        assert cursor.load() is None
        cursor.save({"pages": 3, "rows": 30, "done": False, "token": "t3"})
        r.delete(f"cursor:{load}|c1")  # Redis lost it (flush, eviction, failover)
        assert cursor.load()["token"] == "t3"  # from PostgreSQL...
        assert json.loads(r.get(f"cursor:{load}|c1"))["token"] == "t3"  # ...and Redis is primed again
        cursor.save({"pages": 2, "rows": 20, "done": False, "token": "t2"})  # an older attempt's state
    row = cloud_env.execute("SELECT pages_landed, state->>'token' FROM billing.cursors").fetchone()
    assert row == (3, "t3") and json.loads(r.get(f"cursor:{load}|c1"))["token"] == "t3"  # never backwards


def test_one_fetcher_per_chunk(cloud_env, redis_url):
    with ChunkCursor("load-1", "c2", redis.Redis.from_url(redis_url)):
        with pytest.raises(TransientError, match="another worker"):
            with ChunkCursor("load-1", "c2", redis.Redis.from_url(redis_url)):
                pass
    with ChunkCursor("load-1", "c2", redis.Redis.from_url(redis_url)):  # released with the first
        pass


def _page(n, last):
    return Page(json.dumps({"n": n, "next": None if n == last else f"tok{n}"}).encode(), 10,
                None if n == last else f"tok{n}")


def _reread(body):
    doc = json.loads(body)
    return doc["next"], 10, {}


def test_a_page_landed_before_the_cursor_was_saved_is_not_fetched_again(cloud_env, redis_url):
    base = chunk_dir(SV, "c3")
    asked = []

    def source(paginator):
        while not paginator.done:
            asked.append(paginator.token)
            yield _page(paginator.pages + 1, last=4)

    with ChunkCursor(SV.load_id, "c3", redis.Redis.from_url(redis_url)) as cursor:
        cursor.save({"pages": 1, "rows": 10, "done": False, "token": "tok1", "seen": [], "context": {}})
    for n in (1, 2):  # page 2 landed, then the worker died before saving its cursor
        landing.land([_page(n, 4).body], base / page_name(n), "test")
    landed = land_pages(SV, {"chunk_id": "c3"}, source, _reread, "test-origin")
    assert asked == ["tok2", "tok3"]  # pages 3 and 4 only
    assert [json.loads(body)["n"] for _, body in read_pages(landed.path)] == [1, 2, 3, 4]
    assert landed.path.endswith(MANIFEST)
    again = land_pages(SV, {"chunk_id": "c3"}, source, _reread, "test-origin")  # a re-run: no-op
    assert again == landed and asked == ["tok2", "tok3"]
