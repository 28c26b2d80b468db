"""Match keys and fingerprints of catalog records (pure functions; docs/architecture.md §6).

* OCLC number: 035 $a values prefixed `(OCoLC)` (and 001 when 003 = OCoLC); the prefixes
  ocm / ocn / on and leading zeros are stripped and the number is kept as an int. 035 $z
  (cancelled / invalid numbers) is never a key.
* ISBN: every 020 $a (never $z), qualifiers such as "(pbk.)" cut, hyphens and spaces
  removed, the check digit validated, ISBN-10 converted to ISBN-13 (the canonical key).
* Control number: 001, scoped by 003 when present ("003/001": 001 alone is only unique
  within the organisation that assigned it).
* Fingerprint: sha256(001 + 005) — one version of one record; records without both fall
  back to the sha256 of their content, so an exact replay is still recognised.

`RecordKeys.match_keys()` lists (kind, value) in match priority: ocn, control, isbn, and
`content` only for records that have none of the others.

Strength: OCN > control number (001 within its 003) > ISBN. `disagreement` says when a
match on a weaker key must be refused because a stronger key disagrees: an ISBN is shared
by every edition, printing and reprint record of a book, so two records with different
OCLC numbers, or different 001s assigned by the same organisation, are two records.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

MATCH_ORDER = ("ocn", "control", "isbn", "content")
MAX_OCN_DIGITS = 15  # OCLC numbers have 8-10 digits; a longer run of digits is not one
# A btree entry holds at most ~2,700 bytes: a longer key (a 3,000-byte 001, an IRI pasted
# with a whole record) would fail the batch's COPY. Longer control keys are kept as their
# scope + sha256, so the record is stored and an identical record still matches it.
MAX_KEY_BYTES = 512

_OCLC = re.compile(r"^\s*\(OCoLC\)\s*(?:ocm|ocn|on)?\s*0*(\d+)\b", re.IGNORECASE)
_OCLC_BARE = re.compile(r"^\s*(?:\(OCoLC\))?\s*(?:ocm|ocn|on)?\s*0*(\d+)\s*$", re.IGNORECASE)
_ISBN_LABEL = re.compile(r"^\s*ISBN(?:-1[03])?:?\s*", re.IGNORECASE)
_QUALIFIER = re.compile(r"[(:;]")
_SEPARATORS = re.compile(r"[\s-]")


def normalize_oclc(value: str | None, *, require_prefix: bool = True) -> int | None:
    """The OCLC number in `value` as an int, or None.

    With `require_prefix` (035 $a) only `(OCoLC)`-prefixed values count: other 035s are
    other systems' numbers. Without it (001 with 003 = OCoLC, BIBFRAME identifiers) bare
    digits and ocm/ocn/on forms are accepted.
    """
    if not value:
        return None
    match = (_OCLC if require_prefix else _OCLC_BARE).match(value)
    if not match or len(match.group(1)) > MAX_OCN_DIGITS:  # garbage, not an OCLC number
        return None
    number = int(match.group(1))
    return number or None


def _isbn10_valid(digits: str) -> bool:
    total = sum((10 - i) * (10 if ch == "X" else int(ch)) for i, ch in enumerate(digits))
    return total % 11 == 0


def _isbn13_check(first12: str) -> str:
    total = sum(map(int, first12[0::2])) + 3 * sum(map(int, first12[1::2]))
    return str((10 - total % 10) % 10)


def normalize_isbn(value: str | None) -> str | None:
    """The ISBN-13 in an 020 $a value, or None when there is no valid ISBN.

    "0-306-40615-2 (pbk.)" → "9780306406157"; a wrong check digit gives None (a typo'd
    ISBN must not match another book).
    """
    if not value:
        return None
    head = value[:13]  # the common form, "9780306406157" or "9780306406157 (pbk.)"
    if len(head) == 13 and head.isascii() and head.isdigit() and (
            len(value) == 13 or value[13] in " (:;"):
        digits = head.encode()  # ASCII digits: their check sum straight from the bytes
        total = sum(digits[0:12:2]) + 3 * sum(digits[1:12:2]) - 48 * 24
        if head[:3] in ("978", "979") and (10 - total % 10) % 10 == digits[12] - 48:
            return head
        return None
    text = _ISBN_LABEL.sub("", value)
    for candidate in (_QUALIFIER.split(text, 1)[0], (text.split() or [""])[0]):
        digits = _SEPARATORS.sub("", candidate).upper()
        if len(digits) == 10 and digits[:9].isdigit() and (digits[9].isdigit() or digits[9] == "X"):
            if _isbn10_valid(digits):
                return "978" + digits[:9] + _isbn13_check("978" + digits[:9])
            return None
        if len(digits) == 13 and digits.isdigit() and digits[:3] in ("978", "979"):
            return digits if _isbn13_check(digits[:12]) == digits[12] else None
    return None


def fingerprint(control_001: str | None, latest_005: str | None, content_sha256: str) -> str:
    """sha256(001 + 005) when the record has both, else its content hash."""
    if control_001 and latest_005:
        return hashlib.sha256(f"{control_001}{latest_005}".encode()).hexdigest()
    return content_sha256


@dataclass(frozen=True, slots=True)
class RecordKeys:
    ocns: tuple[int, ...] = ()
    isbns: tuple[str, ...] = ()
    control: str | None = None
    fingerprint: str = ""
    content_sha256: str = ""  # of the canonical form (canonical.py)
    stored_sha256: str | None = None  # of the stored form, when it is not the canonical one
    _match: tuple[tuple[str, str], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        if self.control and len(self.control) * 4 > MAX_KEY_BYTES:  # maybe too long: measure
            object.__setattr__(self, "control", bounded_control(self.control))
        keys = [("ocn", str(n)) for n in self.ocns]
        if self.control:
            keys.append(("control", self.control))
        keys += [("isbn", i) for i in self.isbns]
        if not keys:  # nothing identifies it: only an identical record is the same record
            keys.append(("content", self.content_sha256))
        object.__setattr__(self, "_match", tuple(keys))  # computed once: used per lookup

    def match_keys(self) -> tuple[tuple[str, str], ...]:
        return self._match

    def same_content(self, stored_sha: str) -> bool:
        """Is a stored version with `stored_sha` this record's content? Versions written
        before canonical hashing hold their stored bytes' sha256, which is `stored_sha256`."""
        return stored_sha == self.content_sha256 or stored_sha == self.stored_sha256


