"""The shared limiter against a real Redis, with several processes competing."""
import multiprocessing
import time

import pytest
import redis

from include.ingest.errors import ThrottledError
from include.ingest.http.ratelimit import SharedRateLimiter


def _worker(url, name, n, out):
    limiter = SharedRateLimiter(redis.Redis.from_url(url), name, limit=5, window_s=1.0)
    for _ in range(n):
        limiter.acquire()
        out.put(time.time())


def test_limit_holds_in_every_window_across_processes(redis_url):
    name = f"test-{time.time_ns()}"
    out = multiprocessing.Queue()
    procs = [multiprocessing.Process(target=_worker, args=(redis_url, name, 6, out))
             for _ in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(30)
    stamps = sorted(out.get(timeout=5) for _ in range(18))
    # strict sliding window: no 1-second window holds more than 5 acquisitions
    # (a small tolerance for the clock read after acquiring)
    for i, start in enumerate(stamps):
        in_window = [s for s in stamps[i:] if s < start + 1.0 - 0.02]
        assert len(in_window) <= 5, (i, in_window)
    assert stamps[-1] - stamps[0] >= 2.9  # 18 tokens at 5/s need at least three refills


def test_a_long_wait_ends_the_attempt(redis_url):
    client = redis.Redis.from_url(redis_url)
    limiter = SharedRateLimiter(client, f"t-{time.time_ns()}", limit=1, window_s=30,
                                max_wait_s=1)
    assert limiter.acquire() == 0
    with pytest.raises(ThrottledError, match="ending the attempt") as caught:
        limiter.acquire()
    assert 25 < caught.value.wait_s <= 30
