"""A rate limiter shared by every worker, in Redis (docs/architecture.md §5).

Providers state quotas as "N requests per W seconds per tenant" (Azure Cost Management:
12 QPU / 10 s). A classic token bucket refilling N/W per second lets 2N through in some
W-second window (a full bucket plus a window of refill), so this is the strict form: each
token comes back exactly W seconds after it was spent (a sliding-window log). One Lua
script takes the token atomically, on Redis' clock, so workers on different hosts with
skewed clocks still share one limit.

Two tiers: a short wait sleeps in the task; a wait over `max_wait_s` raises
`ThrottledError` so the attempt ends and Airflow retries after the wait.
"""
from __future__ import annotations

import time
import uuid
from collections.abc import Callable

import redis

from include.ingest.errors import ThrottledError

# KEYS[1] = window log; ARGV = limit, window_ms, member. Returns 0 when a token was taken,
# else the milliseconds until the oldest token in the window comes back.
_TAKE = """
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local window = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[1]) then
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], window)
  return 0
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return math.max(1, tonumber(oldest[2]) + window - now)
"""


class SharedRateLimiter:
    """At most `limit` acquisitions per `window_s` seconds for `name`, across processes."""

    def __init__(self, client: redis.Redis, name: str, limit: int, window_s: float,
                 max_wait_s: float = 60.0, sleep: Callable[[float], None] = time.sleep):
        if limit < 1 or window_s <= 0:
            raise ValueError(f"expected limit ≥ 1 and window_s > 0, got {limit}, {window_s}")
        self.client, self.key = client, f"ratelimit:{name}"
        self.limit, self.window_ms = int(limit), int(window_s * 1000)
        self.max_wait_s, self.sleep = max_wait_s, sleep
        self._take = client.register_script(_TAKE)

    def try_acquire(self, member: str | None = None) -> float:
        """Take a token now if one is free: returns 0.0, else the seconds to wait.
        `member` names the token (default: a random id) so `refund` can give it back."""
        wait_ms = self._take(keys=[self.key], args=[self.limit, self.window_ms,
                                                     member or uuid.uuid4().hex])
        return int(wait_ms) / 1000.0

    def acquire(self, member: str | None = None) -> float:
        """Block until a token is taken; returns the seconds waited.

        Raises ThrottledError (the attempt ends; Airflow retries later) when the total
        wait would exceed `max_wait_s`.
        """
        waited = 0.0
        while (wait := self.try_acquire(member)) > 0:
            if waited + wait > self.max_wait_s:
                raise ThrottledError(
                    f"rate limit {self.key}: expected a token within {self.max_wait_s:g} s, "
                    f"got a wait of {waited + wait:.1f} s; ending the attempt so the worker "
                    f"slot is freed", wait_s=wait)
            self.sleep(wait)
            waited += wait
        return waited

    def refund(self, member: str) -> None:
        """Give back the token `member` (taken with `acquire(member)`): for a call the
        provider refused without charging quota (a 429), so the refusal does not also
        cost a token here. Refunding a token that already left the window is a no-op."""
        self.client.zrem(self.key, member)