def bounded_control(control: str) -> str:
    """`control` if it fits an index entry, else its scope (003) + "/sha256:" + the digest
    of the whole key — deterministic, so the same record matches itself on re-ingest."""
    if len(control.encode("utf-8")) <= MAX_KEY_BYTES:
        return control
    digest = hashlib.sha256(control.encode("utf-8")).hexdigest()
    scope = control_scope(control)
    if scope and len(scope.encode("utf-8")) <= MAX_KEY_BYTES // 2:
        return f"{scope}/sha256:{digest}"
    return f"sha256:{digest}"


def control_scope(control: str) -> str:
    """The organisation a control key is scoped by: its 003 ("" for a record without one)."""
    scope, slash, _ = control.partition("/")
    return scope if slash else ""


def disagreement(kind: str, ocns: frozenset[str], control: str | None,
                 other_ocns: frozenset[str], other_control: str | None) -> str | None:
    """Why two records that share a `kind` key are nevertheless distinct, or None.

    A weaker key never overrides a stronger one that disagrees: a shared control number is
    refused when both records carry OCLC numbers and none is shared; a shared ISBN also when
    both carry control numbers of the same scope (same 003, or both without one) that differ.
    A shared OCN, or identical content, is always the same record."""
    if kind == "ocn" or kind == "content":
        return None
    if ocns and other_ocns and ocns.isdisjoint(other_ocns):
        return (f"OCLC numbers differ ({', '.join(sorted(ocns))} vs "
                f"{', '.join(sorted(other_ocns))})")
    if (kind == "isbn" and control and other_control and control != other_control
            and control_scope(control) == control_scope(other_control)):
        return f"control numbers differ ({control} vs {other_control})"
    return None


