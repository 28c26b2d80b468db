"""In-memory FOLIO inventory storage: instances, holdings, items, with RMB's rules.

What is emulated (facts: the project's ILS reference notes, §1.2–1.4):

* `_version` optimistic locking: 1 on insert; an update must carry the stored `_version`
  (an omitted one is a conflict, `IS DISTINCT FROM`), then the stored one is +1. A conflict
  is `StorageError(409)` with the trigger's text.
* required fields (422 `errors`), unique item barcode (case-insensitive) and hrid,
  foreign keys (holdings → instance, item → holdings) with RMB-style messages.
* `metadata` and `hrid` are server-managed (assigned when absent).
* batch upsert is all or nothing: every record is checked first, then all are applied.
* an audit trail: every change with before/after snapshots, time, actor and request seq.

Thread-safe: one lock around every read-modify-write (the server is threaded).
"""
from __future__ import annotations

import copy
import itertools
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

KINDS = ("instances", "holdings", "items")
REQUIRED = {"instances": ("source", "title", "instanceTypeId"),
            "holdings": ("sourceId", "instanceId", "permanentLocationId"),
            "items": ("materialTypeId", "permanentLoanTypeId", "holdingsRecordId", "status")}
HRID_PREFIX = {"instances": "in", "holdings": "ho", "items": "it"}
TABLE = {"instances": "instance", "holdings": "holdings_record", "items": "item"}


class StorageError(Exception):
    """A refused write: HTTP status, and a text/plain message or a 422 `errors` body."""

    def __init__(self, status: int, message: str, field: str | None = None, value: Any = None):
        super().__init__(message)
        self.status, self.message, self.field, self.value = status, message, field, value

    def errors_body(self) -> dict:
        params = [{"key": self.field, "value": str(self.value)}] if self.field else []
        return {"errors": [{"message": self.message, "type": "1", "code": "-1",
                            "parameters": params}], "total_records": 1}


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class AuditEntry:
    seq: int
    t: str
    kind: str
    id: str
    op: str  # create | update
    actor: str  # api | librarian
    request_seq: int | None
    before: dict | None
    after: dict

    def to_json(self) -> dict:
        return dict(self.__dict__)


