"""The ILS's own rate limit, like Alma's per-second threshold (25 calls/s by default).

Every API request (admin ones aside) is an arrival. An arrival when `threshold` others
already arrived within the last `window_s` is refused with 429 (the Alma envelope
`PER_SECOND_THRESHOLD`; with `Retry-After` when `retry_after` is set, as Alma itself
documents none). The log keeps every arrival so tests can check what the clients did:
`summary()` gives the most arrivals (attempted) and the most granted requests seen in any
window, and how many were throttled.
"""
from __future__ import annotations

import bisect
import collections
import threading
import time


class PerSecondThreshold:
    def __init__(self, threshold: int | None, window_s: float = 1.0, retry_after: str | None = None,
                 clock=time.monotonic) -> None:
        self.threshold, self.window_s, self.retry_after = threshold, window_s, retry_after
        self.clock = clock
        self._lock = threading.Lock()
        self._granted: collections.deque[float] = collections.deque()
        self.arrivals: list[float] = []
        self.granted_log: list[float] = []
        self.throttled = 0

    def admit(self) -> bool:
        """Record an arrival; False when it is over the threshold (answer 429)."""
        now = self.clock()
        with self._lock:
            self.arrivals.append(now)
            if self.threshold is None:
                self.granted_log.append(now)
                return True
            while self._granted and self._granted[0] <= now - self.window_s:
                self._granted.popleft()
            if len(self._granted) >= self.threshold:
                self.throttled += 1
                return False
            self._granted.append(now)
            self.granted_log.append(now)
            return True

    @staticmethod
    def _max_in_window(times: list[float], window: float) -> int:
        best = 0
        for i, t in enumerate(times):
            best = max(best, bisect.bisect_left(times, t + window, lo=i) - i)
        return best

    def summary(self) -> dict:
        with self._lock:
            arrivals, granted = list(self.arrivals), list(self.granted_log)
        span = (arrivals[-1] - arrivals[0]) if len(arrivals) > 1 else 0.0
        return {"threshold": self.threshold, "window_s": self.window_s,
                "arrivals": len(arrivals), "granted": len(granted), "throttled": self.throttled,
                "max_attempted_in_window": self._max_in_window(arrivals, self.window_s),
                "max_granted_in_window": self._max_in_window(granted, self.window_s),
                "span_s": round(span, 3)}

    def clear(self) -> None:
        with self._lock:
            self._granted.clear()
            self.arrivals, self.granted_log, self.throttled = [], [], 0
