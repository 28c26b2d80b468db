"""What to do with each incoming record of a batch (pure: no I/O; DESIGN.md §6).

Matching: an earlier record of the same file wins first (→ `duplicate_in_file`), then
existing catalog records by key priority — OCLC number, then ISBN, then control number
(001), then, for records with none of those, identical content. A match on ISBN or
control number is refused when both records carry OCLC numbers and none is shared: two
different OCLC records that share a set ISBN are two records, not one.

Outcome, once matched:
* identical content (same sha256) → `unchanged`, whatever the policy;
* the record's current version was written by another batch of this run →
  `duplicate_in_file` (the same file holds it twice);
* otherwise per overlay policy: `replace` → `updated` (a new version), `keep_existing` →
  `unchanged`, `create_new` → `created` (a separate record).
No match → `created`. Several matches on the same key kind → the lowest record id.
"""
from __future__ import annotations

from dataclasses import dataclass

from include.ingest.catalog.keys import MATCH_ORDER, RecordKeys

POLICIES = ("replace", "keep_existing", "create_new")
CREATED, UPDATED, UNCHANGED = "created", "updated", "unchanged"
DUPLICATE_IN_FILE, ERROR = "duplicate_in_file", "error"
STATUSES = (CREATED, UPDATED, UNCHANGED, DUPLICATE_IN_FILE, ERROR)


@dataclass(frozen=True, slots=True)
class Candidate:
    """An existing catalog record found by one of the incoming record's keys."""

    record_id: int
    content_sha256: str  # of its current version
    ocns: frozenset[str] = frozenset()
    touched_in_run: bool = False  # its current version was written by another batch of this run


@dataclass(frozen=True, slots=True)
class Decision:
    status: str
    record_id: int | None = None  # the existing record; None for a new one
    match_on: str | None = None
    detail: str | None = None
    same_as: int | None = None  # ordinal of the earlier record of this file it duplicates


@dataclass(frozen=True, slots=True)
class _Seen:
    ordinal: int
    ocns: frozenset[str]
    record_id: int | None


_NEW = Decision(CREATED)  # immutable: one for every new record
_NONE: frozenset[str] = frozenset()


def _compatible(kind: str, ours: frozenset[str], theirs: frozenset[str]) -> bool:
    return kind == "ocn" or not (ours and theirs and ours.isdisjoint(theirs))


class Matcher:
    """Decides the records of one batch in file order; remembers what it decided."""

    def __init__(self, policy: str, candidates: dict[tuple[str, str], list[Candidate]]):
        if policy not in POLICIES:
            raise ValueError(f"expected an overlay policy in {POLICIES}, got {policy!r}")
        self.policy = policy
        self._candidates = candidates
        self._seen: dict[tuple[str, str], _Seen] = {}
        self._touched: dict[int, int] = {}  # existing record id → ordinal that wrote it

    def decide(self, ordinal: int, keys: RecordKeys) -> Decision:
        match_keys = keys.match_keys()
        ocns = frozenset([str(n) for n in keys.ocns]) if keys.ocns else _NONE
        seen = self._seen
        for key in match_keys:
            earlier = seen.get(key)
            if earlier is not None and _compatible(key[0], ocns, earlier.ocns):
                kind, value = key
                return Decision(DUPLICATE_IN_FILE, earlier.record_id, kind,
                                f"same {kind} {value} as record #{earlier.ordinal} of this file",
                                same_as=earlier.ordinal)
        if self._candidates:
            decision = self._against_catalog(ordinal, match_keys, ocns, keys.content_sha256)
        else:  # nothing in the catalog to match (the common case of a batch of new books)
            decision = _NEW
        if decision.status != DUPLICATE_IN_FILE:
            new = _Seen(ordinal, ocns, decision.record_id
                        if decision.status in (UPDATED, UNCHANGED) else None)
            for key in match_keys:
                if key not in seen:
                    seen[key] = new
            if decision.record_id is not None and decision.status != CREATED:
                self._touched[decision.record_id] = ordinal
        return decision

    def _against_catalog(self, ordinal: int, match_keys: tuple[tuple[str, str], ...],
                         ocns: frozenset[str], content_sha: str) -> Decision:
        candidates = self._candidates
        if not any(key in candidates for key in match_keys):  # the common case of a new book
            return _NEW
        for kind in MATCH_ORDER:
            found = {c.record_id: c for k, v in match_keys if k == kind
                     for c in candidates.get((k, v), ()) if _compatible(kind, ocns, c.ocns)}
            if found:
                break
        else:
            return Decision(CREATED)
        matches = sorted(found.values(), key=lambda c: c.record_id)
        target = matches[0]
        note = (f"{len(matches)} records match on {kind}; chose the lowest id {target.record_id}"
                if len(matches) > 1 else None)
        if target.record_id in self._touched:
            return Decision(DUPLICATE_IN_FILE, target.record_id, kind,
                            f"record {target.record_id} was already matched by record "
                            f"#{self._touched[target.record_id]} of this file",
                            same_as=self._touched[target.record_id])
        if any(c.touched_in_run for c in matches):
            return Decision(DUPLICATE_IN_FILE, target.record_id, kind,
                            f"record {target.record_id} was written by another batch of "
                            f"this run (the file holds it twice)")
        identical = next((c for c in matches if c.content_sha256 == content_sha), None)
        if identical is not None:
            return Decision(UNCHANGED, identical.record_id, kind, note)
        if self.policy == "replace":
            return Decision(UPDATED, target.record_id, kind, note)
        if self.policy == "keep_existing":
            return Decision(UNCHANGED, target.record_id, kind,
                            _join(f"kept record {target.record_id} (overlay policy "
                                  f"keep_existing)", note))
        return Decision(CREATED, None, kind,
                        _join(f"matched record {target.record_id} on {kind}; created a new "
                              f"record (overlay policy create_new)", note))


def _join(*parts: str | None) -> str:
    return "; ".join(p for p in parts if p)
