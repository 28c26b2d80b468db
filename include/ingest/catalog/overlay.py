"""What to do with each incoming record of a batch (pure: no I/O; docs/architecture.md §6).

Matching: an earlier record of the same file wins first (→ `duplicate_in_file`), then
existing catalog records by key priority — OCLC number, then control number (001 in its
003), then ISBN, then, for records with none of those, identical content. A match is
refused when a stronger key disagrees (`keys.disagreement`: different OCLC numbers, or
an ISBN shared by records with different 001s under the same 003): those are distinct
records, created as such, with the refused match named in the detail.

Outcome, once matched:
* identical content (same sha256) → `unchanged`, whatever the policy;
* the record's current version was written by another batch of this run →
  `duplicate_in_file` (the same file holds it twice);
* otherwise per overlay policy: `replace` → `updated` (a new version), `keep_existing` →
  `unchanged`, `create_new` → `created` (a separate record).
No match → `created`. Several matches on the same key kind → the lowest record id.

No input is dropped: a decision that stores no version of the record (`duplicate_in_file`,
`unchanged`) points at the version it was judged the same as (`record_id`, `version` or
`same_as`), and says `keep_bytes` when its content differs from that version — the store
then keeps the record's own bytes in its result row.
"""
from __future__ import annotations

from dataclasses import dataclass

from include.ingest.catalog.keys import MATCH_ORDER, RecordKeys, disagreement

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
    control: str | None = None  # its control key ("003/001")
    version: int | None = None  # its current version


@dataclass(frozen=True, slots=True)
class Decision:
    status: str
    record_id: int | None = None  # the existing record; None for a new one
    match_on: str | None = None
    detail: str | None = None
    same_as: int | None = None  # ordinal of the earlier record of this file it duplicates
    version: int | None = None  # the existing version it was judged the same as
    keep_bytes: bool = False  # its content differs from that version: keep its own bytes


@dataclass(frozen=True, slots=True)
class _Seen:
    """A record of this file already decided (not a duplicate): what later ones match."""

    ordinal: int
    ocns: frozenset[str]
    control: str | None
    record_id: int | None  # the existing record it matched (None: it was created)
    version: int | None  # the existing version it left current (unchanged), else None
    sha: str | None  # content of the version its row points at; None when not its own


_NEW = Decision(CREATED)  # immutable: one for every new record
_NONE: frozenset[str] = frozenset()


