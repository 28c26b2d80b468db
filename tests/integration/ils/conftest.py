"""The ILS emulator (the outside world) over real HTTP, a catalog store on the session's
real PostgreSQL, the shared rate limiter in the session's real Redis."""
import uuid

import psycopg
import pytest
import redis

from include.ingest.http.backoff import Backoff
from include.ingest.http.errors import RetrySettings
from include.ingest.ils.client import FolioClient, IlsSettings
from sandbox import Sandbox

TABLES = ("catalog.records", "catalog.record_versions", "catalog.record_keys",
          "catalog.record_results", "catalog.dlq", "catalog.batches", "ils.sync_state")
# short waits: the emulator's Retry-After is 0-1 s; the table's behaviour is what counts
FAST = RetrySettings(backoff=Backoff(0.05, 0.5), throttle_jitter_s=0.05)


@pytest.fixture
def store(warehouse_url):
    with psycopg.connect(warehouse_url) as conn:
        conn.execute(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY")
        conn.commit()
        yield conn


@pytest.fixture
def ils():
    with Sandbox(providers=("ils",), ils_rate_limit=40, ils_retry_after="0") as sb:
        yield sb


@pytest.fixture
def settings(ils):
    e = ils.endpoints["ils"]
    return IlsSettings(url=e["url"], tenant=e["tenant"], username=e["username"],
                       password=e["password"], rate_limit_per_s=40, batch_size=250)


@pytest.fixture
def client_factory(settings, redis_url):
    made = []

    def make(limiter_key: str | None = None, **overrides):
        s = IlsSettings(**{**settings.__dict__, **overrides})
        r = redis.Redis.from_url(redis_url)
        limiter = FolioClient.shared_limiter(r, s)
        # no other test's tokens; a test that resumes a killed process's work shares its key,
        # as every worker shares one limiter in production
        limiter.key = limiter_key or f"ratelimit:test:{uuid.uuid4().hex}"
        client = FolioClient(s, limiter, retry=FAST)
        made.append(client)
        return client
    yield make
    for c in made:
        c.close()
