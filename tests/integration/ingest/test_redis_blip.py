"""A Redis restart while a fetch takes a rate-limit token is a transient error: the retry
loop backs off, Redis comes back, and the same call succeeds (it used to fail the chunk
for good as an unclassified error)."""
import time

import redis

from devstack.credentials import redis_url
from devstack.servers import LocalRedis
from devstack.state import free_port
from include.ingest.http.client import resilient_request
from include.ingest.http.ratelimit import SharedRateLimiter


class _Ok:
    status_code, headers = 200, {}


def test_a_redis_restart_during_a_fetch_is_retried(tmp_path):
    server = LocalRedis(tmp_path, free_port())
    server.start()
    try:
        limiter = SharedRateLimiter(redis.Redis.from_url(redis_url(tmp_path, server.port),
                                                         socket_timeout=5),
                                    f"blip-{time.time_ns()}", limit=10, window_s=1.0)
        sends, decisions = [], []

        def send():
            sends.append(limiter.acquire())  # the Azure client takes its quota inside send
            return _Ok()

        server.stop()  # Redis is down (restart, failover) when the fetch starts

        def sleep(_delay):  # the backoff: Redis is back by the time it ends
            server.start()

        response = resilient_request(send, url="https://management.azure.com/query",
                                     sleep=sleep, on_decision=lambda a, d: decisions.append(d))
    finally:
        server.stop()
    assert isinstance(response, _Ok) and len(sends) == 1
    assert [d.action.value for d in decisions] == ["retry"]
    assert "transient ConnectionError" in decisions[0].reason
