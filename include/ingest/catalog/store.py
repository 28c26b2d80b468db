"""Commit one batch to the versioned catalog store, exactly once (docs/architecture.md §6).

`commit_batch` runs in one transaction under the catalog write lock (an advisory lock:
matching must see every earlier batch's records, or two batches of a run could both
create the same book):

1. a batch that is no longer `staged` is left alone: re-running it changes nothing and
   returns its stored counts;
2. the Bloom filter's answer, asked before the lock (screen.py: it learns the batch's keys
   *before* the commit, so a failed commit leaves false positives only, never a false
   "new"), splits records into "certainly new" and "maybe known"; only "maybe known"
   records are looked up in PostgreSQL — a hit is never trusted on its own — unless the
   filter was not ready, its high-water mark was behind PostgreSQL's last commit (it lost
   writes), or another batch committed since it answered: then all are, and a filter
   found behind is rebuilt after the commit;
3. `overlay.Matcher` decides created / updated / unchanged / duplicate_in_file per record;
4. new records and versions (each version names its batch and the version it replaced),
   current keys, one result row per input record and the DLQ rows (raw bytes) are written
   with COPY, and the batch becomes `committed` with its counts. A result row names the
   record and version its input became or was judged the same as; when no version holds
   the input's content (a differing duplicate, `keep_existing`), the row keeps it.
"""
from __future__ import annotations

import json
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass

import psycopg
from psycopg.types.json import Jsonb

from include.ingest.catalog.bloom import BloomFilter, key_items
from include.ingest.catalog.keys import RecordKeys
from include.ingest.catalog.model import BadRecord, Loss
from include.ingest.catalog.overlay import (CREATED, DUPLICATE_IN_FILE, ERROR, STATUSES,
                                            UPDATED, Candidate, Decision, Matcher)
from include.ingest.catalog.screen import Screen, heal, lock, screen

COUNT_COLUMNS = ("created", "updated", "unchanged", "duplicate_in_file", "errors")


class StoreError(RuntimeError):
    """The batch cannot be committed; nothing changed. The message says why."""


def check_same_source(descriptor: dict, stored: tuple[str, int, int]) -> None:
    """Raise StoreError unless the batch row `stored` (source_sha256, byte_start, byte_end)
    was registered from the same file and byte range as `descriptor`. A batch id is the run
    id + batch number, so a run id reused for another file (or another batch size) names
    batches that already exist: without this check they would read as committed and the
    new file's records would be skipped in silence."""
    planned = (descriptor["sha256"], descriptor["start"], descriptor["end"])
    if tuple(stored) == planned:
        return
    run, no = descriptor.get("run_id"), descriptor.get("batch_no")
    raise StoreError(
        f"batch {descriptor['batch_id']} (run {run!r}, batch {no}): expected the file it was "
        f"registered from, sha256 {stored[0]} bytes {stored[1]}..{stored[2]}, got sha256 "
        f"{planned[0]} bytes {planned[1]}..{planned[2]} ({descriptor.get('source')}); the run "
        f"id was already used for another file or batch size — trigger a new run (a new run "
        f"id) for this file; the earlier run's batches are unchanged")


@dataclass(slots=True)
class Prepared:
    """A parsed record with what the store needs: its stored form, hash and keys."""

    ordinal: int
    offset: int
    kind: str
    content_json: str | None  # BIBFRAME: the graph as JSON
    marc: bytes | None  # MARC: UTF-8 ISO 2709
    keys: RecordKeys
    encoding: str
    encoding_guessed: bool
    warnings: list[str]

    @property
    def lossy(self) -> bool:  # text was lost converting it: flagged, counted
        return any(isinstance(w, Loss) for w in self.warnings)

    def bloom_items(self) -> list[str]:
        """What the Bloom filter holds for this record: its match keys (ocn, isbn, control;
        content only for a record with none of them), the keys a lookup can find. The
        fingerprint is not one of them: no lookup uses it, so its bit would only cost."""
        return key_items(self.keys.match_keys())


