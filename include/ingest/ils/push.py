"""Push docs of one kind to FOLIO inventory storage: batch upserts where possible,
one by one for records a batch refuses, optimistic locking respected.

For a list of docs (one kind):
* in sync (`synced_sha256` = today's hash, nothing pending): nothing is sent;
* pending from an interrupted run: read back; confirmed when the ILS already holds it;
* the rest, in chunks of `batch_size`: records known to the ILS are read first (one
  `id==(…)` page) and merged — our owned fields win, the ILS's own fields and `_version`
  are kept; new ones carry their create-only fields. Then `mark_pending`, one
  `batch/synchronous?upsert=true`, `confirm`.
* 409 (someone changed a record meanwhile, or it exists already): re-read the record the
  message names, merge again, resend the chunk (bounded); 413: halve the chunk; 422 or
  too many conflicts: one by one, and a record refused alone is kept in `last_error`.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from include.ingest.ils import sync_state
from include.ingest.ils.client import FolioClient
from include.ingest.ils.mapping import Doc, content_sha256, merge, project

PATHS = {"instances": "/instance-storage/instances", "holdings": "/holdings-storage/holdings",
         "items": "/item-storage/items"}
BATCH_PATHS = {k: p.rsplit("/", 1)[0] + "/batch/synchronous" for k, p in PATHS.items()}
COLLECTION_KEY = {"instances": "instances", "holdings": "holdingsRecords", "items": "items"}
FETCH_PAGE = 100  # ids per `id==(…)` read: keeps the URL far below servers' line limits
CONFLICT_ROUNDS = 25  # batch resends after 409s before falling back to one by one
_CONFLICT_ID = re.compile(r"Cannot update record ([0-9a-fA-F-]{36})")


@dataclass
class PushStats:
    in_sync: int = 0
    sent: int = 0
    confirmed_after_crash: int = 0
    conflicts: int = 0
    refused: list = field(default_factory=list)

    def add(self, other: "PushStats") -> None:
        self.in_sync += other.in_sync
        self.sent += other.sent
        self.confirmed_after_crash += other.confirmed_after_crash
        self.conflicts += other.conflicts
        self.refused += other.refused

    def to_json(self) -> dict:
        return {"in_sync": self.in_sync, "sent": self.sent, "conflicts": self.conflicts,
                "confirmed_after_crash": self.confirmed_after_crash, "refused": len(self.refused),
                "refused_detail": self.refused[:20]}


class Pusher:
    def __init__(self, client: FolioClient, conn, batch_id: str | None, batch_size: int) -> None:
        self.client, self.conn, self.batch_id, self.batch_size = client, conn, batch_id, batch_size

    def fetch(self, kind: str, ids: list[str]) -> dict[str, dict]:
        """The ILS's current records of these ids (absent ones are missing from the map)."""
        found: dict[str, dict] = {}
        for start in range(0, len(ids), FETCH_PAGE):
            page = ids[start:start + FETCH_PAGE]
            resp = self.client.call("GET", PATHS[kind], params={
                "query": f"id==({' or '.join(page)})", "limit": len(page), "totalRecords": "none"})
            found.update({r["id"]: r for r in resp.json()[COLLECTION_KEY[kind]]})
        return found

    def push(self, docs: list[Doc]) -> PushStats:
        stats = PushStats()
        if not docs:
            return stats
        kind = docs[0].kind
        states = sync_state.load(self.conn, kind, [d.identity for d in docs])
        todo, unsure = [], []
        for d in docs:
            st = states.get(d.identity)
            if st and st.pending_sha256 is None and st.synced_sha256 == d.sha256:
                stats.in_sync += 1
            elif st and st.pending_sha256 is not None:
                unsure.append(d)
            else:
                todo.append(d)
        if unsure:  # a run ended between sending and confirming: does the ILS hold them?
            current = self.fetch(kind, [d.ils_id for d in unsure])
            held = [(d, current[d.ils_id]["_version"]) for d in unsure if d.ils_id in current
                    and content_sha256(project(kind, current[d.ils_id])) == d.sha256]
            sync_state.confirm(self.conn, held, self.batch_id)
            stats.confirmed_after_crash += len(held)
            held_ids = {d.ils_id for d, _ in held}
            todo += [d for d in unsure if d.ils_id not in held_ids]
        for start in range(0, len(todo), self.batch_size):
            self._chunk(todo[start:start + self.batch_size], states, stats)
        return stats

    def _chunk(self, chunk: list[Doc], states: dict, stats: PushStats) -> None:
        kind = chunk[0].kind
        known = [d.ils_id for d in chunk if d.identity in states]
        current = self.fetch(kind, known) if known else {}
        bodies = {d.ils_id: merge(d, current.get(d.ils_id)) for d in chunk}
        by_id = {d.ils_id: d for d in chunk}
        sync_state.mark_pending(self.conn, chunk, self.batch_id)
        for _ in range(CONFLICT_ROUNDS):
            resp = self.client.call("POST", BATCH_PATHS[kind], params={"upsert": "true"},
                                    json={COLLECTION_KEY[kind]: list(bodies.values())}, accept=(409, 413, 422))
            if resp.status_code == 201:
                stats.sent += len(chunk)
                sync_state.confirm(self.conn, [(d, _next_version(bodies[d.ils_id])) for d in chunk],
                                   self.batch_id)
                return
            if resp.status_code == 413 and len(chunk) > 1:
                half = len(chunk) // 2
                self._chunk(chunk[:half], states, stats)
                self._chunk(chunk[half:], states, stats)
                return
            match = _CONFLICT_ID.search(resp.text) if resp.status_code == 409 else None
            if match is None or match.group(1) not in by_id:
                break  # 422 (or a 409 we cannot place): find the record one by one
            stats.conflicts += 1
            rid = match.group(1)
            bodies[rid] = merge(by_id[rid], self.fetch(kind, [rid]).get(rid))
        for d in chunk:
            self._one(d, stats)

    def _one(self, doc: Doc, stats: PushStats) -> None:
        """One record alone: read, merge, write; 409 → again; 422 → refused for good."""
        for _ in range(CONFLICT_ROUNDS):
            current = self.fetch(doc.kind, [doc.ils_id]).get(doc.ils_id)
            body = merge(doc, current)
            if current is not None:
                resp = self.client.call("PUT", f"{PATHS[doc.kind]}/{doc.ils_id}", json=body, accept=(409, 422))
            else:
                resp = self.client.call("POST", BATCH_PATHS[doc.kind], params={"upsert": "true"},
                                        json={COLLECTION_KEY[doc.kind]: [body]}, accept=(409, 422))
            if resp.status_code in (201, 204):
                stats.sent += 1
                sync_state.confirm(self.conn, [(doc, _next_version(body))], self.batch_id)
                return
            if resp.status_code == 409:
                stats.conflicts += 1
                continue
            reason = f"{doc.kind} {doc.identity}: the ILS refused it: {resp.text[:500]}"
            sync_state.refuse(self.conn, doc, reason)
            stats.refused.append(reason)
            return
        reason = (f"{doc.kind} {doc.identity}: expected a write within {CONFLICT_ROUNDS} tries, "
                  f"got a 409 each time (edited concurrently); re-run the sync")
        sync_state.refuse(self.conn, doc, reason)
        stats.refused.append(reason)


def _next_version(body: dict) -> int:
    """The `_version` the ILS stores after accepting `body` (RMB: 1 on insert, else +1)."""
    return body["_version"] + 1 if "_version" in body else 1
