"""One batch end to end: read its byte range, key every record, commit it (docs/architecture.md §6).

This is what the mapped `marc21.parse` task runs, and what the benchmark measures. Parsing
happens before the store's transaction (it is the slow part), so batches of one run parse
in parallel and only their short commits take turns.
"""
from __future__ import annotations

import gc
import hashlib
import json
from contextlib import contextmanager
from collections.abc import Iterator
from typing import BinaryIO

import psycopg

from include.ingest.catalog.batches import record_failure
from include.ingest.catalog.bloom import BloomFilter
from include.ingest.catalog.canonical import json_digest, marc_digest
from include.ingest.catalog.jsonld import iter_jsonld
from include.ingest.catalog.keys import bibframe_keys, marc_keys_from
from include.ingest.catalog.marc import iter_marc
from include.ingest.catalog.marcxml import iter_marcxml
from include.ingest.catalog.model import MARC, BadRecord, CatalogInputError, ParsedRecord
from include.ingest.catalog.plan import open_source
from include.ingest.catalog.screen import Screening
from include.ingest.catalog.store import Prepared, commit_batch

# One encoder for every record: json.dumps(**options) would build a new one per call.
_ENCODE = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def read_batch(descriptor: dict, stream: BinaryIO) -> Iterator[ParsedRecord | BadRecord]:
    start, end, first = descriptor["start"], descriptor["end"], descriptor["first_ordinal"]
    fmt = descriptor["format"]
    if fmt == "marc21":
        # descriptors planned before the encoding param existed carry none: auto
        return iter_marc(stream, start, end, first, descriptor.get("encoding", "auto"))
    if fmt == "marcxml":
        return iter_marcxml(stream, start, end, first, descriptor["xml"])
    if fmt == "jsonld":
        return iter_jsonld(stream, start, end, first, descriptor["framing"])
    raise CatalogInputError(f"expected format marc21, marcxml or jsonld, got {fmt!r}")


def prepare(record: ParsedRecord) -> Prepared | BadRecord:
    """The stored form, its sha256 and the match keys. MARC records are stored as their
    UTF-8 ISO 2709 bytes, or as MARC-in-JSON when ISO 2709 cannot hold them, and hashed in
    their canonical form (canonical.py); a BIBFRAME graph becomes canonical JSON, and
    one PostgreSQL cannot store (a NUL character, a lone surrogate) becomes a BadRecord
    here, not a failed batch."""
    try:
        if record.kind == MARC and record.marc is not None:
            sha, stored_sha = marc_digest(record.marc)
            return Prepared(record.ordinal, record.offset, record.kind, None, record.marc,
                            marc_keys_from(record.key_fields, sha, stored_sha), record.encoding,
                            record.encoding_guessed, record.warnings)
        if record.kind == MARC:  # too long for ISO 2709
            text = _ENCODE(record.decoded)
            _no_nul(text)
            sha, stored_sha = json_digest(record.decoded, text)
            return Prepared(record.ordinal, record.offset, record.kind, text, None,
                            marc_keys_from(record.key_fields, sha, stored_sha), record.encoding,
                            record.encoding_guessed, record.warnings)
        text = _ENCODE(record.graph)
        sha = hashlib.sha256(text.encode("utf-8")).hexdigest()
        _no_nul(text)
        return Prepared(record.ordinal, record.offset, record.kind, text, None,
                        bibframe_keys(record.graph, sha), record.encoding,
                        record.encoding_guessed, record.warnings)
    except RecursionError:
        return BadRecord(record.ordinal, record.offset, record.raw,
                         "cannot store the record: it is nested too deeply to encode (expected "
                         "a catalog record a few levels deep); flatten it and re-ingest")
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        return BadRecord(record.ordinal, record.offset, record.raw, f"cannot store the record: "
                                                                    f"{exc}")


def _no_nul(text: str) -> None:
    if "\\u0000" in text:
        raise ValueError("expected no NUL character, got one (\\u0000, which PostgreSQL "
                         "cannot store); remove it and re-ingest")


def parse_batch(descriptor: dict, screening: Screening | None = None
                ) -> list[Prepared | BadRecord]:
    """Every record of the batch, prepared (at most one batch in memory); each prepared
    record goes to `screening` (the Bloom filter) as soon as it is keyed."""
    with open_source(descriptor["source"]) as stream:
        size = stream.seek(0, 2)
        if "size" in descriptor and size != descriptor["size"]:
            raise CatalogInputError(f"{descriptor['source']}: expected {descriptor['size']} "
                                    f"bytes as planned, got {size}; the landed file changed — "
                                    f"start a new run")
        items = []
        for record in read_batch(descriptor, stream):
            if isinstance(record, ParsedRecord):
                record = prepare(record)
                if screening is not None and isinstance(record, Prepared):
                    screening.add(record)
            items.append(record)
        return items


@contextmanager
def _without_cyclic_gc():
    """A batch allocates ~10 objects per record, none in a reference cycle (bytes, str,
    tuples, slotted dataclasses): refcounting frees them all, and the cyclic collector's
    passes over them cost ~8 % of the batch for nothing. Off for the batch, then back on
    (any cycle made meanwhile is found by its next pass)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def ingest_batch(conn: psycopg.Connection, descriptor: dict, bloom: BloomFilter | None) -> dict:
    """Parse + key + dedupe + persist one batch; the counts of its result log. The Bloom
    filter screens the records while they are parsed (screen.py), outside the write lock."""
    with _without_cyclic_gc():
        return _ingest(conn, descriptor, bloom)


def _ingest(conn: psycopg.Connection, descriptor: dict, bloom: BloomFilter | None) -> dict:
    if bloom is None:
        return _commit(conn, descriptor, _parse(conn, descriptor, None), None, None)
    with Screening(conn, bloom) as screening:
        items = _parse(conn, descriptor, screening)
        return _commit(conn, descriptor, items, bloom, screening)


def _parse(conn, descriptor: dict, screening: Screening | None) -> list:
    """parse_batch, with a failure noted on the batch (the summary names it) and raised."""
    try:
        return parse_batch(descriptor, screening)
    except Exception as exc:
        record_failure(conn, descriptor["batch_id"], f"reading the batch failed: {exc}")
        raise


def _commit(conn, descriptor: dict, items: list, bloom: BloomFilter | None,
            screening: Screening | None) -> dict:
    try:
        screened = screening.result() if screening is not None else None
        return commit_batch(conn, descriptor, items, bloom, screened)
    except Exception as exc:
        record_failure(conn, descriptor["batch_id"], f"{type(exc).__name__}: {exc}")
        raise