# Binary COPY: the bytea / jsonb payloads travel as they are (text COPY hex-encodes every
# MARC record and costs PostgreSQL a parse per value).
RECORDS_TYPES = ("int8", "text", "int4", "int4", "text", "text")
VERSIONS_TYPES = ("int8", "int4", "int4", "text", "int8", "jsonb", "bytea", "text", "text",
                  "text", "bool", "jsonb")
KEYS_TYPES = ("text", "text", "int8")
RESULTS_TYPES = ("text", "int8", "int8", "text", "int8", "int4", "text", "text", "bytea",
                 "jsonb", "bool")
DLQ_TYPES = ("text", "text", "int8", "int8", "text", "text", "bytea")

RECORDS = ("catalog.records (record_id, kind, current_version, last_version, created_batch, "
           "updated_batch)")
VERSIONS = ("catalog.record_versions (record_id, version, previous_version, batch_id, "
            "source_ordinal, content, marc, content_sha256, fingerprint, encoding, "
            "encoding_guessed, warnings)")
KEYS = "catalog.record_keys (kind, value, record_id)"
RESULTS = ("catalog.record_results (batch_id, source_ordinal, byte_offset, status, record_id, "
           "version, match_on, detail, marc, content, lossy)")
DLQ = "catalog.dlq (batch_id, source, source_ordinal, byte_offset, format, reason, raw)"


@contextmanager
def _copy(conn: psycopg.Connection, target: str, types: tuple[str, ...]):
    with conn.cursor().copy(f"COPY {target} FROM STDIN (FORMAT BINARY)") as copy:
        copy.set_types(types)
        yield copy


def _json(text: str | None) -> Jsonb | None:
    """Already-serialized JSON for a jsonb column (a plain str would become a JSON string)."""
    return None if text is None else Jsonb(text, dumps=str)


def _lookup(conn, items: list[Prepared], run_id: str, batch_id: str
            ) -> dict[tuple[str, str], list[Candidate]]:
    """Existing records holding any key of `items` (one query; keys travel as one JSON
    parameter — far cheaper to send than two text arrays). Each key is probed in the
    record_keys index (LATERAL … OFFSET 0 keeps it a probe): without statistics — a
    catalog that just grew — the planner would hash the whole table for every batch."""
    pairs = sorted({key for item in items for key in item.keys.match_keys()})
    if not pairs:
        return {}
    rows = conn.execute(
        "SELECT q.kind, q.value, r.record_id, v.content_sha256, o.ocns, o.control, "
        " r.current_version, b.run_id = %s AND b.batch_id <> %s "  # another batch of this run
        "FROM jsonb_to_recordset(%s::jsonb) AS q(kind text, value text) "
        "CROSS JOIN LATERAL (SELECT o.record_id FROM catalog.record_keys o "
        "                    WHERE o.kind = q.kind AND o.value = q.value OFFSET 0) k "
        "JOIN catalog.records r ON r.record_id = k.record_id AND r.current_version IS NOT NULL "
        "JOIN catalog.record_versions v ON v.record_id = r.record_id "
        " AND v.version = r.current_version "
        "JOIN catalog.batches b ON b.batch_id = v.batch_id "
        # kind in FILTER, not WHERE: with kind = 'ocn' beside record_id the planner may walk
        # the (kind, value, record_id) key over every OCN instead of record_keys_record
        "CROSS JOIN LATERAL (SELECT "
        " coalesce(array_agg(o.value) FILTER (WHERE o.kind = 'ocn'), '{}') AS ocns, "
        " min(o.value) FILTER (WHERE o.kind = 'control') AS control "
        " FROM catalog.record_keys o WHERE o.record_id = r.record_id) o",
        (run_id, batch_id, json.dumps([{"kind": k, "value": v} for k, v in pairs]))).fetchall()
    found: dict[tuple[str, str], list[Candidate]] = {}
    for kind, value, record_id, sha, ocns, control, version, touched in rows:
        found.setdefault((kind, value), []).append(
            Candidate(record_id, sha, frozenset(ocns), touched, control, version))
    return found