def _unique(values: list) -> tuple:
    if len(values) == 1:  # the common case: one 035, one 020
        return () if values[0] is None else (values[0],)
    return tuple(dict.fromkeys(v for v in values if v is not None))


def marc_key_fields(record: dict) -> tuple:
    """(001, 003, 005, [035 $a], [020 $a]) of a MARC-in-JSON record."""
    f001 = f003 = f005 = None
    oclc_values: list[str] = []
    isbn_values: list[str] = []
    for entry in record["fields"]:
        for tag, value in entry.items():
            if tag == "001" and isinstance(value, str):
                f001 = f001 or value.strip()
            elif tag == "003" and isinstance(value, str):
                f003 = f003 or value.strip()
            elif tag == "005" and isinstance(value, str):
                f005 = f005 or value.strip()
            elif (tag == "035" or tag == "020") and isinstance(value, dict):
                target = oclc_values if tag == "035" else isbn_values
                target.extend(v for sub in value["subfields"] for code, v in sub.items()
                              if code == "a")
    return f001, f003, f005, oclc_values, isbn_values


def marc_keys_from(key_fields: tuple, content_sha256: str,
                   stored_sha256: str | None = None) -> RecordKeys:
    """Keys from (001, 003, 005, [035 $a], [020 $a]) — what the ISO 2709 reader collects
    without building the record."""
    f001, f003, f005, oclc_values, isbn_values = key_fields
    ocns = [normalize_oclc(v) for v in oclc_values]
    if f001 and f003 and f003.upper() == "OCOLC":
        ocns.insert(0, normalize_oclc(f001, require_prefix=False))
    control = (f"{f003}/{f001}" if f003 else f001) if f001 else None
    return RecordKeys(_unique(ocns), _unique([normalize_isbn(v) for v in isbn_values]), control,
                      fingerprint(f001, f005, content_sha256), content_sha256, stored_sha256)


def marc_keys(record: dict, content_sha256: str) -> RecordKeys:
    """Keys of a MARC-in-JSON record ({"leader", "fields": [{tag: value}, …]})."""
    return marc_keys_from(marc_key_fields(record), content_sha256)


def _local(name: str) -> str:
    """`http://id.loc.gov/ontologies/bibframe/Isbn` → `Isbn` (also for bf:Isbn, …#value)."""
    return re.split(r"[/#:]", name)[-1]


def _values(node: dict, prop: str) -> list:
    return [v.get("@value", v.get("@id")) if isinstance(v, dict) else v
            for name, vals in node.items() if _local(name) == prop
            for v in (vals if isinstance(vals, list) else [vals])]


def bibframe_keys(graph: list[dict], content_sha256: str) -> RecordKeys:
    """Keys of an expanded JSON-LD BIBFRAME graph: the Instance's @id is its control
    number; bf:identifiedBy → Isbn / OclcNumber / Local assigned by OCoLC give ISBN and OCN
    (identifiers with status "cancinv" — cancelled or invalid — are skipped, like 020 $z)."""
    nodes = {n.get("@id"): n for n in graph if isinstance(n, dict)}
    instances = [n for n in graph if isinstance(n, dict)
                 and any(_local(t) == "Instance" for t in n.get("@type", []))]
    ocns, isbns, control = [], [], None
    for instance in instances:
        if control is None and not str(instance.get("@id", "_:")).startswith("_:"):
            control = instance["@id"]
        for ref in _values(instance, "identifiedBy"):
            ident = nodes.get(ref, {}) if isinstance(ref, str) else {}
            if any(str(s).rstrip("/").endswith("cancinv") for s in _values(ident, "status")):
                continue
            types = {_local(t) for t in ident.get("@type", [])}
            values = [v for v in _values(ident, "value") if isinstance(v, str)]
            assigners = " ".join(str(a) for a in _values(ident, "assigner")).lower()
            if "Isbn" in types:
                isbns.extend(normalize_isbn(v) for v in values)
            elif "OclcNumber" in types or ("Local" in types and "ocolc" in assigners):
                ocns.extend(normalize_oclc(v, require_prefix=False) for v in values)
    return RecordKeys(_unique(ocns), _unique(isbns), control,
                      fingerprint(None, None, content_sha256), content_sha256)
