"""Where a chunk's paging stands, and the guard that stops it from looping.

A ``Paginator`` is the explicit state of following one chunk's continuation tokens (Azure
``nextLink``, BigQuery ``pageToken``): the token for the next request, pages and rows done,
provider context (e.g. the BigQuery job id the tokens belong to), and digests of the tokens
already used. Sources are generators of pages that read ``token`` for their next
request and stop when ``done``; the caller ``accept``s each page *before* landing it, so a
looping provider is caught before anything is written.

Loop guard: a provider that hands back a token it already gave (the same page again, or
a cycle) would make a naive ``while next_token`` loop forever -- and silently duplicate
rows. ``accept`` raises ``PermanentError`` naming the token instead: a retry cannot fix
a provider's cursor, a person has to look. ``max_pages`` is a second, blunter backstop.

The state is saved after every page, so it stays bounded (saving every digest ever used
made a chunk of n pages write O(n²) bytes): it keeps the last ``SEEN_WINDOW`` digests,
which catch a repeated page or any short cycle at once, plus one Brent checkpoint — the
token of the last page whose number is a power of two — which catches a cycle of any
length within about twice its length (before much is landed, and the chunk then fails:
nothing is published). Within one task attempt every digest is also kept in memory.

The state round-trips through JSON (``to_state`` / ``from_state``) so it can be saved after
every page (include/ingest/billing/cursors.py) and a retried task resumes from the next page.
"""
from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from typing import Any

from include.ingest.errors import PermanentError

DEFAULT_MAX_PAGES = 100_000  # ~100M rows at 1,000 a page: far above any one chunk
SEEN_WINDOW = 256  # digests saved with the state: ~5 KB of JSON, whatever the page count


def token_digest(token: str) -> str:
    """Short, stable fingerprint of a token (tokens can be kilobytes; digests are 16 chars)."""
    return hashlib.sha256(token.encode()).hexdigest()[:16]


def _shown(token: str) -> str:
    return token if len(token) <= 120 else f"{token[:60]}…{token[-40:]}"


@dataclass
class Paginator:
    """State of one chunk's paging; see the module docstring for the contract."""

    label: str  # names the chunk in messages, e.g. "azure:12345678:2024-01:v1 chunk 0003"
    token: str | None = None  # continuation for the next request; None before page 1
    pages: int = 0  # pages accepted (and, once saved, landed)
    rows: int = 0
    done: bool = False
    context: dict[str, Any] = field(default_factory=dict)  # provider facts, e.g. {"job_id": ...}
    seen: list[str] = field(default_factory=list)  # digests of the last tokens used, in order
    checkpoint: list | None = None  # [digest, page] of the token of the last power-of-two page
    max_pages: int = DEFAULT_MAX_PAGES

    def __post_init__(self) -> None:
        self.seen = list(self.seen[-SEEN_WINDOW:])  # a state saved before the window existed
        first = self.pages - len(self.seen) + 1  # seen[k] fetched page first + k
        # every digest this attempt knows -> the page its token fetched (not saved)
        self._pages = {digest: first + k for k, digest in enumerate(self.seen)}
        if self.checkpoint:
            self._pages.setdefault(self.checkpoint[0], self.checkpoint[1])

    def accept(self, next_token: str | None, rows: int) -> int:
        """Record the page fetched with ``token``; returns its 1-based number.

        ``next_token`` is the page's continuation (None or "" = last page). Raises
        ``PermanentError`` when the provider repeats a token or the page count passes
        ``max_pages``; the state is left unchanged then.
        """
        if self.done:
            raise ValueError(f"{self.label}: expected no more pages after the last one, got another; "
                             "the source must stop when the paginator is done")
        if rows < 0:
            raise ValueError(f"{self.label}: expected a row count >= 0, got {rows}")
        page = self.pages + 1
        used = token_digest(self.token) if self.token else None
        if next_token:
            digest = token_digest(next_token)
            first = page if digest == used else self._pages.get(digest)
            if first is not None:
                raise PermanentError(
                    f"{self.label}: expected a new page token after page {page}, got token "
                    f"{_shown(next_token)!r} again (it already fetched page {first}); the provider's "
                    f"paging would loop forever and duplicate rows, so the chunk fails instead -- "
                    f"check the provider, then clear its cursor (billing.cursors) and re-run the task")
        if page > self.max_pages:
            raise PermanentError(f"{self.label}: expected at most {self.max_pages} pages, got more; "
                                 f"last token {_shown(self.token or '')!r}; split the chunk or raise max_pages")
        if used is not None:
            self._pages[used] = page
            self.seen.append(used)
            del self.seen[:-SEEN_WINDOW]
            if page & (page - 1) == 0:  # a power of two: Brent's next checkpoint
                self.checkpoint = [used, page]
        self.pages = page
        self.rows += rows
        self.token = next_token or None
        self.done = not next_token
        return self.pages

    def to_state(self) -> dict[str, Any]:
        state = asdict(self)  # dataclass fields only: the in-memory digest map is not saved
        state.pop("label")
        return state

    @classmethod
    def from_state(cls, label: str, state: dict[str, Any] | None) -> Paginator:
        """A paginator from saved state (None: a fresh one at page 1)."""
        if not state:
            return cls(label)
        known = {k: v for k, v in state.items() if k in cls.__dataclass_fields__ and k != "label"}
        return cls(label, **known)