def _stored_summary(conn, batch_id: str, state: str) -> dict:
    row = conn.execute(f"SELECT records_in, {', '.join(COUNT_COLUMNS)}, coalesce(lossy, 0) "
                       f"FROM catalog.batches WHERE batch_id = %s", (batch_id,)).fetchone()
    return {"batch_id": batch_id, "state": state, "already": True, "records_in": row[0],
            **dict(zip(COUNT_COLUMNS, row[1:-1])), "lossy": row[-1]}


def commit_batch(conn: psycopg.Connection, descriptor: dict,
                 items: list[Prepared | BadRecord], bloom: BloomFilter | None,
                 screened: Screen | None = None) -> dict:
    """Write one batch's records, results and DLQ rows in one transaction; return counts.

    `screened`: the Bloom filter's answer for the batch's records (`Prepared` ones, in
    order), as `ingest_batch` gets it while parsing; without it the filter is asked here,
    before the transaction."""
    batch_id = descriptor["batch_id"]
    good = [i for i in items if isinstance(i, Prepared)]
    if screened is None and bloom is not None:
        screened = screen(conn, good, bloom)
    with conn.transaction():
        lock(conn)
        row = conn.execute(  # and, for a batch to commit, its commit number (screen.py)
            "SELECT state, run_id, overlay_policy, CASE WHEN state = 'staged' "
            " THEN nextval('catalog.commit_seq') END, source_sha256, byte_start, byte_end "
            "FROM catalog.batches WHERE batch_id = %s FOR UPDATE", (batch_id,)).fetchone()
        if row is None:
            raise StoreError(f"no batch {batch_id} in catalog.batches; expected the plan task "
                             f"to register it (batches.register) before it is committed")
        state, run_id, policy, seq = row[:4]
        check_same_source(descriptor, row[4:])  # before "already committed" is believed
        if state != "staged":
            return _stored_summary(conn, batch_id, state)
        if screened is not None and screened.trusted(seq, len(good)):
            lookup = [item for item, maybe in zip(good, screened.maybe) if maybe]
        else:  # no filter, not ready, behind, or another batch committed since it answered
            lookup = good
        matcher = Matcher(policy, _lookup(conn, lookup, run_id, batch_id))
        decisions = [matcher.decide(item.ordinal, item.keys) for item in good]
        # the keys this commit writes, and the filter's high-water mark moved to its seq, in
        # one script call before the commit (a failed commit leaves false positives only)
        in_step = bloom is None or bloom.commit(
            [e for item, d in zip(good, decisions) if d.status in (CREATED, UPDATED)
             for e in item.bloom_items()], seq)
        _write(conn, batch_id, descriptor, items, good, decisions)
        counts = Counter(d.status for d in decisions)
        counts[ERROR] = len(items) - len(good)
        lossy = sum(1 for item in good if item.warnings and item.lossy)
        conn.execute(
            "UPDATE catalog.batches SET state = 'committed', committed_at = now(), "
            " records_in = %s, created = %s, updated = %s, unchanged = %s, "
            " duplicate_in_file = %s, errors = %s, lossy = %s, attempts = attempts + 1, "
            " last_error = NULL WHERE batch_id = %s",
            (len(items), *(counts[s] for s in STATUSES), lossy, batch_id))
    if not in_step:  # the filter lost writes or was never built: rebuild it from PostgreSQL
        heal(conn, bloom)
    return {"batch_id": batch_id, "state": "committed", "already": False,
            "records_in": len(items), **{c: counts[s] for c, s in zip(COUNT_COLUMNS, STATUSES)},
            "lossy": lossy}