class Matcher:
    """Decides the records of one batch in file order; remembers what it decided."""

    def __init__(self, policy: str, candidates: dict[tuple[str, str], list[Candidate]]):
        if policy not in POLICIES:
            raise ValueError(f"expected an overlay policy in {POLICIES}, got {policy!r}")
        self.policy = policy
        self._candidates = candidates
        self._seen: dict[tuple[str, str], _Seen] = {}  # key → first record of the file with it
        self._more: dict[tuple[str, str], list[_Seen]] = {}  # key → later, distinct records
        self._touched: dict[int, _Seen] = {}  # existing record id → record of this file on it

    def decide(self, ordinal: int, keys: RecordKeys) -> Decision:
        match_keys = keys.match_keys()
        ocns = frozenset([str(n) for n in keys.ocns]) if keys.ocns else _NONE
        seen, refused = self._seen, None
        for key in match_keys:
            earlier = seen.get(key)
            if earlier is None:
                continue
            for other in (earlier, *self._more.get(key, ())):
                why = disagreement(key[0], ocns, keys.control, other.ocns, other.control)
                if why is None:
                    return _duplicate(other, key, keys.content_sha256)
                refused = refused or f"record #{other.ordinal} of this file shares {key[0]} " \
                                     f"{key[1]} but {why}: a distinct record"
        if self._candidates:
            decision = self._against_catalog(match_keys, ocns, keys)
        else:  # nothing in the catalog to match (the common case of a batch of new books)
            decision = _NEW
        if refused and decision.status == CREATED:
            decision = Decision(CREATED, detail=_join(refused, decision.detail))
        new = _Seen(ordinal, ocns, keys.control,
                    decision.record_id if decision.status in (UPDATED, UNCHANGED) else None,
                    decision.version if decision.status == UNCHANGED else None,
                    None if decision.keep_bytes else keys.content_sha256)
        for key in match_keys:
            if key not in seen:
                seen[key] = new
            else:  # every earlier holder of the key was refused: a distinct record
                self._more.setdefault(key, []).append(new)
        if decision.record_id is not None and decision.status != CREATED:
            self._touched[decision.record_id] = new
        return decision

    def _against_catalog(self, match_keys: tuple[tuple[str, str], ...], ocns: frozenset[str],
                         keys: RecordKeys) -> Decision:
        candidates = self._candidates
        if not any(key in candidates for key in match_keys):  # the common case of a new book
            return _NEW
        refused = []
        for kind in MATCH_ORDER:
            found = {}
            for k, v in match_keys:
                if k != kind:
                    continue
                for c in candidates.get((k, v), ()):
                    why = self._refusal(kind, ocns, keys.control, c)
                    if why is None:
                        found[c.record_id] = c
                    else:
                        refused.append(f"record {c.record_id} shares {kind} {v} but {why}")
            if found:
                break
        else:
            return Decision(CREATED, detail=_join(*refused[:3], "a distinct record")
                            if refused else None)
        matches = sorted(found.values(), key=lambda c: c.record_id)
        target = matches[0]
        sha = keys.content_sha256
        note = (f"{len(matches)} records match on {kind}; chose the lowest id {target.record_id}"
                if len(matches) > 1 else None)
        earlier = self._touched.get(target.record_id)
        if earlier is not None:
            return Decision(DUPLICATE_IN_FILE, target.record_id, kind,
                            f"record {target.record_id} was already matched by record "
                            f"#{earlier.ordinal} of this file", same_as=earlier.ordinal,
                            version=earlier.version, keep_bytes=earlier.sha != sha)
        if any(c.touched_in_run for c in matches):
            return Decision(DUPLICATE_IN_FILE, target.record_id, kind,
                            f"record {target.record_id} was written by another batch of "
                            f"this run (the file holds it twice)", version=target.version,
                            keep_bytes=not keys.same_content(target.content_sha256))
        identical = next((c for c in matches if keys.same_content(c.content_sha256)), None)
        if identical is not None:
            return Decision(UNCHANGED, identical.record_id, kind, note, version=identical.version)
        if self.policy == "replace":
            return Decision(UPDATED, target.record_id, kind, note)
        if self.policy == "keep_existing":
            return Decision(UNCHANGED, target.record_id, kind,
                            _join(f"kept record {target.record_id} (overlay policy "
                                  f"keep_existing); the incoming record is kept in this result",
                                  note), version=target.version, keep_bytes=True)
        return Decision(CREATED, None, kind,
                        _join(f"matched record {target.record_id} on {kind}; created a new "
                              f"record (overlay policy create_new)", note))

    def _refusal(self, kind: str, ocns: frozenset[str], control: str | None,
                 candidate: Candidate) -> str | None:
        """Why `candidate` is not this record: its keys disagree with ours, or a record of
        this file already matched it and disagrees with ours."""
        why = disagreement(kind, ocns, control, candidate.ocns, candidate.control)
        earlier = self._touched.get(candidate.record_id)
        if why is None and earlier is not None:
            why = disagreement(kind, ocns, control, earlier.ocns, earlier.control)
            why = why and f"record #{earlier.ordinal} of this file matched it and {why}"
        return why


def _duplicate(earlier: _Seen, key: tuple[str, str], sha: str) -> Decision:
    kind, value = key
    return Decision(DUPLICATE_IN_FILE, earlier.record_id, kind,
                    f"same {kind} {value} as record #{earlier.ordinal} of this file",
                    same_as=earlier.ordinal, version=earlier.version,
                    keep_bytes=earlier.sha != sha)


def _join(*parts: str | None) -> str:
    return "; ".join(p for p in parts if p)
