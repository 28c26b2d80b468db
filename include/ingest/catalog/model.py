"""What every catalog reader yields: a parsed record or a bad-record value, never an exception.

A reader never stops a file at a bad record (docs/architecture.md §6): it yields `BadRecord` with the
exact bytes, where they are in the file and why they were rejected, and goes on with the
next record. `ordinal` is the record's position in the file (0-based, counting bad
records too, like FOLIO's `sourceRecordOrder`), so the result log accounts for every record.
"""
from __future__ import annotations

from dataclasses import dataclass, field

FORMATS = ("marc21", "marcxml", "jsonld")
MARC = "marc"  # kept as UTF-8 ISO 2709 bytes; MARC-in-JSON ({"leader", "fields"}) on demand
BIBFRAME = "bibframe"  # kept as an expanded JSON-LD graph: [node, …]

# (001, 003, 005, [035 $a …], [020 $a …]) as read: the inputs of keys.marc_keys_from
KeyFields = tuple


class Loss(str):
    """A warning that says text was lost (a MARC-8 character no table maps, a non-ASCII
    leader byte): the record is stored, with U+FFFD or a blank in its place, and flagged
    `lossy` in its result row and the run summary. A plain str everywhere else."""

    __slots__ = ()


@dataclass(slots=True)
class ParsedRecord:
    ordinal: int
    offset: int  # byte offset of the record's first byte in the file
    raw: bytes  # the record's bytes as read (kept for the DLQ if a later stage rejects it)
    kind: str  # MARC | BIBFRAME
    marc: bytes | None = None  # MARC: the record as UTF-8 ISO 2709 — what the store keeps
    # (None for a record ISO 2709 cannot hold, > 99,999 bytes: kept as `decoded` JSON)
    graph: list | None = None  # BIBFRAME: the expanded JSON-LD graph
    key_fields: KeyFields | None = None  # MARC: what the match keys are computed from
    encoding: str = "utf-8"  # how the input was encoded: utf-8 | marc-8 | ascii | XML's
    encoding_guessed: bool = False  # leader/09 said MARC-8 but the bytes are UTF-8
    warnings: list[str] = field(default_factory=list)  # char errors, repairs
    decoded: dict | None = None  # MARC-in-JSON, when the reader already built it

    @property
    def lossy(self) -> bool:
        return any(isinstance(w, Loss) for w in self.warnings)

    @property
    def content(self) -> dict | list:
        """MARC-in-JSON (decoded on first use: the pipeline itself never needs it) or the
        BIBFRAME graph."""
        if self.kind != MARC:
            return self.graph
        if self.decoded is None:
            from include.ingest.catalog.iso2709 import decode_record
            self.decoded = decode_record(self.marc)[0]
        return self.decoded


@dataclass(slots=True)
class BadRecord:
    ordinal: int
    offset: int
    raw: bytes
    reason: str  # says what was expected, what was found, and what to do


class CatalogInputError(ValueError):
    """A whole input cannot be read (unknown format, unsupported encoding); nothing was
    written. Per-record problems never raise: they are `BadRecord`s."""