class InventoryStore:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.records: dict[str, dict[str, dict]] = {k: {} for k in KINDS}
        self.barcodes: dict[str, str] = {}  # casefolded barcode -> item id
        self.hrids: dict[str, dict[str, str]] = {k: {} for k in KINDS}
        self.audit: list[AuditEntry] = []
        self._hrid_counter = itertools.count(1)

    # ---- reads -------------------------------------------------------------------------
    def get(self, kind: str, record_id: str) -> dict | None:
        with self.lock:
            found = self.records[kind].get(record_id)
            return copy.deepcopy(found) if found else None

    def all(self, kind: str) -> list[dict]:
        with self.lock:
            return [copy.deepcopy(r) for r in self.records[kind].values()]

    # ---- checks ------------------------------------------------------------------------
    def _validate(self, kind: str, body: dict, pending: dict[str, dict[str, dict]]) -> None:
        """Raise StorageError(422) for a record FOLIO's schema or constraints refuse."""
        if not isinstance(body, dict) or not body.get("id"):
            raise StorageError(422, "must not be null", "id", None)
        for name in REQUIRED[kind]:
            if body.get(name) in (None, ""):
                raise StorageError(422, "must not be null", name, None)
        if kind == "items" and not (body.get("status") or {}).get("name"):
            raise StorageError(422, "must not be null", "status.name", None)
        parent_kind, key = {"holdings": ("instances", "instanceId"),
                            "items": ("holdings", "holdingsRecordId")}.get(kind, (None, None))
        if parent_kind:
            parent = body[key]
            if parent not in self.records[parent_kind] and parent not in pending[parent_kind]:
                raise StorageError(422, f"Cannot set {TABLE[kind]}.{key.lower()} = {parent} "
                                        f"because it does not exist in {TABLE[parent_kind]}.id.",
                                   key, parent)
        barcode = body.get("barcode")
        if kind == "items" and barcode:
            owner = self.barcodes.get(barcode.casefold())
            if owner is not None and owner != body["id"]:
                raise StorageError(422, f"Barcode value already exists in table item: "
                                        f"{barcode.casefold()}", "barcode", barcode)
        hrid = body.get("hrid")
        if hrid and self.hrids[kind].get(hrid, body["id"]) != body["id"]:
            raise StorageError(422, f"HRID value already exists in table {TABLE[kind]}: {hrid}",
                               "hrid", hrid)

    def _check_version(self, kind: str, body: dict) -> None:
        stored = self.records[kind].get(body["id"])
        if stored is None:
            return
        sent = body.get("_version")
        if sent != stored["_version"]:
            shown = "<NULL>" if sent is None else sent
            raise StorageError(409, f"Cannot update record {body['id']} because it has been "
                                    f"changed (optimistic locking): Stored _version is "
                                    f"{stored['_version']}, _version of request is {shown}")

    # ---- writes ------------------------------------------------------------------------
    def _apply(self, kind: str, body: dict, actor: str, request_seq: int | None) -> dict:
        """Store one checked record (lock held); returns it as stored."""
        before = self.records[kind].get(body["id"])
        record = copy.deepcopy(body)
        stamp = now_iso()
        if before is None:
            record["_version"] = 1
            record.setdefault("hrid", f"{HRID_PREFIX[kind]}{next(self._hrid_counter):011d}")
            record["metadata"] = {"createdDate": stamp, "updatedDate": stamp}
        else:
            record["_version"] = (before["_version"] + 1) % 2**31
            record.setdefault("hrid", before["hrid"])
            record["metadata"] = {**before.get("metadata", {}), "updatedDate": stamp}
            if kind == "items" and before.get("barcode"):
                self.barcodes.pop(before["barcode"].casefold(), None)
        if kind == "items" and "status" in record:
            record["status"].setdefault("date", stamp)
        self.records[kind][record["id"]] = record
        self.hrids[kind][record["hrid"]] = record["id"]
        if kind == "items" and record.get("barcode"):
            self.barcodes[record["barcode"].casefold()] = record["id"]
        self.audit.append(AuditEntry(len(self.audit) + 1, stamp, kind, record["id"],
                                     "create" if before is None else "update", actor,
                                     request_seq, copy.deepcopy(before), copy.deepcopy(record)))
        return record

    def create(self, kind: str, body: dict, request_seq: int | None = None) -> dict:
        with self.lock:
            if body.get("id") in self.records[kind]:
                raise StorageError(422, f"id value already exists in table {TABLE[kind]}: "
                                        f"{body['id']}", "id", body["id"])
            self._validate(kind, body, {k: {} for k in KINDS})
            return self._apply(kind, body, "api", request_seq)

    def update(self, kind: str, body: dict, request_seq: int | None = None) -> dict:
        with self.lock:
            if body.get("id") not in self.records[kind]:
                raise StorageError(404, f"{TABLE[kind]} not found")
            self._validate(kind, body, {k: {} for k in KINDS})
            self._check_version(kind, body)
            return self._apply(kind, body, "api", request_seq)

    def batch(self, kind: str, bodies: list[dict], upsert: bool,
              request_seq: int | None = None) -> None:
        """All or nothing: the first refused record refuses the whole batch."""
        with self.lock:
            seen: set[str] = set()
            pending = {k: {} for k in KINDS}
            for body in bodies:
                self._validate(kind, body, pending)
                if body["id"] in seen:
                    raise StorageError(422, f"duplicate id in batch: {body['id']}", "id", body["id"])
                seen.add(body["id"])
                if body["id"] in self.records[kind] and not upsert:
                    raise StorageError(422, f"id value already exists in table {TABLE[kind]}: "
                                            f"{body['id']}", "id", body["id"])
                self._check_version(kind, body)
            barcodes = [b["barcode"].casefold() for b in bodies if kind == "items" and b.get("barcode")]
            if len(barcodes) != len(set(barcodes)):
                raise StorageError(422, "Barcode value already exists in table item (twice in batch)")
            for body in bodies:
                self._apply(kind, body, "api", request_seq)

    def librarian_edit(self, kind: str, body: dict) -> bool:
        """A staff member changes the record meanwhile (the `edit-conflict` fault): an
        existing record gets a local administrative note (so its `_version` moves on); a
        record not there yet is created as the request has it plus that note (another
        import got there first). Returns False when the record cannot be written."""
        note = f"edited by a librarian at {now_iso()}"
        with self.lock:
            stored = self.records[kind].get(body.get("id"))
            edited = copy.deepcopy(stored if stored is not None else body)
            edited.pop("_version", None)
            if stored is not None:
                edited["_version"] = stored["_version"]
            edited["administrativeNotes"] = list(edited.get("administrativeNotes") or []) + [note]
            try:
                self._validate(kind, edited, {k: {} for k in KINDS})
            except StorageError:
                return False
            self._apply(kind, edited, "librarian", None)
            return True

    # ---- state -------------------------------------------------------------------------
    def snapshot(self) -> dict:
        with self.lock:
            return {"saved_at": time.time(), "records": copy.deepcopy(self.records),
                    "audit": [a.to_json() for a in self.audit]}

    def restore(self, data: dict) -> None:
        with self.lock:
            self.__init__()
            for kind in KINDS:
                for record in data["records"].get(kind, {}).values():
                    self.records[kind][record["id"]] = record
                    self.hrids[kind][record["hrid"]] = record["id"]
                    if kind == "items" and record.get("barcode"):
                        self.barcodes[record["barcode"].casefold()] = record["id"]
            self.audit = [AuditEntry(**a) for a in data.get("audit", [])]
            self._hrid_counter = itertools.count(sum(len(v) for v in self.records.values()) + 1)
