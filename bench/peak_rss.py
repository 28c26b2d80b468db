"""Peak RSS of the current process, for benchmarks that run a task in a subprocess."""
from __future__ import annotations

import resource
import threading
import time


class PeakRss:
    """Peak resident set size of this process, sampled from /proc/self/statm.

    Not `ru_maxrss`: across fork + exec Linux keeps the parent's high-water mark in the
    child's (`setmax_mm_hiwater_rss` at exec), so a task started by a big parent (the bench
    after its raw COPY and baseline steps) would report the parent's peak, not its own."""

    def __init__(self, interval: float = 0.05):
        self.interval, self.peak = interval, self.now()
        threading.Thread(target=self._watch, daemon=True).start()

    @staticmethod
    def now() -> float:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * resource.getpagesize() / 2**20

    def _watch(self) -> None:
        while True:
            self.peak = max(self.peak, self.now())
            time.sleep(self.interval)

    def read(self) -> float:
        self.peak = max(self.peak, self.now())
        return self.peak
