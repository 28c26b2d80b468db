"""Roll back one committed batch (docs/architecture.md §6; Koha's "undo import", per record).

Under the catalog write lock, in one transaction, for every version the batch wrote:
* the record still shows that version → it is restored to the version the batch replaced
  (`previous_version`, kept since the batch wrote over it), with that version's match keys;
  a record the batch created has no previous version and is marked deleted
  (current_version NULL; its versions stay as history);
* the record shows another version → a later batch changed it (or restored it): it is
  left alone and reported as a conflict, naming the batch whose version is current.
The batch becomes `rolled_back` with the report; rolling it back again changes nothing.
Versions the batch wrote stay in `record_versions` (the audit trail); the Bloom filter
keeps their keys (false positives only, confirmed in PostgreSQL), and the restored keys are
added to it before the commit: a filter rebuilt since the batch lacks them, and a miss is
trusted (a later record with only those keys would otherwise be created as a duplicate).
"""
from __future__ import annotations

import json

import psycopg

from include.ingest.catalog.bloom import BloomFilter, key_items
from include.ingest.catalog.keys import bibframe_keys, marc_key_fields, marc_keys_from
from include.ingest.catalog.iso2709 import inspect
from include.ingest.catalog.screen import heal, lock, next_commit_seq
from include.ingest.catalog.store import StoreError


def rollback_batch(conn: psycopg.Connection, batch_id: str,
                   bloom: BloomFilter | None = None) -> dict:
    """Restore what `batch_id` changed; return {restored, deleted, conflicts, …}. With a
    `bloom` filter (the one ingest uses), the restored match keys are added to it."""
    with conn.transaction():
        lock(conn)
        row = conn.execute("SELECT state, rollback_report FROM catalog.batches "
                           "WHERE batch_id = %s FOR UPDATE", (batch_id,)).fetchone()
        if row is None:
            raise StoreError(f"no batch {batch_id} in catalog.batches; expected the id of a "
                             f"committed batch (see the ingest run's summary)")
        state, report = row
        if state == "rolled_back":
            return {**report, "already": True}
        if state == "staged":
            raise StoreError(f"batch {batch_id} is staged: nothing was committed, so there is "
                             f"nothing to roll back (expected committed or synced)")
        seq = next_commit_seq(conn)  # batches screened before this see the catalog changed
        conflicts = [
            {"record_id": rid, "batch_version": version, "current_version": current,
             "current_batch": current_batch}
            for rid, version, current, current_batch in conn.execute(
                "SELECT v.record_id, v.version, r.current_version, cv.batch_id "
                "FROM catalog.record_versions v JOIN catalog.records r USING (record_id) "
                "LEFT JOIN catalog.record_versions cv ON cv.record_id = r.record_id "
                " AND cv.version = r.current_version "
                "WHERE v.batch_id = %s AND r.current_version IS DISTINCT FROM v.version "
                "ORDER BY v.record_id", (batch_id,))]
        restored = conn.execute(
            "UPDATE catalog.records r SET current_version = v.previous_version, "
            " updated_at = now() "
            "FROM catalog.record_versions v WHERE v.batch_id = %s "
            " AND v.record_id = r.record_id AND r.current_version = v.version "
            "RETURNING r.record_id, v.previous_version", (batch_id,)).fetchall()
        conn.execute("DELETE FROM catalog.record_keys WHERE record_id = ANY(%s)",
                     ([rid for rid, _ in restored],))
        keys = _restore_keys(conn, [rid for rid, previous in restored if previous is not None])
        # before the commit (extra bits are only false positives), with the high-water mark
        in_step = bloom is None or bloom.commit(keys, seq)
        report = {"batch_id": batch_id, "previous_state": state,
                  "restored": sorted(rid for rid, prev in restored if prev is not None),
                  "deleted": sorted(rid for rid, prev in restored if prev is None),
                  "conflicts": conflicts}
        conn.execute("UPDATE catalog.batches SET state = 'rolled_back', rolled_back_at = now(), "
                     "rollback_report = %s WHERE batch_id = %s", (json.dumps(report), batch_id))
    if not in_step:  # the filter lost writes or was never built: rebuild it from PostgreSQL
        heal(conn, bloom)
    return {**report, "already": False}


def _restore_keys(conn: psycopg.Connection, record_ids: list[int]) -> list[str]:
    """Store the match keys of the restored current versions, computed as the ingest computed
    them; return them as the Bloom filter holds them (`bloom.key_items`)."""
    added = []
    rows = conn.execute(
        "SELECT v.record_id, r.kind, v.marc, v.content, v.content_sha256 FROM catalog.records r "
        "JOIN catalog.record_versions v ON v.record_id = r.record_id "
        " AND v.version = r.current_version WHERE r.record_id = ANY(%s)", (record_ids,))
    with conn.cursor().copy("COPY catalog.record_keys (kind, value, record_id) FROM STDIN") as copy:
        for record_id, kind, marc, content, sha in rows.fetchall():
            if marc is not None:
                keys = marc_keys_from(inspect(bytes(marc)), sha)
            elif kind == "marc":  # a record ISO 2709 cannot hold, kept as MARC-in-JSON
                keys = marc_keys_from(marc_key_fields(content), sha)
            else:
                keys = bibframe_keys(content, sha)
            for kind, value in keys.match_keys():
                copy.write_row((kind, value, record_id))
            added += key_items(keys.match_keys())
    return added
