"""Query jobs and page tokens for the BigQuery emulator.

A job is the snapshot of one query: for ``SELECT *`` the matching table index runs (the table
is append-only, so indices stay valid after later appends) and any ``extra`` rows after them
(the ``extra-row`` fault), for aggregates the finished rows.
Page tokens are opaque base64 of {kind, id, offset}; a token from another job or table is a
400, as a foreign token is in BigQuery.
"""
from __future__ import annotations

import base64
import bisect
import itertools
import json
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from sandbox.gcp.rows import encode_row


@dataclass
class Job:
    job_id: str
    project: str
    location: str
    table: Any
    schema: dict[str, Any]
    runs: list[tuple[int, int]] | None = None  # SELECT *: table index ranges
    rows: list[list[dict[str, Any]]] | None = None  # aggregates: encoded rows
    statement: str = ""
    extra: list[Any] = field(default_factory=list)  # SELECT *: cores listed after the runs
    _offsets: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.runs is not None:
            self._offsets = list(itertools.accumulate((hi - lo for lo, hi in self.runs), initial=0))

    @property
    def total_rows(self) -> int:
        return self._offsets[-1] + len(self.extra) if self.runs is not None else len(self.rows or [])

    def page(self, offset: int, size: int, int64_timestamps: bool) -> list[dict[str, Any]]:
        end = min(offset + size, self.total_rows)
        if self.rows is not None:
            return [{"f": r} for r in self.rows[offset:end]]
        out = []
        for k in range(offset, end):
            if k >= self._offsets[-1]:
                out.append({"f": encode_row(self.extra[k - self._offsets[-1]], self.table.account, int64_timestamps)})
                continue
            run = bisect.bisect_right(self._offsets, k) - 1
            index = self.runs[run][0] + (k - self._offsets[run])
            out.append({"f": self.table.encoded(index, int64_timestamps)})
        return out


class JobStore:
    """The most recent jobs (older ones expire, as BigQuery's do)."""

    def __init__(self, capacity: int = 512) -> None:
        self._lock = threading.Lock()
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self._capacity = capacity
        self._counter = itertools.count(1)

    def new_id(self, seed: int) -> str:
        return f"job_sandbox_{seed}_{next(self._counter):06d}"

    def put(self, job: Job) -> None:
        with self._lock:
            self._jobs[job.job_id] = job
            while len(self._jobs) > self._capacity:
                self._jobs.popitem(last=False)

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            return self._jobs.get(job_id)


def make_token(kind: str, ident: str, offset: int) -> str:
    raw = json.dumps({"k": kind, "i": ident, "o": offset}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def read_token(token: str, kind: str, ident: str) -> int:
    """Offset in a token; raises ValueError with the reason when it is not ours."""
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        if data["k"] != kind or data["i"] != ident:
            raise ValueError(f"page token belongs to {data['k']} {data['i']}, not {kind} {ident}")
        return int(data["o"])
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"Invalid page token {token[:40]!r}: {exc}") from exc
