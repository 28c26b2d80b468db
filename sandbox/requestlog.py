"""Bounded, thread-safe request log behind ``GET /_sandbox/requests``.

Each entry: seq (arrival order), t (unix seconds), method, path, query, endpoint, status, fault, bytes (body
bytes actually sent), tenant, ms (handling time). Oldest entries drop after ``capacity``.
"""
from __future__ import annotations

import collections
import fnmatch
import threading
from typing import Any


class RequestLog:
    def __init__(self, capacity: int = 200_000) -> None:
        self._lock = threading.Lock()
        self._entries: collections.deque[dict[str, Any]] = collections.deque(maxlen=capacity)
        self._seq = 0

    def reserve(self) -> int:
        """A sequence number taken when the request arrives (entries sort by arrival)."""
        with self._lock:
            self._seq += 1
            return self._seq

    def append(self, entry: dict[str, Any]) -> None:
        if "seq" not in entry:
            entry["seq"] = self.reserve()
        with self._lock:
            self._entries.append(entry)

    def entries(self, endpoint: str | None = None, since: int = 0) -> list[dict[str, Any]]:
        """Entries with seq > since whose endpoint matches the glob (all when None)."""
        with self._lock:
            items = sorted(self._entries, key=lambda e: e["seq"])
        return [
            e
            for e in items
            if e["seq"] > since and (endpoint is None or fnmatch.fnmatchcase(e.get("endpoint") or "", endpoint))
        ]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