def _write(conn, batch_id: str, descriptor: dict, items: list, good: list[Prepared],
           decisions: list[Decision]) -> None:
    """Records, versions, keys, results and DLQ rows, one COPY per table. Each table's rows
    are built while PostgreSQL still works through the previous table's (COPY sends rows
    as its buffer fills), so building them costs no wall time of its own."""
    written = [(i, d) for i, d in zip(good, decisions) if d.status in (CREATED, UPDATED)]
    versions = _allocate(conn, batch_id, written)
    tables = (
        (RECORDS, RECORDS_TYPES, lambda: [
            (versions[i.ordinal][0], i.kind, 1, 1, batch_id, batch_id)
            for i, d in written if d.status == CREATED]),
        (VERSIONS, VERSIONS_TYPES, lambda: [
            (*versions[i.ordinal], batch_id, i.ordinal, _json(i.content_json), i.marc,
             i.keys.content_sha256, i.keys.fingerprint, i.encoding, i.encoding_guessed,
             _json(json.dumps(i.warnings)) if i.warnings else None) for i, _ in written]),
        (KEYS, KEYS_TYPES, lambda: [
            (kind, value, versions[i.ordinal][0]) for i, _ in written
            for kind, value in i.keys.match_keys()]),
        (RESULTS, RESULTS_TYPES, lambda: _result_rows(batch_id, good, decisions, versions,
                                                       items)),
        (DLQ, DLQ_TYPES, lambda: [
            (batch_id, descriptor["source"], i.ordinal, i.offset, descriptor["format"],
             i.reason, i.raw) for i in items if isinstance(i, BadRecord)]),
    )
    rows = tables[0][2]()
    for n, (target, types, _) in enumerate(tables):
        following = tables[n + 1][2] if n + 1 < len(tables) else list
        if not rows:
            rows = following()
            continue
        with _copy(conn, target, types) as copy:
            write = copy.write_row
            for row in rows:
                write(row)
            rows = following()  # while the server takes in the rows sent so far


def _allocate(conn, batch_id: str, written: list[tuple[Prepared, Decision]]
              ) -> dict[int, tuple[int, int, int | None]]:
    """Ids of new records, next versions of updated ones (their old keys deleted);
    {ordinal: (record_id, version, previous_version)}."""
    new = [item.ordinal for item, d in written if d.status == CREATED]
    ids = conn.execute(
        "SELECT array_agg(nextval('catalog.records_record_id_seq')) "
        "FROM generate_series(1, %s)", (len(new),)).fetchone()[0] if new else []
    versions = {ordinal: (rid, 1, None) for ordinal, rid in zip(new, ids)}
    updates = {d.record_id: item.ordinal for item, d in written if d.status == UPDATED}
    if updates:
        for rid, version, previous in conn.execute(
                "UPDATE catalog.records r SET last_version = r.last_version + 1, "
                " current_version = r.last_version + 1, updated_batch = %s, updated_at = now() "
                "FROM (SELECT record_id, current_version FROM catalog.records "
                "      WHERE record_id = ANY(%s) FOR UPDATE) old "
                "WHERE r.record_id = old.record_id "
                "RETURNING r.record_id, r.current_version, old.current_version",
                (batch_id, list(updates))):
            versions[updates[rid]] = (rid, version, previous)
        conn.execute("DELETE FROM catalog.record_keys WHERE record_id = ANY(%s)", (list(updates),))
    return versions


def _result_rows(batch_id: str, good: list[Prepared], decisions: list[Decision],
                 versions: dict[int, tuple[int, int, int | None]], items: list) -> list[tuple]:
    """One row per input record, in file order."""
    by_ordinal = {item.ordinal: d for item, d in zip(good, decisions)}
    rows = []
    for item in items:
        if isinstance(item, BadRecord):
            rows.append((batch_id, item.ordinal, item.offset, ERROR, None, None, None,
                         item.reason, None, None, False))
            continue
        d = by_ordinal[item.ordinal]
        if d.same_as is not None and d.same_as in versions:  # the earlier record it repeats
            rid, version, _ = versions[d.same_as]
        else:
            rid, version, _ = versions.get(item.ordinal, (d.record_id, d.version, None))
        detail = d.detail or None
        if item.warnings:
            detail = "; ".join(p for p in (d.detail, *item.warnings[:5]) if p) or None
        marc = content = None
        if d.keep_bytes:  # no version holds this content: the row keeps it
            marc, content = item.marc, _json(item.content_json)
        rows.append((batch_id, item.ordinal, item.offset, d.status, rid, version, d.match_on,
                     detail, marc, content, bool(item.warnings) and item.lossy))
    return rows
