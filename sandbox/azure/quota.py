"""Per-tenant QPU quota of the Cost Management Query API, with a log tests can audit.

Limits (manage-automation.md): 12 QPU / 10 s, 60 QPU / min, 600 QPU / h per tenant; a query
costs one QPU per month of data. A request that would exceed any window is refused (429)
with the number of seconds until it would fit. Every attempt is logged (granted or not), so
``summary()`` can show both what the server granted and what clients *tried*: a
well-behaved client has ``throttled == 0`` and ``max_attempted_qpu_10s <= 12``.
"""
from __future__ import annotations

import collections
import math
import threading
import time
from typing import Any, Callable


class QpuQuota:
    def __init__(self, limits: tuple[tuple[int, int], ...], clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = tuple(sorted(limits))  # (window seconds, QPU)
        self.clock = clock
        self._lock = threading.Lock()
        self._granted: dict[str, collections.deque[tuple[float, int]]] = {}
        self.log: list[dict[str, Any]] = []

    def _used(self, events: collections.deque[tuple[float, int]], now: float, window: int) -> int:
        return sum(q for t, q in events if t > now - window)

    def charge(self, tenant: str, qpu: int, path: str = "") -> tuple[bool, int, dict[str, int]]:
        """Try to spend ``qpu``: (granted, retry_after_seconds, remaining per window)."""
        with self._lock:
            now = self.clock()
            events = self._granted.setdefault(tenant, collections.deque())
            horizon = max(w for w, _ in self.limits)
            while events and events[0][0] <= now - horizon:
                events.popleft()
            wait = 0.0
            for window, limit in self.limits:
                used = self._used(events, now, window)
                if used + qpu > limit:
                    wait = max(wait, self._wait(events, now, window, limit - qpu))
            granted = wait == 0.0
            if granted:
                events.append((now, qpu))
            remaining = {f"{w}s": limit - self._used(events, now, w) for w, limit in self.limits}
            retry_after = 0 if granted else max(1, math.ceil(wait))
            self.log.append({"t": now, "wall": time.time(), "tenant": tenant, "qpu": qpu, "granted": granted,
                             "retry_after": retry_after, "path": path})
            return granted, retry_after, remaining

    def _wait(self, events: collections.deque[tuple[float, int]], now: float, window: int, allowed: int) -> float:
        """Seconds until the QPU used in the window drops to ``allowed``."""
        in_window = [(t, q) for t, q in events if t > now - window]
        used = sum(q for _, q in in_window)
        for t, q in in_window:  # oldest first: each expiry frees its QPU
            used -= q
            if used <= allowed:
                return t + window - now
        return float(window)

    def summary(self) -> dict[str, Any]:
        """Per tenant: attempts, granted, throttled and the peak QPU in any window."""
        with self._lock:
            log = list(self.log)
        out: dict[str, Any] = {}
        for tenant in sorted({e["tenant"] for e in log}):
            mine = [e for e in log if e["tenant"] == tenant]
            peaks = {}
            for window, _ in self.limits:
                peaks[f"max_granted_qpu_{window}s"] = _peak([e for e in mine if e["granted"]], window)
                peaks[f"max_attempted_qpu_{window}s"] = _peak(mine, window)
            out[tenant] = {"attempts": len(mine), "granted": sum(e["granted"] for e in mine),
                           "throttled": sum(not e["granted"] for e in mine), **peaks}
        return {"limits": [{"seconds": w, "qpu": q} for w, q in self.limits], "tenants": out}

    def reset(self) -> None:
        with self._lock:
            self._granted.clear()
            self.log.clear()


def _peak(entries: list[dict[str, Any]], window: int) -> int:
    """Largest QPU sum over any ``window``-second span (entries in time order)."""
    best, total, start = 0, 0, 0
    for end, entry in enumerate(entries):
        total += entry["qpu"]
        while entries[start]["t"] <= entry["t"] - window:
            total -= entries[start]["qpu"]
            start += 1
        best = max(best, total)
    return best
