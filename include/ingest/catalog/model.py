"""What every catalog reader yields: a parsed record or a bad-record value, never an exception.

A reader never stops a file at a bad record (DESIGN.md §6): it yields `BadRecord` with the
exact bytes, where they are in the file and why they were rejected, and goes on with the
next record. `ordinal` is the record's position in the file (0-based, counting bad
records too, like FOLIO's `sourceRecordOrder`), so the result log accounts for every record.
"""
from __future__ import annotations

from dataclasses import dataclass, field

FORMATS = ("marc21", "marcxml", "jsonld")
MARC = "marc"  # content is MARC-in-JSON: {"leader": str, "fields": [{tag: …}, …]}
BIBFRAME = "bibframe"  # content is an expanded JSON-LD graph: [node, …]


@dataclass(slots=True)
class ParsedRecord:
    ordinal: int
    offset: int  # byte offset of the record's first byte in the file
    raw: bytes  # the record's bytes as read (kept for the DLQ if a later stage rejects it)
    kind: str  # MARC | BIBFRAME
    content: dict | list
    encoding: str = "utf-8"  # how the input was encoded: utf-8 | marc-8
    encoding_guessed: bool = False  # leader/09 said MARC-8 but the bytes are UTF-8
    warnings: list[str] = field(default_factory=list)  # char errors, repairs, ISO 2709 limits


@dataclass(slots=True)
class BadRecord:
    ordinal: int
    offset: int
    raw: bytes
    reason: str  # says what was expected, what was found, and what to do


class CatalogInputError(ValueError):
    """A whole input cannot be read (unknown format, unsupported encoding); nothing was
    written. Per-record problems never raise: they are `BadRecord`s."""
