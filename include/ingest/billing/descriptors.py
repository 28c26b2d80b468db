"""The billing chain's XCom descriptors (plan → chunk → fetched → normalized → persisted,
and a replayed DLQ entry) as contracts checked where a task receives them
(include/ingest/descriptors.py says how)."""
from __future__ import annotations

from include.ingest.descriptors import Descriptor, received

__all__ = ["Chunk", "Fetched", "LandedFile", "Normalized", "Persisted", "Plan", "ReplayEntry",
           "Slice", "received"]


class Slice(Descriptor):
    """`SliceVersion.to_json()`: one delivery of one provider × account × period."""
    provider: str
    billing_account: str
    billing_period: str
    version: str
    version_at: str


class Plan(Descriptor):
    """The plan task's output: the slice, its ledger state, the delivery and its chunks."""
    slice: Slice
    state: str
    source: dict
    chunks: list[dict]


class Chunk(Descriptor):
    """One planned chunk (a data file, a query window, a partition)."""
    chunk_id: str
    slice: Slice
    format: str


class LandedFile(Descriptor):
    """`landing.LandedFile.to_json()`: raw bytes in the landing zone and their checksum."""
    path: str
    sha256: str
    size: int
    source: str
    landed_at: str


class Fetched(Descriptor):
    """The fetch task's output: the chunk and where its raw bytes landed."""
    chunk: Chunk
    landed: LandedFile


class Normalized(Descriptor):
    """The normalize task's output: the FOCUS Parquet and quarantine files of one chunk."""
    chunk_id: str
    slice: Slice
    rows_in: int
    rows_good: int
    rows_quarantined: int
    normalized: str
    quarantine: str
    source_file: str


class Persisted(Descriptor):
    """The persist task's output: what one chunk load stored."""
    chunk_id: str
    slice: Slice
    status: str
    rows_staged: int
    rows_quarantined: int
    billed_cost: str


class ReplayEntry(Descriptor):
    """An open DLQ entry being replayed: its id and the chunk it holds."""
    id: int
    chunk: Chunk
